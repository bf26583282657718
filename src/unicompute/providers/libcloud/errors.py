"""Libcloud exceptions → :mod:`unicompute` errors.

Libcloud reports a failed request in one of a few shapes, whatever the driver:

* ``InvalidCredsError`` (HTTP 401) → ``Unauthenticated``;
* ``RateLimitReachedError`` (HTTP 429) → ``Throttled``;
* ``ServiceUnavailableError`` (503) → ``ProviderError``, transient;
* ``ProviderError`` with ``http_code`` and ``BaseHTTPError`` with ``code`` → by HTTP status
  (:data:`HTTP_STATUS`); 5xx is transient;
* ``KeyPairDoesNotExistError`` → ``NotFound``; ``MalformedResponseError`` → ``ProviderError``;
* ``NotImplementedError`` (a ``NodeDriver`` method the driver does not override) →
  ``Unsupported``; connection failures (``OSError``, which ``requests``' errors are: refused,
  reset) → ``ProviderError``, and time-outs (``requests.Timeout``, ``TimeoutError``) →
  ``Timeout``; both transient.

Drivers built on the EC2 Query API (``ec2``, and Libcloud's EC2 look-alikes) put the API's error
code first in the message (``"InvalidInstanceID.NotFound: The instance ID ... does not exist"``);
the AWS provider's table (:mod:`unicompute.providers.aws.error_codes`) refines the
status-based class by that code.

Every message is scrubbed of the credentials the cloud was opened with (a driver may echo its
key in an error).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from ..._errors import (
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    ProviderError,
    Throttled,
    Timeout,
    Unauthenticated,
    UnicomputeError,
    Unsupported,
    error_maker,
)
from ..aws.error_codes import FIELDS_BY_CODE, TRANSIENT_CODES, known_error_class

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

_EC2_CODE = re.compile(r"^([A-Z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)?): ")


def ec2_code(message: str) -> str | None:
    """The EC2 error code at the start of a Libcloud EC2 error message, if there is one."""
    match = _EC2_CODE.match(message)
    return match.group(1) if match else None


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

    make = error_maker(provider)

    def translate(exc: BaseException, operation: str) -> UnicomputeError | None:
        found = classify(exc, ec2_messages=ec2_messages)
        if found is None:
            return None
        cls, message, field, transient = found
        return make(cls, scrub(message) or type(exc).__name__, operation, exc, field=field,
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
    from requests.exceptions import Timeout as RequestsTimeout

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
        status, message = _status(exc.http_code), str(exc.value)
    elif isinstance(exc, BaseHTTPError):
        status, message = _status(exc.code), str(exc.message)
    elif isinstance(exc, LibcloudError):
        message = str(exc.value)
    elif isinstance(exc, TimeoutError | RequestsTimeout):
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
        cls = known_error_class(code) or cls
        field = FIELDS_BY_CODE.get(code)
        transient = transient or code in TRANSIENT_CODES
        if code == "AuthFailure" and "not authorized" in message.lower():
            cls = PermissionDenied
    return cls, message, field, transient


def _status(code: object) -> int | None:
    """An HTTP status from a Libcloud exception's code (an int, a numeric string or ``None``:
    drivers differ)."""
    try:
        return int(str(code))
    except ValueError:
        return None
