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
* ``uc-timer-{i}`` per ``ScheduleTrigger`` (NCRONTAB), with EventBridge's scheduled event
  (``source`` ``unicompute.schedule``, :func:`schedule_event`), and ``uc-queue-{i}`` per
  ``QueueTrigger``, with the SQS-shaped queue event.

A handler's failure is written to the function's log (stderr) as Lambda's runtime writes it,
``[ERROR] <type>: <message>`` and the traceback (:func:`common.log_error`), whatever the
trigger: Application Insights keeps the host's ``Executed ... (Failed ...)`` line, not the
exception, among the traces ``logs()`` reads, and ``uc-invoke-{fn}`` answers a failure as a
succeeded HTTP call.

The user's handler (``UNICOMPUTE_HANDLER``, ``"app.handler"``) is imported at import too; a
failure is kept and reported by every invocation (``ImportModuleError``) instead of breaking
the host's indexing. The handler runs in its own thread so that the shim can answer
``Timeout`` after ``UNICOMPUTE_TIMEOUT_S`` seconds (Python cannot stop a thread: the handler
runs on until it returns or the host's own, later, timeout recycles the worker). Imports only
the standard library, ``azure.functions`` and ``unicompute_shim_common`` (``common.py``,
packaged next to it, with the portable context, output capture, error documents and Lambda's
HTTP event and response).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import azure.functions as func

if TYPE_CHECKING:
    from unicompute.shims import common
else:
    import unicompute_shim_common as common

_FUNCTION = os.environ.get("UNICOMPUTE_FUNCTION", "function")
_MEMORY_MB = int(common.env_number(common.MEMORY_ENV, 0))
_TIMEOUT_S = common.env_number(common.TIMEOUT_ENV, 30) or 30
_CONFIG: dict[str, Any] = json.loads(os.environ.get("UNICOMPUTE_TRIGGERS") or "{}")
_cold = common.ColdStart()
_user_handler, _failed_import = common.import_user_handler()
#: What every invocation reports when the handler could not be imported (as Lambda reports a
#: failed init), instead of breaking the host's indexing.
_import_error: dict[str, Any] | None = None
if _failed_import is not None:
    _import_error = common.error_document(
        _failed_import, "ImportModuleError",
        f"Unable to import module '{os.environ.get(common.HANDLER_ENV)}': {_failed_import}")


class _Outcome:
    __slots__ = ("error", "logs", "result")

    def __init__(self) -> None:
        self.result: Any = None
        self.error: dict[str, Any] | None = None
        self.logs: list[str] = []


def run(event: Any, native: Any, request_id: str) -> tuple[_Outcome, float, bool]:
    """The handler on ``event`` in its own thread, waited for at most the timeout:
    ``(outcome, duration_ms, cold_start)``; ``outcome.logs`` is what the handler printed."""
    cold = _cold.first_call()
    outcome = _Outcome()
    started = time.monotonic()
    if _import_error is not None:
        outcome.error = dict(_import_error)
        outcome.logs.append(common.log_error(outcome.error))
        return outcome, 0.0, cold
    context = common.Context(native, function_name=_FUNCTION, request_id=request_id,
                             memory_mb=_MEMORY_MB, remaining_ms=common.time_left(_TIMEOUT_S))

    def target() -> None:
        with common.captured_output(outcome.logs):
            try:
                outcome.result = _user_handler(event, context)
            except MemoryError as exc:
                outcome.error = common.error_document(exc, "MemoryError")
            except BaseException as exc:
                outcome.error = common.error_document(exc)

    worker = threading.Thread(target=target, name=f"uc-{request_id}", daemon=True)
    worker.start()
    worker.join(_TIMEOUT_S)
    duration = (time.monotonic() - started) * 1000
    if worker.is_alive():
        outcome.error = {"errorType": "Timeout",
                         "errorMessage": f"Task timed out after {_TIMEOUT_S:g} seconds",
                         "stackTrace": []}
    if outcome.error is not None:
        outcome.logs.append(common.log_error(outcome.error))
    return outcome, duration, cold


def _request_id(context: Any) -> str:
    return str(getattr(context, "invocation_id", None) or uuid.uuid4())


# -- events -----------------------------------------------------------------------------------
def http_event(req: func.HttpRequest, request_id: str) -> dict[str, Any]:
    """Lambda's function-URL event (payload format 2.0) for an Azure HTTP request."""
    url = urlsplit(req.url)
    return common.http_event(method=req.method, path=url.path, query=url.query,
                             headers=req.headers.items(), body=req.get_body() or b"",
                             request_id=request_id)


def http_response(result: Any) -> func.HttpResponse:
    """The handler's result as Lambda's function URLs answer it (:func:`common.http_answer`)."""
    status, headers, body = common.http_answer(result)
    return func.HttpResponse(body, status_code=status, headers=headers)


def _result(event: Any, native: Any, request_id: str | None = None) -> Any:
    """The handler's result on ``event``; its failure fails the invocation (the host logs it
    and retries queue messages) with the handler's error."""
    outcome, _, _ = run(event, native, request_id or _request_id(native))
    if outcome.error is not None:
        error = outcome.error
        raise RuntimeError(f"{error.get('errorType')}: {error.get('errorMessage')}")
    return outcome.result


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
        _result(json.loads(msg.get_body() or b"null"), context)

    _register(run_async, f"uc-async-{_FUNCTION}",
              app.queue_trigger(arg_name="msg", queue_name=queue,
                                connection="AzureWebJobsStorage"))


def _http_function(auth: str) -> None:
    level = func.AuthLevel.ANONYMOUS if auth == "none" else func.AuthLevel.FUNCTION

    def http(req: func.HttpRequest, context: func.Context) -> func.HttpResponse:
        request_id = _request_id(context)
        return http_response(_result(http_event(req, request_id), context, request_id))

    _register(http, _FUNCTION,
              app.route(route=_FUNCTION, auth_level=level,
                        methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]))


def _subscription() -> str:
    """The subscription of the app: ``WEBSITE_OWNER_NAME`` is ``{subscription}+{webspace}``."""
    owner, plus, _ = os.environ.get("WEBSITE_OWNER_NAME", "").partition("+")
    return owner if plus else ""


def schedule_event(timer: func.TimerRequest, function: str, expression: str) -> dict[str, Any]:
    """EventBridge's scheduled event (:func:`common.schedule_event`) of a firing of timer
    function ``function``: ``time`` is the occurrence it fires for (the schedule status'
    ``Next``, which the host updates only after the call), ``resources`` the function's ARM
    id, ``region`` the ARM location (``REGION_NAME`` ``"East US"`` → ``"eastus"``) and
    ``account`` the subscription (``""`` when the platform does not say; the ARM id is then
    ``{app}/functions/{function}``)."""
    subscription = _subscription()
    group = os.environ.get("WEBSITE_RESOURCE_GROUP", "")
    site = os.environ.get("WEBSITE_SITE_NAME", _FUNCTION)
    resource = f"{site}/functions/{function}"
    if subscription and group:
        resource = (f"/subscriptions/{subscription}/resourceGroups/{group}/providers/"
                    f"Microsoft.Web/sites/{resource}")
    status = getattr(timer, "schedule_status", None) or {}
    return common.schedule_event(
        schedule=expression, resource=resource, account=subscription,
        region="".join(os.environ.get("REGION_NAME", "").split()).lower(),
        when=str(status.get("Next") or ""))


def _timer_function(index: int, expression: str, schedule: str) -> None:
    name = f"uc-timer-{index}"

    def timer(timer: func.TimerRequest, context: func.Context) -> None:
        _result(schedule_event(timer, name, expression), context)

    _register(timer, name,
              app.timer_trigger(arg_name="timer", schedule=schedule, run_on_startup=False))


def queue_event(msg: func.QueueMessage, queue: str) -> dict[str, Any]:
    """The SQS-shaped event of one Storage queue message."""
    attributes = {"dequeueCount": str(msg.dequeue_count)}
    for name in ("insertion_time", "expiration_time"):
        value = getattr(msg, name, None)
        if value is not None:
            attributes[name.replace("_t", "T")] = value.isoformat()
    return common.queue_event(message_id=str(msg.id),
                              body=(msg.get_body() or b"").decode("utf-8", "replace"),
                              attributes=attributes, event_source="azure:queue",
                              source_id=queue)


def _queue_function(index: int, queue: str) -> None:
    def on_message(msg: func.QueueMessage, context: func.Context) -> None:
        _result(queue_event(msg, queue), context)

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
