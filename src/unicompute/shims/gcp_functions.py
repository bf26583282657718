"""unicompute's Cloud Functions (2nd gen) shim, packaged as ``unicompute_shim.py`` and named
as the function's source by the build variable ``GOOGLE_FUNCTION_SOURCE``; entry point
``unicompute_entry``.

It works under the Functions Framework with either signature: called with a Flask/werkzeug
``Request`` (``http``; when ``functions_framework`` is importable the entry registers itself as
``http``, so every path below reaches it) or with a ``cloudevents`` ``CloudEvent``
(``cloudevent``).

Who may call what. Cloud Run lets a request in when it carries an ID token of an invoker, or
when the function is public (``HttpTrigger(auth="none")``: then it checks nothing). So the
shim checks, itself, everything that is not the public HTTP trigger:

* paths under ``/_unicompute/`` are unicompute's own and require the function's invoke key,
  ``x-unicompute-key: <UNICOMPUTE_INVOKE_KEY>`` (compared in constant time; missing → 401,
  wrong → 403, in both cases without running anything). The key is taken out of
  ``os.environ`` when this module loads, so the handler's code and its logs never see it;
* CloudEvents are Pub/Sub deliveries only when the function has a queue trigger
  (``UNICOMPUTE_TRIGGERS`` names ``queue``; unicompute never makes such a function public, so
  Cloud Run has checked the pusher's token); on any other function a request with ``ce-*``
  headers is an ordinary HTTP request;
* every other request is the HTTP trigger's, and only when the function has one
  (``http``); otherwise 404. The HTTP trigger's handler only ever gets Lambda's URL event.

Requests are dispatched so:

* ``POST /_unicompute/invoke`` (key): a direct invoke. The body is the payload (JSON), the
  handler's event; the answer is always 200 with the JSON document ``{"ok": true, "result": ...}``
  or ``{"ok": false, "errorType", "errorMessage", "stackTrace": [...]}``, both with
  ``requestId``, ``durationMs``, ``coldStart`` and ``logs`` (what the call printed, last 4 KB).
* ``POST /_unicompute/schedule`` (key, and a ``schedule`` trigger): Cloud Scheduler's call; the
  event is EventBridge's scheduled event with ``source`` ``unicompute.schedule``
  (:func:`schedule_event`).
* a CloudEvent (a ``CloudEvent`` object, or a request with ``ce-*`` headers or a
  ``application/cloudevents+json`` body) of a Pub/Sub message, on a function with a ``queue``
  trigger: the event is SQS-shaped,
  ``{"Records": [{"messageId", "body", "attributes", "eventSource": "gcp:pubsub",
  "eventSourceARN": "projects/p/topics/t"}]}``; a handler failure answers 500 (the message is
  delivered again).
* anything else: the HTTP trigger. The event is Lambda's function-URL event (payload format
  2.0); a result with ``statusCode`` becomes the status, headers and body, any other result
  200 ``application/json`` of its JSON. A handler failure answers 500.

A handler's failure is written to the log (stderr) as Lambda's runtime writes it: ``[ERROR]
<type>: <message>`` and the traceback (:func:`common.log_error`).

The user's handler, named by ``UNICOMPUTE_HANDLER`` (``"app.handler"``), is imported when this
module is; an import failure does not stop the function from starting but makes every call fail
with ``errorType`` ``ImportError`` (direct invokes) or 500. Imports only the standard library
and ``unicompute_shim_common`` (``common.py``, packaged next to it, with the portable context,
output capture, error documents and Lambda's HTTP event and response): unicompute is not
installed where the function runs.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import os
import time
import urllib.request
import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from unicompute.shims import common
else:
    import unicompute_shim_common as common

INVOKE_KEY_ENV = "UNICOMPUTE_INVOKE_KEY"
INVOKE_KEY_HEADER = "x-unicompute-key"
TRIGGERS_ENV = "UNICOMPUTE_TRIGGERS"
PRIVATE_PREFIX = "/_unicompute/"
INVOKE_PATH = "/_unicompute/invoke"
SCHEDULE_PATH = "/_unicompute/schedule"
#: How much of what a direct invoke printed comes back with its answer.
LOG_TAIL_BYTES = 4096
_JSON = dict(common.JSON_HEADERS)


def _import_user_handler() -> tuple[Any, dict[str, Any] | None]:
    """``(handler, None)``, or ``(None, the error document every call reports)``."""
    handler, exc = common.import_user_handler()
    if exc is None:
        return handler, None
    kind = type(exc).__name__
    spec = os.environ.get(common.HANDLER_ENV, "")
    return None, common.error_document(
        exc, "ImportError" if isinstance(exc, ImportError) else kind,
        f"Unable to import handler '{spec}': {kind}: {exc}")


_invoke_key = os.environ.pop(INVOKE_KEY_ENV, "").encode()
_triggers = frozenset(filter(None, os.environ.get(TRIGGERS_ENV, "").split(",")))
_user_handler, _init_error = _import_user_handler()
_cold = common.ColdStart()


def _request_id(headers: Any) -> str:
    found = headers.get("Function-Execution-Id")
    if found:
        return str(found)
    trace = headers.get("X-Cloud-Trace-Context")
    if trace:
        return str(trace).split("/", 1)[0]
    return uuid.uuid4().hex


def _run(event: Any, raw: Any, request_id: str) -> Any:
    """The user's handler on ``event``; raises what it raises (or the import failure)."""
    if _user_handler is None:
        assert _init_error is not None
        raise ImportError(_init_error["errorMessage"])
    timeout_s = common.env_number(common.TIMEOUT_ENV, 60) or 60
    context = common.Context(raw, function_name=os.environ.get("K_SERVICE", ""),
                             request_id=request_id,
                             memory_mb=int(common.env_number(common.MEMORY_ENV, 0)),
                             remaining_ms=common.time_left(timeout_s))
    return _user_handler(event, context)


# -- entry -------------------------------------------------------------------------------------
def unicompute_entry(request: Any) -> Any:
    """The Functions Framework entry point (see the module docstring)."""
    if hasattr(request, "get_attributes"):  # a CloudEvent (cloudevents' v1 or core API)
        if "queue" not in _triggers:
            raise PermissionError("this function takes no events")
        data = request.get_data() if hasattr(request, "get_data") else request.data
        _on_cloud_event(dict(request.get_attributes()), data, raise_errors=True, raw=request)
        return None
    path = request.path
    if path.startswith(PRIVATE_PREFIX):
        refused = _key_refusal(request.headers)
        if refused is not None:
            return refused
        if path == INVOKE_PATH and request.method == "POST":
            return _direct_invoke(request)
        if path == SCHEDULE_PATH and request.method == "POST" and "schedule" in _triggers:
            return _scheduled(request)
        return _NOT_FOUND
    if "queue" in _triggers:
        parsed = _cloud_event_of(request)
        if parsed is not None:
            attributes, data = parsed
            ok = _on_cloud_event(attributes, data, raise_errors=False, raw=request)
            return ("", 204) if ok else ("Internal Server Error", 500)
    if "http" in _triggers:
        return _http(request)
    return _NOT_FOUND


_NOT_FOUND = ("Not Found", 404, {"content-type": "text/plain"})


def _key_refusal(headers: Any) -> tuple[str, int, dict[str, str]] | None:
    """``None`` when ``headers`` carry the function's invoke key, else the refusal (a
    function without a key refuses every private call)."""
    given = str(headers.get(INVOKE_KEY_HEADER) or "").encode()
    if not given:
        return f"missing {INVOKE_KEY_HEADER}", 401, {"content-type": "text/plain"}
    if not _invoke_key or not hmac.compare_digest(given, _invoke_key):
        return f"invalid {INVOKE_KEY_HEADER}", 403, {"content-type": "text/plain"}
    return None


def _register_http_signature() -> None:
    """Tell the Functions Framework (installed where the function runs) that the entry takes
    requests, whatever ``FUNCTION_SIGNATURE_TYPE`` says, so the private paths reach it."""
    try:
        import functions_framework  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return
    functions_framework.http(unicompute_entry)


_register_http_signature()


def _direct_invoke(request: Any) -> tuple[str, int, dict[str, str]]:
    request_id = _request_id(request.headers)
    cold = _cold.first_call()
    started = time.perf_counter()
    document: dict[str, Any]
    with common.captured_output() as captured:
        try:
            try:
                payload = json.loads(request.get_data() or b"null")
            except ValueError as exc:
                raise ValueError(f"the payload is not JSON: {exc}") from None
            result = _run(payload, request, request_id)
            json.dumps(result)  # a result JSON cannot hold is the handler's failure
            document = {"ok": True, "result": result}
        except Exception as exc:  # the handler's failure is the answer
            document = _failure(exc)
            common.log_error(document)
    logs = "".join(captured).encode("utf-8", "replace")[-LOG_TAIL_BYTES:]
    document.update(requestId=request_id, coldStart=cold,
                    durationMs=round((time.perf_counter() - started) * 1000, 3),
                    logs=logs.decode("utf-8", "ignore"))
    headers = {**_JSON, "x-unicompute-request-id": request_id}
    return json.dumps(document, default=str), 200, headers


def _failure(exc: BaseException) -> dict[str, Any]:
    if _user_handler is None and _init_error is not None:
        return {"ok": False, **_init_error}
    return {"ok": False, **common.error_document(exc)}


_location: tuple[str, str] | None = None


def platform_location() -> tuple[str, str]:
    """``(project, region)`` of the running function, from the metadata server
    (``GCE_METADATA_HOST``, else ``metadata.google.internal``), asked once per instance;
    ``("", "")`` where there is none to ask."""
    global _location
    if _location is None:
        host = os.environ.get("GCE_METADATA_HOST") or "metadata.google.internal"
        found = []
        for path in ("project/project-id", "instance/region"):
            request = urllib.request.Request(f"http://{host}/computeMetadata/v1/{path}",
                                             headers={"Metadata-Flavor": "Google"})
            try:
                with urllib.request.urlopen(request, timeout=1) as answer:
                    found.append(answer.read().decode("utf-8", "replace").strip())
            except (OSError, ValueError):
                found.append("")
        # instance/region is "projects/{number}/regions/{region}"
        _location = (found[0], found[1].rpartition("/")[2])
    return _location


def schedule_event(body: Any, headers: Any) -> dict[str, Any]:
    """EventBridge's scheduled event (:func:`common.schedule_event`) of a Cloud Scheduler call
    with JSON ``body`` and ``headers``: ``time`` is the occurrence it fires for
    (``X-CloudScheduler-ScheduleTime``), ``resources`` the job: its full name
    ``projects/{p}/locations/{l}/jobs/{j}`` when the body names it (``"job"``), which also
    gives ``account`` (the project) and ``region``; otherwise the job's id
    (``X-CloudScheduler-JobName``), with the project and region the metadata server tells
    (:func:`platform_location`; ``""`` where there is none)."""
    fields = body if isinstance(body, dict) else {}
    job = str(fields.get("job") or "")
    parts = job.split("/")
    if len(parts) == 6 and (parts[0], parts[2], parts[4]) == ("projects", "locations", "jobs"):
        project, region = parts[1], parts[3]
    else:
        job = str(headers.get("X-CloudScheduler-JobName") or "")
        project, region = platform_location()
    return common.schedule_event(
        schedule=str(fields.get("schedule") or ""), resource=job, region=region,
        account=project, when=headers.get("X-CloudScheduler-ScheduleTime"))


def _scheduled(request: Any) -> tuple[str, int]:
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError:
        body = {}
    headers = request.headers
    try:
        _run(schedule_event(body, headers), request, _request_id(headers))
    except Exception as exc:  # logged; Cloud Scheduler sees a failed attempt
        common.log_error(_failure(exc))
        return "Internal Server Error", 500
    return "", 204


# -- CloudEvents -------------------------------------------------------------------------------
def _cloud_event_of(request: Any) -> tuple[dict[str, Any], Any] | None:
    """``(attributes, data)`` of a CloudEvent request (binary or structured mode), or ``None``
    for any other request."""
    headers = request.headers
    content_type = str(headers.get("content-type", "")).split(";")[0].strip().lower()
    if content_type == "application/cloudevents+json":
        try:
            document = json.loads(request.get_data() or b"{}")
        except ValueError:
            return None
        if not isinstance(document, dict) or "specversion" not in document:
            return None
        data = document.pop("data", None)
        if "data_base64" in document:
            data = base64.b64decode(document.pop("data_base64"))
        return document, data
    if not headers.get("ce-specversion"):
        return None
    attributes = {key[3:].lower(): value for key, value in headers.items()
                  if key.lower().startswith("ce-")}
    raw = request.get_data()
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw
    return attributes, body


def _on_cloud_event(attributes: dict[str, Any], data: Any, *, raise_errors: bool,
                    raw: Any) -> bool:
    """Run the handler with the SQS-shaped event of a Pub/Sub CloudEvent; whether it
    succeeded (with ``raise_errors`` its exception propagates instead)."""
    event = records_event(attributes, data)
    try:
        _run(event, raw, str(attributes.get("id") or uuid.uuid4().hex))
    except Exception as exc:
        if raise_errors:  # the Functions Framework logs it
            raise
        common.log_error(_failure(exc))
        return False
    return True


def records_event(attributes: dict[str, Any], data: Any) -> dict[str, Any]:
    """The portable queue event of one Pub/Sub ``messagePublished`` CloudEvent."""
    if isinstance(data, bytes | bytearray):
        try:
            data = json.loads(data)
        except ValueError:
            data = {}
    message = data.get("message", {}) if isinstance(data, dict) else {}
    encoded = message.get("data") or ""
    try:
        body = base64.b64decode(encoded).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        body = str(encoded)
    source = str(attributes.get("source", ""))
    topic = source.split("pubsub.googleapis.com/", 1)[-1]
    record_attributes = dict(message.get("attributes") or {})
    if message.get("publishTime"):
        record_attributes.setdefault("publishTime", message["publishTime"])
    return common.queue_event(
        message_id=str(message.get("messageId") or attributes.get("id") or ""), body=body,
        attributes=record_attributes, event_source="gcp:pubsub", source_id=topic)


# -- HTTP trigger ------------------------------------------------------------------------------
def http_event(request: Any, request_id: str) -> dict[str, Any]:
    """Lambda's function-URL event (payload format 2.0) of a werkzeug/Flask request."""
    return common.http_event(
        method=request.method, path=request.path,
        query=request.query_string.decode("latin-1"), headers=request.headers.items(),
        body=request.get_data(), request_id=request_id,
        protocol=request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
        peer=request.remote_addr or "")


def _http(request: Any) -> tuple[bytes | str, int, dict[str, str]]:
    request_id = _request_id(request.headers)
    try:
        result = _run(http_event(request, request_id), request, request_id)
        status, headers, body = common.http_answer(result)
        return body, status, headers
    except Exception as exc:  # logged, answered as the Functions Framework does
        common.log_error(_failure(exc))
        return "Internal Server Error", 500, {"content-type": "text/plain"}
