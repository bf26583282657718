"""Per-cloud shims: the module a deploy packages next to the user's code.

A shim is the function the cloud calls (on Lambda ``unicompute_shim.handler``); it imports the
user's handler named by the ``UNICOMPUTE_HANDLER`` environment variable (``"app.handler"``) and
calls it with the event and a portable context (``function_name``, ``request_id``,
``memory_mb``, ``remaining_time_ms()``, ``logger``, and ``raw``, the cloud's own context). Each
shim is a source file in this package (``aws_lambda.py``, ``azure_functions.py``,
``gcp_functions.py``); what they share (the context, loading the handler, output capture,
error documents, Lambda's HTTP event and response) is ``common.py``, packaged next to every
shim as ``unicompute_shim_common.py`` (:data:`COMMON_MODULE`), which the shims import. None of
them imports unicompute or a cloud's SDK other than the platform's own library, since
unicompute is not installed where functions run.
"""

from __future__ import annotations

from importlib import resources

#: The name every shim has inside a package (at the zip's root).
SHIM_MODULE = "unicompute_shim"
#: The name of the module every shim imports (``common.py`` here) inside a package.
COMMON_MODULE = "unicompute_shim_common"
#: The environment variable that names the user's handler, ``module.function``.
HANDLER_ENV = "UNICOMPUTE_HANDLER"


def shim_source(shim: str) -> bytes:
    """The source of shim ``shim`` (e.g. ``"aws_lambda"``); ``FileNotFoundError`` if unknown."""
    if not shim.isidentifier():
        raise FileNotFoundError(shim)
    return resources.files(__name__).joinpath(f"{shim}.py").read_bytes()


__all__ = ["COMMON_MODULE", "HANDLER_ENV", "SHIM_MODULE", "shim_source"]
