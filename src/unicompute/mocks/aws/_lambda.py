"""Lambda functions in the AWS fake run their real code, in the local runtime.

moto (with ``use_docker: False``) records functions but does not run them. While an
:class:`~unicompute.mocks.aws.AwsFake` runs, :class:`LambdaRunner` patches
``LambdaSimpleBackend.invoke`` (a ``mock.patch`` that the fake starts and stops; nothing stays
on the class afterwards) so every ``Invoke`` — boto3 inside ``mock_cloud()``, the portable API,
the served moto — takes the function's deployed zip from moto, unpacks it once per CodeSha256,
and runs it in the fake's :class:`~unicompute.mocks.runtime.LocalRuntime`, keyed by the
function's ARN (a new code or configuration retires the old workers). Answers have Lambda's
shape: 200 with ``X-Amz-Function-Error: Unhandled`` and the Python runtime's error document on
failure, ``LogResult`` (last 4 KB of the log, ending in the ``REPORT`` line) for ``LogType=Tail``,
413 ``RequestEntityTooLargeException`` for a request over 6 MiB (1 MiB for ``Event``),
``Function.ResponseSizeTooLarge`` for a result over 6 MiB, 202 for ``Event`` (run in the
background; on error retried after 1 and then 2 more minutes of
``mock.aws.clock``, or as often as the function's ``MaximumRetryAttempts`` says), 204 for
``DryRun`` (nothing runs), 429 ``TooManyRequestsException`` beyond reserved concurrency, and
``x-amzn-RequestId``.
The log lines also go to CloudWatch Logs group ``/aws/lambda/<name>``, one stream per worker.

Only Python functions of ``PackageType`` Zip run (on the local interpreter, whatever runtime
version they name); others answer ``InvalidRuntimeException``. Code running in a worker is a
separate process: boto3 calls it makes are not answered by the in-process fake.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import tempfile
import threading
import time
import zipfile
from typing import TYPE_CHECKING, Any
from unittest import mock

from .._kernel.clock import FakeClock
from ..runtime import (
    PYTHON_RUNTIMES,
    InvocationResult,
    LocalRuntime,
    RuntimeThrottled,
    WorkerConfig,
)

if TYPE_CHECKING:
    from moto.awslambda.models import LambdaFunction

#: What a worker gets as credentials: the fake's dummy ones (the caller's never reach it).
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "FOOBARKEY",
    "AWS_SECRET_ACCESS_KEY": "FOOBARSECRET",
    "AWS_SESSION_TOKEN": "FOOBARTOKEN",
}
#: ``LogResult`` holds at most this much of the end of the log.
LOG_TAIL_BYTES = 4096
#: Largest ``Invoke`` request body: synchronous (and ``DryRun``), and ``Event``.
MAX_SYNC_REQUEST_BYTES = 6 * 1024 * 1024
MAX_EVENT_REQUEST_BYTES = 1024 * 1024
#: Largest synchronous response payload (Lambda's check allows 100 bytes over 6 MiB).
MAX_RESPONSE_BYTES = 6291556


def lambda_error(code: str, message: str, status: int, **fields: str) -> Exception:
    """A Lambda REST error as moto renders it: JSON body with ``Type``, ``message`` and extra
    fields; the code in the ``X-Amzn-ErrorType`` header (where botocore reads it)."""
    from moto.core.exceptions import JsonRESTError

    error = JsonRESTError(code, message)
    error.code = status
    error.description = json.dumps({"Type": "User", "message": message, **fields})
    return error


class LambdaRunner:
    """Runs the fake's Lambda functions; owned by one AwsFake (all state here, none global)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._runtime: LocalRuntime | None = None
        self._code_root: str | None = None
        self._code_dirs: dict[str, str] = {}

    # -- lifetime ----------------------------------------------------------------------------
    @property
    def runtime(self) -> LocalRuntime:
        with self._lock:
            if self._runtime is None or self._runtime.closed:
                self._runtime = LocalRuntime(self.clock)
            return self._runtime

    def patches(self) -> list[Any]:
        """The ``mock.patch`` objects (not started) that route moto's invokes here."""
        from moto.awslambda.responses import LambdaResponse
        from moto.awslambda_simple.models import LambdaSimpleBackend

        runner = self

        def invoke(backend: Any, function_name: str, qualifier: str | None, body: Any,
                   headers: Any, response_headers: dict[str, Any]) -> bytes:
            return runner.invoke(backend, function_name, qualifier, body, headers,
                                 response_headers)

        return [mock.patch.object(LambdaSimpleBackend, "invoke", invoke),
                mock.patch.object(LambdaResponse, "invoke", _invoke_response()),
                mock.patch.object(LambdaResponse, "_enrich_response",
                                  staticmethod(_keep_request_id))]

    def reset(self) -> None:
        """Kill every worker and remove every unpacked package."""
        with self._lock:
            runtime, self._runtime = self._runtime, None
            root, self._code_root = self._code_root, None
            self._code_dirs = {}
        if runtime is not None:
            runtime.close()
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)

    def drain(self, timeout: float | None = 30.0) -> bool:
        """Wait for every asynchronous invocation that is due (a retry is due once the fake
        clock reaches its time)."""
        with self._lock:
            runtime = self._runtime
        return True if runtime is None else runtime.drain(timeout)

    # -- invoking ----------------------------------------------------------------------------
    def invoke(self, backend: Any, function_name: str, qualifier: str | None, body: Any,
               headers: Any, response_headers: dict[str, Any]) -> bytes:
        """``LambdaSimpleBackend.invoke``: the response body; sets Lambda's headers."""
        fn = backend.get_function(function_name, qualifier)
        kind = _header(headers, "X-Amz-Invocation-Type") or "RequestResponse"
        if kind not in ("RequestResponse", "Event", "DryRun"):
            raise lambda_error("InvalidParameterValueException",
                               f"Unsupported invocation type {kind}", 400)
        event = body.encode() if isinstance(body, str) else bytes(body or b"")
        _check_request_size(kind, len(event))
        self.ensure(fn)  # DryRun too: the function must be runnable
        response_headers["x-amz-executed-version"] = fn.version
        if kind == "DryRun":
            return b""
        if kind == "Event":
            request_id = self.run_async(fn, event or b"{}")
            response_headers["x-amzn-requestid"] = request_id
            return b""
        result = self.run(fn, event or b"{}")
        response_headers["x-amzn-requestid"] = result.request_id
        payload, ok = result.payload, result.ok
        if len(payload) > MAX_RESPONSE_BYTES:
            ok, payload = False, json.dumps({
                "errorMessage": "Response payload size exceeded maximum allowed payload size "
                                f"({MAX_RESPONSE_BYTES} bytes).",
                "errorType": "Function.ResponseSizeTooLarge"}).encode()
        if not ok:
            response_headers["x-amz-function-error"] = "Unhandled"
        tail = result.logs.encode()[-LOG_TAIL_BYTES:]
        response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
        return payload

    def run(self, fn: LambdaFunction, event: bytes) -> InvocationResult:
        """Run ``fn`` synchronously and log it; 429 when its concurrency is exhausted."""
        key = self.ensure(fn)
        try:
            result = self.runtime.invoke(key, event, arn=fn.function_arn)
        except RuntimeThrottled:
            raise lambda_error(
                "TooManyRequestsException", "Rate Exceeded.", 429,
                Reason="ReservedFunctionConcurrentInvocationLimitExceeded") from None
        self._logger(fn)(result, 0)
        return result

    def run_async(self, fn: LambdaFunction, event: bytes) -> str:
        """Queue ``fn`` as an ``Event`` invocation; its request id. A failed one is retried
        after 1 and 2 minutes of the fake clock, at most ``MaximumRetryAttempts`` times (the
        function's event invoke configuration; 2 without one)."""
        return self.runtime.invoke_async(self.ensure(fn), event, _max_retries(fn),
                                         on_result=self._logger(fn), arn=fn.function_arn)

    def ensure(self, fn: LambdaFunction) -> str:
        """Register ``fn``'s current code and configuration; its runtime key."""
        runtime_name = fn.run_time or ""
        if fn.package_type != "Zip" or runtime_name not in PYTHON_RUNTIMES:
            raise lambda_error(
                "InvalidRuntimeException",
                "The fake runs Python functions packaged as Zip only "
                f"({', '.join(sorted(PYTHON_RUNTIMES))}); {fn.function_name} is "
                f"{fn.package_type} {runtime_name or 'without runtime'}.",
                502)
        key: str = fn.function_arn
        reserved = fn.reserved_concurrency
        config = WorkerConfig(
            code_dir=self._code_dir(fn), entry=fn.handler or "", function_name=fn.function_name,
            runtime=runtime_name, memory_mb=int(fn.memory_size), timeout_s=float(fn.timeout),
            env=dict(fn.environment_vars or {}),
            concurrency=None if reserved is None else int(reserved),
            region=fn.region, function_version=str(fn.version), function_arn=fn.function_arn,
            platform_env=DUMMY_CREDENTIALS)
        self.runtime.register(key, config)
        return key

    def _code_dir(self, fn: LambdaFunction) -> str:
        code: bytes = fn.code_bytes
        sha = fn.code_sha_256 or base64.b64encode(hashlib.sha256(code).digest()).decode()
        with self._lock:
            found = self._code_dirs.get(sha)
            if found is not None:
                return found
            if self._code_root is None:
                self._code_root = tempfile.mkdtemp(prefix="unicompute-lambda-")
            target = tempfile.mkdtemp(dir=self._code_root)
            try:
                with zipfile.ZipFile(io.BytesIO(code)) as archive:
                    archive.extractall(target)
            except zipfile.BadZipFile:
                shutil.rmtree(target, ignore_errors=True)
                raise lambda_error("InvalidZipFileException",
                                   "Lambda was unable to unzip the deployment package.",
                                   502) from None
            self._code_dirs[sha] = target
            return target

    # -- CloudWatch Logs ----------------------------------------------------------------------
    def _logger(self, fn: LambdaFunction) -> Any:
        account, region, group = fn.account_id, fn.region, f"/aws/lambda/{fn.function_name}"

        def write(result: InvocationResult, attempt: int) -> None:
            write_logs(account, region, group, result)

        return write


def _check_request_size(kind: str, size: int) -> None:
    """Lambda's 413 for an ``Invoke`` body over the limit of its invocation type."""
    if kind == "Event" and size > MAX_EVENT_REQUEST_BYTES:
        raise lambda_error(
            "RequestEntityTooLargeException",
            f"{size} byte payload is too large for the Event invocation type "
            f"(limit {MAX_EVENT_REQUEST_BYTES} bytes)", 413)
    if size > MAX_SYNC_REQUEST_BYTES:
        raise lambda_error(
            "RequestEntityTooLargeException",
            f"Request must be smaller than {MAX_SYNC_REQUEST_BYTES} bytes for the "
            "InvokeFunction operation", 413)


def _max_retries(fn: LambdaFunction) -> int:
    """Retries of a failed ``Event`` invocation: ``MaximumRetryAttempts`` of the function's
    event invoke configuration (``PutFunctionEventInvokeConfig``), else Lambda's 2."""
    for config in getattr(fn, "event_invoke_config", None) or []:
        value = getattr(config, "config", {}).get("MaximumRetryAttempts")
        if value is not None:
            return int(value)
    return 2


def write_logs(account: str, region: str, group: str, result: InvocationResult) -> None:
    """Put ``result``'s log lines into CloudWatch Logs ``group``, stream of its worker."""
    from moto.logs.models import logs_backends

    backend = logs_backends[account][region]
    if group not in backend.groups:
        backend.create_log_group(group, {})
    log_group = backend.groups[group]
    if result.log_stream not in log_group.streams:
        backend.create_log_stream(group, result.log_stream)
    now = int(time.time() * 1000)
    events = [{"timestamp": now, "message": line}
              for line in _log_events(result.logs)]
    if events:
        backend.put_log_events(group, result.log_stream, events)


def _log_events(logs: str) -> list[str]:
    """One event per line, as Lambda sends them (a traceback stays with its ``[ERROR]`` line)."""
    events: list[str] = []
    for line in logs.splitlines():
        if events and line.startswith((" ", "Traceback")):
            events[-1] += "\n" + line
        else:
            events.append(line)
    return events


def _invoke_response() -> Any:
    """``LambdaResponse.invoke`` without moto's own result-size check (``sys.getsizeof`` over
    6,000,000, which fails results Lambda returns): :meth:`LambdaRunner.invoke` applies
    Lambda's limits."""
    from urllib.parse import unquote

    from moto.utilities.aws_headers import amz_crc32

    @amz_crc32
    def invoke(response: Any) -> tuple[int, dict[str, str], bytes]:
        headers: dict[str, str] = {}
        name = unquote(response.path.rsplit("/", 2)[-2])
        payload: bytes = response.backend.invoke(
            name, response._get_param("qualifier"), response.body, response.headers, headers)
        headers["content-type"] = "application/json"
        kind = response.headers.get("X-Amz-Invocation-Type")
        if kind in ("Event", "DryRun"):
            status = 202 if kind == "Event" else 204
            headers["status"] = str(status)
            return status, headers, payload
        if response.headers.get("X-Amz-Log-Type") != "Tail":
            headers.pop("x-amz-log-result", None)
        return 200, headers, payload

    return invoke


def _keep_request_id(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
    """moto gives every answer a random request id; an invocation's must be the one in its
    log lines."""
    from moto.core.responses import BaseResponse

    request_id = headers.get("x-amzn-requestid")
    headers, body = BaseResponse._enrich_response(headers, body)
    if request_id:
        headers["x-amzn-requestid"] = request_id
    return headers, body


def _header(headers: Any, name: str) -> str | None:
    value = headers.get(name) if headers is not None else None
    if value is None and headers is not None:
        value = headers.get(name.lower())
    return None if value is None else str(value)
