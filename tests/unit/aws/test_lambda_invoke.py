"""Invoke through the portable API against Lambda's wire answers (botocore's Stubber on the
driver's client): results, REPORT figures, and every error payload → FunctionError."""

from __future__ import annotations

import base64
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

import unicompute as uc
from unicompute.mocks.aws import AwsFake

LOG = ("START RequestId: r-1 Version: $LATEST\nhandler says hi\nEND RequestId: r-1\n"
       "REPORT RequestId: r-1\tDuration: 1.23 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\t"
       "Max Memory Used: 40 MB\tInit Duration: 95.10 ms\t\n")


@pytest.fixture(scope="module")
def function(fake: AwsFake, tmp_path_factory: pytest.TempPathFactory) -> Iterator[uc.Function]:
    source = tmp_path_factory.mktemp("src")
    (source / "app.py").write_text("def handler(event, context):\n    return event\n")
    with uc.connect("aws", region="us-east-1", poll_interval=0) as cloud:
        fn = cloud.functions.deploy(uc.FunctionSpec(
            name=f"inv-{uuid.uuid4().hex[:8]}", runtime="python3.12",
            handler="app.handler", source=Path(source)))
        yield fn
        fn.delete()


@pytest.fixture
def stub(function: uc.Function) -> Iterator[Stubber]:
    client = function._ctx.drivers.functions.clients.lambda_  # type: ignore[union-attr]
    with Stubber(client) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def answer(body: bytes, *, status: int = 200, error: str | None = None,
           log: str | None = LOG) -> dict[str, Any]:
    response: dict[str, Any] = {
        "StatusCode": status, "ExecutedVersion": "$LATEST",
        "Payload": StreamingBody(io.BytesIO(body), len(body)),
        "ResponseMetadata": {"RequestId": "r-1", "HTTPStatusCode": status, "HTTPHeaders": {}},
    }
    if error:
        response["FunctionError"] = error
    if log is not None:
        response["LogResult"] = base64.b64encode(log.encode()).decode()
    return response


def test_sync_result_and_report(function: uc.Function, stub: Stubber) -> None:
    stub.add_response("invoke", answer(b'{"doubled": 42}'), {
        "FunctionName": function.name, "InvocationType": "RequestResponse", "LogType": "Tail",
        "Payload": b'{"n":21}'})
    out = function.invoke({"n": 21})
    assert out.result == {"doubled": 42} and out.status_code == 200
    assert (out.duration_ms, out.billed_ms, out.cold_start) == (1.23, 2, True)
    assert "handler says hi" in out.logs and out.request_id == "r-1"


def test_async_and_dry_run_send_the_lambda_invocation_types(
    function: uc.Function, stub: Stubber
) -> None:
    stub.add_response("invoke", answer(b"", status=202, log=None), {
        "FunctionName": function.name, "InvocationType": "Event", "Payload": b"null"})
    stub.add_response("invoke", answer(b"", status=204, log=None), {
        "FunctionName": function.name, "InvocationType": "DryRun", "Payload": b"null"})
    assert function.invoke(mode="async").status_code == 202
    dry = function.invoke(mode="dry_run")
    assert (dry.status_code, dry.result, dry.cold_start) == (204, None, None)


@pytest.mark.parametrize(
    ("native", "message", "portable"),
    [
        ("ValueError", "bad n", "Unhandled"),
        ("Sandbox.Timedout", "RequestId: r-1 Error: Task timed out after 3.00 seconds",
         "Timeout"),
        ("Runtime.ImportModuleError", "Unable to import module 'app': No module named 'x'",
         "ImportError"),
        ("Runtime.HandlerNotFound", "Handler 'nope' missing on module 'app'", "ImportError"),
        ("Runtime.OutOfMemory", "RequestId: r-1 Error: Runtime exited with error: signal: "
                                "killed", "OutOfMemory"),
        ("Runtime.ExitError", "RequestId: r-1 Error: Runtime exited with error: exit status 1",
         "Crashed"),
    ],
)
def test_error_payloads_raise_function_error(
    function: uc.Function, stub: Stubber, native: str, message: str, portable: str
) -> None:
    trace = ['  File "/var/task/app.py", line 2, in handler\n    raise ValueError("bad n")\n']
    body = json.dumps({"errorMessage": message, "errorType": native, "requestId": "r-1",
                       "stackTrace": trace}).encode()
    stub.add_response("invoke", answer(body, error="Unhandled"))
    with pytest.raises(uc.FunctionError) as info:
        function.invoke({"n": 1})
    error = info.value
    assert (error.error_type, error.native_type) == (portable, native)
    assert message in error.message and error.remote_traceback == trace[0]
    assert error.invocation is not None and error.invocation.result is None
    assert error.invocation.logs.startswith("START") and error.invocation.cold_start is True
    assert (error.provider, error.operation, error.resource) == (
        "aws", "functions.invoke", function.name)
    assert error.code is uc.ErrorCode.FUNCTION_ERROR and not error.retryable


def test_reserved_concurrency_exceeded_is_throttled(function: uc.Function, stub: Stubber
                                                    ) -> None:
    stub.add_client_error("invoke", "TooManyRequestsException", "Rate Exceeded.", 429,
                          response_meta={"Reason": "ReservedFunctionConcurrentInvocationLimit"
                                                   "Exceeded"})
    with pytest.raises(uc.Throttled) as info:
        function.invoke({"n": 1})
    assert info.value.retryable


def test_a_function_being_updated_is_waited_for(function: uc.Function, stub: Stubber) -> None:
    stub.add_client_error("invoke", "ResourceConflictException",
                          "The operation cannot be performed at this time. An update is in "
                          "progress for resource", 409)
    stub.add_response("get_function", {"Configuration": {
        "FunctionName": function.name, "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:"
        f"function:{function.name}", "State": "Active", "LastUpdateStatus": "Successful"}})
    stub.add_client_error("get_function_url_config", "ResourceNotFoundException", "none", 404)
    stub.add_response("list_event_source_mappings", {"EventSourceMappings": []})
    stub.add_response("invoke", answer(b"7"))
    assert function.invoke({"n": 1}).result == 7
