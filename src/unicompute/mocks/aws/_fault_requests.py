"""Reading AWS API requests for the AWS fake's faults: which service and operation a request
calls, in which protocol, with which parameters — for botocore's requests in-process
(:func:`describe_sent`) and for HTTP requests to the served moto app (:func:`middleware`).

The service is the signing name in the request's SigV4 credential scope; the operation is
botocore's (in-process), the ``X-Amz-Target`` header (JSON protocol), the form's ``Action``
(EC2 and query protocols), or the REST route of the service's botocore model.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from .._kernel.app import read_body
from ._service_models import service_model

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from botocore.awsrequest import AWSPreparedRequest

    from ._fault_errors import Answer

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")


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
            model = service_model(service)
            operation = None if model is None else model.operation(method, path, query)
        if "json" in content_type:
            params = _json_object(body)
    if not operation:
        return None
    return Request(service, operation, protocol, params, content_type)


def describe_sent(event_name: str, request: AWSPreparedRequest) -> Request | None:
    """:func:`describe` a request botocore is sending; ``event_name`` is botocore's
    ``before-send.<service>.<Operation>``. A streamed body is not read (it is moto's to read)."""
    parts = event_name.split(".")
    service_id, operation = (parts[1], parts[2]) if len(parts) >= 3 else ("", event_name)
    headers = {str(k).lower(): str(v) for k, v in request.headers.items()}
    body: Any = request.body
    if hasattr(body, "read"):  # a stream: not read here, it is moto's to read
        body = b""
    elif isinstance(body, str):
        body = body.encode()
    query = request.url.partition("?")[2]
    return describe(_signing_name(headers, query) or service_id, request.method or "",
                    "", query, headers, body or b"", operation=operation)


def middleware(app: WSGIApplication,
               answer_for: Callable[[Request], Answer | None]) -> WSGIApplication:
    """``app`` (moto's server app) behind ``answer_for``: a request it answers is answered
    without calling ``app``; every other one reaches it with its body intact. Requests without
    an AWS signature (moto's own ``/moto-api``) pass untouched, without meeting ``answer_for``."""
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
            answer = None if described is None else answer_for(described)
            if answer is not None:
                phrase = HTTP_STATUS_CODES.get(answer.status, "Error")
                start_response(f"{answer.status} {phrase}", answer.headers)
                return [answer.body]
        return app(environ, start_response)

    return faulted


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
