"""Lambda function URLs answered in-process: ``https://<url-id>.lambda-url.<region>.on.aws/``.

:func:`function_url_app` is the WSGI app :meth:`AwsFake.routes` mounts for
:data:`ROUTE`; ``mock_cloud()``'s interceptor sends every ``requests`` call to such a host here.
The request becomes the function-URL event (payload format 2.0), the function runs in the local
runtime, and its result becomes the HTTP response: a ``{"statusCode", "headers", "body",
"isBase64Encoded", "cookies"}`` document is mapped field by field; any other JSON result is
returned with status 200 and ``Content-Type: application/json``. A failed function answers 502,
a throttled one 429. ``AuthType`` ``AWS_IAM`` requires a SigV4 ``Authorization`` header
(``AWS4-HMAC-SHA256 Credential=...``) and answers 403 ``{"Message":"Forbidden"}`` without one;
the signature itself is not verified. Only reachable in-process (the HTTP server mode does not
serve these hostnames).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from ._lambda import LambdaRunner

ROUTE = "https://*.lambda-url.*.on.aws"
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/javascript",
               "application/x-www-form-urlencoded")


def function_url_app(runner: LambdaRunner) -> WSGIApplication:
    """The WSGI app answering every function URL of the fake's Lambda backends."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        response = _answer(runner, request)
        return response(environ, start_response)

    return app


def _forbidden() -> Response:
    return Response(json.dumps({"Message": "Forbidden"}), status=403,
                    headers={"x-amzn-ErrorType": "AccessDeniedException"},
                    content_type="application/json")


def _find(host: str) -> Any:
    """The function whose URL has ``host``, or ``None``."""
    from moto.awslambda_simple.models import lambda_simple_backends

    region = host.split(".")[2] if host.count(".") >= 3 else ""
    for account in list(lambda_simple_backends.keys()):
        backend = lambda_simple_backends[account][region]
        for fn in backend.list_functions():
            config = getattr(fn, "url_config", None)
            if config is not None and config.url.rstrip("/").split("//", 1)[-1] == host:
                return fn
    return None


def _answer(runner: LambdaRunner, request: Request) -> Response:
    host = (request.host or "").lower().split(":")[0]
    fn = _find(host)
    if fn is None:
        return Response(json.dumps({"Message": None}), status=404,
                        content_type="application/json")
    auth_type = fn.url_config.config.get("AuthType")
    authorization = request.headers.get("Authorization", "")
    if auth_type == "AWS_IAM" and not (
            authorization.startswith("AWS4-HMAC-SHA256 ") and "Credential=" in authorization
            and (request.headers.get("X-Amz-Date") or request.headers.get("Date"))):
        return _forbidden()
    from moto.core.exceptions import JsonRESTError

    event = _event(request, host, fn.account_id if auth_type == "AWS_IAM" else None)
    try:
        result = runner.run(fn, json.dumps(event).encode())
    except JsonRESTError as error:
        if error.code == 429:
            return Response(json.dumps({"Message": "Rate Exceeded."}), status=429,
                            content_type="application/json")
        raise
    if not result.ok:
        return Response("Internal Server Error", status=502, content_type="text/plain")
    return _response(json.loads(result.payload))


def _event(request: Request, host: str, account: str | None) -> dict[str, Any]:
    """The function-URL event, payload format 2.0."""
    raw = request.get_data()
    content_type = request.headers.get("Content-Type", "")
    is_text = not raw or content_type.startswith(_TEXT_TYPES)
    url_id = host.split(".", 1)[0]
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        if key == "cookie":
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    query: dict[str, str] = {}
    for name, values in request.args.lists():
        query[name] = ",".join(values)
    now = time.time()
    context: dict[str, Any] = {
        "accountId": account or "anonymous", "apiId": url_id, "domainName": host,
        "domainPrefix": url_id,
        "http": {"method": request.method, "path": request.path, "protocol": "HTTP/1.1",
                 "sourceIp": request.remote_addr or "127.0.0.1",
                 "userAgent": request.headers.get("User-Agent", "")},
        "requestId": str(uuid.uuid4()), "routeKey": "$default", "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if account is not None:
        credential = request.headers.get("Authorization", "").split("Credential=", 1)[-1]
        context["authorizer"] = {"iam": {
            "accessKey": credential.split("/", 1)[0], "accountId": account,
            "callerId": None, "cognitoIdentity": None, "principalOrgId": None,
            "userArn": f"arn:aws:iam::{account}:user/caller", "userId": None}}
    event: dict[str, Any] = {
        "version": "2.0", "routeKey": "$default", "rawPath": request.path,
        "rawQueryString": request.query_string.decode("latin-1"), "headers": headers,
        "requestContext": context, "isBase64Encoded": not is_text,
    }
    cookies = request.headers.get("Cookie")
    if cookies:
        event["cookies"] = [c.strip() for c in cookies.split(";") if c.strip()]
    if query:
        event["queryStringParameters"] = query
    if raw:
        event["body"] = raw.decode("utf-8") if is_text else base64.b64encode(raw).decode()
    return event


def _response(result: Any) -> Response:
    """Lambda's mapping of a function-URL result to the HTTP response."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return Response(json.dumps(result), status=200, content_type="application/json")
    body: Any = result.get("body", "")
    if not isinstance(body, str):
        body = json.dumps(body)
    data = base64.b64decode(body) if result.get("isBase64Encoded") else body.encode()
    response = Response(data, status=int(result["statusCode"]))
    response.headers.remove("Content-Type")
    for name, value in (result.get("headers") or {}).items():
        response.headers[name] = str(value)
    for cookie in result.get("cookies") or []:
        response.headers.add("Set-Cookie", cookie)
    if "Content-Type" not in response.headers:
        response.headers["Content-Type"] = "application/json"
    return response
