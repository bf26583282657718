"""What the Google APIs of the functions fake share (Cloud Functions v2, Cloud Scheduler v1,
Cloud Logging v2, Pub/Sub v1): bearer-token auth as the Compute app does it, and AIP-193 error
bodies ``{"error": {"code", "message", "status", "details"}}``, and the ``filter`` of their list
calls."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from werkzeug.wrappers import Request, Response

from .._kernel import EmulatorApp, FakeClock, Faults, HttpError, IdFactory, json_response
from .._kernel.app import read_body

#: google.rpc.Code names by HTTP status, as Google's JSON errors give ``status``.
STATUS_NAMES: dict[int, str] = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
    404: "NOT_FOUND", 409: "ALREADY_EXISTS", 412: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED",
    499: "CANCELLED", 500: "INTERNAL", 501: "UNIMPLEMENTED", 503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}
#: google.rpc.Code numbers by name (a failed operation's ``error.code``).
RPC_CODES: dict[str, int] = {
    "OK": 0, "CANCELLED": 1, "UNKNOWN": 2, "INVALID_ARGUMENT": 3, "DEADLINE_EXCEEDED": 4,
    "NOT_FOUND": 5, "ALREADY_EXISTS": 6, "PERMISSION_DENIED": 7, "RESOURCE_EXHAUSTED": 8,
    "FAILED_PRECONDITION": 9, "ABORTED": 10, "OUT_OF_RANGE": 11, "UNIMPLEMENTED": 12,
    "INTERNAL": 13, "UNAVAILABLE": 14, "DATA_LOSS": 15, "UNAUTHENTICATED": 16,
}
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"

_UNAUTHENTICATED = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project.")
_BAD_TOKEN = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project.")


def api_error(status: int, message: str, *, status_name: str | None = None,
              details: Sequence[Mapping[str, Any]] = ()) -> HttpError:
    """An AIP-193 error: ``status_name`` defaults to the usual one of ``status``."""
    name = status_name or STATUS_NAMES.get(status, "UNKNOWN")
    return HttpError(status, name, message, details={"details": list(details)})


def bad_request(message: str, field: str | None = None, description: str | None = None,
                ) -> HttpError:
    """400 ``INVALID_ARGUMENT``, with a ``BadRequest`` field violation when ``field`` is
    given."""
    details = [{"@type": BAD_REQUEST_TYPE, "fieldViolations": [
        {"field": field, "description": description or message}]}] if field else []
    return api_error(400, message, details=details)


def not_found(message: str) -> HttpError:
    return api_error(404, message)


class GoogleApi(EmulatorApp):
    """A Google REST API: a ``Bearer`` token the fake's token endpoint issued is required over
    https (the in-process routes); the loopback server takes anonymous requests, as Google's
    emulators do."""

    def __init__(self, *, clock: FakeClock | None = None, ids: IdFactory | None = None,
                 faults: Faults | None = None, tokens: set[str] | None = None) -> None:
        super().__init__(clock=clock, ids=ids, faults=faults)
        self.tokens: set[str] = tokens if tokens is not None else set()

    def authenticate(self, request: Request) -> None:
        header = request.environ.get("HTTP_AUTHORIZATION", "")
        https = request.environ.get("wsgi.url_scheme") == "https"
        if not https and not header:
            return
        if not header.startswith("Bearer "):
            raise api_error(401, _UNAUTHENTICATED)
        if https and header[7:] not in self.tokens:
            raise api_error(401, _BAD_TOKEN)

    def error_response(self, error: HttpError) -> Response:
        status_name = error.code if error.code.isupper() else \
            STATUS_NAMES.get(error.status, "UNKNOWN")
        body: dict[str, Any] = {"code": error.status, "message": error.message,
                                "status": status_name}
        details = error.details.get("details")
        if details:
            body["details"] = details
        headers = {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'} \
            if error.status == 401 else None
        return json_response({"error": body}, error.status, headers)

    def not_found(self, request: Request) -> HttpError:
        return api_error(404, f"The requested URL {request.path} was not found.")

    @staticmethod
    def body(request: Request) -> dict[str, Any]:
        """The JSON object body (``{}`` when empty), or 400 as Google's front end answers."""
        raw = read_body(request)
        if not raw.strip():
            return {}
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise bad_request(f"Invalid JSON payload received. {exc}") from None
        if not isinstance(body, dict):
            raise bad_request("Invalid JSON payload received. Expected an object.")
        return body

    @staticmethod
    def page_size(request: Request, default: int, maximum: int) -> int:
        raw = request.args.get("pageSize", "")
        if not raw:
            return default
        try:
            size = int(raw)
        except ValueError:
            raise bad_request(f"Invalid value at 'page_size' (TYPE_INT32), \"{raw}\"",
                              "page_size") from None
        if size < 0:
            raise bad_request("page_size must not be negative", "page_size")
        return min(size or default, maximum)


_SEVERITIES = ("DEFAULT", "DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT",
               "EMERGENCY")
_TERM = re.compile(r'\s*([A-Za-z_.]+)\s*(>=|<=|!=|=|:|>|<)\s*"((?:[^"\\]|\\.)*)"\s*'
                   r'|\s*([A-Za-z_.]+)\s*(>=|<=|!=|=|:|>|<)\s*([^\s"]+)\s*')


def compile_filter(text: str) -> Callable[[dict[str, Any]], bool]:
    """The ``filter`` of a list call as a predicate: terms joined by ``AND``, each
    ``field OP "value"`` or ``field OP value`` with ``=``, ``!=``, ``:`` (has), ``>=``, ``<=``,
    ``>``, ``<`` over a dotted path into the resource (``state``, ``labels.k``,
    ``resource.labels.service_name``); ``severity`` compares by rank and ``timestamp`` as a
    time. 400 ``INVALID_ARGUMENT`` naming ``filter`` for what it does not understand."""
    if not text.strip():
        return lambda _: True
    terms: list[tuple[list[str], str, str]] = []
    for part in re.split(r"\s+AND\s+", text.strip()):
        match = _TERM.fullmatch(part)
        if match is None:
            raise bad_request(f"Unparseable filter: {part.strip()!r}", "filter")
        field, op, value = (match[1], match[2], match[3]) if match[1] else \
            (match[4], match[5], match[6])
        terms.append((field.split("."), op, value.replace('\\"', '"')))

    def test(entry: dict[str, Any]) -> bool:
        for path, op, value in terms:
            node: Any = entry
            for key in path:
                node = node.get(key) if isinstance(node, dict) else None
            have = "" if node is None else str(node)
            if path == ["severity"] and value in _SEVERITIES and have in _SEVERITIES:
                a, b = _SEVERITIES.index(have), _SEVERITIES.index(value)
            elif path == ["timestamp"]:
                a, b = _instant(have), _instant(value)  # type: ignore[assignment]
            else:
                a, b = have, value  # type: ignore[assignment]
            if not _compare(a, op, b):
                return False
        return True

    return test


def _instant(text: str) -> str:
    """An RFC 3339 UTC time as a sortable string (``Z`` and nanoseconds padded)."""
    text = text.replace("+00:00", "Z")
    head, _, frac = text.rstrip("Z").partition(".")
    return f"{head}.{(frac + '000000000')[:9]}"


def _compare(a: Any, op: str, b: Any) -> bool:
    if op == "=":
        return bool(a == b)
    if op == "!=":
        return bool(a != b)
    if op == ":":
        return str(b) in str(a)
    if op == ">=":
        return bool(a >= b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a < b)
