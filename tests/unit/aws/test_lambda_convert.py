"""Lambda answers → portable records: states, error payloads, REPORT lines."""

from __future__ import annotations

import json

import pytest

from unicompute import FunctionState
from unicompute.providers.aws.lambda_convert import (
    SHIM_HANDLER,
    failure,
    function_info,
    function_state,
    parse_report,
)

REPORT_COLD = ("START RequestId: abc Version: $LATEST\nhello\nEND RequestId: abc\n"
               "REPORT RequestId: abc\tDuration: 1.23 ms\tBilled Duration: 2 ms\t"
               "Memory Size: 128 MB\tMax Memory Used: 40 MB\tInit Duration: 95.10 ms\t\n")
REPORT_WARM = ("REPORT RequestId: def\tDuration: 0.51 ms\tBilled Duration: 1 ms\t"
               "Memory Size: 128 MB\tMax Memory Used: 41 MB\t")


def test_report_line() -> None:
    assert parse_report(REPORT_COLD) == (1.23, 2, True)
    assert parse_report(REPORT_WARM) == (0.51, 1, False)
    assert parse_report(REPORT_COLD + REPORT_WARM) == (0.51, 1, False)  # the last report
    assert parse_report("no report here") == (None, None, None)


@pytest.mark.parametrize(
    ("native", "portable"),
    [
        ("ValueError", "Unhandled"),
        ("KeyError", "Unhandled"),
        ("Sandbox.Timedout", "Timeout"),
        ("Runtime.ImportModuleError", "ImportError"),
        ("Runtime.HandlerNotFound", "ImportError"),
        ("Runtime.OutOfMemory", "OutOfMemory"),
        ("Runtime.ExitError", "Crashed"),
    ],
)
def test_error_types(native: str, portable: str) -> None:
    body = json.dumps({"errorMessage": "boom", "errorType": native, "requestId": "r",
                       "stackTrace": ['  File "/var/task/app.py", line 2, in handler\n',
                                      "    raise ValueError('boom')\n"]}).encode()
    result = failure(body, "Unhandled")
    assert (result.error_type, result.native_type, result.message) == (portable, native, "boom")
    assert result.traceback[0].startswith('  File "/var/task/app.py"')


def test_error_payload_not_in_lambda_shape_keeps_its_text() -> None:
    result = failure(b"segfault!", "Unhandled")
    assert (result.error_type, result.message, result.traceback) == ("Unhandled", "segfault!", ())


@pytest.mark.parametrize(
    ("fields", "state"),
    [
        ({"State": "Pending"}, FunctionState.PENDING),
        ({"State": "Active", "LastUpdateStatus": "Successful"}, FunctionState.ACTIVE),
        ({"State": "Active", "LastUpdateStatus": "InProgress"}, FunctionState.UPDATING),
        ({"State": "Active", "LastUpdateStatus": "Failed"}, FunctionState.FAILED),
        ({"State": "Failed", "StateReason": "bad role"}, FunctionState.FAILED),
        ({"State": "Inactive"}, FunctionState.INACTIVE),
        ({"State": "Weird"}, FunctionState.UNKNOWN),
    ],
)
def test_states(fields: dict[str, str], state: FunctionState) -> None:
    assert function_state(fields)[0] is state


def test_function_info_shows_the_users_handler_env_and_tags() -> None:
    configuration = {
        "FunctionName": "fn", "Runtime": "python3.12", "Handler": SHIM_HANDLER,
        "MemorySize": 256, "Timeout": 10, "State": "Active", "CodeSha256": "AAAA",
        "Environment": {"Variables": {"UNICOMPUTE_HANDLER": "app.main", "MODE": "x"}},
    }
    info = function_info({"Configuration": configuration, "Concurrency":
                          {"ReservedConcurrentExecutions": 3}},
                         tags={"team": "a", "unicompute:managed": "true",
                               "unicompute:role": "r", "unicompute:workload": "shop"})
    # unicompute's bookkeeping is hidden; the workload tag (as on VMs) is the user's
    assert (info.handler, dict(info.env), dict(info.tags)) == (
        "app.main", {"MODE": "x"}, {"team": "a", "unicompute:workload": "shop"})
    assert info.concurrency == 3 and info.memory_mb == 256 and info.code_sha256 == b"\0\0\0"
    changed = function_info({"Configuration": {**configuration, "MemorySize": 512}}, tags={})
    assert changed.version != info.version
    same = function_info({"Configuration": dict(configuration)}, tags={})
    assert same.version == info.version


@pytest.mark.parametrize(
    ("code", "operation", "expected"),
    [
        ("ResourceNotFoundException", "GetFunction", "NotFound"),
        ("ResourceConflictException", "CreateFunction", "AlreadyExists"),
        ("ResourceConflictException", "UpdateFunctionCode", "Conflict"),
        ("TooManyRequestsException", "Invoke", "Throttled"),
        ("InvalidParameterValueException", "CreateFunction", "InvalidRequest"),
        ("RequestTooLargeException", "Invoke", "InvalidRequest"),
        ("CodeStorageExceededException", "CreateFunction", "QuotaExceeded"),
        ("EntityAlreadyExists", "CreateRole", "AlreadyExists"),
        ("AWS.SimpleQueueService.NonExistentQueue", "GetQueueUrl", "NotFound"),
        ("ServiceException", "Invoke", "ProviderError"),
    ],
)
def test_lambda_error_codes(code: str, operation: str, expected: str) -> None:
    from botocore.exceptions import ClientError

    from unicompute.providers.aws.errors import translate_error

    exc = ClientError({"Error": {"Code": code, "Message": "m"},
                       "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)
    error = translate_error(exc, "functions.deploy")
    assert error is not None and type(error).__name__ == expected
    if code == "RequestTooLargeException":
        assert error.field == "payload"  # type: ignore[attr-defined]
    if code == "ServiceException":
        assert error.retryable
