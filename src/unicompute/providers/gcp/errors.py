"""google-api-core and google-auth exceptions → :mod:`unicompute` errors.

The class of a ``GoogleAPICallError`` follows its HTTP status, refined by GCE's ``reason``
(REST ``errors[].reason``) or, for a failed operation, its error ``code``
(``ZONE_RESOURCE_POOL_EXHAUSTED``, ``QUOTA_EXCEEDED`` …):

==========================================  ===========================================
GCE answer                                  unicompute error
==========================================  ===========================================
404, ``notFound``, ``RESOURCE_NOT_FOUND``   ``NotFound``
409 ``alreadyExists``                       ``AlreadyExists`` (a name already taken)
409 otherwise, 412 ``conditionNotMet``      ``Conflict``
400 ``resourceInUseByAnotherResource``,     ``Conflict`` (e.g. deleting an attached disk)
``resourceNotReady``
400 otherwise (``invalid``, ``required``…)  ``InvalidRequest`` (field from the message)
401, google-auth credential errors          ``Unauthenticated``
403 ``quotaExceeded``, ``QUOTA_EXCEEDED``   ``QuotaExceeded``
403 ``rateLimitExceeded``, 429              ``Throttled``
403 otherwise                               ``PermissionDenied``
``ZONE_RESOURCE_POOL_EXHAUSTED[...]``       ``CapacityUnavailable``
501                                         ``Unsupported``
500, 502, 503, 504, lost connections        ``ProviderError``/``Timeout``, transient
==========================================  ===========================================

Every error has ``provider="gcp"``, the ``operation`` it was given, ``original`` set to the
native exception and GCE's message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..._errors import (
    AlreadyExists,
    CapacityUnavailable,
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ProviderError,
    QuotaExceeded,
    Throttled,
    Timeout,
    Unauthenticated,
    UnicomputeError,
    Unsupported,
    error_maker,
)
from .convert import PROVIDER

#: GCE reasons (REST ``errors[].reason``) and operation error codes → portable class. They win
#: over the HTTP status.
REASONS: dict[str, type[UnicomputeError]] = {
    "notFound": NotFound,
    "RESOURCE_NOT_FOUND": NotFound,
    "alreadyExists": AlreadyExists,
    "RESOURCE_ALREADY_EXISTS": AlreadyExists,
    "conditionNotMet": Conflict,
    "resourceNotReady": Conflict,
    "resourceInUseByAnotherResource": Conflict,
    "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE": Conflict,
    "RESOURCE_NOT_READY": Conflict,
    "quotaExceeded": QuotaExceeded,
    "QUOTA_EXCEEDED": QuotaExceeded,
    "rateLimitExceeded": Throttled,
    "userRateLimitExceeded": Throttled,
    "RATE_LIMIT_EXCEEDED": Throttled,
    "ZONE_RESOURCE_POOL_EXHAUSTED": CapacityUnavailable,
    "ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS": CapacityUnavailable,
    "REGION_RESOURCE_POOL_EXHAUSTED": CapacityUnavailable,
    "UNSUPPORTED_OPERATION": Unsupported,
    "unsupportedOperation": Unsupported,
    "forbidden": PermissionDenied,
    "accessNotConfigured": PermissionDenied,
    "PERMISSIONS_ERROR": PermissionDenied,
    "invalid": InvalidRequest,
    "badRequest": InvalidRequest,
    "required": InvalidRequest,
    "invalidParameter": InvalidRequest,
    "INVALID_FIELD_VALUE": InvalidRequest,
    "INVALID_USAGE": InvalidRequest,
}

#: HTTP status → portable class, when no reason decides.
STATUSES: dict[int, type[UnicomputeError]] = {
    400: InvalidRequest,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    412: Conflict,
    429: Throttled,
    501: Unsupported,
    504: Timeout,
}

#: Statuses of server-side failures worth repeating.
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})

#: Fields of the GCE Instance/Disk resources → the portable spec field they come from.
_FIELDS = (
    ("machineType", "size"),
    ("sourceImage", "image"),
    ("diskSizeGb", "disk_gib"),
    ("sizeGb", "size_gib"),
    ("metadata", "user_data"),
    ("labels", "tags"),
    ("zone", "zone"),
    ("name", "name"),
)
_FIELD_IN_MESSAGE = re.compile(r"field '(?:resource\.)?([^']+)'")

_make = error_maker(PROVIDER)


def reasons(exc: BaseException) -> list[str]:
    """GCE's reasons for ``exc``: REST ``errors[].reason`` (dicts), operation ``errors[].code``
    (``compute_v1.Errors`` or dicts), and the ``ErrorInfo`` reason when present."""
    found: list[str] = []
    for item in getattr(exc, "errors", None) or ():
        if isinstance(item, dict):
            value = item.get("reason") or item.get("code")
        else:
            value = getattr(item, "reason", None) or getattr(item, "code", None)
        if isinstance(value, str) and value:
            found.append(value)
    reason = getattr(exc, "reason", None)
    if isinstance(reason, str) and reason:
        found.append(reason)
    return found


def spec_field(message: str) -> str | None:
    """The spec field a GCE ``Invalid value for field 'resource.X'`` message is about."""
    match = _FIELD_IN_MESSAGE.search(message)
    if match is None:
        return None
    named = match.group(1)
    for gce, portable in _FIELDS:
        if gce in named:
            return portable
    return None


def error_class(status: int | None, found: Iterable[str]) -> type[UnicomputeError]:
    """The portable class for an HTTP ``status`` and GCE reasons ``found``."""
    for reason in found:
        if reason in REASONS:
            cls = REASONS[reason]
            # A 403 "invalid" is still a refusal; only 400s are the caller's input.
            if cls is InvalidRequest and status not in (None, 400):
                continue
            return cls
    if status is None:
        return ProviderError
    return STATUSES.get(status, ProviderError)


#: The REST transport's ``"{METHOD} {url}: "`` prefix, whose query (``?%24alt=json%3B...``)
#: is the transport's own encoding options, not the caller's.
_REST_QUERY = re.compile(r"^([A-Z]+ [^\s?]+)\?\S*: ")


def translate_error(exc: BaseException, operation: str) -> UnicomputeError | None:
    """Wrap a google-api-core / google-auth / requests exception; ``None`` for anything else."""
    if isinstance(exc, UnicomputeError):
        return None
    from google.api_core import exceptions as core
    from google.auth import exceptions as auth

    if isinstance(exc, core.GoogleAPICallError):
        status = exc.code if isinstance(exc.code, int) else None
        message = _REST_QUERY.sub(r"\1: ", exc.message or str(exc))
        cls = error_class(status, reasons(exc))
        transient = status in TRANSIENT_STATUSES
        field = spec_field(message) if cls is InvalidRequest else None
        return _make(cls, message, operation, exc, field=field, transient=transient)
    if isinstance(exc, core.RetryError):
        return _make(Timeout, str(exc), operation, exc)
    if isinstance(exc, auth.DefaultCredentialsError):
        return _make(
            Unauthenticated,
            "no Google credentials found: run `gcloud auth application-default login`, set "
            "GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, or run on GCP",
            operation,
            exc,
        )
    if isinstance(exc, auth.RefreshError):
        return _make(Unauthenticated, f"Google credentials could not be refreshed: {exc}",
                     operation, exc)
    if isinstance(exc, auth.TransportError):
        return _make(ProviderError, str(exc), operation, exc, transient=True)
    if isinstance(exc, auth.GoogleAuthError):
        return _make(Unauthenticated, str(exc), operation, exc)
    import requests

    if isinstance(exc, requests.Timeout):
        return _make(Timeout, f"no answer from {service_name(exc, operation)} in time "
                     f"({type(exc).__name__})", operation, exc, transient=True)
    if isinstance(exc, requests.ConnectionError):
        return _make(ProviderError, f"cannot reach {service_name(exc, operation)} "
                     f"({type(exc).__name__})", operation, exc, transient=True)
    return None


#: Google API hosts → the service named in connection errors.
SERVICES: dict[str, str] = {
    "compute.googleapis.com": "Compute Engine",
    "cloudfunctions.googleapis.com": "Cloud Functions",
    "cloudscheduler.googleapis.com": "Cloud Scheduler",
    "run.googleapis.com": "Cloud Run",
    "logging.googleapis.com": "Cloud Logging",
    "storage.googleapis.com": "Cloud Storage",
    "oauth2.googleapis.com": "Google's token endpoint",
}


def service_name(exc: BaseException, operation: str) -> str:
    """The service a failed ``requests`` call was for: from the request's host (its ``Host``
    header when it was sent to an ``endpoint_url``), else from the ``operation``."""
    from urllib.parse import urlsplit

    request = getattr(exc, "request", None)
    headers = getattr(request, "headers", None) or {}
    host = str(headers.get("Host") or urlsplit(str(getattr(request, "url", "") or "")).netloc)
    host = host.rsplit("@", 1)[-1]  # never any user:password of the URL
    name = host.lower().split(":")[0]
    if name in SERVICES:
        return SERVICES[name]
    if name.endswith((".a.run.app", ".cloudfunctions.net")):
        return f"the function's URL ({name})"
    if name:
        return host
    return "Cloud Functions" if operation.startswith("functions.") else "Compute Engine"
