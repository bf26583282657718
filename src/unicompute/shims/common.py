"""The portable runtime every unicompute shim shares, packaged as ``unicompute_shim_common.py``
at the root of every function package, next to the cloud's shim (``unicompute_shim.py`` on
Lambda and Cloud Functions, ``function_app.py`` on Azure), which imports it.

It holds, once, each piece of the portable contract the shims implement:

* :func:`load_handler` and :func:`import_user_handler`: the user's handler, named by
  ``UNICOMPUTE_HANDLER`` (``"app.handler"``);
* :class:`Context`: the portable context (``function_name``, ``request_id``, ``memory_mb``,
  ``remaining_time_ms()``, ``logger``, ``raw``) and :func:`function_logger`, its logger;
* :func:`captured_output`: what one invocation printed (its ``logs``);
* :func:`error_document`: a failure as ``{"errorType", "errorMessage", "stackTrace"}``, and
  :func:`log_error`, which logs one as Lambda's runtime does;
* :class:`ColdStart`: whether a call is the instance's first;
* :func:`http_event` and :func:`http_answer`: Lambda's function-URL event (payload format 2.0)
  and how a handler's result becomes the HTTP response;
* :func:`schedule_event` and :func:`queue_event`: EventBridge's scheduled event and the
  SQS-shaped event.

It runs where functions run: it imports only the standard library (neither unicompute nor any
cloud's SDK is installed there).
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
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

HANDLER_ENV = "UNICOMPUTE_HANDLER"
#: The app settings / environment variables with the function's memory and timeout, for shims
#: whose platform context does not tell them.
MEMORY_ENV = "UNICOMPUTE_MEMORY_MB"
TIMEOUT_ENV = "UNICOMPUTE_TIMEOUT_S"
#: Request content types whose body the HTTP event carries as text (others: base64).
TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
              "application/x-www-form-urlencoded")
JSON_HEADERS: Mapping[str, str] = {"content-type": "application/json"}


# -- the user's handler -----------------------------------------------------------------------
def load_handler(spec: str) -> Any:
    """The attribute ``attr`` of module ``module`` for ``spec`` ``"module.attr"`` (the module
    is imported). What importing raises propagates; a module without ``attr`` raises
    ``ImportError`` in Lambda's words (``Handler 'attr' missing on module 'module'``)."""
    module_name, _, attr = spec.rpartition(".")
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ImportError(f"Handler '{attr}' missing on module '{module_name}'") from None


def import_user_handler() -> tuple[Any, Exception | None]:
    """``(handler, None)``, or ``(None, what failed)`` when ``UNICOMPUTE_HANDLER`` is unset
    (``ImportError``) or its handler cannot be loaded (:func:`load_handler`)."""
    spec = os.environ.get(HANDLER_ENV, "")
    try:
        if not spec:
            raise ImportError(f"{HANDLER_ENV} is not set")
        return load_handler(spec), None
    except Exception as exc:  # the shim reports it per call
        return None, exc


#: The files of a package that are unicompute's (the shims and this module), whose frames a
#: handler's traceback does not show.
SHIM_FILES = frozenset({"unicompute_shim.py", "function_app.py", "unicompute_shim_common.py",
                        os.path.basename(__file__)})


def error_document(exc: BaseException, error_type: str | None = None,
                   message: str | None = None) -> dict[str, Any]:
    """``exc`` as Lambda's error document: ``errorType`` (default: the exception's class),
    ``errorMessage`` (default: ``str(exc)``) and ``stackTrace`` (the formatted traceback
    from the first frame outside the shims, as Lambda's runtime leaves out its own)."""
    trace = exc.__traceback__
    while (trace is not None and trace.tb_next is not None
           and os.path.basename(trace.tb_frame.f_code.co_filename) in SHIM_FILES):
        trace = trace.tb_next
    return {"errorType": error_type or type(exc).__name__,
            "errorMessage": str(exc) if message is None else message,
            "stackTrace": traceback.format_exception(type(exc), exc, trace)}


def log_error(error: Mapping[str, Any]) -> str:
    """Write a failure (an :func:`error_document`) to ``sys.stderr``, the function's log, as
    Lambda's Python runtime logs one: ``[ERROR] <errorType>: <errorMessage>`` and then the
    traceback (``Traceback (most recent call last):`` ...), when there is one. The text
    written."""
    text = f"[ERROR] {error.get('errorType')}: {error.get('errorMessage')}\n"
    trace = "".join(str(line) for line in error.get("stackTrace") or ())
    if trace:
        if not trace.startswith("Traceback"):
            trace = "Traceback (most recent call last):\n" + trace
        text += trace if trace.endswith("\n") else trace + "\n"
    sys.stderr.write(text)
    sys.stderr.flush()
    return text


# -- the portable context ---------------------------------------------------------------------
class Context:
    """The portable context: ``function_name``, ``request_id``, ``memory_mb``,
    ``remaining_time_ms()``, ``logger`` (writes to the function's log) and ``raw`` (the
    cloud's own context, request or event)."""

    __slots__ = ("_remaining_ms", "function_name", "logger", "memory_mb", "raw", "request_id")

    def __init__(self, raw: Any, *, function_name: str, request_id: str, memory_mb: int,
                 remaining_ms: Callable[[], int]) -> None:
        self.raw = raw
        self.function_name = function_name
        self.request_id = request_id
        self.memory_mb = memory_mb
        self.logger = function_logger(function_name)
        self._remaining_ms = remaining_ms

    def remaining_time_ms(self) -> int:
        """Milliseconds left before the platform stops this invocation."""
        return int(self._remaining_ms())

    def __repr__(self) -> str:
        return f"Context(function_name={self.function_name!r}, request_id={self.request_id!r})"


def time_left(timeout_s: float) -> Callable[[], int]:
    """A clock for :class:`Context`: the milliseconds left of ``timeout_s`` from now (never
    below 0)."""
    deadline = time.monotonic() + timeout_s
    return lambda: max(0, int((deadline - time.monotonic()) * 1000))


def env_number(name: str, default: float) -> float:
    """The number in environment variable ``name``; ``default`` when it is unset, empty or
    not a number."""
    try:
        return float(os.environ.get(name) or default)
    except ValueError:
        return default


class _CurrentStdout(io.TextIOBase):
    """Writes to whatever ``sys.stdout`` is at the time, so a logger made once reaches the
    capture of every later invocation (:func:`captured_output`)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


def function_logger(name: str) -> logging.Logger:
    """The logger ``unicompute.function.{name}``: INFO and up, as ``LEVEL message`` lines
    straight to stdout, which every platform keeps as the function's log (the root logger's
    level and handlers differ between hosts, so it does not propagate)."""
    logger = logging.getLogger(f"unicompute.function.{name}")
    if not logger.handlers:
        out = logging.StreamHandler(_CurrentStdout())
        out.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        logger.addHandler(out)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    return logger


# -- output capture ---------------------------------------------------------------------------
class _Tee(io.TextIOBase):
    """A standard stream that writes to the stream it replaced and copies what each captured
    thread writes into that thread's list."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.copies: dict[int, list[str]] = {}

    def write(self, text: str) -> int:
        copy = self.copies.get(threading.get_ident())
        if copy is not None:
            copy.append(text)
        self.real.write(text)
        return len(text)

    def flush(self) -> None:
        self.real.flush()


_tee_lock = threading.Lock()


def _tee(name: str) -> _Tee:
    """``sys.<name>``, replaced by a :class:`_Tee` of itself unless it is one."""
    with _tee_lock:
        stream = getattr(sys, name)
        if not isinstance(stream, _Tee):
            stream = _Tee(stream)
            setattr(sys, name, stream)
        return stream


@contextmanager
def captured_output(into: list[str] | None = None) -> Iterator[list[str]]:
    """Inside, what the calling thread writes to ``sys.stdout`` and ``sys.stderr`` still goes
    there (the platform's log) and is also appended to ``into`` (a new list if ``None``),
    which is what the ``with`` gives. Other threads' output is not copied."""
    copy = [] if into is None else into
    tees = (_tee("stdout"), _tee("stderr"))
    thread = threading.get_ident()
    for tee in tees:
        tee.copies[thread] = copy
    try:
        yield copy
    finally:
        for tee in tees:
            tee.copies.pop(thread, None)


class ColdStart:
    """Whether a call is the first this instance serves (a cold start)."""

    def __init__(self) -> None:
        self._cold = True
        self._lock = threading.Lock()

    def first_call(self) -> bool:
        """``True`` once, for the first caller; ``False`` afterwards."""
        with self._lock:
            first, self._cold = self._cold, False
        return first


# -- HTTP: Lambda's function-URL event and response -----------------------------------------
def http_event(*, method: str, path: str, query: str, headers: Iterable[tuple[str, str]],
               body: bytes, request_id: str, protocol: str = "HTTP/1.1",
               peer: str = "") -> dict[str, Any]:
    """Lambda's function-URL event (payload format 2.0) of an HTTP request.

    Header names are lower-cased and repeated headers joined with commas, as are the values of
    a repeated query parameter in ``queryStringParameters`` (absent without a query string).
    The body is absent when empty, text for a text content type (or none) that is UTF-8,
    otherwise base64 with ``isBase64Encoded``. ``sourceIp`` is the first address of
    ``X-Forwarded-For``, else ``peer``.
    """
    joined: dict[str, str] = {}
    for key, value in headers:
        name = key.lower()
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    event: dict[str, Any] = {"version": "2.0", "routeKey": "$default", "rawPath": path,
                             "rawQueryString": query, "headers": joined}
    if query:
        parameters: dict[str, str] = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            parameters[key] = f"{parameters[key]},{value}" if key in parameters else value
        event["queryStringParameters"] = parameters
    content_type = joined.get("content-type", "").lower()
    encoded = False
    if body:
        text: str | None = None
        if not content_type or content_type.startswith(TEXT_TYPES):
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
        if text is None:
            text, encoded = base64.b64encode(body).decode("ascii"), True
        event["body"] = text
    event["isBase64Encoded"] = encoded
    forwarded = joined.get("x-forwarded-for", "").split(",")[0].strip()
    event["requestContext"] = {
        "http": {"method": method, "path": path, "protocol": protocol,
                 "sourceIp": forwarded or peer, "userAgent": joined.get("user-agent", "")},
        "requestId": request_id,
        "timeEpoch": int(time.time() * 1000),
    }
    return event


def http_answer(result: Any) -> tuple[int, dict[str, str], bytes]:
    """``(status, headers, body)`` of a handler's result, as Lambda's function URLs answer it:
    a dict with ``statusCode`` gives the status, ``headers`` (and the first of ``cookies`` as
    ``set-cookie``) and ``body`` (base64-decoded with ``isBase64Encoded``, JSON when not a
    string); any other result is 200 ``application/json`` of its JSON."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return 200, dict(JSON_HEADERS), json.dumps(result).encode()
    headers = {str(k): str(v) for k, v in (result.get("headers") or {}).items()}
    for cookie in result.get("cookies") or ():
        headers.setdefault("set-cookie", str(cookie))
    body = result.get("body")
    data: bytes
    if body is None:
        data = b""
    elif not isinstance(body, str):
        data = json.dumps(body).encode()
    elif result.get("isBase64Encoded"):
        data = base64.b64decode(body)
    else:
        data = body.encode("utf-8")
    return int(result["statusCode"]), headers, data


# -- schedule and queue events ----------------------------------------------------------------
#: The ``source`` of the schedule events unicompute's shims make (EventBridge's own are
#: ``aws.events``).
SCHEDULE_SOURCE = "unicompute.schedule"


def utc_now() -> str:
    """The time now as EventBridge writes it: ISO 8601 UTC to the second, ``Z``."""
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def event_time(stamp: str | None) -> str | None:
    """``stamp`` (ISO 8601; without an offset it is UTC) as EventBridge writes times: UTC to
    the second, ``Z``. ``None`` when it is empty, not a time, or before 1970 (Azure's
    "never", ``0001-01-01T00:00:00``)."""
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if moment.year < 1970:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def schedule_event(*, schedule: str, resource: str, region: str, account: str = "",
                   when: str | None = None) -> dict[str, Any]:
    """EventBridge's scheduled event, as unicompute's shims give it on clouds other than AWS:
    ``{"version": "0", "id", "detail-type": "Scheduled Event", "source":
    "unicompute.schedule", "account", "time", "region", "resources": [resource],
    "detail": {"schedule": schedule}}``.

    ``time`` is the occurrence the platform fires for (``when``, see :func:`event_time`),
    or now when it did not say. ``id`` is unique per firing: derived from ``resource`` and that
    time when the platform gave it (so a retried firing keeps its id), random otherwise.
    ``account`` is the subscription or project (``""`` when unknown).
    """
    time_ = event_time(when)
    event_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{resource}#{time_}") if time_
                   else uuid.uuid4())
    return {"version": "0", "id": event_id, "detail-type": "Scheduled Event",
            "source": SCHEDULE_SOURCE, "account": account, "time": time_ or utc_now(),
            "region": region, "resources": [resource], "detail": {"schedule": schedule}}


def queue_event(*, message_id: str, body: str, attributes: Mapping[str, str],
                event_source: str, source_id: str) -> dict[str, Any]:
    """The SQS-shaped event of one message: ``{"Records": [{"messageId", "body",
    "attributes", "eventSource", "eventSourceARN"}]}``."""
    return {"Records": [{"messageId": message_id, "body": body,
                         "attributes": dict(attributes), "eventSource": event_source,
                         "eventSourceARN": source_id}]}
