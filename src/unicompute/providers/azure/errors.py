"""azure-core exceptions → :mod:`unicompute` errors.

ARM answers a failed request with ``{"error": {"code", "message", "target"}}``; azure-core raises
``HttpResponseError`` (or its ``ResourceNotFoundError``/``ResourceExistsError``/
``ClientAuthenticationError`` subclasses for 404/409/401) with that body parsed into
``exc.error``. :data:`ERROR_CODES` maps the ARM code to a portable class; when the code is
unknown the HTTP status decides. Every error returned has ``provider="azure"``, the
``operation`` it was given, ``original`` set to the azure-core exception and the message ARM
sent. Server-side failures (5xx) and lost connections are ``transient``, hence ``retryable``.
"""

from __future__ import annotations

from azure.core.exceptions import (
    AzureError,
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)

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

_NOT_FOUND = (
    "ResourceNotFound",
    "ResourceGroupNotFound",
    "NotFound",
    "ParentResourceNotFound",
    "PlatformImageNotFound",
    "ImageNotFound",
    "ArtifactNotFound",
)
#: 412 to ``If-None-Match: *``: the name is taken. Only creates send that header.
_ALREADY_EXISTS = ("PreconditionFailed", "ResourceAlreadyExists", "AlreadyExists")
_INVALID_REQUEST = (
    "InvalidParameter",
    "InvalidRequestFormat",
    "InvalidRequestContent",
    "InvalidResourceName",
    "InvalidResourceReference",
    "InvalidResourceType",
    "LinkedInvalidPropertyId",
    "BadRequest",
    "MissingApiVersionParameter",
    "InvalidApiVersionParameter",
    "InvalidTag",
    "InvalidTagNameCharacters",
    "PropertyChangeNotAllowed",
    "LocationNotAvailableForResourceType",
    "NoRegisteredProviderFound",
    "InvalidSubscriptionId",
    "SubscriptionNotFound",
    "InvalidAddressPrefixFormat",
)
_PERMISSION_DENIED = (
    "AuthorizationFailed",
    "LinkedAuthorizationFailed",
    "RequestDisallowedByPolicy",
    "Forbidden",
    "SubscriptionNotRegistered",
    "MissingSubscriptionRegistration",
    "ReadOnlyDisabledSubscription",
)
_UNAUTHENTICATED = (
    "AuthenticationFailed",
    "InvalidAuthenticationToken",
    "InvalidAuthenticationTokenTenant",
    "ExpiredAuthenticationToken",
)
_THROTTLED = ("TooManyRequests", "SubscriptionRequestsThrottled", "ResourceRequestsThrottled")
_QUOTA_EXCEEDED = ("QuotaExceeded", "PublicIPCountLimitReached", "ResourceQuotaExceeded")
_CAPACITY_UNAVAILABLE = (
    "AllocationFailed",
    "ZonalAllocationFailed",
    "OverconstrainedAllocationRequest",
    "OverconstrainedZonalAllocationRequest",
    "SkuNotAvailable",
    "SpotVMCapacityUnavailable",
)
_CONFLICT = (
    "Conflict",
    "OperationNotAllowed",
    "AnotherOperationInProgress",
    "InUseSubnetCannotBeDeleted",
    "NicInUse",
    "NicReservedForAnotherVm",
    "PublicIPAddressInUse",
    "InUseNetworkSecurityGroupCannotBeDeleted",
    "ResourceGroupBeingDeleted",
)
_UNSUPPORTED = ("NotSupported", "OperationNotSupported", "FeatureNotSupported")
_TRANSIENT = (
    "InternalServerError",
    "InternalExecutionError",
    "ServiceUnavailable",
    "RetryableError",
    "GatewayTimeout",
)

#: ARM error code → the portable error class raised for it.
ERROR_CODES: dict[str, type[UnicomputeError]] = {
    **dict.fromkeys(_NOT_FOUND, NotFound),
    **dict.fromkeys(_ALREADY_EXISTS, AlreadyExists),
    **dict.fromkeys(_INVALID_REQUEST, InvalidRequest),
    **dict.fromkeys(_PERMISSION_DENIED, PermissionDenied),
    **dict.fromkeys(_UNAUTHENTICATED, Unauthenticated),
    **dict.fromkeys(_THROTTLED, Throttled),
    **dict.fromkeys(_QUOTA_EXCEEDED, QuotaExceeded),
    **dict.fromkeys(_CAPACITY_UNAVAILABLE, CapacityUnavailable),
    **dict.fromkeys(_CONFLICT, Conflict),
    **dict.fromkeys(_UNSUPPORTED, Unsupported),
    **dict.fromkeys(_TRANSIENT, ProviderError),
}

#: When ARM's code is not in the table (or the body had none): the HTTP status decides.
STATUS_CLASSES: dict[int, type[UnicomputeError]] = {
    400: InvalidRequest,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    412: AlreadyExists,
    429: Throttled,
}

#: ``error.target`` as ARM names it (lower case, trailing segment of a JSON path) → the spec
#: field an :class:`InvalidRequest` names.
FIELDS_BY_TARGET: dict[str, str] = {
    "vmsize": "size",
    "hardwareprofile.vmsize": "size",
    "disksizegb": "disk_gib",
    "osdisk.disksizegb": "disk_gib",
    "storageprofile.osdisk.disksizegb": "disk_gib",
    "customdata": "user_data",
    "osprofile.customdata": "user_data",
    "userdata": "user_data",
    "imagereference": "image",
    "storageprofile.imagereference": "image",
    "zones": "zone",
    "computername": "name",
    "osprofile.computername": "name",
    "vmname": "name",
    "name": "name",
    "tags": "tags",
    "publickey": "public_key",
    "adminpassword": "options.admin_password",
    "osprofile.adminpassword": "options.admin_password",
    "adminusername": "options.admin_username",
    "osprofile.adminusername": "options.admin_username",
}

#: Codes that mean the subscription itself is wrong (a config value, not a spec field).
_SUBSCRIPTION_CODES = frozenset({"InvalidSubscriptionId", "SubscriptionNotFound"})

_make = error_maker(PROVIDER)


def error_code(exc: HttpResponseError) -> str:
    """ARM's ``error.code`` of ``exc``, or ``""`` when the body had none."""
    error = exc.error
    return str(error.code) if error is not None and error.code else ""


def error_class(code: str, status: int | None) -> type[UnicomputeError]:
    """The portable class for ARM ``code`` answered with HTTP ``status``."""
    if code in ERROR_CODES:
        return ERROR_CODES[code]
    if status is not None and status in STATUS_CLASSES:
        return STATUS_CLASSES[status]
    return ProviderError


def translate_error(exc: BaseException, operation: str) -> UnicomputeError | None:
    """Wrap an azure-core exception; ``None`` if ``exc`` is not one (it is then not ours to map)."""
    if isinstance(exc, UnicomputeError) or not isinstance(exc, AzureError):
        return None
    if isinstance(exc, ClientAuthenticationError) and exc.response is None:
        # azure-identity's failures (no credential found, token request refused)
        return _make(Unauthenticated, exc.message, operation, exc)
    if isinstance(exc, HttpResponseError):
        return _http_error(exc, operation)
    if isinstance(exc, ServiceRequestTimeoutError | ServiceResponseTimeoutError):
        return _make(Timeout, exc.message, operation, exc, transient=True)
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return _make(ProviderError, exc.message, operation, exc, transient=True)
    return _make(ProviderError, exc.message, operation, exc)


def _http_error(exc: HttpResponseError, operation: str) -> UnicomputeError:
    code = error_code(exc)
    status = exc.status_code
    message = exc.error.message if exc.error is not None and exc.error.message else exc.message
    cls = error_class(code, status)
    field: str | None = None
    if code == "OperationNotAllowed" and "quota" in message.lower():
        # "Operation could not be completed as it results in exceeding approved
        # standardDSv5Family Cores quota."
        cls = QuotaExceeded
    if status == 429:
        cls = Throttled
    if cls is InvalidRequest:
        if code in _SUBSCRIPTION_CODES:
            field = "subscription_id"
        else:
            target = exc.error.target if exc.error is not None else None
            field = _field_of(target)
    transient = code in _TRANSIENT or (cls is ProviderError and (status or 0) >= 500)
    return _make(cls, f"{code}: {message}" if code else message, operation, exc, field=field,
                 transient=transient)


def _field_of(target: object) -> str | None:
    if not isinstance(target, str) or not target:
        return None
    key = target.lower()
    if key in FIELDS_BY_TARGET:
        return FIELDS_BY_TARGET[key]
    # "properties.storageProfile.osDisk.diskSizeGB" → try ever shorter suffixes
    parts = key.split(".")
    for start in range(1, len(parts)):
        suffix = ".".join(parts[start:])
        if suffix in FIELDS_BY_TARGET:
            return FIELDS_BY_TARGET[suffix]
    return None
