"""The WSGI base class of every emulator: routing, auth hook, faults, errors, request log."""

from __future__ import annotations

import io
import json
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

from .clock import FakeClock
from .faults import Faults
from .ids import IdFactory

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment


class HttpError(Exception):
    """An error the emulator answers; :meth:`EmulatorApp.error_response` renders it the way
    the emulated cloud does."""

    def __init__(self, status: int, code: str, message: str, *, target: str | None = None,
                 headers: Mapping[str, str] | None = None,
                 details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.headers = dict(headers or {})
        self.details = dict(details or {})


_JSON = json.JSONEncoder(separators=(",", ":"))
_JSON_TYPE = ("Content-Type", "application/json; charset=utf-8")


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None,
                  ) -> Response:
    """``body`` as compact JSON with ``Content-Type: application/json; charset=utf-8``."""
    listed = [(k, v) for k, v in headers.items() if k.lower() != "content-type"] \
        if headers else []
    listed.append(_JSON_TYPE)
    return Response(_JSON.encode(body).encode(), status=status, headers=listed)


def _plain(response: Response, method: str) -> list[tuple[str, str]] | None:
    """The WSGI headers of ``response`` when werkzeug's ``Response.__call__`` would send them
    and its buffered body unchanged (a sized, buffered body; no status or method that drops
    the body; no ``Location`` to rewrite; no close callbacks); ``None`` otherwise."""
    status = response.status_code
    on_close = getattr(response, "_on_close", None)  # werkzeug's call_on_close callbacks
    if (method == "HEAD" or status < 200 or status in (204, 304)
            or not isinstance(response.response, list) or response.direct_passthrough
            or on_close is None or on_close
            or not all(isinstance(chunk, bytes) for chunk in response.response)):
        return None
    headers = response.headers.to_wsgi_list()
    sized = False
    for name, _ in headers:
        lower = name.lower()
        if lower == "content-length":
            sized = True
        elif lower in ("location", "content-location"):
            return None
    return headers if sized else None


def read_body(request: Request) -> bytes:
    """``request.get_data()``, read straight from ``wsgi.input`` when the length is known (a
    plain ``Content-Length``, no ``Transfer-Encoding``, stream not opened yet); the input is
    then replaced by the same bytes, so later readers of the request still see the body."""
    environ = request.environ
    length = environ.get("CONTENT_LENGTH", "")
    if (not length.isdigit() or "HTTP_TRANSFER_ENCODING" in environ
            or environ.get("wsgi.input_terminated") or "stream" in request.__dict__):
        return request.get_data()
    raw: bytes = environ["wsgi.input"].read(int(length))
    environ["wsgi.input"] = io.BytesIO(raw)
    return raw


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """What the emulator received, for tests that assert on the wire ("one PUT, no retry")."""

    method: str
    path: str
    query: str
    endpoint: str | None
    headers: Mapping[str, str]
    status: int


class EmulatorApp:
    """A cloud API as a WSGI application.

    Subclasses set :attr:`url_map` (werkzeug rules whose endpoints are method names on the
    subclass), and implement :meth:`error_response` and, where the cloud needs them,
    :meth:`authenticate` and :meth:`not_found`. Each handler is called as
    ``handler(request, **rule_arguments)`` and returns a Response or raises :class:`HttpError`.
    Before a handler runs, :attr:`faults` is consulted with the endpoint name.
    """

    url_map: Map
    #: Request headers kept in the log (lower case); credentials are never kept.
    logged_headers: tuple[str, ...] = ("content-type", "if-match", "if-none-match")

    def __init__(self, *, clock: FakeClock | None = None, ids: IdFactory | None = None,
                 faults: Faults | None = None, log_size: int = 1000) -> None:
        self.clock = clock or FakeClock()
        self.ids = ids or IdFactory()
        self.faults = faults or Faults()
        self.lock = threading.RLock()
        self.requests: deque[LoggedRequest] = deque(maxlen=log_size)

    # -- for subclasses ---------------------------------------------------------------------
    def error_response(self, error: HttpError) -> Response:
        raise NotImplementedError

    def authenticate(self, request: Request) -> None:
        """Raise :class:`HttpError` when the request lacks what the cloud requires."""

    def not_found(self, request: Request) -> HttpError:
        """The error for a path no rule matches."""
        return HttpError(404, "NotFound", f"no such path: {request.path}")

    def match(self, environ: WSGIEnvironment) -> tuple[str, Mapping[str, Any]]:
        """The endpoint name and rule arguments for a request; raises werkzeug's ``NotFound``
        or ``MethodNotAllowed``. Matches :attr:`url_map`; an emulator may answer faster from
        its own index of the same rules."""
        endpoint, args = self.url_map.bind_to_environ(environ).match()
        return str(endpoint), args

    # -- WSGI -------------------------------------------------------------------------------
    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse,
                 ) -> Iterable[bytes]:
        # populate_request=False: no environ <-> request cycle left for the garbage collector
        request = Request(environ, populate_request=False)
        endpoint: str | None = None
        try:
            try:
                endpoint, args = self.match(environ)
            except NotFound:
                raise self.not_found(request) from None
            except MethodNotAllowed:
                raise HttpError(405, "MethodNotAllowed",
                                f"{request.method} is not allowed on {request.path}") from None
            self.authenticate(request)
            fault = self.faults.check(str(endpoint))
            if fault is not None:
                raise HttpError(fault.status, fault.code, fault.message)
            handler = getattr(self, str(endpoint))
            with self.lock:
                response: Response = handler(request, **args)
        except HttpError as error:
            response = self.error_response(error)
            for name, value in error.headers.items():
                response.headers[name] = value
        self.requests.append(LoggedRequest(
            method=request.method, path=request.path,
            query=request.query_string.decode("latin-1"),
            endpoint=None if endpoint is None else str(endpoint),
            headers=self._logged(environ),
            status=response.status_code))
        headers = _plain(response, request.method)
        if headers is None:
            return response(environ, start_response)
        start_response(response.status, headers)
        body: list[bytes] = response.response  # type: ignore[assignment]  # _plain checked
        return body

    def _logged(self, environ: WSGIEnvironment) -> dict[str, str]:
        """The :attr:`logged_headers` the request carries, named as werkzeug names them."""
        found = {}
        for name in self.logged_headers:
            key = name.upper().replace("-", "_")
            if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                value = environ.get(key) or None  # werkzeug skips these when empty
            else:
                value = environ.get("HTTP_" + key)
            if value is not None:
                found[name.title()] = value
        return found

    @staticmethod
    def json_body(request: Request) -> dict[str, Any]:
        """The request's JSON object body, or a 400 the subclass renders."""
        raw = read_body(request)
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise HttpError(400, "InvalidRequestContent",
                            f"The request content was invalid and could not be deserialized: {exc}",
                            ) from None
        if not isinstance(body, dict):
            raise HttpError(400, "InvalidRequestContent", "The request body must be a JSON object")
        return body
