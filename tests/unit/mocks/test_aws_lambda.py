"""Lambda under mock_cloud(): boto3 invokes run the function's real code with Lambda's answers."""

from __future__ import annotations

import base64
import json
import os
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from zips import zip_of

from unicompute.mocks import MockCloud, mock_cloud

REGION = "us-east-1"

APP = '''
import os, sys, time

def handler(event, context):
    action = event.get("do")
    print("got", sorted(event))
    if action == "raise":
        raise KeyError("missing")
    if action == "sleep":
        time.sleep(event["s"])
    if action == "exit":
        sys.exit(2)
    if action == "alloc":
        return len(bytearray(event["mb"] << 20))
    if action == "env":
        return dict(os.environ)
    return {"event": event, "function": context.function_name,
            "request_id": context.aws_request_id, "pid": os.getpid()}
'''


@pytest.fixture
def mock() -> Iterator[MockCloud]:
    with mock_cloud(["aws"]) as running:
        yield running


@pytest.fixture
def lam(mock: MockCloud) -> Any:
    return boto3.client("lambda", region_name=REGION)


def create(lam: Any, name: str = "fn", files: dict[str, str] | None = None,
           **extra: Any) -> dict[str, Any]:
    iam = boto3.client("iam", region_name=REGION)
    try:
        role = iam.get_role(RoleName="exec")["Role"]["Arn"]
    except ClientError:
        role = iam.create_role(RoleName="exec", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    params = {"FunctionName": name, "Runtime": "python3.12", "Role": role,
              "Handler": "app.handler", "Code": {"ZipFile": zip_of(files or {"app.py": APP})}}
    params.update(extra)
    return lam.create_function(**params)  # type: ignore[no-any-return]


def invoke(lam: Any, payload: object, **extra: Any) -> tuple[dict[str, Any], Any]:
    response = lam.invoke(FunctionName="fn", Payload=json.dumps(payload).encode(), **extra)
    body = response["Payload"].read()
    return response, json.loads(body) if body else None


def test_invoke_runs_the_code_and_answers_like_lambda(lam):
    create(lam)
    response, result = invoke(lam, {"a": 1}, LogType="Tail")
    assert response["StatusCode"] == 200 and "FunctionError" not in response
    assert result["event"] == {"a": 1} and result["function"] == "fn"
    assert result["pid"] != os.getpid()
    request_id = response["ResponseMetadata"]["RequestId"]
    assert request_id == result["request_id"]
    log = base64.b64decode(response["LogResult"]).decode()
    assert log.startswith(f"START RequestId: {request_id} Version: $LATEST\n")
    assert "got ['a']\n" in log
    assert f"REPORT RequestId: {request_id}\tDuration: " in log
    assert "Init Duration: " in log
    warm, _ = invoke(lam, {}, LogType="Tail")
    assert "Init Duration" not in base64.b64decode(warm["LogResult"]).decode()
    plain, _ = invoke(lam, {})
    assert "LogResult" not in plain


def test_handler_error_is_unhandled_with_the_python_error_document(lam):
    create(lam)
    response, error = invoke(lam, {"do": "raise"})
    assert response["StatusCode"] == 200 and response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "KeyError" and error["errorMessage"] == "'missing'"
    assert error["requestId"] == response["ResponseMetadata"]["RequestId"]
    assert isinstance(error["stackTrace"], list) and error["stackTrace"]


def test_platform_failures(lam):
    create(lam, Timeout=1, MemorySize=128)
    response, error = invoke(lam, {"do": "sleep", "s": 10})
    request_id = response["ResponseMetadata"]["RequestId"]
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"] == (
        f"RequestId: {request_id} Error: Task timed out after 1.00 seconds")
    _, error = invoke(lam, {"do": "exit"})
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"].endswith("Runtime exited with error: exit status 2")
    _, error = invoke(lam, {"do": "alloc", "mb": 400})
    assert error["errorType"] == "Runtime.OutOfMemory"
    _, ok = invoke(lam, {"do": "alloc", "mb": 40})
    assert ok == 40 << 20


def test_import_error_and_missing_handler(lam):
    create(lam, "broken", files={"app.py": "import not_installed_anywhere\n"})
    response = lam.invoke(FunctionName="broken", Payload=b"{}")
    error = json.loads(response["Payload"].read())
    assert response["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert error["errorMessage"] == (
        "Unable to import module 'app': No module named 'not_installed_anywhere'")
    create(lam, "nohandler", Handler="app.other")
    error = json.loads(lam.invoke(FunctionName="nohandler", Payload=b"{}")["Payload"].read())
    assert error["errorType"] == "Runtime.HandlerNotFound"


def test_environment_is_declared_plus_lambda_standard_only(lam, monkeypatch):
    monkeypatch.setenv("MY_SECRET_TOKEN", "do-not-leak")
    create(lam, Environment={"Variables": {"MODE": "fast"}}, MemorySize=256)
    _, env = invoke(lam, {"do": "env"})
    assert env["MODE"] == "fast"
    assert "MY_SECRET_TOKEN" not in env and "do-not-leak" not in json.dumps(env)
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "fn"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_REGION"] == REGION and env["_HANDLER"] == "app.handler"
    assert env["AWS_ACCESS_KEY_ID"] == "FOOBARKEY"


def test_code_update_takes_effect(lam):
    create(lam)
    _, before = invoke(lam, {})
    lam.update_function_code(FunctionName="fn", ZipFile=zip_of(
        {"app.py": "def handler(event, context):\n    return 'v2'\n"}))
    _, after = invoke(lam, {})
    assert isinstance(before, dict) and after == "v2"
    lam.update_function_configuration(FunctionName="fn", Environment={"Variables": {"X": "1"}})
    response, _ = invoke(lam, {}, LogType="Tail")
    assert "Init Duration" in base64.b64decode(response["LogResult"]).decode()


def test_event_and_dry_run(lam, mock):
    create(lam, files={"app.py": (
        "import os\n"
        "def handler(event, context):\n"
        "    print('attempt')\n"
        "    raise RuntimeError('always')\n")})
    response = lam.invoke(FunctionName="fn", InvocationType="DryRun", Payload=b"{}")
    assert response["StatusCode"] == 204 and response["Payload"].read() == b""
    assert mock.aws.functions.drain(10)
    logs = boto3.client("logs", region_name=REGION)
    with pytest.raises(ClientError):  # nothing ran, so nothing logged
        logs.filter_log_events(logGroupName="/aws/lambda/fn")
    response = lam.invoke(FunctionName="fn", InvocationType="Event", Payload=b"{}")
    assert response["StatusCode"] == 202 and response["Payload"].read() == b""
    request_id = response["ResponseMetadata"]["RequestId"]

    def attempts() -> int:
        assert mock.aws.functions.drain(10)
        events = logs.filter_log_events(logGroupName="/aws/lambda/fn")["events"]
        return sum(e["message"].startswith(f"START RequestId: {request_id}") for e in events)

    # Lambda retries a failed Event invocation about 1 minute, then 2 minutes, later.
    assert attempts() == 1 and mock.aws.functions.waiting_retries == 1
    mock.aws.clock.advance(59)
    assert attempts() == 1
    mock.aws.clock.advance(1)
    assert attempts() == 2
    mock.aws.clock.advance(120)
    assert attempts() == 3 and mock.aws.functions.waiting_retries == 0
    mock.aws.clock.advance(3600)
    assert attempts() == 3  # the first attempt and two retries, no more


def test_event_retries_follow_maximum_retry_attempts(lam, mock):
    create(lam, files={"app.py": (
        "def handler(event, context):\n"
        "    raise RuntimeError('always')\n")})
    lam.put_function_event_invoke_config(FunctionName="fn", MaximumRetryAttempts=0)
    response = lam.invoke(FunctionName="fn", InvocationType="Event", Payload=b"{}")
    request_id = response["ResponseMetadata"]["RequestId"]
    assert mock.aws.functions.drain(10) and mock.aws.functions.waiting_retries == 0
    mock.aws.clock.advance(600)
    assert mock.aws.functions.drain(10)
    events = boto3.client("logs", region_name=REGION).filter_log_events(
        logGroupName="/aws/lambda/fn")["events"]
    assert sum(e["message"].startswith(f"START RequestId: {request_id}") for e in events) == 1


def test_logs_reach_cloudwatch(lam):
    create(lam)
    response, _ = invoke(lam, {"k": 1})
    request_id = response["ResponseMetadata"]["RequestId"]
    logs = boto3.client("logs", region_name=REGION)
    messages = [e["message"] for e in
                logs.filter_log_events(logGroupName="/aws/lambda/fn")["events"]]
    assert messages[0] == f"START RequestId: {request_id} Version: $LATEST"
    assert "got ['k']" in messages
    assert messages[-1].startswith(f"REPORT RequestId: {request_id}")
    streams = logs.describe_log_streams(logGroupName="/aws/lambda/fn")["logStreams"]
    assert len(streams) == 1 and "[$LATEST]" in streams[0]["logStreamName"]


def test_reserved_concurrency_throttles_with_429(lam, mock):
    create(lam)
    lam.put_function_concurrency(FunctionName="fn", ReservedConcurrentExecutions=0)
    client = boto3.client("lambda", region_name=REGION,
                          config=Config(retries={"max_attempts": 1}))
    with pytest.raises(ClientError) as caught:
        client.invoke(FunctionName="fn", Payload=b"{}")
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
    assert error["Error"]["Code"] == "TooManyRequestsException"
    assert error["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
    lam.delete_function_concurrency(FunctionName="fn")
    assert invoke(lam, {})[0]["StatusCode"] == 200


def test_non_python_runtime_is_refused(lam):
    create(lam, Runtime="nodejs20.x", Handler="index.handler")
    with pytest.raises(ClientError) as caught:
        lam.invoke(FunctionName="fn", Payload=b"{}")
    assert caught.value.response["Error"]["Code"] == "InvalidRuntimeException"


def test_stop_kills_workers_and_removes_code():
    with mock_cloud(["aws"]) as running:
        lam = boto3.client("lambda", region_name=REGION)
        create(lam)
        _, result = invoke(lam, {})
        runtime = running.aws.functions.runtime
        code_root = running.aws._runner._code_root
        assert code_root is not None and os.path.isdir(code_root)
    assert runtime.closed and not os.path.exists(code_root)
    deadline = time.monotonic() + 2
    while os.path.exists(f"/proc/{result['pid']}") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not os.path.exists(f"/proc/{result['pid']}")


def _children() -> set[int]:
    """Pids of this process's live (non-zombie) children."""
    found: set[int] = set()
    for task in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{task}/children") as children:
            found.update(int(pid) for pid in children.read().split())
    alive = set()
    for pid in found:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] != "Z":
                    alive.add(pid)
        except FileNotFoundError:
            continue
    return alive


def test_nothing_is_left_running_or_on_disk_when_the_mock_ends(tmp_path, monkeypatch):
    import tempfile
    import threading

    import unicompute as uc

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    children_before = _children()
    threads_before = set(threading.enumerate())
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text(
        "import time\n"
        "def handler(event, context):\n"
        "    if event.get('do') == 'raise':\n"
        "        raise KeyError('missing')\n"
        "    time.sleep(event.get('s', 0))\n"
        "    return {'function': context.function_name}\n")
    with mock_cloud(["aws"]) as running, uc.connect("aws", region=REGION,
                                                    poll_interval=0) as cloud:
        fn = cloud.functions.deploy(uc.FunctionSpec(
            name="fn", runtime="python3.12", handler="app.handler", source=source,
            timeout_s=60, concurrency=3,
            triggers=[uc.HttpTrigger(), uc.ScheduleTrigger("rate(1 minute)")]))
        assert fn.invoke({"x": 1}).result["function"] == "fn"
        fn.invoke({"do": "raise"}, mode="async")  # fails: a retry waits on the clock
        fn.invoke({"s": 30}, mode="async")  # still running at the end
        running.aws.clock.advance(60)  # fires the schedule (another async run)
        assert running.aws.functions.drain(0.5) is False  # the sleeper is busy
        assert _children() - children_before  # workers run as child processes
        assert running.aws.functions.waiting_retries >= 1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (
            _children() - children_before or set(threading.enumerate()) - threads_before):
        time.sleep(0.05)
    assert _children() - children_before == set()
    assert [t.name for t in set(threading.enumerate()) - threads_before] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["src"]


def test_request_and_response_size_limits_are_lambdas(lam, mock):
    create(lam, files={"app.py": (
        "def handler(event, context):\n"
        "    return 'x' * event['n'] if isinstance(event, dict) else len(event)\n")})
    six_mib, one_mib = 6 * 1024 * 1024, 1024 * 1024
    sync_max = json.dumps("y" * (six_mib - 2)).encode()
    assert len(sync_max) == six_mib
    assert lam.invoke(FunctionName="fn", Payload=sync_max)["Payload"].read() == b"6291454"
    for kind, body, limit_text in [
        ("RequestResponse", sync_max + b" ", "smaller than 6291456 bytes"),
        ("Event", json.dumps("y" * (one_mib - 1)).encode(), "(limit 1048576 bytes)"),
    ]:
        with pytest.raises(ClientError) as caught:
            lam.invoke(FunctionName="fn", InvocationType=kind, Payload=body)
        error = caught.value.response
        assert error["Error"]["Code"] == "RequestEntityTooLargeException", kind
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 413
        assert limit_text in error["Error"]["Message"]
    event_max = json.dumps("y" * (one_mib - 2)).encode()
    assert lam.invoke(FunctionName="fn", InvocationType="Event",
                      Payload=event_max)["StatusCode"] == 202
    # The result is limited too: 6,291,556 bytes of JSON, no more.
    response, result = invoke(lam, {"n": 6291556 - 2})
    assert "FunctionError" not in response and len(result) == 6291554
    response, result = invoke(lam, {"n": 6291556 - 1})
    assert response["FunctionError"] == "Unhandled"
    assert result == {"errorType": "Function.ResponseSizeTooLarge", "errorMessage": (
        "Response payload size exceeded maximum allowed payload size (6291556 bytes).")}


def test_a_failed_create_shows_as_lambda_reports_it_and_updates_keep_it(lam, mock):
    create(lam)
    mock.aws.functions.fail("fn", "The role cannot be assumed.", code="InvalidConfiguration")
    for answer in (lam.get_function(FunctionName="fn")["Configuration"],
                   lam.get_function_configuration(FunctionName="fn"),
                   lam.list_functions()["Functions"][0]):
        assert (answer["State"], answer["StateReason"], answer["StateReasonCode"]) == (
            "Failed", "The role cannot be assumed.", "InvalidConfiguration")
    lam.update_function_configuration(FunctionName="fn", MemorySize=256)
    # Lambda: a function whose create failed must be deleted and created again.
    assert lam.get_function(FunctionName="fn")["Configuration"]["State"] == "Failed"
    lam.delete_function(FunctionName="fn")
    create(lam)
    configuration = lam.get_function(FunctionName="fn")["Configuration"]
    assert configuration["State"] == "Active" and "StateReason" not in configuration
    with pytest.raises(KeyError):
        mock.aws.functions.fail("missing")


def test_a_failed_update_shows_as_lambda_reports_it_until_the_next_update(lam, mock):
    arn = create(lam)["FunctionArn"]
    mock.aws.functions.fail(arn, "Subnet out of addresses.", update=True,
                            code="SubnetOutOfIPAddresses")
    configuration = lam.get_function(FunctionName="fn")["Configuration"]
    assert configuration["State"] == "Active"
    assert (configuration["LastUpdateStatus"], configuration["LastUpdateStatusReason"],
            configuration["LastUpdateStatusReasonCode"]) == (
        "Failed", "Subnet out of addresses.", "SubnetOutOfIPAddresses")
    answer = lam.update_function_code(FunctionName="fn", ZipFile=zip_of({"app.py": APP}))
    assert answer["LastUpdateStatus"] == "Successful"
    assert "LastUpdateStatusReason" not in lam.get_function_configuration(FunctionName="fn")
