"""unicompute's Azure Functions shim, packaged as ``function_app.py`` (Python v2 programming
model) at the root of every package deployed to Azure.

At import it reads the app settings unicompute wrote and registers, on the module-level
``app``:

* ``uc-invoke-{fn}``: HTTP, auth level FUNCTION, ``POST /api/unicompute/invoke/{fn}``; runs the
  handler with the request body (JSON) as the event and answers 200 with
  ``{"ok": true, "result", "logs"}`` or ``{"ok": false, "errorType", "errorMessage",
  "stackTrace", "logs"}`` and the headers ``x-unicompute-request-id``,
  ``x-unicompute-duration-ms`` and ``x-unicompute-cold-start``;
* ``uc-async-{fn}``: a Storage queue trigger on the app's private queue, which async invokes
  run through the host's ``/admin/functions`` endpoint: the message is the JSON payload;
* ``{fn}`` for an ``HttpTrigger``: the route ``/api/{fn}``; the event is Lambda's function-URL
  payload (format 2.0) and the result maps to the response as on Lambda;
* ``uc-timer-{i}`` per ``ScheduleTrigger`` (NCRONTAB) and ``uc-queue-{i}`` per ``QueueTrigger``,
  with the portable schedule and SQS-shaped queue events.

The user's handler (``UNICOMPUTE_HANDLER``, ``"app.handler"``) is imported at import too; a
failure is kept and reported by every invocation (``ImportModuleError``) instead of breaking
the host's indexing. The handler runs in its own thread so that the shim can answer
``Timeout`` after ``UNICOMPUTE_TIMEOUT_S`` seconds (Python cannot stop a thread: the handler
runs on until it returns or the host's own, later, timeout recycles the worker). Self-contained:
imports only the standard library and ``azure.functions``.
"""

from __future__ import annotations

import base64
import importlib
import io
import json
import logging
import os
import sys
import threading
import time
import traceback
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import azure.functions as func

HANDLER_ENV = "UNICOMPUTE_HANDLER"
_FUNCTION = os.environ.get("UNICOMPUTE_FUNCTION", "function")
_MEMORY_MB = int(os.environ.get("UNICOMPUTE_MEMORY_MB", "0") or 0)
_TIMEOUT_S = float(os.environ.get("UNICOMPUTE_TIMEOUT_S", "30") or 30)
_CONFIG: dict[str, Any] = json.loads(os.environ.get("UNICOMPUTE_TRIGGERS") or "{}")
_cold = True
_cold_lock = threading.Lock()


class _Tee(io.TextIOBase):
    """``sys.stdout`` while the shim runs: writes go to the real stream and, for threads that
    run a handler, to that invocation's buffer (the ``logs`` of the answer)."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.buffers: dict[int, list[str]] = {}

    def write(self, text: str) -> int:
        buffer = self.buffers.get(threading.get_ident())
        if buffer is not None:
            buffer.append(text)
        return int(self.real.write(text))

    def flush(self) -> None:
        self.real.flush()


_tee = sys.stdout if isinstance(sys.stdout, _Tee) else _Tee(sys.stdout)
sys.stdout = _tee


class Context:
    """The portable context: ``function_name``, ``request_id``, ``memory_mb``,
    ``remaining_time_ms()``, ``logger`` (writes to the function's log), ``raw`` (Azure's)."""

    __slots__ = ("_deadline", "function_name", "logger", "memory_mb", "raw", "request_id")

    def __init__(self, native: Any, request_id: str) -> None:
        self.raw = native
        self.function_name = _FUNCTION
        self.request_id = request_id
        self.memory_mb = _MEMORY_MB
        self.logger = _logger(_FUNCTION)
        self._deadline = time.monotonic() + _TIMEOUT_S

    def remaining_time_ms(self) -> int:
        """Milliseconds left before the invocation is stopped."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))

    def __repr__(self) -> str:
        return f"Context(function_name={self.function_name!r}, request_id={self.request_id!r})"


def _logger(name: str) -> logging.Logger:
    logger = logging.getLogger(f"unicompute.function.{name}")
    if not logger.handlers:
        out = logging.StreamHandler(_tee)
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


_user_handler: Any = None
_import_error: dict[str, Any] | None = None
try:
    _user_handler = _load(os.environ[HANDLER_ENV])
except Exception as exc:  # reported by every invocation, as Lambda reports a failed init
    _import_error = {
        "errorType": "ImportModuleError",
        "errorMessage": f"Unable to import module '{os.environ.get(HANDLER_ENV)}': {exc}",
        "stackTrace": traceback.format_exception(exc),
    }


class _Outcome:
    __slots__ = ("error", "logs", "result")

    def __init__(self) -> None:
        self.result: Any = None
        self.error: dict[str, Any] | None = None
        self.logs: list[str] = []


def run(event: Any, native: Any, request_id: str) -> tuple[_Outcome, float, bool]:
    """The handler on ``event`` in its own thread, waited for at most the timeout:
    ``(outcome, duration_ms, cold_start)``."""
    global _cold
    with _cold_lock:
        cold, _cold = _cold, False
    outcome = _Outcome()
    started = time.monotonic()
    if _import_error is not None:
        outcome.error = dict(_import_error)
        return outcome, 0.0, cold
    context = Context(native, request_id)

    def target() -> None:
        _tee.buffers[threading.get_ident()] = outcome.logs
        try:
            outcome.result = _user_handler(event, context)
        except MemoryError as exc:
            outcome.error = _error(exc, "MemoryError")
        except BaseException as exc:
            outcome.error = _error(exc, type(exc).__name__)
        finally:
            _tee.buffers.pop(threading.get_ident(), None)

    worker = threading.Thread(target=target, name=f"uc-{request_id}", daemon=True)
    worker.start()
    worker.join(_TIMEOUT_S)
    duration = (time.monotonic() - started) * 1000
    if worker.is_alive():
        outcome.error = {"errorType": "Timeout",
                         "errorMessage": f"Task timed out after {_TIMEOUT_S:g} seconds",
                         "stackTrace": []}
    return outcome, duration, cold


def _error(exc: BaseException, kind: str) -> dict[str, Any]:
    return {"errorType": kind, "errorMessage": str(exc),
            "stackTrace": traceback.format_exception(exc)}


def _request_id(context: Any) -> str:
    return str(getattr(context, "invocation_id", None) or uuid.uuid4())


# -- events -----------------------------------------------------------------------------------
def http_event(req: func.HttpRequest, request_id: str) -> dict[str, Any]:
    """Lambda's function-URL event (payload format 2.0) for an Azure HTTP request."""
    url = urlsplit(req.url)
    headers = {k.lower(): v for k, v in req.headers.items()}
    raw = req.get_body() or b""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": url.path,
        "rawQueryString": url.query,
        "headers": headers,
        "requestContext": {
            "http": {"method": req.method, "path": url.path, "protocol": "HTTP/1.1",
                     "sourceIp": headers.get("x-forwarded-for", "").split(",")[0].strip(),
                     "userAgent": headers.get("user-agent", "")},
            "requestId": request_id,
            "timeEpoch": int(time.time() * 1000),
        },
        "isBase64Encoded": False,
    }
    if req.params:
        event["queryStringParameters"] = dict(req.params)
    if raw:
        try:
            event["body"] = raw.decode("utf-8")
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(raw).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def http_response(result: Any) -> func.HttpResponse:
    """The handler's result as Lambda's function URLs answer it: a dict with ``statusCode``
    gives status, headers and body; anything else is 200 JSON."""
    if isinstance(result, dict) and "statusCode" in result:
        body = result.get("body")
        data: bytes
        if body is None:
            data = b""
        elif result.get("isBase64Encoded"):
            data = base64.b64decode(body)
        else:
            data = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode()
        headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
        return func.HttpResponse(data, status_code=int(result["statusCode"]), headers=headers)
    return func.HttpResponse(json.dumps(result), status_code=200, mimetype="application/json")


def _raise(outcome: _Outcome) -> None:
    """Fail the invocation (the host logs it, retries queue messages) with the handler's
    error."""
    error = outcome.error or {}
    raise RuntimeError(f"{error.get('errorType')}: {error.get('errorMessage')}")


# -- registration -----------------------------------------------------------------------------
app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


def _invoke_function() -> None:
    def invoke(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
        request_id = _request_id(context)
        try:
            event = json.loads(req.get_body() or b"null")
        except ValueError:
            return func.HttpResponse("the body is not JSON", status_code=400)
        outcome, duration, cold = run(event, context, request_id)
        document: dict[str, Any] = {"ok": outcome.error is None, "logs": "".join(outcome.logs)}
        if outcome.error is None:
            try:
                json.dumps(outcome.result)
                document["result"] = outcome.result
            except (TypeError, ValueError) as exc:
                document.update(ok=False, errorType="Runtime.MarshalError",
                                errorMessage=f"Unable to marshal response: {exc}", stackTrace=[])
        else:
            document.update(outcome.error)
        headers = {"x-unicompute-request-id": request_id,
                   "x-unicompute-duration-ms": f"{duration:.3f}",
                   "x-unicompute-cold-start": "true" if cold else "false"}
        return func.HttpResponse(json.dumps(document), status_code=200, headers=headers,
                                 mimetype="application/json")

    _register(invoke, f"uc-invoke-{_FUNCTION}",
              app.route(route=f"unicompute/invoke/{_FUNCTION}", methods=["POST"],
                        auth_level=func.AuthLevel.FUNCTION))


def _async_function(queue: str) -> None:
    def run_async(msg: func.QueueMessage, context: func.Context) -> None:
        outcome, _, _ = run(json.loads(msg.get_body() or b"null"), context, _request_id(context))
        if outcome.error is not None:
            _raise(outcome)

    _register(run_async, f"uc-async-{_FUNCTION}",
              app.queue_trigger(arg_name="msg", queue_name=queue,
                                connection="AzureWebJobsStorage"))


def _http_function(auth: str) -> None:
    level = func.AuthLevel.ANONYMOUS if auth == "none" else func.AuthLevel.FUNCTION

    def http(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
        request_id = _request_id(context)
        outcome, _, _ = run(http_event(req, request_id), context, request_id)
        if outcome.error is not None:
            _raise(outcome)
        return http_response(outcome.result)

    _register(http, _FUNCTION,
              app.route(route=_FUNCTION, auth_level=level,
                        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]))


def _timer_function(index: int, expression: str, schedule: str) -> None:
    def timer(timer: func.TimerRequest, context: func.Context) -> None:
        event = {"source": "unicompute.schedule",
                 "time": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                 "schedule": expression, "detail": {"past_due": bool(timer.past_due)}}
        outcome, _, _ = run(event, context, _request_id(context))
        if outcome.error is not None:
            _raise(outcome)

    _register(timer, f"uc-timer-{index}",
              app.timer_trigger(arg_name="timer", schedule=schedule, run_on_startup=False))


def queue_event(msg: func.QueueMessage, queue: str) -> dict[str, Any]:
    """The SQS-shaped event of one Storage queue message."""
    attributes = {"dequeueCount": str(msg.dequeue_count)}
    for name in ("insertion_time", "expiration_time"):
        value = getattr(msg, name, None)
        if value is not None:
            attributes[name.replace("_t", "T")] = value.isoformat()
    return {"Records": [{
        "messageId": msg.id, "body": (msg.get_body() or b"").decode("utf-8", "replace"),
        "attributes": attributes, "eventSource": "azure:queue", "eventSourceARN": queue,
    }]}


def _queue_function(index: int, queue: str) -> None:
    def on_message(msg: func.QueueMessage, context: func.Context) -> None:
        outcome, _, _ = run(queue_event(msg, queue), context, _request_id(context))
        if outcome.error is not None:
            _raise(outcome)

    _register(on_message, f"uc-queue-{index}",
              app.queue_trigger(arg_name="msg", queue_name=queue,
                                connection="AzureWebJobsStorage"))


def _register(function: Any, name: str, trigger: Any) -> None:
    function.__name__ = function.__qualname__ = name.replace("-", "_")
    app.function_name(name=name)(trigger(function))


def _register_all() -> None:
    _invoke_function()
    if _CONFIG.get("async_queue"):
        _async_function(str(_CONFIG["async_queue"]))
    for index, trigger in enumerate(_CONFIG.get("triggers", [])):
        kind = trigger.get("type")
        if kind == "http":
            _http_function(str(trigger.get("auth", "none")))
        elif kind == "schedule":
            _timer_function(index, str(trigger["expression"]), str(trigger["ncrontab"]))
        elif kind == "queue":
            _queue_function(index, str(trigger["queue"]))


_register_all()
