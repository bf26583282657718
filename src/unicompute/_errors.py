"""The error types every provider's failures are wrapped into, exactly once.

Each provider has an ``errors.py`` table from its SDK's error codes to :class:`ErrorCode`; the
portable layer does the wrapping (``raise error from exc``), so user code only ever catches these
classes and reaches the native exception through :attr:`UnicomputeError.original`.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from ._function_models import Invocation

T = TypeVar("T", bound=BaseException)


class ErrorCode(StrEnum):
    """The small, closed set of portable error codes."""

    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    INVALID_REQUEST = "INVALID_REQUEST"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    CAPACITY_UNAVAILABLE = "CAPACITY_UNAVAILABLE"
    THROTTLED = "THROTTLED"
    TIMEOUT = "TIMEOUT"
    UNSUPPORTED = "UNSUPPORTED"
    CONFLICT = "CONFLICT"
    FUNCTION_ERROR = "FUNCTION_ERROR"
    PROVIDER_ERROR = "PROVIDER_ERROR"


#: Codes for which repeating the same call later may succeed. The retry policy lives here only.
RETRYABLE_CODES = frozenset(
    {ErrorCode.THROTTLED, ErrorCode.CAPACITY_UNAVAILABLE, ErrorCode.TIMEOUT}
)


class UnicomputeError(Exception):
    """Base of every error unicompute raises.

    ``code`` is one of :class:`ErrorCode`; ``provider``, ``operation`` and ``resource`` say where it
    happened; ``original`` is the native SDK exception when there was one.
    """

    code: ErrorCode = ErrorCode.PROVIDER_ERROR

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        operation: str | None = None,
        resource: str | None = None,
        original: BaseException | None = None,
        transient: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.operation = operation
        self.resource = resource
        self.original = original
        self.transient = transient

    @property
    def retryable(self) -> bool:
        """Whether the same call may succeed if repeated after a pause: always for the
        :data:`RETRYABLE_CODES`, and for any error its provider marked ``transient`` (a 5xx
        such as EC2's ``InternalError`` or ``Unavailable``)."""
        return self.code in RETRYABLE_CODES or self.transient

    def as_(self, kind: type[T]) -> T:
        """The native exception as ``kind``; raises ``TypeError`` if it is not one."""
        if not isinstance(self.original, kind):
            actual = type(self.original).__name__
            raise TypeError(f"original error is {actual}, not {kind.__name__}")
        return self.original

    def __str__(self) -> str:
        where = " ".join(
            part
            for part in (
                self.provider and f"provider={self.provider}",
                self.operation and f"operation={self.operation}",
                self.resource and f"resource={self.resource}",
            )
            if part
        )
        return f"{self.message} ({where})" if where else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code.value!r}, message={self.message!r})"


class NotFound(UnicomputeError):
    code = ErrorCode.NOT_FOUND


class AlreadyExists(UnicomputeError):
    code = ErrorCode.ALREADY_EXISTS


class InvalidRequest(UnicomputeError):
    """Bad input. ``field`` names the offending argument or spec field, ``reason`` says what is
    wrong with it (``message`` is both together)."""

    code = ErrorCode.INVALID_REQUEST

    def __init__(self, message: str, *, field: str | None = None, **kwargs: object) -> None:
        self.field = field
        self.reason = message
        text = f"{field}: {message}" if field else message
        super().__init__(text, **kwargs)  # type: ignore[arg-type]


class PermissionDenied(UnicomputeError):
    code = ErrorCode.PERMISSION_DENIED


class Unauthenticated(UnicomputeError):
    code = ErrorCode.UNAUTHENTICATED


class QuotaExceeded(UnicomputeError):
    code = ErrorCode.QUOTA_EXCEEDED


class CapacityUnavailable(UnicomputeError):
    code = ErrorCode.CAPACITY_UNAVAILABLE


class Throttled(UnicomputeError):
    code = ErrorCode.THROTTLED


class Timeout(UnicomputeError):
    code = ErrorCode.TIMEOUT


class Unsupported(UnicomputeError):
    code = ErrorCode.UNSUPPORTED


class Conflict(UnicomputeError):
    code = ErrorCode.CONFLICT


class ProviderError(UnicomputeError):
    """A provider failure none of the other codes describes; ``original`` holds the details."""

    code = ErrorCode.PROVIDER_ERROR


class FunctionError(UnicomputeError):
    """A function invocation failed: the handler raised, timed out, could not be imported,
    crashed or ran out of memory. ``error_type`` is one of ``Unhandled``, ``Timeout``,
    ``ImportError``, ``OutOfMemory``, ``Crashed``; ``native_type`` is the cloud's own name for it
    (the exception class for ``Unhandled``); ``remote_traceback`` the handler's stack as the
    cloud reported it; ``invocation`` the :class:`~unicompute.Invocation` with its logs."""

    code = ErrorCode.FUNCTION_ERROR

    def __init__(
        self,
        message: str,
        *,
        invocation: Invocation | None = None,
        error_type: str = "Unhandled",
        native_type: str | None = None,
        remote_traceback: str = "",
        **kwargs: object,
    ) -> None:
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.invocation = invocation
        self.error_type = error_type
        self.native_type = native_type or error_type
        self.remote_traceback = remote_traceback


class ClosedError(InvalidRequest):
    """A call on a :class:`~unicompute.Cloud` after ``close()``."""


class MissingDependency(Unsupported):
    """A provider's optional dependencies are not installed; the message names the pip command."""


_BY_CODE: dict[ErrorCode, type[UnicomputeError]] = {
    cls.code: cls
    for cls in (
        NotFound,
        AlreadyExists,
        InvalidRequest,
        PermissionDenied,
        Unauthenticated,
        QuotaExceeded,
        CapacityUnavailable,
        Throttled,
        Timeout,
        Unsupported,
        Conflict,
        FunctionError,
        ProviderError,
    )
}


def error_class(code: ErrorCode) -> type[UnicomputeError]:
    """The exception class raised for ``code``."""
    return _BY_CODE[code]


class ErrorMaker(Protocol):
    """What :func:`error_maker` returns: ``make(cls, message, operation, original, *, field=,
    transient=)``."""

    def __call__(self, cls: type[UnicomputeError], message: str, operation: str,
                 original: BaseException, *, field: str | None = None,
                 transient: bool = False) -> UnicomputeError: ...


def error_maker(provider: str) -> ErrorMaker:
    """How a provider's error table builds the error it returns for a native exception:
    ``cls`` with the provider, operation and original filled in; ``field`` reaches only
    :class:`InvalidRequest` (the other classes name no field)."""

    def make(cls: type[UnicomputeError], message: str, operation: str,
             original: BaseException, *, field: str | None = None,
             transient: bool = False) -> UnicomputeError:
        if issubclass(cls, InvalidRequest):
            return cls(message, field=field, provider=provider, operation=operation,
                       original=original, transient=transient)
        return cls(message, provider=provider, operation=operation, original=original,
                   transient=transient)

    return make

