"""The local function runtime: isolation, warm reuse, limits, logs, environment, lifetime."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from unicompute import InvalidRequest
from unicompute.mocks._kernel import FakeClock
from unicompute.mocks.runtime import (
    InvocationResult,
    LocalRuntime,
    RuntimeThrottled,
    WorkerConfig,
)

APP = '''
import json, logging, os, sys, time
logger = logging.getLogger()
logger.setLevel(logging.INFO)

def handler(event, context):
    action = event.get("do")
    if action == "print":
        print("to stdout", event["n"])
        print("to stderr", event["n"], file=sys.stderr)
        logger.info("logged %s", event["n"])
    elif action == "raise":
        raise ValueError("bad value")
    elif action == "sleep":
        time.sleep(event["s"])
    elif action == "exit":
        sys.exit(event["code"])
    elif action == "segv":
        import signal
        os.kill(os.getpid(), signal.SIGSEGV)
    elif action == "alloc":
        block = bytearray(event["mb"] << 20)
        return len(block)
    elif action == "env":
        return dict(os.environ)
    elif action == "context":
        return {"function_name": context.function_name,
                "memory": context.memory_limit_in_mb,
                "request_id": context.aws_request_id,
                "arn": context.invoked_function_arn,
                "remaining": context.get_remaining_time_in_millis(),
                "stream": context.log_stream_name, "group": context.log_group_name}
    elif action == "unjsonable":
        return {1, 2}
    return {"pid": os.getpid(), "event": event}
'''


@pytest.fixture
def code_dir(tmp_path: Path) -> str:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "broken.py").write_text("import no_such_module_here\n")
    return str(tmp_path)


@pytest.fixture
def runtime() -> Iterator[LocalRuntime]:
    rt = LocalRuntime()
    yield rt
    rt.close()


def config(code_dir: str, **overrides: object) -> WorkerConfig:
    values: dict[str, object] = {"code_dir": code_dir, "entry": "app.handler",
                                 "function_name": "fn", "timeout_s": 5.0}
    values.update(overrides)
    return WorkerConfig(**values)  # type: ignore[arg-type]


def call(rt: LocalRuntime, event: object, key: str = "fn") -> InvocationResult:
    return rt.invoke(key, json.dumps(event).encode())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is not running code; the runtime reaps its children.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_first_invoke_is_cold_then_the_worker_is_reused_warm(runtime, code_dir):
    runtime.register("fn", config(code_dir))
    first = call(runtime, {"x": 1})
    second = call(runtime, {"x": 2})
    assert first.ok and json.loads(first.payload)["event"] == {"x": 1}
    assert first.cold_start and first.init_duration_ms is not None
    assert not second.cold_start and second.init_duration_ms is None
    assert json.loads(first.payload)["pid"] == json.loads(second.payload)["pid"] != os.getpid()
    assert "Init Duration:" in first.logs and "Init Duration:" not in second.logs


def test_logs_have_lambda_start_end_and_report_lines(runtime, code_dir):
    runtime.register("fn", config(code_dir, memory_mb=256))
    result = call(runtime, {})
    lines = result.logs.splitlines()
    assert lines[0] == f"START RequestId: {result.request_id} Version: $LATEST"
    assert lines[-2] == f"END RequestId: {result.request_id}"
    report = lines[-1]
    assert report.startswith(f"REPORT RequestId: {result.request_id}\tDuration: ")
    assert f"Billed Duration: {result.billed_ms} ms\tMemory Size: 256 MB\t" in report
    assert result.billed_ms >= max(1, result.duration_ms)
    assert 0 < result.max_memory_used_mb <= 256


def test_output_is_captured_per_invocation(runtime, code_dir):
    runtime.register("fn", config(code_dir))
    one = call(runtime, {"do": "print", "n": 1})
    two = call(runtime, {"do": "print", "n": 2})
    assert "to stdout 1\n" in one.output and "to stderr 1\n" in one.output
    assert "[INFO]\t" in one.output and f"\t{one.request_id}\tlogged 1" in one.output
    assert "to stdout 1" not in two.output and "to stdout 2" in two.output
    assert "to stdout 2" in two.logs


def test_handler_exception_is_an_error_result_with_lambda_shape(runtime, code_dir):
    runtime.register("fn", config(code_dir))
    result = call(runtime, {"do": "raise"})
    assert not result.ok
    document = json.loads(result.payload)
    assert list(document) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert document["errorType"] == "ValueError" == result.error_type
    assert document["errorMessage"] == "bad value"
    assert document["requestId"] == result.request_id
    assert any("raise ValueError" in frame for frame in document["stackTrace"])
    assert "[ERROR] ValueError: bad value" in result.logs
    # The worker survives an exception and serves the next call warm.
    assert not call(runtime, {}).cold_start


def test_timeout_kills_the_worker(runtime, code_dir):
    runtime.register("fn", config(code_dir, timeout_s=0.3))
    pid = json.loads(call(runtime, {}).payload)["pid"]
    started = time.monotonic()
    result = call(runtime, {"do": "sleep", "s": 30})
    assert time.monotonic() - started < 5
    assert result.error_type == "Sandbox.Timedout"
    assert result.error_message == (
        f"RequestId: {result.request_id} Error: Task timed out after 0.30 seconds")
    assert "Task timed out after 0.30 seconds" in result.logs
    assert not alive(pid)
    assert call(runtime, {}).cold_start


@pytest.mark.parametrize(("event", "status"), [
    ({"do": "exit", "code": 3}, "exit status 3"),
    ({"do": "segv"}, "signal: segmentation fault"),
])
def test_exit_or_crash_is_runtime_exit_error_and_the_caller_survives(
        runtime, code_dir, event, status):
    runtime.register("fn", config(code_dir))
    result = call(runtime, event)
    assert result.error_type == "Runtime.ExitError"
    assert result.error_message == (
        f"RequestId: {result.request_id} Error: Runtime exited with error: {status}")
    assert call(runtime, {}).ok


def test_import_failure_and_missing_handler(runtime, code_dir):
    runtime.register("broken", config(code_dir, entry="broken.handler"))
    runtime.register("missing", config(code_dir, entry="app.nope"))
    broken = call(runtime, {}, key="broken")
    assert broken.error_type == "Runtime.ImportModuleError"
    assert broken.error_message == (
        "Unable to import module 'broken': No module named 'no_such_module_here'")
    missing = call(runtime, {}, key="missing")
    assert missing.error_type == "Runtime.HandlerNotFound"
    assert missing.error_message == "Handler 'nope' missing on module 'app'"


def test_memory_cap(runtime, code_dir):
    runtime.register("fn", config(code_dir, memory_mb=128))
    small = call(runtime, {"do": "alloc", "mb": 60})
    assert small.ok and small.max_memory_used_mb >= 60
    big = call(runtime, {"do": "alloc", "mb": 300})
    assert big.error_type == "Runtime.OutOfMemory"
    assert call(runtime, {}).cold_start  # the sandbox that ran out of memory is discarded
    runtime.register("large", config(code_dir, memory_mb=512))
    assert call(runtime, {"do": "alloc", "mb": 300}, key="large").ok


def test_result_that_is_not_json_is_a_marshal_error(runtime, code_dir):
    runtime.register("fn", config(code_dir))
    result = call(runtime, {"do": "unjsonable"})
    assert result.error_type == "Runtime.MarshalError"
    assert result.error_message.startswith("Unable to marshal response:")


def test_environment_is_declared_plus_platform_only(runtime, code_dir, monkeypatch):
    monkeypatch.setenv("CALLER_SECRET", "s3cr3t")
    runtime.register("fn", config(code_dir, env={"MODE": "fast"}, memory_mb=256,
                                  region="eu-west-1"))
    env = json.loads(call(runtime, {"do": "env"}).payload)
    assert "CALLER_SECRET" not in env and "s3cr3t" not in json.dumps(env)
    assert env["MODE"] == "fast"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "fn"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/fn"
    assert env["LAMBDA_TASK_ROOT"] == code_dir and env["_HANDLER"] == "app.handler"
    assert env["TZ"] == ":UTC"
    assert set(env) == {
        "MODE", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV",
        "LAMBDA_TASK_ROOT", "_HANDLER", "TZ", "LANG", "PATH"}


def test_context_object(runtime, code_dir):
    arn = "arn:aws:lambda:us-east-1:123456789012:function:fn"
    runtime.register("fn", config(code_dir, timeout_s=3.0, function_arn=arn))
    result = call(runtime, {"do": "context"})
    context = json.loads(result.payload)
    assert context["function_name"] == "fn" and context["memory"] == "128"
    assert context["request_id"] == result.request_id and context["arn"] == arn
    assert 0 < context["remaining"] <= 3000
    assert context["stream"] == result.log_stream and context["group"] == "/aws/lambda/fn"


def test_concurrency_scales_out_then_throttles(runtime, code_dir):
    runtime.register("fn", config(code_dir, concurrency=2))
    results: list[InvocationResult] = []
    threads = [threading.Thread(target=lambda: results.append(
        call(runtime, {"do": "sleep", "s": 0.6}))) for _ in range(2)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 5
    while runtime.worker_count("fn") < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(RuntimeThrottled):
        call(runtime, {})
    for thread in threads:
        thread.join()
    assert len(results) == 2 and all(r.ok and r.cold_start for r in results)
    assert runtime.worker_count("fn") == 2
    runtime.register("zero", config(code_dir, concurrency=0))
    with pytest.raises(RuntimeThrottled):
        call(runtime, {}, key="zero")


def test_idle_workers_are_reaped_on_the_fake_clock(code_dir):
    clock = FakeClock()
    with LocalRuntime(clock, idle_timeout_s=60) as rt:
        rt.register("fn", config(code_dir))
        pid = json.loads(call(rt, {}).payload)["pid"]
        clock.advance(30)
        assert rt.worker_count("fn") == 1 and alive(pid)
        clock.advance(31)
        assert rt.worker_count("fn") == 0 and not alive(pid)
        assert call(rt, {}).cold_start


def test_close_kills_every_worker_and_removes_files(code_dir):
    rt = LocalRuntime()
    rt.register("a", config(code_dir))
    rt.register("b", config(code_dir))
    pids = [json.loads(call(rt, {}, key).payload)["pid"] for key in ("a", "b")]
    log_dir = rt._state.log_dir
    assert os.path.isdir(log_dir)
    rt.close()
    assert not any(alive(pid) for pid in pids)
    assert not os.path.exists(log_dir)
    rt.close()  # idempotent
    with pytest.raises(RuntimeError):
        call(rt, {}, "a")


def test_re_register_with_new_config_restarts_workers(runtime, code_dir):
    runtime.register("fn", config(code_dir))
    pid = json.loads(call(runtime, {}).payload)["pid"]
    runtime.register("fn", config(code_dir))  # same config: nothing changes
    assert json.loads(call(runtime, {}).payload)["pid"] == pid
    runtime.register("fn", config(code_dir, env={"V": "2"}))
    fresh = call(runtime, {"do": "env"})
    assert fresh.cold_start and json.loads(fresh.payload)["V"] == "2"
    assert not alive(pid)
    runtime.unregister("fn")
    with pytest.raises(InvalidRequest):
        call(runtime, {})


def test_async_retries_wait_one_then_two_minutes_of_the_clock(code_dir):
    clock = FakeClock()
    with LocalRuntime(clock) as runtime:
        runtime.register("fn", config(code_dir))
        attempts: list[tuple[str, int]] = []
        request_id = runtime.invoke_async(
            "fn", b'{"do": "raise"}', on_result=lambda r, n: attempts.append((r.request_id, n)))
        ok_id = runtime.invoke_async("fn", b"{}")
        assert runtime.drain(timeout=10)  # what is due ran; the retry waits for its minute
        assert attempts == [(request_id, 0)] and runtime.waiting_retries == 1
        clock.advance(59)
        assert runtime.drain(timeout=10) and len(attempts) == 1
        clock.advance(1)
        assert runtime.drain(timeout=10)
        assert attempts == [(request_id, 0), (request_id, 1)]
        clock.advance(119)
        assert runtime.drain(timeout=10) and len(attempts) == 2
        clock.advance(1)
        assert runtime.drain(timeout=10)
        assert attempts == [(request_id, 0), (request_id, 1), (request_id, 2)]
        assert runtime.waiting_retries == 0
        finished = {r.request_id: r.ok for r in runtime.async_results}
        assert finished == {request_id: False, ok_id: True}


def test_one_long_advance_runs_every_retry_that_fell_due(code_dir):
    clock = FakeClock()
    with LocalRuntime(clock) as runtime:
        runtime.register("fn", config(code_dir))
        attempts: list[int] = []
        runtime.invoke_async("fn", b'{"do": "raise"}', on_result=lambda r, n: attempts.append(n))
        assert runtime.drain(timeout=10)
        clock.advance(180)  # 60 s to the first retry, 120 s more to the second
        assert runtime.drain(timeout=10) and attempts == [0, 1, 2]


def test_without_a_clock_retries_wait_real_time_and_close_drops_them(code_dir):
    with LocalRuntime(async_retry_delays_s=(0.2, 0.2)) as runtime:
        runtime.register("fn", config(code_dir))
        attempts: list[int] = []
        runtime.invoke_async("fn", b'{"do": "raise"}', on_result=lambda r, n: attempts.append(n))
        assert runtime.drain(timeout=10) and attempts == [0]
        deadline = time.monotonic() + 10
        while len(attempts) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert runtime.drain(timeout=10) and attempts == [0, 1, 2]
    with LocalRuntime(async_retry_delays_s=(60.0,)) as runtime:
        runtime.register("fn", config(code_dir))
        runtime.invoke_async("fn", b'{"do": "raise"}')
        assert runtime.drain(timeout=10) and runtime.waiting_retries == 1
    assert runtime.waiting_retries == 0
    assert not [t for t in threading.enumerate()
                if t.name.startswith("unicompute-async") or isinstance(t, threading.Timer)]


def test_runtime_must_be_python():
    with pytest.raises(InvalidRequest) as caught:
        WorkerConfig(code_dir=".", entry="app.handler", function_name="f",
                     runtime="nodejs20.x")
    assert caught.value.field == "runtime"
