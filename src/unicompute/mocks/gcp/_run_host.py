"""The function URIs: ``https://{fn}-{hash}-{region code}.a.run.app`` (and the
``https://{region}-{project}.cloudfunctions.net/{fn}`` alias), served as Cloud Run serves a
2nd gen function, by the local runtime.

* Any method and path reaches the container (Functions Framework rules: see
  ``mocks/runtime/_host_gcp.py``) with the request's headers plus what Cloud Run adds
  (``X-Forwarded-For``, ``X-Forwarded-Proto``, ``X-Cloud-Trace-Context``, ``traceparent``,
  ``Function-Execution-Id``); the answer is the container's.
* Unless the Cloud Run service's IAM policy grants ``roles/run.invoker`` to ``allUsers``
  (``_run_host_admin``), a request needs ``Authorization: Bearer <ID token>`` with a token the
  fake issued (``_run_host_tokens``) for the function's URL: none is 403, an unknown one (an
  OAuth access token included) or one for another audience 401, with Cloud Run's HTML
  pages. Over plain http (the loopback server of
  ``fake.serve()``, whose clients use anonymous credentials so as never to send a token in
  the clear) a request without ``Authorization`` is let in, as the Google APIs of the fake
  let anonymous callers in there; a token that is sent is still checked.
* Platform failures: past ``timeoutSeconds`` 504 ``upstream request timeout``; a crashed
  instance 503; out of memory 503 whose body and log say ``Memory limit of N MiB exceeded
  with M MiB used`` (Cloud Run says it in the log only; the body repeats it so clients can tell
  it from a crash); all instances busy (``maxInstanceCount``) 429; a body over 32 MiB 413; an
  unknown host or a function that does not serve 404.
"""

from __future__ import annotations

import base64
import json
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from .._kernel.app import LoggedRequest, read_body
from ..runtime import InvocationResult, LocalRuntime, RuntimeThrottled
from ._functions_api import FunctionRecord, FunctionsApp
from ._run_host_tokens import IdTokens

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

ROUTE = "https://*.a.run.app"
LEGACY_ROUTE = "https://*.cloudfunctions.net"
MAX_REQUEST_BYTES = 32 << 20
_HOP = frozenset({"connection", "keep-alive", "transfer-encoding", "upgrade", "host",
                  "content-length", "te", "trailer", "proxy-authorization"})

_PAGE = ("<html><head>\n<meta http-equiv=\"content-type\" content=\"text/html;charset=utf-8\">\n"
         "<title>{code} {title}</title>\n</head>\n<body text=#000000 bgcolor=#ffffff>\n"
         "<h1>Error: {title}</h1>\n<h2>{text}</h2>\n<h2></h2>\n</body></html>\n")

LogSink = Callable[[FunctionRecord, InvocationResult | None, str, int, str], None]


def page(code: int, title: str, text: str) -> Response:
    return Response(_PAGE.format(code=code, title=title, text=text), status=code,
                    content_type="text/html; charset=UTF-8")


class RunHost:
    """The WSGI app of every function URI (not an ``EmulatorApp``: invocations run in
    parallel, without the API's lock)."""

    def __init__(self, functions: FunctionsApp, runtime: Callable[[], LocalRuntime],
                 id_tokens: IdTokens, log_size: int = 1000) -> None:
        self.functions = functions
        self.runtime = runtime
        self.id_tokens = id_tokens
        self.requests: deque[LoggedRequest] = deque(maxlen=log_size)
        self.log_sink: LogSink | None = None

    def find(self, host: str, path: str) -> tuple[FunctionRecord | None, str]:
        """The function a request is for, and the path its container sees."""
        host = host.lower().split(":")[0]
        if host.endswith(".cloudfunctions.net"):
            name, _, rest = path.lstrip("/").partition("/")
            for record in list(self.functions.functions.values()):
                if record.function_id == name and record.body.get("url", "").split("//")[-1] \
                        == f"{host}/{name}":
                    return record, "/" + rest
            return None, path
        for record in list(self.functions.functions.values()):
            uri = record.body.get("serviceConfig", {}).get("uri", "")
            if uri.split("//")[-1] == host:
                return record, path
        return None, path

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse,
                 ) -> Iterable[bytes]:
        request = Request(environ, populate_request=False)
        response = self.answer(request)
        self.requests.append(LoggedRequest(
            method=request.method, path=request.path,
            query=request.query_string.decode("latin-1"), endpoint="invoke",
            headers={k: v for k, v in request.headers.items()
                     if k.lower() in ("content-type", "function-execution-id")},
            status=response.status_code))
        return response(environ, start_response)

    def answer(self, request: Request) -> Response:
        record, path = self.find(request.host or "", request.path)
        if record is None or record.serving is None:
            return page(404, "Page not found", "The requested URL was not found on this "
                                               "server.")
        header = request.headers.get("Authorization", "")
        # The loopback server (``fake.serve()``) takes anonymous callers.
        anonymous_ok = not header and request.scheme != "https"
        if not record.public and not anonymous_ok:
            if not header.startswith("Bearer "):
                return page(403, "Forbidden", "Your client does not have permission to get "
                                              f"URL <code>{path}</code> from this server.")
            urls = (record.body.get("serviceConfig", {}).get("uri", ""),
                    record.body.get("url", ""))
            if not self.id_tokens.accepts(header[7:], urls):
                return page(401, "Unauthorized", "Your client does not have permission to the "
                                                 "requested URL <code>" + path + "</code>.")
        body = read_body(request)
        if len(body) > MAX_REQUEST_BYTES:
            return page(413, "Payload Too Large", "Your client issued a request that was too "
                                                  "large.")
        return self.invoke(record, request, path, body)

    def invoke(self, record: FunctionRecord, request: Request, path: str, body: bytes,
               extra_headers: dict[str, str] | None = None) -> Response:
        """Run the function's container on one request (also used by Scheduler and
        Pub/Sub deliveries)."""
        ids = self.functions.ids
        execution_id = request.headers.get("Function-Execution-Id") or ids.hex(12)
        trace = ids.hex(32)
        headers = [[k, v] for k, v in request.headers.items() if k.lower() not in _HOP]
        headers += [["X-Forwarded-For", request.remote_addr or "127.0.0.1"],
                    ["X-Forwarded-Proto", "https"],
                    ["X-Cloud-Trace-Context", f"{trace}/{ids.number(19)};o=1"],
                    ["Traceparent", f"00-{trace}-{ids.hex(16)}-01"]]
        if "Function-Execution-Id" not in request.headers:
            headers.append(["Function-Execution-Id", execution_id])
        for name, value in (extra_headers or {}).items():
            headers.append([name, value])
        host = (request.host or "").split(":")[0]
        envelope = {"request": {
            "method": request.method, "path": path,
            "query": request.query_string.decode("latin-1"), "headers": headers,
            "body_b64": base64.b64encode(body).decode(), "base_url": f"https://{host}"}}
        line = f"{request.method} {path}"
        try:
            result = self.runtime().invoke(record.name, json.dumps(envelope).encode(),
                                           request_id=execution_id)
        except RuntimeThrottled:
            self._log(record, None, line, 429, execution_id)
            return page(429, "Too Many Requests", "The request was aborted because there was "
                                                  "no available instance.")
        except RuntimeError:
            return page(404, "Page not found", "The requested URL was not found on this "
                                               "server.")
        response = self._response(record, result)
        self._log(record, result, line, response.status_code, execution_id)
        return response

    def _log(self, record: FunctionRecord, result: InvocationResult | None, line: str,
             status: int, execution_id: str) -> None:
        if self.log_sink is not None:
            self.log_sink(record, result, line, status, execution_id)

    @staticmethod
    def _response(record: FunctionRecord, result: InvocationResult) -> Response:
        if result.ok:
            answer: dict[str, Any] = json.loads(result.payload)
            response = Response(base64.b64decode(answer.get("body_b64", "")),
                                status=answer["status"])
            for name, value in answer.get("headers", []):
                if name.lower() != "content-length":
                    response.headers.add(name, value)
            response.headers.setdefault("Server", "Google Frontend")
            return response
        if result.error_type == "Sandbox.Timedout":
            return Response("upstream request timeout", status=504,
                            content_type="text/plain")
        if result.error_type == "Runtime.OutOfMemory":
            return page(503, "Service Unavailable", memory_message(record, result))
        return page(503, "Service Unavailable", "The request failed because either the HTTP "
                    "response was malformed or connection to the instance had an error.")


def memory_message(record: FunctionRecord, result: InvocationResult) -> str:
    used = max(result.max_memory_used_mb, result.memory_mb + 1)
    return (f"Memory limit of {result.memory_mb} MiB exceeded with {used} MiB used. Consider "
            "increasing the memory limit, see "
            "https://cloud.google.com/run/docs/configuring/memory-limits")
