"""unicompute's AWS Lambda shim (packaged as ``unicompute_shim.py``; Lambda handler
``unicompute_shim.handler``).

The user's handler, named by ``UNICOMPUTE_HANDLER`` (``"app.handler"``), is imported when this
module is, so a missing module or function fails the function's init as Lambda reports import
failures (``Runtime.ImportModuleError``). Each call gets a :class:`Context` built from Lambda's.
Self-contained: unicompute is not installed where the function runs.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Any

HANDLER_ENV = "UNICOMPUTE_HANDLER"


class Context:
    """The portable context: ``function_name``, ``request_id``, ``memory_mb``,
    ``remaining_time_ms()``, ``logger`` (writes to the function's log), ``raw`` (Lambda's)."""

    __slots__ = ("function_name", "logger", "memory_mb", "raw", "request_id")

    def __init__(self, native: Any) -> None:
        self.raw = native
        self.function_name: str = native.function_name
        self.request_id: str = native.aws_request_id
        self.memory_mb = int(native.memory_limit_in_mb)
        self.logger = _logger(self.function_name)

    def remaining_time_ms(self) -> int:
        """Milliseconds left before the platform stops this invocation."""
        return int(self.raw.get_remaining_time_in_millis())

    def __repr__(self) -> str:
        return f"Context(function_name={self.function_name!r}, request_id={self.request_id!r})"


def _logger(name: str) -> logging.Logger:
    logger = logging.getLogger(f"unicompute.function.{name}")
    if not logger.handlers:
        # Straight to stdout, which the platform captures as the function's log: the root
        # logger's level and handlers differ between Lambda and other hosts.
        out = logging.StreamHandler(sys.stdout)
        out.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        logger.addHandler(out)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


def _load(spec: str) -> Any:
    module_name, _, attr = spec.rpartition(".")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ImportError(f"Handler '{attr}' missing on module '{module_name}'") from None


_user_handler = _load(os.environ[HANDLER_ENV])


def handler(event: Any, context: Any) -> Any:
    """Lambda's entry point: the user's handler with the portable context."""
    return _user_handler(event, Context(context))
