"""Libcloud exceptions → :mod:`unicompute` errors.

Libcloud reports a failed request in one of a few shapes, whatever the driver:

* ``InvalidCredsError`` (HTTP 401) → ``Unauthenticated``;
* ``RateLimitReachedError`` (HTTP 429) → ``Throttled``;
* ``ServiceUnavailableError`` (503) → ``ProviderError``, transient;
* ``ProviderError`` with ``http_code`` and ``BaseHTTPError`` with ``code`` → by HTTP status
  (:data:`HTTP_STATUS`); 5xx is transient;
* ``KeyPairDoesNotExistError`` → ``NotFound``; ``MalformedResponseError`` → ``ProviderError``;
* ``NotImplementedError`` (a ``NodeDriver`` method the driver does not override) →
  ``Unsupported``; connection failures (``OSError``: refused, reset, timed out) →
  ``ProviderError`` (``Timeout`` for time-outs), transient.

Drivers built on the EC2 Query API (``ec2``, and Libcloud's EC2 look-alikes) put the API's error
code first in the message (``"InvalidInstanceID.NotFound: The instance ID ... does not exist"``);
:data:`EC2_CODES` refines the status-based class by that code.

Every message is scrubbed of the credentials the cloud was opened with (a driver may echo its
key in an error).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

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
)

#: HTTP status → portable class, for errors that carry no more precise code.
HTTP_STATUS: dict[int, type[UnicomputeError]] = {
    400: InvalidRequest,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    412: Conflict,
    422: InvalidRequest,
    429: Throttled,
}

#: EC2 Query API error codes whose class differs from what their HTTP status (mostly 400) says.
EC2_CODES: dict[str, type[UnicomputeError]] = {
    **dict.fromkeys(
        ("InvalidInstanceID.Malformed", "InvalidVolumeID.Malformed", "InvalidSnapshotID.Malformed",
         "InvalidAMIID.Malformed", "InvalidAMIID.Unavailable", "InvalidGroupId.Malformed"),
        NotFound,
    ),
    **dict.fromkeys(("UnauthorizedOperation", "AccessDenied", "OptInRequired", "Blocked"),
                    PermissionDenied),
    **dict.fromkeys(("AuthFailure", "InvalidClientTokenId", "SignatureDoesNotMatch",
                     "RequestExpired", "ExpiredToken"), Unauthenticated),
    **dict.fromkeys(("RequestLimitExceeded", "Throttling"), Throttled),
    **dict.fromkeys(("InstanceLimitExceeded", "VcpuLimitExceeded", "VolumeLimitExceeded",
                     "SnapshotLimitExceeded", "KeyPairLimitExceeded", "TagLimitExceeded",
                     "MaxSpotInstanceCountExceeded"), QuotaExceeded),
    **dict.fromkeys(("InsufficientInstanceCapacity", "InsufficientCapacity",
                     "InsufficientHostCapacity"), CapacityUnavailable),
    **dict.fromkeys(("IncorrectState", "IncorrectInstanceState", "VolumeInUse",
                     "DependencyViolation", "IdempotentParameterMismatch",
                     "OperationNotPermitted"), Conflict),
    **dict.fromkeys(("Unsupported", "UnsupportedOperation"), Unsupported),
    **dict.fromkeys(("InternalError", "InternalFailure", "Unavailable", "ServiceUnavailable"),
                    ProviderError),
}
#: Fallback by suffix (EC2 names its codes ``Invalid<Thing>.<Kind>``).
EC2_SUFFIXES: dict[str, type[UnicomputeError]] = {
    ".NotFound": NotFound,
    ".Duplicate": AlreadyExists,
    ".Malformed": InvalidRequest,
    ".InUse": Conflict,
}
#: EC2 codes that are the server's fault: worth repeating.
EC2_TRANSIENT = frozenset({"InternalError", "InternalFailure", "Unavailable", "ServiceUnavailable"})
#: Spec fields named by the ``InvalidRequest`` raised for these EC2 codes.
EC2_FIELDS: dict[str, str] = {
    "InvalidKeyPair.Format": "public_key",
    "InvalidUserData.Malformed": "user_data",
    "InvalidZone.NotFound": "zone",
    "InvalidAvailabilityZone": "zone",
    "InvalidInstanceType": "size",
    "InvalidBlockDeviceMapping": "disk_gib",
}

_EC2_CODE = re.compile(r"^([A-Z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)?): ")


def ec2_code(message: str) -> str | None:
    """The EC2 error code at the start of a Libcloud EC2 error message, if there is one."""
    match = _EC2_CODE.match(message)
    return match.group(1) if match else None


def ec2_class(code: str) -> type[UnicomputeError] | None:
    """The portable class for EC2 error ``code``; ``None`` if neither table knows it."""
    if code in EC2_CODES:
        return EC2_CODES[code]
    for suffix, cls in EC2_SUFFIXES.items():
        if code.endswith(suffix):
            return cls
    return None


def make_translator(
    provider: str, secrets: Iterable[str], *, ec2_messages: bool
) -> Callable[[BaseException, str], UnicomputeError | None]:
    """``translate_error`` for a cloud opened as ``provider``.

    ``secrets`` are removed from every message; ``ec2_messages`` reads the EC2 error code at the
    start of messages (for drivers that speak the EC2 Query API).
    """
    hidden = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def scrub(text: str) -> str:
        for secret in hidden:
            text = text.replace(secret, "***")
        return text

    def translate(exc: BaseException, operation: str) -> UnicomputeError | None:
        found = classify(exc, ec2_messages=ec2_messages)
        if found is None:
            return None
        cls, message, field, transient = found
        text = scrub(message) or type(exc).__name__
        if issubclass(cls, InvalidRequest):
            return cls(text, field=field, provider=provider, operation=operation, original=exc,
                       transient=transient)
        return cls(text, provider=provider, operation=operation, original=exc,
                   transient=transient)

    return translate


def classify(
    exc: BaseException, *, ec2_messages: bool
) -> tuple[type[UnicomputeError], str, str | None, bool] | None:
    """(class, message, field, transient) for a Libcloud (or connection) exception; ``None``
    for anything else."""
    from libcloud.common.exceptions import BaseHTTPError, RateLimitReachedError
    from libcloud.common.types import (
        InvalidCredsError,
        LibcloudError,
        MalformedResponseError,
    )
    from libcloud.common.types import ProviderError as LibcloudProviderError
    from libcloud.compute.types import KeyPairDoesNotExistError

    if isinstance(exc, UnicomputeError):
        return None
    if isinstance(exc, RateLimitReachedError):
        return Throttled, str(exc.message), None, False
    if isinstance(exc, NotImplementedError):
        return Unsupported, "the Libcloud driver does not implement this operation", None, False
    if isinstance(exc, KeyPairDoesNotExistError):
        return NotFound, f"key pair {exc.name} does not exist", None, False
    if isinstance(exc, MalformedResponseError):
        return ProviderError, f"malformed response: {exc.value}", None, True
    status: int | None = None
    message = ""
    if isinstance(exc, InvalidCredsError):
        status, message = 401, str(exc.value)
    elif isinstance(exc, LibcloudProviderError):
        status, message = int(exc.http_code), str(exc.value)
    elif isinstance(exc, BaseHTTPError):
        status, message = int(exc.code), str(exc.message)
    elif isinstance(exc, LibcloudError):
        message = str(exc.value)
    elif isinstance(exc, TimeoutError):
        return Timeout, str(exc) or "the request timed out", None, True
    elif isinstance(exc, OSError):
        return ProviderError, f"connection failed: {exc}", None, True
    else:
        return None
    cls = HTTP_STATUS.get(status, ProviderError) if status is not None else ProviderError
    transient = status is not None and status >= 500
    field = None
    code = ec2_code(message) if ec2_messages else None
    if code is not None:
        cls = ec2_class(code) or cls
        field = EC2_FIELDS.get(code)
        transient = transient or code in EC2_TRANSIENT
        if code == "AuthFailure" and "not authorized" in message.lower():
            cls = PermissionDenied
    return cls, message, field, transient
