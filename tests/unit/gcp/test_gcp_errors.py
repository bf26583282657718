"""The google-api-core → unicompute error table, fed the way the SDK raises: GCE's JSON error
bodies through ``from_http_response``, and failed operations through ``operations.check``."""

from __future__ import annotations

import json

import pytest
import requests
from google.api_core import exceptions as core
from google.auth import exceptions as auth
from google.cloud import compute_v1

from unicompute import _errors as errors
from unicompute.providers.gcp import operations
from unicompute.providers.gcp.errors import translate_error

URL = "https://compute.googleapis.com/compute/v1/projects/p/zones/us-central1-a/instances"


def rest_error(status: int, reason: str, message: str = "boom") -> core.GoogleAPICallError:
    """What the SDK raises for a GCE error answer: ``from_http_response`` on the real body."""
    response = requests.Response()
    response.status_code = status
    response._content = json.dumps({"error": {
        "code": status, "message": message,
        "errors": [{"message": message, "domain": "global", "reason": reason}]}}).encode()
    response.request = requests.Request("POST", URL).prepare()
    exc: core.GoogleAPICallError = core.from_http_response(response)
    return exc


@pytest.mark.parametrize(
    ("status", "reason", "expected"),
    [
        (404, "notFound", errors.NotFound),
        (409, "alreadyExists", errors.AlreadyExists),
        (409, "resourceInUseByAnotherResource", errors.Conflict),
        (412, "conditionNotMet", errors.Conflict),
        (400, "invalid", errors.InvalidRequest),
        (400, "required", errors.InvalidRequest),
        (400, "resourceInUseByAnotherResource", errors.Conflict),
        (400, "resourceNotReady", errors.Conflict),
        (401, "authError", errors.Unauthenticated),
        (403, "quotaExceeded", errors.QuotaExceeded),
        (403, "rateLimitExceeded", errors.Throttled),
        (403, "forbidden", errors.PermissionDenied),
        (403, "invalid", errors.PermissionDenied),
        (429, "rateLimitExceeded", errors.Throttled),
        (501, "notImplemented", errors.Unsupported),
        (503, "backendError", errors.ProviderError),
    ],
)
def test_rest_errors_map_by_reason_then_status(
    status: int, reason: str, expected: type[errors.UnicomputeError]
) -> None:
    native = rest_error(status, reason)
    error = translate_error(native, "vms.launch")
    assert type(error) is expected
    assert error.original is native
    assert error.provider == "gcp"
    assert error.operation == "vms.launch"
    assert "boom" in error.message


def test_server_errors_are_transient_and_client_errors_are_not() -> None:
    assert translate_error(rest_error(503, "backendError"), "x").retryable  # type: ignore[union-attr]
    assert translate_error(rest_error(500, "backendError"), "x").retryable  # type: ignore[union-attr]
    assert not translate_error(rest_error(400, "invalid"), "x").retryable  # type: ignore[union-attr]
    assert not translate_error(rest_error(404, "notFound"), "x").retryable  # type: ignore[union-attr]
    assert translate_error(rest_error(429, "rateLimitExceeded"), "x").retryable  # type: ignore[union-attr]


def test_invalid_request_names_the_spec_field_from_gce_message() -> None:
    native = rest_error(400, "invalid", "Invalid value for field 'resource.machineType': "
                                        "'zones/us-central1-a/machineTypes/nope'.")
    error = translate_error(native, "vms.launch")
    assert isinstance(error, errors.InvalidRequest)
    assert error.field == "size"
    labels = rest_error(400, "invalid", "Invalid value for field 'resource.labels': 'X'.")
    assert translate_error(labels, "vms.launch").field == "tags"  # type: ignore[union-attr]


def failed_op(status: int, message: str, code: str) -> compute_v1.Operation:
    return compute_v1.Operation(
        name="operation-1", status="DONE", operation_type="insert",
        zone="https://compute.googleapis.com/compute/v1/projects/p/zones/us-central1-a",
        target_link=f"{URL}/vm-1", http_error_status_code=status, http_error_message=message,
        error=compute_v1.Error(errors=[compute_v1.Errors(code=code, message="detail")]))


@pytest.mark.parametrize(
    ("status", "message", "code", "expected"),
    [
        (503, "SERVICE UNAVAILABLE", "ZONE_RESOURCE_POOL_EXHAUSTED", errors.CapacityUnavailable),
        (503, "SERVICE UNAVAILABLE", "ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS",
         errors.CapacityUnavailable),
        (403, "FORBIDDEN", "QUOTA_EXCEEDED", errors.QuotaExceeded),
        (404, "NOT FOUND", "RESOURCE_NOT_FOUND", errors.NotFound),
        (409, "CONFLICT", "RESOURCE_ALREADY_EXISTS", errors.AlreadyExists),
        (400, "BAD REQUEST", "INVALID_FIELD_VALUE", errors.InvalidRequest),
        (500, "INTERNAL", "INTERNAL_ERROR", errors.ProviderError),
    ],
)
def test_failed_operations_raise_and_map_by_error_code(
    status: int, message: str, code: str, expected: type[errors.UnicomputeError]
) -> None:
    with pytest.raises(core.GoogleAPICallError) as caught:
        operations.check(failed_op(status, message, code))
    assert caught.value.code == status
    assert "vm-1" in caught.value.message and "detail" in caught.value.message
    assert type(translate_error(caught.value, "vms.launch")) is expected


def test_an_operation_with_only_errors_still_fails() -> None:
    op = compute_v1.Operation(
        name="operation-2", status="DONE",
        error=compute_v1.Error(errors=[compute_v1.Errors(code="QUOTA_EXCEEDED", message="m")]))
    with pytest.raises(core.GoogleAPICallError) as caught:
        operations.check(op)
    assert type(translate_error(caught.value, "x")) is errors.QuotaExceeded


def test_a_successful_operation_passes() -> None:
    op = compute_v1.Operation(name="operation-3", status="DONE")
    assert operations.check(op) is op


def test_missing_credentials_are_unauthenticated_with_the_fix() -> None:
    native = auth.DefaultCredentialsError("Your default credentials were not found.")
    error = translate_error(native, "connect")
    assert isinstance(error, errors.Unauthenticated)
    assert "gcloud auth application-default login" in error.message
    assert isinstance(translate_error(auth.RefreshError("expired"), "x"), errors.Unauthenticated)


def test_connection_trouble_is_transient() -> None:
    lost = translate_error(requests.ConnectionError("refused"), "vms.get")
    assert isinstance(lost, errors.ProviderError) and lost.retryable
    slow = translate_error(requests.ReadTimeout("slow"), "vms.get")
    assert isinstance(slow, errors.Timeout) and slow.retryable


def test_foreign_exceptions_are_not_ours() -> None:
    assert translate_error(ValueError("x"), "x") is None
    assert translate_error(errors.NotFound("x"), "x") is None


def test_rest_transport_query_is_left_out_of_messages() -> None:
    from google.api_core import exceptions as core

    from unicompute.providers.gcp.errors import translate_error

    native = core.NotFound(
        "GET https://cloudfunctions.googleapis.com/v2/projects/p/locations/l/functions/f"
        "?%24alt=json%3Benum-encoding%3Dint: Resource 'projects/p/locations/l/functions/f' "
        "was not found")
    error = translate_error(native, "functions.get")
    assert error is not None
    assert "%24alt" not in str(error) and "enum-encoding" not in str(error)
    assert "GET https://cloudfunctions.googleapis.com/v2/projects/p/locations/l/functions/f: " \
        "Resource 'projects/p/locations/l/functions/f' was not found" in str(error)
