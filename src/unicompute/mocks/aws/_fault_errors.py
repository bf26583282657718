"""The errors the AWS fake's faults answer with, as each service sends them.

Each protocol's error body: EC2's XML (``<Response><Errors><Error><Code>…``), the query
protocol's ``<ErrorResponse>`` (IAM, STS), the JSON protocol's ``{"__type": …}`` (SQS,
EventBridge, CloudWatch Logs), REST-JSON's ``X-Amzn-ErrorType`` (Lambda) or REST-XML's
``<Error>``; with the service's HTTP status for the code (:func:`status_for`) and its throttling
error (:data:`THROTTLING`).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from .._kernel.faults import Fault
from ._fault_requests import Request
from ._service_models import service_model

#: EC2's signing name: the service whose operations ``operation=None`` means, and whose
#: statuses are :data:`STATUS_BY_CODE`.
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


@dataclass(frozen=True)
class Answer:
    """An injected error response."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def status_for(service: str, code: str) -> int:
    """The HTTP status ``service`` answers error ``code`` with: EC2's from
    :data:`STATUS_BY_CODE`, other services' from their botocore model's error shapes
    (``httpStatusCode``, e.g. Lambda's ``TooManyRequestsException`` 429, IAM's ``NoSuchEntity``
    404); else 400, or 5xx for the common server codes."""
    if service == SERVICE:
        return STATUS_BY_CODE.get(code, 400)
    model = service_model(service)
    status = None if model is None else model.statuses.get(code)
    return status or _COMMON_STATUS.get(code, 400)


def render(request: Request, fault: Fault) -> Answer | None:
    """``fault`` as ``request.service`` answers it in ``request.protocol``; the fault's empty
    code, status 0 and empty message stand for the service's throttling error, its status for
    the code and its message for the code. ``None`` if the protocol cannot be rendered."""
    protocol = request.protocol
    if protocol == "rest":
        model = service_model(request.service)
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
    model = service_model(request.service)
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
