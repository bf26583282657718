"""The local function runtime: runs serverless handlers in worker processes on this machine.

Used by the fakes (``mocks/aws`` runs every Lambda invoke through it) and usable alone::

    from unicompute.mocks.runtime import LocalRuntime, WorkerConfig

    with LocalRuntime() as rt:
        rt.register("fn", WorkerConfig(code_dir="./fn", entry="app.handler",
                                       function_name="fn", timeout_s=3))
        result = rt.invoke("fn", b'{"x": 1}')      # InvocationResult
        result.ok, result.payload, result.logs, result.cold_start

See :class:`LocalRuntime` for what is enforced (process isolation, warm reuse, concurrency,
timeout, memory, environment, log capture, idle reaping) and ``_worker`` for the wire protocol.
"""

from __future__ import annotations

from ._models import (
    CONTEXT_KINDS,
    PYTHON_RUNTIMES,
    InvocationResult,
    RuntimeThrottled,
    WorkerConfig,
)
from ._runtime import DEFAULT_CONCURRENCY, IDLE_TIMEOUT_S, LocalRuntime

__all__ = [
    "CONTEXT_KINDS",
    "DEFAULT_CONCURRENCY",
    "IDLE_TIMEOUT_S",
    "PYTHON_RUNTIMES",
    "InvocationResult",
    "LocalRuntime",
    "RuntimeThrottled",
    "WorkerConfig",
]
