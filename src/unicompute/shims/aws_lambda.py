"""unicompute's AWS Lambda shim (packaged as ``unicompute_shim.py``; Lambda handler
``unicompute_shim.handler``).

The user's handler, named by ``UNICOMPUTE_HANDLER`` (``"app.handler"``), is imported when this
module is, so a missing module or function fails the function's init as Lambda reports import
failures (``Runtime.ImportModuleError``). Each call gets the portable context built from
Lambda's. Imports only the standard library and ``unicompute_shim_common`` (``common.py``,
packaged next to it): unicompute is not installed where the function runs.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from unicompute.shims import common
else:
    import unicompute_shim_common as common

_user_handler = common.load_handler(os.environ[common.HANDLER_ENV])


def handler(event: Any, context: Any) -> Any:
    """Lambda's entry point: the user's handler with the portable context (``raw`` is
    Lambda's)."""
    portable = common.Context(context, function_name=context.function_name,
                              request_id=context.aws_request_id,
                              memory_mb=int(context.memory_limit_in_mb),
                              remaining_ms=context.get_remaining_time_in_millis)
    return _user_handler(event, portable)
