"""botocore exceptions → :mod:`unicompute` errors.

:data:`~.error_codes.ERROR_CODES` maps AWS error codes to portable error classes;
:func:`translate_error` applies it (and handles botocore's own client-side exceptions). Every
error it returns has ``provider="aws"``, the ``operation`` it was given, ``original`` set to the
botocore exception and the message AWS sent. Server-side failures (EC2's 5xx codes, any unknown
code answered with a 5xx status) and lost connections are ``transient``, hence ``retryable``.
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    CredentialRetrievalError,
    EndpointConnectionError,
    InvalidRegionError,
    NoCredentialsError,
    NoRegionError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
    WaiterError,
)

from ..._errors import (
    AlreadyExists,
    Conflict,
    InvalidRequest,
    PermissionDenied,
    ProviderError,
    Timeout,
    Unauthenticated,
    UnicomputeError,
    error_maker,
)
from .error_codes import FIELDS_BY_CODE, TRANSIENT_CODES, error_class_for_code

PROVIDER = "aws"
_make = error_maker(PROVIDER)

#: botocore's own (client-side) exceptions, checked in order.
_BOTOCORE: tuple[tuple[type[BaseException], type[UnicomputeError]], ...] = (
    (NoCredentialsError, Unauthenticated),
    (PartialCredentialsError, Unauthenticated),
    (CredentialRetrievalError, Unauthenticated),
    (ParamValidationError, InvalidRequest),
    (ProfileNotFound, InvalidRequest),
    (NoRegionError, InvalidRequest),
    (InvalidRegionError, InvalidRequest),
    (ConnectTimeoutError, Timeout),
    (ReadTimeoutError, Timeout),
    (EndpointConnectionError, ProviderError),
    (ConnectionClosedError, ProviderError),
)

#: botocore exceptions for a request that may succeed when sent again (network trouble).
_TRANSIENT_BOTOCORE = (
    ConnectTimeoutError,
    ReadTimeoutError,
    EndpointConnectionError,
    ConnectionClosedError,
)

#: Fields named by the InvalidRequest raised for these botocore exceptions.
_FIELDS: dict[type[BaseException], str] = {
    ProfileNotFound: "profile",
    NoRegionError: "region",
    InvalidRegionError: "region",
}

#: RunInstances codes that can only be about ``Options.security_group_ids``: launch retries the
#: group it created itself until EC2 knows it.
_BAD_EXTRA_GROUP = frozenset({"InvalidGroup.NotFound", "InvalidGroupId.Malformed"})


def translate_error(exc: BaseException, operation: str) -> UnicomputeError | None:
    """Wrap a botocore exception; ``None`` if ``exc`` is not one (it is then not ours to map).

    Waiter failures: when the last response carried an API error, that error's class; when the
    waiter gave up after its attempts, :class:`Timeout`; when the resource reached a state the
    waiter treats as terminal failure (e.g. a volume that went to ``error``), :class:`Conflict`.
    """
    if isinstance(exc, UnicomputeError):
        return None
    if isinstance(exc, ClientError):
        return _client_error(exc, operation)
    if isinstance(exc, WaiterError):
        return _make(_waiter_class(exc), str(exc), operation, exc)
    if not isinstance(exc, BotoCoreError):
        return None
    transient = isinstance(exc, _TRANSIENT_BOTOCORE)
    for kind, cls in _BOTOCORE:
        if isinstance(exc, kind):
            field = next((f for k, f in _FIELDS.items() if isinstance(exc, k)), None)
            return _make(cls, str(exc), operation, exc, field=field, transient=transient)
    return _make(ProviderError, str(exc), operation, exc, transient=transient)


def _client_error(exc: ClientError, operation: str) -> UnicomputeError:
    """An EC2 API error: the table, refined by what the code means in its context."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    message = str(error.get("Message") or exc)
    cls = error_class_for_code(code)
    field = FIELDS_BY_CODE.get(code)
    if code == "AuthFailure" and "not authorized" in message.lower():
        # Valid credentials, no right to the resource: RunInstances answers
        # "AuthFailure: Not authorized for images: [ami-...]" without launch permission.
        cls = PermissionDenied
    elif code == "ResourceConflictException" and exc.operation_name == "CreateFunction":
        cls = AlreadyExists  # "Function already exist: <name>"
    elif exc.operation_name == "RunInstances":
        if code in _BAD_EXTRA_GROUP:
            cls, field = InvalidRequest, "options.security_group_ids"
        elif code == "Unsupported" and "availability zone" in message.lower():
            # "Your requested instance type (...) is not supported in your requested
            # Availability Zone (...). Please retry ... choosing us-east-1a, ..."
            cls, field = InvalidRequest, "zone"
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    transient = code in TRANSIENT_CODES or (cls is ProviderError and status >= 500)
    return _make(cls, message, operation, exc, field=field, transient=transient)


def _waiter_class(exc: WaiterError) -> type[UnicomputeError]:
    last = exc.last_response if isinstance(exc.last_response, dict) else {}
    code = last.get("Error", {}).get("Code")
    if code:
        return error_class_for_code(str(code))
    if "Max attempts exceeded" in str(exc.kwargs.get("reason", "")):
        return Timeout
    return Conflict
