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
names AWS operations, reads them off requests and renders AWS errors. Two hooks feed it:

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

import functools
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from io import BytesIO
from typing import TYPE_CHECKING, Any
from unittest import mock
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from ..._errors import InvalidRequest
from .._kernel.app import read_body
from .._kernel.faults import Call as Call  # re-exported: the entries of Faults.calls
from .._kernel.faults import Fault
from .._kernel.faults import Faults as KernelFaults

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from botocore.awsrequest import AWSPreparedRequest, AWSResponse
    from moto.server import ThreadedMotoServer

#: The service whose operations ``operation=None`` means.
SERVICE = "ec2"

#: EC2's HTTP status for error codes not answered with 400: its server errors (5xx) and the two
#: authorization codes. Observed on the wire: RequestLimitExceeded 503,
#: InsufficientInstanceCapacity 500, AuthFailure 401, UnauthorizedOperation 403.
STATUS_BY_CODE: dict[str, int] = {
    "RequestLimitExceeded": 503,
    "Unavailable": 503,
    "ServiceUnavailable": 503,
    "InternalError": 500,
    "InternalFailure": 500,
    "InsufficientInstanceCapacity": 500,
    "InsufficientAddressCapacity": 500,
    "InsufficientCapacity": 500,
    "InsufficientHostCapacity": 500,
    "InsufficientReservedInstanceCapacity": 500,
    "InsufficientVolumeCapacity": 500,
    "AuthFailure": 401,
    "UnauthorizedOperation": 403,
}

#: Status of the codes every AWS service shares, where the service's model gives none.
_COMMON_STATUS: dict[str, int] = {
    "InternalFailure": 500,
    "InternalError": 500,
    "InternalServerError": 500,
    "ServiceFailure": 500,
    "ServiceUnavailable": 503,
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

#: Each service's throttling error (code, message); others answer ``ThrottlingException``.
THROTTLING: dict[str, tuple[str, str]] = {
    "ec2": (THROTTLE_CODE, MESSAGES[THROTTLE_CODE]),
    "lambda": ("TooManyRequestsException", "Rate exceeded"),
    "iam": ("Throttling", "Rate exceeded"),
    "sts": ("Throttling", "Rate exceeded"),
}
_THROTTLING = ("ThrottlingException", "Rate exceeded")

#: How many calls :attr:`Faults.calls` keeps (the most recent).
LOG_SIZE = 10_000

_OPERATION = re.compile(r"(?:[a-z0-9-]+:)?[A-Z*?][A-Za-z0-9*?]*")
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9._-]*")
_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")


class CallLog(list[Call]):
    """The calls that reached the fake, in order, as ``(operation, params)``; calling it
    counts them like the Azure and GCP fakes' ``faults.calls(operation)``."""

    def __call__(self, operation: str) -> int:
        """How many calls of ``operation`` (an action name, as in :meth:`Faults.fail_next`;
        wildcards allowed) the log holds."""
        pattern = re.compile(_glob(operation))
        return sum(1 for call in self if pattern.fullmatch(call.operation))


@dataclass(frozen=True)
class Request:
    """What the faults need of one AWS API request."""

    service: str  #: signing name: ec2, lambda, iam, sts, sqs, events, logs, ...
    operation: str  #: action name: RunInstances, Invoke, ...
    protocol: str  #: ec2, query, json, or rest (rest-json or rest-xml, as the model says)
    params: dict[str, Any]
    content_type: str

    @property
    def name(self) -> str:
        """The kernel's name for the operation: ``service:Operation``."""
        return f"{self.service}:{self.operation}"


@dataclass(frozen=True)
class Answer:
    """An injected error response."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


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

        parts = event_name.split(".")
        service_id, operation = (parts[1], parts[2]) if len(parts) >= 3 else ("", event_name)
        headers = {str(k).lower(): str(v) for k, v in request.headers.items()}
        body: Any = request.body
        if hasattr(body, "read"):  # a stream: not read here, it is moto's to read
            body = b""
        elif isinstance(body, str):
            body = body.encode()
        query = request.url.partition("?")[2]
        described = describe(_signing_name(headers, query) or service_id, request.method or "",
                             "", query, headers, body or b"", operation=operation)
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
        from werkzeug.http import HTTP_STATUS_CODES
        from werkzeug.wrappers import Request as WsgiRequest

        def faulted(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
            headers = {key[5:].replace("_", "-").lower(): str(value)
                       for key, value in environ.items() if key.startswith("HTTP_")}
            if environ.get("CONTENT_TYPE"):
                headers["content-type"] = str(environ["CONTENT_TYPE"])
            query = str(environ.get("QUERY_STRING", ""))
            service = _signing_name(headers, query)
            if service is not None:
                body = read_body(WsgiRequest(environ, populate_request=False))
                described = describe(service, str(environ.get("REQUEST_METHOD", "")),
                                     str(environ.get("PATH_INFO", "")), query, headers, body)
                answer = None if described is None else self.answer_for(described)
                if answer is not None:
                    phrase = HTTP_STATUS_CODES.get(answer.status, "Error")
                    start_response(f"{answer.status} {phrase}", answer.headers)
                    return [answer.body]
            return app(environ, start_response)

        return faulted

    def serve_through(self, server: ThreadedMotoServer) -> None:
        """Make a started moto server answer through :meth:`wsgi`."""
        wsgi_server = getattr(server, "_server", None)
        if wsgi_server is None or not hasattr(wsgi_server, "app"):  # pragma: no cover - moto
            raise RuntimeError("this moto server does not expose its WSGI app")
        wsgi_server.app = self.wsgi(wsgi_server.app)


def describe(service: str, method: str, path: str, query: str, headers: Mapping[str, str],
             body: bytes, *, operation: str | None = None) -> Request | None:
    """The :class:`Request` for an AWS API request (``headers`` keyed in lower case);
    ``operation`` when the caller knows it (botocore does), else read from the request.
    ``None`` when no operation can be found."""
    content_type = headers.get("content-type", "")
    target = headers.get("x-amz-target")
    form: dict[str, str] | None = None
    if "x-www-form-urlencoded" in content_type:
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif method == "GET" and "Action=" in query:
        form = dict(parse_qsl(query, keep_blank_values=True))
    params: dict[str, Any] = {}
    if target is not None:
        protocol = "json"
        operation = operation or target.rpartition(".")[2]
        params = _json_object(body)
    elif form is not None and "Action" in form:
        protocol = "ec2" if service == "ec2" else "query"
        operation = operation or form["Action"]
        params = {k: v for k, v in form.items() if k not in ("Action", "Version")}
    else:
        protocol = "rest"  # rest-json or rest-xml: the model says, if a fault needs it
        if operation is None:
            model = _service_model(service)
            operation = None if model is None else model.operation(method, path, query)
        if "json" in content_type:
            params = _json_object(body)
    if not operation:
        return None
    return Request(service, operation, protocol, params, content_type)


def status_for(service: str, code: str) -> int:
    """The HTTP status ``service`` answers error ``code`` with: EC2's from
    :data:`STATUS_BY_CODE`, other services' from their botocore model's error shapes
    (``httpStatusCode``, e.g. Lambda's ``TooManyRequestsException`` 429, IAM's ``NoSuchEntity``
    404); else 400, or 5xx for the common server codes."""
    if service == SERVICE:
        return STATUS_BY_CODE.get(code, 400)
    model = _service_model(service)
    status = None if model is None else model.statuses.get(code)
    return status or _COMMON_STATUS.get(code, 400)


def render(request: Request, fault: Fault) -> Answer | None:
    """``fault`` as ``request.service`` answers it in ``request.protocol``; the fault's empty
    code, status 0 and empty message stand for the service's throttling error, its status for
    the code and its message for the code. ``None`` if the protocol cannot be rendered."""
    protocol = request.protocol
    if protocol == "rest":
        model = _service_model(request.service)
        protocol = "" if model is None else model.protocol
    renderer = _RENDERERS.get(protocol)
    if renderer is None:
        return None
    code, message = fault.code, fault.message
    if not code:
        code, message = THROTTLING.get(request.service, _THROTTLING)
    status = fault.status or status_for(request.service, code)
    if not message:
        message = MESSAGES.get(code, f"{code} (injected fault)") \
            if request.service == "ec2" else f"{code} (injected fault)"
    request_id = str(uuid.uuid4())
    content_type, body = renderer(request, code, message, status, request_id)
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body))),
               ("x-amzn-RequestId", request_id)]
    if protocol == "ec2":
        headers.append(("Server", "AmazonEC2"))
    elif protocol == "rest-json":
        headers.append(("X-Amzn-ErrorType", code))
    return Answer(status, headers, body)


Renderer = Callable[[Request, str, str, int, str], tuple[str, bytes]]


def _ec2_error(request: Request, code: str, message: str, status: int,
               request_id: str) -> tuple[str, bytes]:
    return "text/xml;charset=UTF-8", (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Response><Errors><Error><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error></Errors>"
        f"<RequestID>{request_id}</RequestID></Response>"
    ).encode()


def _query_error(request: Request, code: str, message: str, status: int,
                 request_id: str) -> tuple[str, bytes]:
    model = _service_model(request.service)
    namespace = "" if model is None or not model.xml_namespace \
        else f' xmlns="{escape(model.xml_namespace)}"'
    kind = "Receiver" if status >= 500 else "Sender"
    return "text/xml", (
        f"<ErrorResponse{namespace}><Error><Type>{kind}</Type><Code>{escape(code)}</Code>"
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    ).encode()


def _json_error(request: Request, code: str, message: str, status: int,
                request_id: str) -> tuple[str, bytes]:
    content_type = request.content_type or "application/x-amz-json-1.1"
    return content_type, json.dumps({"__type": code, "message": message}).encode()


def _rest_json_error(request: Request, code: str, message: str, status: int,
                     request_id: str) -> tuple[str, bytes]:
    kind = "Service" if status >= 500 else "User"
    return "application/json", json.dumps({"Type": kind, "Message": message}).encode()


def _rest_xml_error(request: Request, code: str, message: str, status: int,
                    request_id: str) -> tuple[str, bytes]:
    return "application/xml", (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{request_id}</RequestId></Error>"
    ).encode()


_RENDERERS: dict[str, Renderer] = {
    "ec2": _ec2_error,
    "query": _query_error,
    "json": _json_error,
    "rest-json": _rest_json_error,
    "rest-xml": _rest_xml_error,
}


@dataclass(frozen=True)
class _Model:
    """What the faults need of a botocore service model."""

    protocol: str
    xml_namespace: str
    statuses: Mapping[str, int]  #: HTTP status per error code
    routes: tuple[tuple[str, re.Pattern[str], frozenset[str], str], ...]

    def operation(self, method: str, path: str, query: str) -> str | None:
        """The operation whose HTTP method and request URI match (REST protocols)."""
        keys = {key for key, _ in parse_qsl(query, keep_blank_values=True)}
        for route_method, route, needed, name in self.routes:
            if route_method == method and route.fullmatch(path) and needed <= keys:
                return name
        return None


@functools.cache
def _service_model(service: str) -> _Model | None:
    """The protocol and REST routes of the service signing as ``service`` (botocore's model of
    the same name), read once; ``None`` if botocore has none."""
    from botocore.exceptions import DataNotFoundError
    from botocore.loaders import create_loader

    try:
        model = create_loader().load_service_model(service, "service-2")
    except DataNotFoundError:
        return None
    routes = []
    for name, spec in model["operations"].items():
        http = spec.get("http", {})
        uri, _, uri_query = str(http.get("requestUri", "/")).partition("?")
        pieces = re.split(r"(\{[^}]+\})", uri)
        regex = "".join(
            (".+" if piece.endswith("+}") else "[^/]+") if piece.startswith("{")
            else re.escape(piece) for piece in pieces)
        needed = frozenset(key for key, _ in parse_qsl(uri_query, keep_blank_values=True)
                           if "{" not in key)
        literal = len(re.sub(r"\{[^}]+\}", "", uri)) + len(needed)
        routes.append((literal, str(http.get("method", "POST")), re.compile(regex + "/?"),
                       needed, str(name)))
    routes.sort(key=lambda route: -route[0])  # the most specific URI first
    statuses = {
        str(shape["error"].get("code", name)): int(shape["error"]["httpStatusCode"])
        for name, shape in model["shapes"].items()
        if "httpStatusCode" in shape.get("error", {})
    }
    metadata = model.get("metadata", {})
    return _Model(str(metadata.get("protocol", "")), str(metadata.get("xmlNamespace", "")),
                  statuses, tuple(route[1:] for route in routes))


def _signing_name(headers: Mapping[str, str], query: str) -> str | None:
    """The service a SigV4-signed request names in its credential scope."""
    found = _SCOPE.search(headers.get("authorization", ""))
    if found is None and "X-Amz-Credential=" in query:
        credential = dict(parse_qsl(query)).get("X-Amz-Credential", "")
        found = _SCOPE.search(f"Credential={credential}")
    return None if found is None else found.group(1)


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        decoded = json.loads(body) if body else {}
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


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
