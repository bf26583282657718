"""The WSGI base class of every emulator: routing, auth hook, faults, errors, request log."""

from __future__ import annotations

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


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None,
                  ) -> Response:
    """``body`` as compact JSON with ``Content-Type: application/json; charset=utf-8``."""
    return Response(json.dumps(body, separators=(",", ":")), status=status,
                    headers=dict(headers or {}),
                    content_type="application/json; charset=utf-8")


@dataclass(frozen=True)
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
        request = Request(environ)
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
            headers={k: v for k, v in request.headers.items() if k.lower() in self.logged_headers},
            status=response.status_code))
        return response(environ, start_response)

    @staticmethod
    def json_body(request: Request) -> dict[str, Any]:
        """The request's JSON object body, or a 400 the subclass renders."""
        raw = request.get_data()
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
