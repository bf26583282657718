"""GCE's error answers: the status codes, ``reason`` strings and messages the real API gives."""

from __future__ import annotations

import json

from .._kernel import Fault, HttpError

#: How GCE answers a call over the API's rate limit (``faults.throttle``): 403, reason
#: ``rateLimitExceeded`` in domain ``usageLimits``.
RATE_LIMITED = Fault(status=403, code="rateLimitExceeded", message="Rate Limit Exceeded")
#: The error domain of each reason that is not ``global``.
DOMAINS: dict[str, str] = {"rateLimitExceeded": "usageLimits",
                           "userRateLimitExceeded": "usageLimits"}

#: The ``httpErrorMessage`` GCE puts on a failed operation, by status code.
HTTP_PHRASES: dict[int, str] = {
    400: "BAD REQUEST", 401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT FOUND",
    409: "CONFLICT", 412: "PRECONDITION FAILED", 429: "TOO MANY REQUESTS",
    500: "INTERNAL SERVER ERROR", 503: "SERVICE UNAVAILABLE",
}


def not_found(path: str) -> HttpError:
    """404 ``notFound`` for ``projects/...`` path ``path``."""
    return HttpError(404, "notFound", f"The resource '{path}' was not found")


def already_exists(path: str) -> HttpError:
    """409 ``alreadyExists``, as GCE answers an insert whose name is taken."""
    return HttpError(409, "alreadyExists", f"The resource '{path}' already exists")


def invalid_field(field: str, value: object, why: str) -> HttpError:
    """400 ``invalid`` in GCE's words: ``Invalid value for field 'F': 'V'. WHY``."""
    return HttpError(400, "invalid", f"Invalid value for field '{field}': '{value}'. {why}")


def echo(value: object, limit: int = 100) -> str:
    """A JSON value as GCE quotes it in ``Invalid value for field`` messages: pretty-printed and
    cut after about 100 characters with ``...`` (e.g. ``'{  "boot": true, ...'``)."""
    text = json.dumps(value, indent=2)
    return text if len(text) <= limit else text[:limit] + "..."


def invalid(message: str) -> HttpError:
    return HttpError(400, "invalid", message)


def required(field: str) -> HttpError:
    """400 ``required``: a field GCE needs was left out."""
    return HttpError(400, "required", f"Required field '{field}' not specified")


def condition_not_met(message: str) -> HttpError:
    """412 ``conditionNotMet``: a stale or missing fingerprint."""
    return HttpError(412, "conditionNotMet", message)


def not_ready(path: str) -> HttpError:
    """400 ``resourceNotReady``: the resource is in a state that forbids the call."""
    return HttpError(400, "resourceNotReady", f"The resource '{path}' is not ready")


def in_use(kind: str, path: str, user: str) -> HttpError:
    """400 ``resourceInUseByAnotherResource``."""
    return HttpError(400, "resourceInUseByAnotherResource",
                     f"The {kind} resource '{path}' is already being used by '{user}'")


def bad_usage(message: str) -> HttpError:
    """400 ``invalidResourceUsage`` (``Invalid resource usage: '...'``)."""
    return HttpError(400, "invalidResourceUsage", f"Invalid resource usage: '{message}'.")
