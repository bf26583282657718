"""AWS API error codes (EC2, Lambda, IAM, EventBridge, SQS) → portable error classes.

Data only, without botocore, so that every adapter speaking an AWS API shares one table: the
botocore provider (:mod:`.errors`) and Libcloud's EC2 driver (:mod:`unicompute.providers.libcloud`).
"""

from __future__ import annotations

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
    Unauthenticated,
    UnicomputeError,
    Unsupported,
)

_NOT_FOUND = (
    "InvalidInstanceID.NotFound",
    # A malformed id names nothing that exists; callers asked for a resource, not a format check.
    "InvalidInstanceID.Malformed",
    "InvalidVolume.NotFound",
    "InvalidVolumeID.Malformed",
    "InvalidSnapshot.NotFound",
    "InvalidSnapshotID.Malformed",
    "InvalidKeyPair.NotFound",
    "InvalidGroup.NotFound",
    "InvalidGroupId.Malformed",
    "InvalidSecurityGroupID.NotFound",
    "InvalidAMIID.NotFound",
    "InvalidAMIID.Malformed",
    "InvalidAMIID.Unavailable",
    "InvalidSubnetID.NotFound",
    "InvalidVpcID.NotFound",
    "InvalidAttachment.NotFound",
    "InvalidNetworkInterfaceID.NotFound",
    "NoSuchEntity",  # an IAM instance profile that does not exist (moto's answer)
    # Lambda, EventBridge, SQS
    "ResourceNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
)
_ALREADY_EXISTS = (
    "InvalidKeyPair.Duplicate",
    "InvalidGroup.Duplicate",
    "EntityAlreadyExists",  # IAM
    "ResourceAlreadyExistsException",  # EventBridge
)
_INVALID_REQUEST = (
    "InvalidParameterValue",
    "InvalidParameterCombination",
    "InvalidParameter",
    "MissingParameter",
    "UnknownParameter",
    "ValidationError",
    "InvalidInstanceType",
    "InvalidBlockDeviceMapping",
    "InvalidUserData.Malformed",
    "InvalidKeyPair.Format",
    "InvalidZone.NotFound",
    "InvalidAvailabilityZone",
    "InvalidVolume.ZoneMismatch",
    "InvalidIPAddress.InUse",
    "InvalidPermission.Malformed",
    # Lambda, IAM, EventBridge
    "InvalidParameterValueException",
    "InvalidRequestContentException",
    "RequestTooLargeException",
    "RequestEntityTooLargeException",  # the code Lambda sends (the other is the shape name)
    "UnsupportedMediaTypeException",
    "CodeVerificationFailedException",
    "InvalidCodeSignatureException",
    "MalformedPolicyDocument",
    "InvalidInput",
    "ValidationException",
)
_PERMISSION_DENIED = (
    "UnauthorizedOperation",
    "AccessDenied",
    "OptInRequired",
    "Blocked",
    "PendingVerification",  # a new account not yet verified for this region or service
)
_UNAUTHENTICATED = (
    "AuthFailure",
    "InvalidClientTokenId",
    "ExpiredToken",
    "RequestExpired",
    "SignatureDoesNotMatch",
    "MissingAuthenticationToken",
    "UnrecognizedClientException",
)
_THROTTLED = (
    "RequestLimitExceeded",
    "Throttling",
    "ThrottlingException",
    # Lambda: the account's or the function's (reserved) concurrency is used up
    "TooManyRequestsException",
    "EC2ThrottledException",
)
_QUOTA_EXCEEDED = (
    "InstanceLimitExceeded",
    "VcpuLimitExceeded",
    "VolumeLimitExceeded",
    "SnapshotLimitExceeded",
    "MaxSpotInstanceCountExceeded",
    "SecurityGroupLimitExceeded",
    "RulesPerSecurityGroupLimitExceeded",
    "ResourceLimitExceeded",
    "TagLimitExceeded",
    "AddressLimitExceeded",
    "KeyPairLimitExceeded",
    # Lambda, IAM, EventBridge
    "CodeStorageExceededException",
    "ENILimitReachedException",
    "LimitExceeded",
    "LimitExceededException",
)
_CAPACITY_UNAVAILABLE = (
    "InsufficientInstanceCapacity",
    "InsufficientCapacity",
    "InsufficientHostCapacity",
    "InsufficientReservedInstanceCapacity",
    "InsufficientAddressCapacity",
    "InsufficientFreeAddressesInSubnet",
)
_CONFLICT = (
    "IncorrectState",
    "IncorrectInstanceState",
    "DependencyViolation",
    "VolumeInUse",
    "InvalidGroup.InUse",
    "InvalidPermission.Duplicate",
    "IdempotentParameterMismatch",
    "OperationNotPermitted",  # e.g. terminating an instance with termination protection
    # Lambda: an update in progress, a function not ready (Pending, Inactive); IAM, EventBridge
    "ResourceConflictException",
    "ResourceInUseException",
    "ResourceNotReadyException",
    "PreconditionFailedException",
    "DeleteConflict",
    "ConcurrentModificationException",
)
_UNSUPPORTED = ("Unsupported", "UnsupportedOperation")
#: EC2's server-side failures: worth repeating.
_TRANSIENT = (
    "InternalError",
    "InternalFailure",
    "Unavailable",
    "ServiceUnavailable",
    "ServiceException",  # Lambda
    "ServiceFailure",  # IAM
    "InternalException",  # EventBridge
)

#: EC2 error code → the portable error class raised for it. Unknown codes → ``ProviderError``.
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

#: Codes whose errors are marked ``transient`` (server-side, may succeed when repeated).
TRANSIENT_CODES = frozenset(_TRANSIENT)

#: Fallback by suffix for codes the table does not list (EC2 names them ``Invalid<Thing>.<Kind>``).
_SUFFIXES: dict[str, type[UnicomputeError]] = {
    ".NotFound": NotFound,
    ".Duplicate": AlreadyExists,
    ".Malformed": InvalidRequest,
    ".InUse": Conflict,
}

#: Spec fields named by the InvalidRequest raised for these EC2 codes.
FIELDS_BY_CODE: dict[str, str] = {
    "InvalidKeyPair.Format": "public_key",
    "InvalidUserData.Malformed": "user_data",
    "InvalidZone.NotFound": "zone",
    "InvalidAvailabilityZone": "zone",
    "InvalidVolume.ZoneMismatch": "zone",
    "InvalidInstanceType": "size",
    "InvalidBlockDeviceMapping": "disk_gib",
    "RequestTooLargeException": "payload",
    "RequestEntityTooLargeException": "payload",
    "CodeVerificationFailedException": "source",
    "InvalidCodeSignatureException": "source",
}


def known_error_class(code: str) -> type[UnicomputeError] | None:
    """The portable class for AWS error ``code``; ``None`` when neither the table nor the
    ``Invalid<Thing>.<Kind>`` suffix rule knows it."""
    if code in ERROR_CODES:
        return ERROR_CODES[code]
    for suffix, cls in _SUFFIXES.items():
        if code.endswith(suffix):
            return cls
    return None


def error_class_for_code(code: str) -> type[UnicomputeError]:
    """The portable class for AWS error ``code`` (``ProviderError`` when unknown)."""
    return known_error_class(code) or ProviderError
