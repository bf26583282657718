"""The botocore → unicompute error table."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    InvalidRegionError,
    NoCredentialsError,
    ParamValidationError,
    ProfileNotFound,
    ReadTimeoutError,
    WaiterError,
)

from unicompute import _errors as errors
from unicompute.providers.aws.error_codes import ERROR_CODES
from unicompute.providers.aws.errors import translate_error

EXPECTED: dict[str, type[errors.UnicomputeError]] = {
    "InvalidInstanceID.NotFound": errors.NotFound,
    "InvalidInstanceID.Malformed": errors.NotFound,
    "InvalidVolume.NotFound": errors.NotFound,
    "InvalidSnapshot.NotFound": errors.NotFound,
    "InvalidKeyPair.NotFound": errors.NotFound,
    "InvalidKeyPair.Duplicate": errors.AlreadyExists,
    "InvalidGroup.NotFound": errors.NotFound,
    "InvalidGroup.Duplicate": errors.AlreadyExists,
    "InvalidAMIID.NotFound": errors.NotFound,
    "InvalidAMIID.Malformed": errors.NotFound,
    "InvalidParameterValue": errors.InvalidRequest,
    "InvalidParameterCombination": errors.InvalidRequest,
    "MissingParameter": errors.InvalidRequest,
    "UnauthorizedOperation": errors.PermissionDenied,
    "AuthFailure": errors.Unauthenticated,
    "InvalidClientTokenId": errors.Unauthenticated,
    "ExpiredToken": errors.Unauthenticated,
    "RequestLimitExceeded": errors.Throttled,
    "Throttling": errors.Throttled,
    "InstanceLimitExceeded": errors.QuotaExceeded,
    "VcpuLimitExceeded": errors.QuotaExceeded,
    "InsufficientInstanceCapacity": errors.CapacityUnavailable,
    "IncorrectState": errors.Conflict,
    "IncorrectInstanceState": errors.Conflict,
    "DependencyViolation": errors.Conflict,
    "VolumeInUse": errors.Conflict,
    "InvalidVolume.ZoneMismatch": errors.InvalidRequest,
    "Unsupported": errors.Unsupported,
    "OperationNotPermitted": errors.Conflict,
    "PendingVerification": errors.PermissionDenied,
    "InternalError": errors.ProviderError,
    "Unavailable": errors.ProviderError,
}


def client_error(
    code: str,
    message: str = "AWS says no",
    operation: str = "DescribeInstances",
    status: int = 400,
) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, operation)


@pytest.mark.parametrize(("code", "cls"), sorted(EXPECTED.items()))
def test_listed_codes_map_to_their_class(code: str, cls: type[errors.UnicomputeError]) -> None:
    exc = client_error(code)
    error = translate_error(exc, "vms.launch")
    assert type(error) is cls
    assert error.provider == "aws"
    assert error.operation == "vms.launch"
    assert error.original is exc
    assert error.message.endswith("AWS says no")


@pytest.mark.parametrize(("code", "cls"), sorted(ERROR_CODES.items()))
def test_every_table_entry_is_applied(code: str, cls: type[errors.UnicomputeError]) -> None:
    assert type(translate_error(client_error(code), "op")) is cls


def test_retryable_codes_are_retryable() -> None:
    for code in ("RequestLimitExceeded", "Throttling", "InsufficientInstanceCapacity"):
        error = translate_error(client_error(code), "op")
        assert error is not None and error.retryable
    error = translate_error(client_error("InvalidParameterValue"), "op")
    assert error is not None and not error.retryable


def test_unknown_code_is_provider_error_with_the_original() -> None:
    exc = client_error("SomethingNew", "something broke")
    error = translate_error(exc, "vms.get")
    assert type(error) is errors.ProviderError
    assert error.message == "something broke"
    assert error.as_(ClientError) is exc
    assert not error.retryable


@pytest.mark.parametrize(
    "code", ["InternalError", "InternalFailure", "Unavailable", "ServiceUnavailable"]
)
def test_server_errors_are_transient(code: str) -> None:
    error = translate_error(client_error(code, status=500), "vms.get")
    assert type(error) is errors.ProviderError
    assert error.transient and error.retryable


def test_unknown_code_with_a_5xx_status_is_transient() -> None:
    error = translate_error(client_error("SomethingNew", status=503), "vms.get")
    assert type(error) is errors.ProviderError and error.retryable
    # A known code keeps its class; a 4xx unknown code is not worth repeating.
    denied = translate_error(client_error("UnauthorizedOperation", status=500), "vms.get")
    assert type(denied) is errors.PermissionDenied and not denied.retryable


def test_auth_failure_without_permission_is_permission_denied() -> None:
    # RunInstances with an AMI the account has no launch permission for.
    no_launch = client_error(
        "AuthFailure", "Not authorized for images: [ami-0123456789abcdef0]", "RunInstances"
    )
    assert type(translate_error(no_launch, "vms.launch")) is errors.PermissionDenied
    bad_keys = client_error(
        "AuthFailure", "AWS was not able to validate the provided access credentials"
    )
    assert type(translate_error(bad_keys, "vms.list")) is errors.Unauthenticated


@pytest.mark.parametrize("code", ["InvalidGroup.NotFound", "InvalidGroupId.Malformed"])
def test_run_instances_group_errors_name_the_option(code: str) -> None:
    error = translate_error(client_error(code, operation="RunInstances"), "vms.launch")
    assert isinstance(error, errors.InvalidRequest)
    assert error.field == "options.security_group_ids"
    # Elsewhere a missing group is just missing.
    elsewhere = client_error(code, operation="DescribeSecurityGroups")
    assert type(translate_error(elsewhere, "vms.inbound_rules")) is errors.NotFound


def test_run_instances_type_not_offered_in_the_zone_names_the_zone() -> None:
    message = (
        "Your requested instance type (t3.micro) is not supported in your requested "
        "Availability Zone (us-east-1e). Please retry your request by not specifying an "
        "Availability Zone or choosing us-east-1a, us-east-1b, us-east-1c."
    )
    error = translate_error(client_error("Unsupported", message, "RunInstances"), "vms.launch")
    assert isinstance(error, errors.InvalidRequest)
    assert error.field == "zone"
    other = client_error("Unsupported", "The requested configuration is not supported")
    assert type(translate_error(other, "vms.launch")) is errors.Unsupported


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("InvalidRouteTableID.NotFound", errors.NotFound),
        ("InvalidLaunchTemplateName.Duplicate", errors.AlreadyExists),
        ("InvalidSnapshot.InUse", errors.Conflict),
        ("InvalidDhcpOptionsId.Malformed", errors.InvalidRequest),
    ],
)
def test_unlisted_codes_fall_back_on_their_suffix(
    code: str, cls: type[errors.UnicomputeError]
) -> None:
    assert type(translate_error(client_error(code), "op")) is cls


@pytest.mark.parametrize(
    ("code", "field"),
    [
        ("InvalidKeyPair.Format", "public_key"),
        ("InvalidUserData.Malformed", "user_data"),
        ("InvalidParameterValue", None),
        # Lambda's 413 for a payload over 6 MiB (1 MiB async) carries this code.
        ("RequestEntityTooLargeException", "payload"),
    ],
)
def test_invalid_request_names_the_field_it_can(code: str, field: str | None) -> None:
    error = translate_error(client_error(code), "op")
    assert isinstance(error, errors.InvalidRequest)
    assert error.field == field


def test_botocore_client_side_errors() -> None:
    cases: list[tuple[BaseException, type[errors.UnicomputeError]]] = [
        (NoCredentialsError(), errors.Unauthenticated),
        (EndpointConnectionError(endpoint_url="http://x"), errors.ProviderError),
        (ReadTimeoutError(endpoint_url="http://x"), errors.Timeout),
        (ParamValidationError(report="MinCount is missing"), errors.InvalidRequest),
    ]
    for exc, cls in cases:
        error = translate_error(exc, "vms.list")
        assert type(error) is cls, exc
        assert error.original is exc
        assert error.provider == "aws"
    profile = translate_error(ProfileNotFound(profile="nope"), "connect")
    assert isinstance(profile, errors.InvalidRequest)
    assert profile.field == "profile"
    region = translate_error(InvalidRegionError(region_name="us east"), "connect")
    assert isinstance(region, errors.InvalidRequest)
    assert region.field == "region"


def test_lost_connections_are_transient() -> None:
    for exc in (
        EndpointConnectionError(endpoint_url="http://x"),
        ConnectTimeoutError(endpoint_url="http://x"),
        ReadTimeoutError(endpoint_url="http://x"),
        ConnectionClosedError(endpoint_url="http://x"),
    ):
        error = translate_error(exc, "vms.get")
        assert error is not None and error.transient and error.retryable, exc
    error = translate_error(ParamValidationError(report="bad"), "vms.get")
    assert error is not None and not error.retryable


def test_waiter_errors() -> None:
    last: Any = {"Reservations": []}
    timed_out = WaiterError("InstanceTerminated", "Max attempts exceeded", last)
    assert type(translate_error(timed_out, "vms.terminate")) is errors.Timeout
    failed = WaiterError(
        "VolumeAvailable",
        "Waiter encountered a terminal failure state: For expression ... matched expected path",
        last,
    )
    assert type(translate_error(failed, "volumes.create")) is errors.Conflict
    missing = WaiterError(
        "InstanceTerminated",
        "An error occurred (InvalidInstanceID.NotFound): gone",
        {"Error": {"Code": "InvalidInstanceID.NotFound", "Message": "gone"}},
    )
    assert type(translate_error(missing, "vms.terminate")) is errors.NotFound


def test_foreign_exceptions_are_not_translated() -> None:
    assert translate_error(ValueError("x"), "op") is None
    assert translate_error(errors.NotFound("already wrapped"), "op") is None
