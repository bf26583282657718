"""The azure-core → unicompute error table, with the SDK's own exceptions built from ARM bodies."""

from __future__ import annotations

import json

import pytest
from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseTimeoutError,
)
from azure.core.rest import HttpRequest
from azure.mgmt.core.exceptions import ARMErrorFormat

from unicompute import _errors as errors
from unicompute.providers.azure.errors import translate_error


class _Response:
    """Enough of an azure-core HttpResponse for HttpResponseError to parse an ARM error body."""

    def __init__(self, status: int, body: dict[str, object]) -> None:
        self.status_code = status
        self.reason = "reason"
        self.request = HttpRequest("GET", "https://management.azure.com/x")
        self._text = json.dumps(body)
        self.headers: dict[str, str] = {}

    def text(self, encoding: str | None = None) -> str:
        return self._text


def arm_error(status: int, code: str, message: str = "m", target: str | None = None,
              cls: type[HttpResponseError] = HttpResponseError) -> HttpResponseError:
    error: dict[str, object] = {"code": code, "message": message}
    if target is not None:
        error["target"] = target
    return cls(response=_Response(status, {"error": error}), error_format=ARMErrorFormat)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (404, "ResourceNotFound", errors.NotFound),
        (404, "ResourceGroupNotFound", errors.NotFound),
        (404, "NotFound", errors.NotFound),
        (412, "PreconditionFailed", errors.AlreadyExists),
        (400, "InvalidParameter", errors.InvalidRequest),
        (400, "InvalidResourceReference", errors.InvalidRequest),
        (409, "OperationNotAllowed", errors.Conflict),
        (409, "Conflict", errors.Conflict),
        (409, "QuotaExceeded", errors.QuotaExceeded),
        (409, "SkuNotAvailable", errors.CapacityUnavailable),
        (409, "AllocationFailed", errors.CapacityUnavailable),
        (409, "ZonalAllocationFailed", errors.CapacityUnavailable),
        (401, "AuthenticationFailed", errors.Unauthenticated),
        (401, "InvalidAuthenticationToken", errors.Unauthenticated),
        (403, "AuthorizationFailed", errors.PermissionDenied),
        (429, "SomethingNew", errors.Throttled),
        (400, "SomethingNew", errors.InvalidRequest),
        (418, "SomethingNew", errors.ProviderError),
    ],
)
def test_arm_codes_map_to_portable_classes(status: int, code: str,
                                           expected: type[errors.UnicomputeError]) -> None:
    exc = arm_error(status, code, "what ARM said")
    error = translate_error(exc, "vms.launch")
    assert type(error) is expected
    assert error.original is exc
    assert error.provider == "azure"
    assert error.operation == "vms.launch"
    assert "what ARM said" in error.message


def test_quota_in_operation_not_allowed_is_quota_exceeded() -> None:
    exc = arm_error(409, "OperationNotAllowed", "Operation could not be completed as it results "
                    "in exceeding approved standardDSv5Family Cores quota.")
    assert type(translate_error(exc, "vms.launch")) is errors.QuotaExceeded


def test_sdk_subclasses_keep_the_arm_code() -> None:
    missing = arm_error(404, "ResourceGroupNotFound", cls=ResourceNotFoundError)
    assert type(translate_error(missing, "vms.get")) is errors.NotFound
    taken = arm_error(412, "PreconditionFailed", cls=ResourceExistsError)
    assert type(translate_error(taken, "vms.launch")) is errors.AlreadyExists


def test_invalid_parameter_names_the_field_from_the_target() -> None:
    exc = arm_error(400, "InvalidParameter", "too small",
                    target="properties.storageProfile.osDisk.diskSizeGB")
    error = translate_error(exc, "vms.launch")
    assert isinstance(error, errors.InvalidRequest)
    assert error.field == "disk_gib"
    wrong_sub = translate_error(arm_error(404, "SubscriptionNotFound"), "vms.list")
    assert isinstance(wrong_sub, errors.InvalidRequest)
    assert wrong_sub.field == "subscription_id"


def test_server_errors_and_lost_connections_are_retryable() -> None:
    server = translate_error(arm_error(500, "InternalServerError"), "vms.get")
    assert type(server) is errors.ProviderError and server.retryable
    unknown_5xx = translate_error(arm_error(503, "Whatever"), "vms.get")
    assert unknown_5xx is not None and unknown_5xx.retryable
    assert not translate_error(arm_error(400, "InvalidParameter"), "vms.get").retryable
    lost = translate_error(ServiceRequestError("connection refused"), "vms.get")
    assert type(lost) is errors.ProviderError and lost.retryable
    slow = translate_error(ServiceResponseTimeoutError("read timed out"), "vms.get")
    assert type(slow) is errors.Timeout


def test_credential_failures_are_unauthenticated_and_foreign_errors_are_not_ours() -> None:
    error = translate_error(ClientAuthenticationError("no credential"), "connect")
    assert type(error) is errors.Unauthenticated
    assert translate_error(ValueError("x"), "vms.get") is None
    assert translate_error(errors.NotFound("x"), "vms.get") is None
