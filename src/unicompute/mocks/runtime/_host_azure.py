"""The Azure Functions Python host, inside a worker of the local runtime (standalone: imports
no ``unicompute``; only the stdlib and the ``azure-functions`` library).

``load("function_app.app")`` imports ``function_app.py`` from the deployed package (the app
settings are the environment) and indexes ``app.get_functions()`` as the Python worker does.
The callable it returns takes the envelope the fake builds and calls the user's function with
the objects the real host passes, by binding name (plus ``context`` when declared):

* ``{"trigger": "index"}`` → ``[{"name", "entry", "bindings": [...]}]``: what the host reports.
* ``{"trigger": "http", "function", "request": {"method", "url", "headers", "params",
  "route_params", "body_b64"}}`` → a ``func.HttpRequest``; answers ``{"status", "headers",
  "body_b64"}`` from the returned ``func.HttpResponse`` (a ``str``/``bytes`` result is a 200
  ``text/plain`` body, ``None`` a 204). An exception is logged and answered ``500``, as the host
  does.
* ``{"trigger": "timer", "function", "timer": {"past_due", "schedule", "schedule_status"}}``
  → a ``func.TimerRequest``.
* ``{"trigger": "queue", "function", "message": {"id", "body_b64", "dequeue_count",
  "insertion_time", "expiration_time", "next_visible_time", "pop_receipt"}}`` → a
  ``func.QueueMessage``.

Timer and queue functions that raise make the invocation fail (the worker reports the error).
"""

from __future__ import annotations

import asyncio
import base64
import importlib
import inspect
import json
import logging
import os
import sys
import threading
import time
import traceback
from datetime import datetime

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class _TraceContext:
    trace_parent = ""
    trace_state = ""
    attributes: dict[str, str] = {}  # noqa: RUF012 - read-only, as the worker's


class FunctionContext:
    """The ``func.Context`` the worker passes to a function that declares ``context``."""

    def __init__(self, header: dict[str, Any]) -> None:
        self.invocation_id = header["request_id"]
        self.function_name = ""
        self.function_directory = os.getcwd()
        self.trace_context = _TraceContext()
        self.retry_context = None
        self.thread_local_storage = threading.local()
        self._deadline_ms = header["deadline_ms"]

    def remaining_ms(self) -> int:
        return max(int(self._deadline_ms - time.time() * 1000), 0)


def make_context(header: dict[str, Any]) -> FunctionContext:
    return FunctionContext(header)


def _install_logging() -> None:
    """The Python worker's log lines: the message, at the level given, no Lambda prefix."""
    root = logging.getLogger()
    for handler in root.handlers:
        handler.setFormatter(logging.Formatter("%(message)s"))
    root.setLevel(logging.INFO)


def load(entry: str) -> tuple[Callable[..., Any] | None, dict[str, Any] | None]:
    """The dispatcher of ``entry`` (``module.attr`` of the ``FunctionApp``), or an init error."""
    _install_logging()
    module_name, _, attr = entry.rpartition(".")
    try:
        module = importlib.import_module(module_name)
        app = getattr(module, attr)
        functions = {fn.get_function_name(): fn for fn in app.get_functions()}
    except Exception as exc:
        trace = traceback.format_exception(type(exc), exc, exc.__traceback__)
        sys.stdout.write(f"Worker failed to index functions: {type(exc).__name__}: {exc}\n")
        return None, {"errorMessage": f"Worker failed to index functions: {exc}",
                      "errorType": "FunctionLoadError", "stackTrace": trace[1:]}
    return _Dispatcher(functions), None


class _Dispatcher:
    def __init__(self, functions: dict[str, Any]) -> None:
        self.functions = functions

    def __call__(self, envelope: dict[str, Any], context: FunctionContext) -> Any:
        trigger = envelope.get("trigger")
        if trigger == "index":
            return [{"name": name, "entry": fn.get_user_function().__name__,
                     "bindings": [json.loads(b) for b in fn.get_raw_bindings()]}
                    for name, fn in self.functions.items()]
        fn = self.functions[envelope["function"]]
        context.function_name = envelope["function"]
        bindings = [json.loads(b) for b in fn.get_raw_bindings()]
        trigger_binding = next(b for b in bindings if str(b.get("type", "")).endswith("Trigger"))
        if trigger == "http":
            value: Any = _http_request(envelope["request"])
        elif trigger == "timer":
            from azure.functions.timer import TimerRequest

            timer = envelope.get("timer") or {}
            value = TimerRequest(past_due=bool(timer.get("past_due")),
                                      schedule=timer.get("schedule"),
                                      schedule_status=timer.get("schedule_status"))
        elif trigger == "queue":
            value = _queue_message(envelope["message"])
        else:
            raise ValueError(f"unknown trigger {trigger!r}")
        if trigger != "http":
            _call(fn.get_user_function(), trigger_binding["name"], value, context)
            return None
        try:
            result = _call(fn.get_user_function(), trigger_binding["name"], value, context)
        except Exception as exc:
            sys.stdout.write("".join(traceback.format_exception(type(exc), exc,
                                                                exc.__traceback__)))
            sys.stdout.write(f"Executed 'Functions.{context.function_name}' (Failed, "
                             f"Id={context.invocation_id}): {type(exc).__name__}: {exc}\n")
            return {"status": 500, "headers": {}, "body_b64": "", "failed": True}
        return _http_response(result)


def _call(user: Callable[..., Any], name: str, value: Any, context: FunctionContext) -> Any:
    params = inspect.signature(user).parameters
    kwargs: dict[str, Any] = {}
    for param in params:
        if param == name:
            kwargs[param] = value
        elif param == "context":
            kwargs[param] = context
    result = user(**kwargs)
    if inspect.isawaitable(result):
        result = asyncio.run(_awaited(result))
    return result


async def _awaited(value: Any) -> Any:
    return await value


def _http_request(request: dict[str, Any]) -> Any:
    import azure.functions as func

    return func.HttpRequest(
        request["method"], request["url"], headers=request.get("headers") or {},
        params=request.get("params") or {}, route_params=request.get("route_params") or {},
        body=base64.b64decode(request.get("body_b64") or ""))


def _http_response(result: Any) -> dict[str, Any]:
    import azure.functions as func

    if result is None:
        return {"status": 204, "headers": {}, "body_b64": ""}
    if isinstance(result, (str, bytes)):
        result = func.HttpResponse(result)
    if not isinstance(result, func.HttpResponse):
        raise TypeError(f"unable to convert the result of type {type(result).__name__} to an "
                        "HTTP response: return an azure.functions.HttpResponse")
    headers = {k: v for k, v in result.headers.items()}
    if not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = f"{result.mimetype}; charset={result.charset}"
    return {"status": int(result.status_code), "headers": headers,
            "body_b64": base64.b64encode(result.get_body()).decode()}


def _when(value: Any) -> datetime | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")) if value else None


def _queue_message(message: dict[str, Any]) -> Any:
    from azure.functions.queue import QueueMessage

    return QueueMessage(  # type: ignore[no-untyped-call]
        id=message.get("id"), body=base64.b64decode(message.get("body_b64") or ""),
        dequeue_count=message.get("dequeue_count"),
        insertion_time=_when(message.get("insertion_time")),
        expiration_time=_when(message.get("expiration_time")),
        time_next_visible=_when(message.get("next_visible_time")),
        pop_receipt=message.get("pop_receipt"))
