"""Fault injection for the in-process AWS fake: failed calls, throttling, latency, a call log.

:class:`Faults` belongs to one :class:`~unicompute.mocks.aws.AwsFake` (``fake.faults``; from
:func:`~unicompute.mocks.mock_cloud`, ``mock.aws.faults``) and keeps all its state itself::

    with mock_cloud() as mock:
        mock.aws.faults.fail_next("RunInstances", "InsufficientInstanceCapacity")
        mock.aws.faults.throttle("DescribeInstances", rate=0.5, seed=1)
        mock.aws.faults.latency(0.2)
        ...
        assert [c.operation for c in mock.aws.faults.calls].count("RunInstances") == 1

A fault answers with the error EC2 itself sends: the query-protocol XML
``<Response><Errors><Error><Code>…</Code><Message>…</Message></Error></Errors>
<RequestID>…</RequestID></Response>`` with EC2's HTTP status (:data:`STATUS_BY_CODE`, else 400).
botocore parses it like any other answer (``ClientError``; its own retry policy applies to
clients that allow retries), and unicompute maps the code through its error table. A failed call
never reaches moto, so it creates nothing.

How it hooks botocore: moto answers every client through one ``before-send`` handler,
``moto.core.models.botocore_stubber``, which it adds to ``botocore.handlers.BUILTIN_HANDLERS`` on
import (so every session created afterwards has it). botocore *emits* ``before-send`` to every
handler and only then takes the first response, so a handler of our own placed before moto's
cannot stop moto from carrying out the request: RunInstances would launch the instance and the
caller would see only the injected error. :meth:`Faults.patch` therefore wraps the stubber's
class ``__call__`` (a ``mock.patch`` that ``AwsFake.start``/``stop`` start and stop): every
request moto would answer — from any client moto answers, created before or after a fault is
set — first meets the faults, and a faulted one is answered without calling moto. Requests moto
would not answer (a client with an ``endpoint_url``, e.g. one talking to ``AwsFake.serve``) pass
through untouched: the HTTP server mode has no faults.

Faults apply to EC2 operations only (other services' errors have other wire formats); the log
records requests of every service.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from io import BytesIO
from typing import TYPE_CHECKING, Any, NamedTuple
from unittest import mock
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from ..._errors import InvalidRequest

if TYPE_CHECKING:
    from botocore.awsrequest import AWSPreparedRequest, AWSResponse

#: The service (botocore ``service_id``, as in event names) whose operations take faults.
SERVICE = "ec2"

#: EC2's HTTP status for error codes not answered with 400.
STATUS_BY_CODE: dict[str, int] = {
    "RequestLimitExceeded": 503,
    "Unavailable": 503,
    "ServiceUnavailable": 503,
    "InternalError": 500,
    "InternalFailure": 500,
    "AuthFailure": 401,
    "UnauthorizedOperation": 403,
}

#: The messages EC2 sends with these codes (used when ``fail_next`` gets no ``message``).
MESSAGES: dict[str, str] = {
    "RequestLimitExceeded": "Request limit exceeded.",
    "InsufficientInstanceCapacity": (
        "We currently do not have sufficient capacity in the Availability Zone you requested. "
        "Our system will be working on provisioning additional capacity. You can currently get "
        "capacity by not specifying an Availability Zone in your request or choosing a "
        "different Availability Zone."
    ),
    "InternalError": "An internal error has occurred.",
    "Unavailable": "The server is overloaded and can't handle the request.",
}

THROTTLE_CODE = "RequestLimitExceeded"

#: A botocore operation name: RunInstances, DescribeInstances, ...
_OPERATION = re.compile(r"[A-Z][A-Za-z0-9]*")
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9._-]*")


class Call(NamedTuple):
    """One request that reached the fake.

    ``params`` are the request's parameters as sent: for EC2 (query protocol) the form fields
    other than ``Action`` and ``Version``, flat and as strings (``{"InstanceId.1": "i-…"}``); for
    JSON services the decoded body; otherwise empty.
    """

    operation: str
    params: dict[str, Any]


@dataclass
class _Failure:
    code: str
    message: str
    status: int
    remaining: int


class _Body(BytesIO):
    """The raw body botocore reads a response from."""

    def stream(self, **_: Any) -> Any:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


class Faults:
    """Failures, throttling and latency for the in-process AWS fake, and the log of its calls.

    Settings last until :meth:`clear` (also done by the fake's ``stop()`` and ``reset()``).
    Thread-safe. Only clients answered in-process see them; the HTTP server mode
    (``AwsFake.serve``) has no faults.
    """

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._sleep = sleep
        self._lock = threading.Lock()
        self._failures: dict[str, deque[_Failure]] = {}
        self._throttle: dict[str | None, float] = {}
        self._latency: dict[str | None, float] = {}
        self._random = random.Random()
        self._calls: list[Call] = []

    # -- configuration -----------------------------------------------------------------------
    def fail_next(
        self,
        operation: str,
        code: str,
        *,
        times: int = 1,
        message: str | None = None,
        status: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls of EC2 ``operation`` (botocore name, e.g.
        ``"RunInstances"``) with error ``code``, e.g. ``"InsufficientInstanceCapacity"``.

        ``status`` defaults to EC2's (:data:`STATUS_BY_CODE`, else 400); ``message`` to EC2's
        text where known. Failures queued for the same operation are used in order. Takes
        precedence over :meth:`throttle`.
        """
        _check_operation(operation)
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise InvalidRequest("must be an EC2 error code such as 'InternalError'",
                                 field="code")
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise InvalidRequest("must be an int >= 1", field="times")
        if message is not None and not isinstance(message, str):
            raise InvalidRequest("must be a str", field="message")
        if status is None:
            status = STATUS_BY_CODE.get(code, 400)
        elif isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
            raise InvalidRequest("must be an HTTP error status (400-599)", field="status")
        text = message if message is not None else MESSAGES.get(code, f"{code} (injected fault)")
        with self._lock:
            self._failures.setdefault(operation, deque()).append(
                _Failure(code, text, status, times)
            )

    def throttle(
        self, operation: str | None = None, *, rate: float = 1.0, seed: int | None = None
    ) -> None:
        """Answer a fraction ``rate`` (0 to 1) of the calls of ``operation`` (``None``: every EC2
        operation) with ``RequestLimitExceeded`` (HTTP 503).

        A rule for one operation overrides the one for all; ``rate=0`` removes the rule.
        ``seed`` makes the choice of calls repeatable.
        """
        if operation is not None:
            _check_operation(operation)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise InvalidRequest("must be a number from 0 to 1", field="rate")
        with self._lock:
            if seed is not None:
                self._random = random.Random(seed)
            if rate:
                self._throttle[operation] = float(rate)
            else:
                self._throttle.pop(operation, None)

    def latency(self, seconds: float, operation: str | None = None) -> None:
        """Wait ``seconds`` before answering each call of ``operation`` (``None``: every EC2
        operation; a rule for one operation overrides it). ``0`` removes the rule."""
        if operation is not None:
            _check_operation(operation)
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not 0 <= seconds < float("inf")
        ):
            raise InvalidRequest("must be a number of seconds >= 0", field="seconds")
        with self._lock:
            if seconds:
                self._latency[operation] = float(seconds)
            else:
                self._latency.pop(operation, None)

    def clear(self) -> None:
        """Remove every failure, throttle and latency rule, and empty :attr:`calls`."""
        with self._lock:
            self._failures.clear()
            self._throttle.clear()
            self._latency.clear()
            self._calls.clear()

    @property
    def calls(self) -> list[Call]:
        """Every request that reached the fake since the start (or :meth:`clear`), in order,
        faulted ones included — a call botocore or unicompute retried appears once per attempt.
        A copy."""
        with self._lock:
            return list(self._calls)

    # -- the hook ------------------------------------------------------------------------------
    def patch(self) -> Any:
        """A ``mock.patch`` (not started) routing moto's botocore stubber through :meth:`answer`.

        Requests the stubber would not answer (stubber disabled, an ``endpoint_url`` elsewhere,
        passthrough URLs) are left to it unchanged.
        """
        from moto.core.botocore_stubber import BotocoreStubber

        original = BotocoreStubber.__call__
        faults = self

        def __call__(
            stubber: BotocoreStubber, event_name: str, request: AWSPreparedRequest, **kwargs: Any
        ) -> AWSResponse | None:
            if stubber.enabled and _moto_answers(request.url):
                response = faults.answer(event_name, request)
                if response is not None:
                    return response
            return original(stubber, event_name, request, **kwargs)

        return mock.patch.object(BotocoreStubber, "__call__", __call__)

    def answer(self, event_name: str, request: AWSPreparedRequest) -> AWSResponse | None:
        """Log a request bound for the fake, wait out its latency; the injected error response,
        or ``None`` to let moto answer. ``event_name`` is botocore's
        ``before-send.<service>.<Operation>``."""
        parts = event_name.split(".")
        service, operation = (parts[1], parts[2]) if len(parts) >= 3 else ("", event_name)
        with self._lock:
            self._calls.append(Call(operation, _params(request)))
            if service != SERVICE:
                return None
            delay = self._latency.get(operation, self._latency.get(None, 0.0))
            failure = self._take_failure(operation)
            if failure is None:
                rate = self._throttle.get(operation, self._throttle.get(None, 0.0))
                if rate and self._random.random() < rate:
                    code = THROTTLE_CODE
                    failure = _Failure(code, MESSAGES[code], STATUS_BY_CODE[code], 1)
        if delay:
            self._sleep(delay)
        if failure is None:
            return None
        return error_response(request.url, failure.code, failure.message, failure.status)

    def _take_failure(self, operation: str) -> _Failure | None:
        queue = self._failures.get(operation)
        if not queue:
            return None
        failure = queue[0]
        failure.remaining -= 1
        if failure.remaining <= 0:
            queue.popleft()
            if not queue:
                del self._failures[operation]
        return failure


def error_response(url: str, code: str, message: str, status: int) -> AWSResponse:
    """EC2's error answer (query protocol XML) with ``code``, ``message`` and HTTP ``status``."""
    from botocore.awsrequest import AWSResponse
    from botocore.compat import HTTPHeaders

    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error></Errors>"
        f"<RequestID>{uuid.uuid4()}</RequestID></Response>"
    ).encode()
    headers = HTTPHeaders()
    headers["Content-Type"] = "text/xml;charset=UTF-8"
    headers["Content-Length"] = str(len(body))
    headers["Server"] = "AmazonEC2"
    return AWSResponse(url, status, headers, _Body(body))


def _check_operation(operation: object) -> None:
    if not isinstance(operation, str) or not _OPERATION.fullmatch(operation):
        raise InvalidRequest(
            "must be a botocore operation name such as 'RunInstances'", field="operation"
        )


def _params(request: AWSPreparedRequest) -> dict[str, Any]:
    body: Any = request.body
    if hasattr(body, "read"):  # a stream: not read here, it is moto's to read
        return {}
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not isinstance(body, str) or not body:
        return {}
    content_type = str(request.headers.get("Content-Type", ""))
    if "x-www-form-urlencoded" in content_type:
        return {
            name: value
            for name, value in parse_qsl(body, keep_blank_values=True)
            if name not in ("Action", "Version")
        }
    if "json" in content_type:
        try:
            decoded = json.loads(body)
        except ValueError:
            return {}
        return decoded if isinstance(decoded, dict) else {}
    return {}


def _moto_answers(url: str) -> bool:
    """Whether moto's stubber answers a request to ``url`` (mirrors its own matching)."""
    try:
        from moto import backend_index
        from moto.core.config import passthrough_service, passthrough_url
        from moto.core.utils import get_equivalent_url_in_aws_domain
    except ImportError:  # pragma: no cover - a moto laid out differently
        return True
    parsed, _ = get_equivalent_url_in_aws_domain(url)
    clean = f"{parsed.scheme}://{parsed.netloc}{parsed.path}"
    if passthrough_url(clean):
        return False
    for service, pattern in backend_index.backend_url_patterns:
        if pattern.match(clean):
            return not passthrough_service(service)
    return False
