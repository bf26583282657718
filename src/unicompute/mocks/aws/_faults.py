"""Fault injection for the AWS fake: failed calls, throttling, latency, a call log.

:class:`Faults` belongs to one :class:`~unicompute.mocks.aws.AwsFake` (``fake.faults``; from
:func:`~unicompute.mocks.mock_cloud`, ``mock.aws.faults``; from a
:class:`~unicompute.mocks.MockServer`, ``server.fake("aws").faults``)::

    with mock_cloud() as mock:
        mock.aws.faults.fail_next("RunInstances", "InsufficientInstanceCapacity")
        mock.aws.faults.throttle("DescribeInstances", rate=0.5, seed=1)
        mock.aws.faults.latency(0.2)
        ...
        assert mock.aws.faults.calls("RunInstances") == 1

Operations are AWS API action names (``RunInstances``, Lambda's ``Invoke``), optionally
qualified by the service's signing name (``ec2:RunInstances``, ``lambda:Invoke``), with ``*``
and ``?`` wildcards (``Describe*``). ``None`` (the default of :meth:`Faults.throttle` and
:meth:`Faults.latency`) means every EC2 operation.

A fault answers with the error the service itself sends, in its protocol: EC2's XML
(``<Response><Errors><Error><Code>…``), the query protocol's ``<ErrorResponse>`` (IAM, STS), the
JSON protocol's ``{"__type": …}`` (SQS, EventBridge, CloudWatch Logs), REST-JSON's
``X-Amzn-ErrorType`` (Lambda) or REST-XML's ``<Error>``, with the service's HTTP status for the
code (:func:`status_for`: EC2's server errors are 5xx, e.g. ``RequestLimitExceeded`` 503 and
``InsufficientInstanceCapacity`` 500; other services' as their botocore models state, e.g.
Lambda's ``TooManyRequestsException`` 429). botocore parses it like any other answer
(``ClientError``; its own retry policy applies to clients that allow retries), and unicompute
maps the code through its error table. A failed call never reaches moto, so it creates nothing.
Throttling answers with each service's throttling error (:data:`THROTTLING`).

The rule matching, counting, seeded rates, latency and the call log are the shared kernel's
(:class:`unicompute.mocks._kernel.faults.Faults`, as in the Azure and GCP fakes); this module
names AWS operations; :mod:`._fault_requests` reads them off requests and
:mod:`._fault_errors` renders AWS errors. Two hooks feed it:

* In-process (:meth:`Faults.patch`): moto answers every client through one ``before-send``
  handler, ``moto.core.models.botocore_stubber``, which it adds to
  ``botocore.handlers.BUILTIN_HANDLERS`` on import. botocore *emits* ``before-send`` to every
  handler and only then takes the first response, so a handler of our own placed before moto's
  cannot stop moto from carrying out the request. The patch therefore wraps the stubber's class
  ``__call__``: every request moto would answer — from any client, created before or after a
  fault is set — first meets the faults, and a faulted one is answered without calling moto.
  Requests moto would not answer (e.g. a client with an ``endpoint_url``) pass untouched.
* Over HTTP (:meth:`Faults.serve_through`): the moto server's WSGI app is wrapped
  (:meth:`Faults.wsgi`), so clients in other processes pointed at ``AwsFake.serve()``'s
  endpoint meet the same faults. Requests without an AWS signature (moto's own ``/moto-api``)
  pass untouched and unlogged.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from io import BytesIO
from typing import TYPE_CHECKING, Any
from unittest import mock

from ..._errors import InvalidRequest
from .._kernel.faults import Call as Call  # re-exported: the entries of Faults.calls
from .._kernel.faults import Faults as KernelFaults

# re-exported: this module held them before the requests and errors had modules of their own
from ._fault_errors import MESSAGES as MESSAGES
from ._fault_errors import SERVICE as SERVICE
from ._fault_errors import STATUS_BY_CODE as STATUS_BY_CODE
from ._fault_errors import THROTTLE_CODE as THROTTLE_CODE
from ._fault_errors import THROTTLING as THROTTLING
from ._fault_errors import Answer as Answer
from ._fault_errors import render as render
from ._fault_errors import status_for as status_for
from ._fault_requests import Request as Request
from ._fault_requests import describe as describe
from ._fault_requests import describe_sent, middleware

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication
    from botocore.awsrequest import AWSPreparedRequest, AWSResponse
    from moto.server import ThreadedMotoServer

#: How many calls :attr:`Faults.calls` keeps (the most recent).
LOG_SIZE = 10_000

_OPERATION = re.compile(r"(?:[a-z0-9-]+:)?[A-Z*?][A-Za-z0-9*?]*")
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9._-]*")


class CallLog(list[Call]):
    """The calls that reached the fake, in order, as ``(operation, params)``; calling it
    counts them like the Azure and GCP fakes' ``faults.calls(operation)``."""

    def __call__(self, operation: str) -> int:
        """How many calls of ``operation`` (an action name, as in :meth:`Faults.fail_next`;
        wildcards allowed) the log holds."""
        pattern = re.compile(_glob(operation))
        return sum(1 for call in self if pattern.fullmatch(call.operation))


class _Body(BytesIO):
    """The raw body botocore reads a response from."""

    def stream(self, **_: Any) -> Any:
        chunk = self.read()
        while chunk:
            yield chunk
            chunk = self.read()


class Faults:
    """Failures, throttling and latency for the AWS fake, and the log of its calls.

    Settings last until :meth:`clear` (also done by the fake's ``stop()`` and ``reset()``) and
    apply in-process and over HTTP alike. Thread-safe. ``seed`` seeds the throttles armed
    without a seed of their own; ``sleep`` waits out latencies.
    """

    def __init__(self, *, sleep: Callable[[float], None] = time.sleep, seed: int = 0) -> None:
        self._kernel = KernelFaults(seed=seed, log_size=LOG_SIZE, sleep=sleep)

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
        """Answer the next ``times`` calls of ``operation`` (e.g. ``"RunInstances"``,
        ``"lambda:Invoke"``, ``"Describe*"``) with error ``code``, e.g.
        ``"InsufficientInstanceCapacity"``.

        ``status`` defaults to the answering service's for the code (:func:`status_for`);
        ``message`` to EC2's text where known. Failures armed for the same calls are used in
        the order armed. Takes precedence over :meth:`throttle`.
        """
        _check_operation(operation)
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise InvalidRequest("must be an AWS error code such as 'InternalError'",
                                 field="code")
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise InvalidRequest("must be an int >= 1", field="times")
        if message is not None and not isinstance(message, str):
            raise InvalidRequest("must be a str", field="message")
        if status is not None and (isinstance(status, bool) or not isinstance(status, int)
                                   or not 400 <= status <= 599):
            raise InvalidRequest("must be an HTTP error status (400-599)", field="status")
        self._kernel.fail_next(_pattern(operation), status=status or 0, code=code,
                               message=message or "", times=times)

    def throttle(
        self,
        operation: str | None = None,
        *,
        rate: float = 1.0,
        seed: int | None = None,
        times: int | None = None,
    ) -> None:
        """Answer a fraction ``rate`` (0 to 1) of the calls of ``operation`` (``None``: every
        EC2 operation) with the service's throttling error (EC2: ``RequestLimitExceeded``, HTTP
        503; Lambda: ``TooManyRequestsException``, 429; see :data:`THROTTLING`).

        Replaces the throttle armed for the same ``operation``; a throttle for one operation
        overrides a wider one; ``rate=0`` removes it. ``seed`` makes the choice of calls
        repeatable (without one, the Faults' own seed does). With ``times`` (as the Azure and
        GCP fakes' ``throttle``), exactly the next ``times`` calls are throttled instead, like
        :meth:`fail_next`; ``rate`` and ``seed`` then stay unset.
        """
        pattern = _pattern(operation)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise InvalidRequest("must be a number from 0 to 1", field="rate")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise InvalidRequest("must be an int", field="seed")
        # code "", status 0, message "": the answering service's throttling error (render)
        if times is None:
            self._kernel.error_rate(pattern, float(rate), status=0, code="", message="",
                                    seed=seed)
            return
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise InvalidRequest("must be an int >= 1", field="times")
        if rate != 1.0 or seed is not None:
            raise InvalidRequest("throttles either the next `times` calls or a rate of them",
                                 field="times")
        self._kernel.fail_next(pattern, status=0, code="", message="", times=times)

    def error_rate(
        self, operation: str | None, rate: float, *, code: str = "InternalError",
        seed: int | None = None,
    ) -> None:
        """Answer a fraction ``rate`` (0 to 1) of the calls of ``operation`` (``None``: every
        EC2 operation) with error ``code`` (default EC2's ``InternalError``, HTTP 500), chosen
        repeatably (``seed``, else the Faults' own). Shares the slot of :meth:`throttle`: it
        replaces a throttle or rate armed for the same ``operation``; ``rate=0`` removes it."""
        pattern = _pattern(operation)
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise InvalidRequest("must be a number from 0 to 1", field="rate")
        if not isinstance(code, str) or not _CODE.fullmatch(code):
            raise InvalidRequest("must be an AWS error code such as 'InternalError'",
                                 field="code")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise InvalidRequest("must be an int", field="seed")
        self._kernel.error_rate(pattern, float(rate), status=0, code=code, message="",
                                seed=seed)

    def latency(self, seconds: float, operation: str | None = None) -> None:
        """Wait ``seconds`` before answering each call of ``operation`` (``None``: every EC2
        operation; a rule for one operation overrides a wider one). ``0`` removes the rule."""
        pattern = _pattern(operation)
        if (
            isinstance(seconds, bool)
            or not isinstance(seconds, int | float)
            or not 0 <= seconds < float("inf")
        ):
            raise InvalidRequest("must be a number of seconds >= 0", field="seconds")
        self._kernel.latency(pattern, float(seconds))

    def clear(self) -> None:
        """Remove every failure, throttle and latency rule, and empty :attr:`calls`."""
        self._kernel.clear()

    @property
    def calls(self) -> CallLog:
        """Every request that reached the fake since the start (or :meth:`clear`; the last
        :data:`LOG_SIZE`), in order, faulted ones included — a call botocore or unicompute
        retried appears once per attempt. A copy; ``calls("RunInstances")`` counts.

        ``params`` are the request's parameters as sent: for EC2 and the query protocol the
        form fields other than ``Action`` and ``Version``, flat and as strings
        (``{"InstanceId.1": "i-…"}``); for JSON bodies the decoded body; otherwise empty.
        """
        return CallLog(Call(name.partition(":")[2], params)
                       for name, params in self._kernel.log)

    # -- deciding ------------------------------------------------------------------------------
    def answer_for(self, request: Request) -> Answer | None:
        """Log ``request``, wait out its latency; the injected error, or ``None`` to let moto
        answer. A fault met by a request of a protocol this module cannot render (a REST
        service botocore has no model of) lets moto answer."""
        fault = self._kernel.check(request.name, request.params)
        return None if fault is None else render(request, fault)

    # -- in-process ----------------------------------------------------------------------------
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
        """:meth:`answer_for` a botocore request; ``event_name`` is botocore's
        ``before-send.<service>.<Operation>``."""
        from botocore.awsrequest import AWSResponse
        from botocore.compat import HTTPHeaders

        described = describe_sent(event_name, request)
        if described is None:
            return None
        answer = self.answer_for(described)
        if answer is None:
            return None
        response_headers = HTTPHeaders()
        for name, value in answer.headers:
            response_headers[name] = value
        return AWSResponse(request.url, answer.status, response_headers, _Body(answer.body))

    # -- over HTTP -----------------------------------------------------------------------------
    def wsgi(self, app: WSGIApplication) -> WSGIApplication:
        """``app`` (moto's server app) behind the faults: a faulted request is answered
        without calling ``app``; every other one reaches it with its body intact."""
        return middleware(app, self.answer_for)

    def serve_through(self, server: ThreadedMotoServer) -> None:
        """Make a started moto server answer through :meth:`wsgi`."""
        wsgi_server = getattr(server, "_server", None)
        if wsgi_server is None or not hasattr(wsgi_server, "app"):  # pragma: no cover - moto
            raise RuntimeError("this moto server does not expose its WSGI app")
        wsgi_server.app = self.wsgi(wsgi_server.app)


def _pattern(operation: str | None) -> str:
    """The kernel's pattern (``service:Operation``) for an operation as users name it."""
    if operation is None:
        return f"{SERVICE}:*"
    _check_operation(operation)
    return operation if ":" in operation else f"*:{operation}"


def _glob(operation: str) -> str:
    _check_operation(operation)
    name = operation.partition(":")[2] or operation
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in name)


def _check_operation(operation: object) -> None:
    if not isinstance(operation, str) or not _OPERATION.fullmatch(operation):
        raise InvalidRequest(
            "must be an AWS action name such as 'RunInstances' or 'lambda:Invoke' "
            "(wildcards * and ? allowed)", field="operation"
        )


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
