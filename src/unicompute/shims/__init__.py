"""Per-cloud shims: the module a deploy packages next to the user's code.

A shim is the function the cloud calls (on Lambda ``unicompute_shim.handler``); it imports the
user's handler named by the ``UNICOMPUTE_HANDLER`` environment variable (``"app.handler"``) and
calls it with the event and a portable context (``function_name``, ``request_id``,
``memory_mb``, ``remaining_time_ms()``, ``logger``, and ``raw``, the cloud's own context). Each
shim is a self-contained source file in this package (``aws_lambda.py``; Azure and GCP shims
join as ``azure_functions.py`` and ``gcp_functions.py``) that imports nothing from unicompute,
since unicompute is not installed where functions run.
"""

from __future__ import annotations

from importlib import resources

#: The name every shim has inside a package (at the zip's root).
SHIM_MODULE = "unicompute_shim"
#: The environment variable that names the user's handler, ``module.function``.
HANDLER_ENV = "UNICOMPUTE_HANDLER"


def shim_source(shim: str) -> bytes:
    """The source of shim ``shim`` (e.g. ``"aws_lambda"``); ``FileNotFoundError`` if unknown."""
    if not shim.isidentifier():
        raise FileNotFoundError(shim)
    return resources.files(__name__).joinpath(f"{shim}.py").read_bytes()


__all__ = ["HANDLER_ENV", "SHIM_MODULE", "shim_source"]
