"""What differs per platform on the caller's side of a worker: its standard environment, the
log lines around an invocation and the wording of platform failures. ``aws`` (Lambda) is here;
every other kind ``k`` is the ``FLAVOUR`` of the module ``_flavour_<k>.py`` beside this one,
imported when first used (see :func:`flavour`)."""

from __future__ import annotations

import math
import time
import uuid
from typing import Protocol

from ._models import WorkerConfig

#: ``PATH`` inside a Lambda sandbox.
LAMBDA_PATH = "/usr/local/bin:/usr/bin/:/bin:/opt/bin"


class Flavour(Protocol):
    """One platform's conventions."""

    def environment(self, config: WorkerConfig, log_stream: str) -> dict[str, str]: ...

    def log_stream(self, config: WorkerConfig) -> str: ...

    def timeout_message(self, request_id: str, timeout_s: float) -> str: ...

    def exit_message(self, request_id: str, returncode: int | None) -> str: ...

    def format_logs(self, config: WorkerConfig, request_id: str, output: str,
                    duration_ms: float, billed_ms: int, max_memory_mb: int,
                    init_ms: float | None) -> str: ...


class AwsFlavour:
    """AWS Lambda's Python runtime."""

    def environment(self, config: WorkerConfig, log_stream: str) -> dict[str, str]:
        """The declared variables plus exactly Lambda's reserved ones (declared ones cannot
        override those, as on Lambda)."""
        env = dict(config.env)
        env.update(config.platform_env)
        env.update({
            "AWS_LAMBDA_FUNCTION_NAME": config.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": config.function_version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_REGION": config.region,
            "AWS_DEFAULT_REGION": config.region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
            "LAMBDA_TASK_ROOT": config.code_dir,
            "_HANDLER": config.entry,
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            "PATH": LAMBDA_PATH,
        })
        return env

    def log_stream(self, config: WorkerConfig) -> str:
        day = time.strftime("%Y/%m/%d", time.gmtime())
        return f"{day}/[{config.function_version}]{uuid.uuid4().hex}"

    def timeout_message(self, request_id: str, timeout_s: float) -> str:
        return f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds"

    def exit_message(self, request_id: str, returncode: int | None) -> str:
        if returncode is not None and returncode < 0:
            import signal

            try:
                name = signal.Signals(-returncode).name
            except ValueError:
                name = f"signal {-returncode}"
            reason = {"SIGKILL": "killed", "SIGSEGV": "segmentation fault",
                      "SIGABRT": "aborted"}.get(name, name.lower())
            status = f"signal: {reason}"
        else:
            status = f"exit status {returncode}"
        return f"RequestId: {request_id} Error: Runtime exited with error: {status}"

    def format_logs(self, config: WorkerConfig, request_id: str, output: str,
                    duration_ms: float, billed_ms: int, max_memory_mb: int,
                    init_ms: float | None) -> str:
        if output and not output.endswith("\n"):
            output += "\n"
        report = (f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
                  f"Billed Duration: {billed_ms} ms\tMemory Size: {config.memory_mb} MB\t"
                  f"Max Memory Used: {max_memory_mb} MB\t")
        if init_ms is not None:
            report += f"Init Duration: {init_ms:.2f} ms\t"
        return (f"START RequestId: {request_id} Version: {config.function_version}\n"
                f"{output}END RequestId: {request_id}\n{report}\n")


_FLAVOURS: dict[str, Flavour] = {"aws": AwsFlavour()}


def flavour(kind: str) -> Flavour:
    """The flavour of context kind ``kind`` (one of ``CONTEXT_KINDS``)."""
    found = _FLAVOURS.get(kind)
    if found is None:
        import importlib

        module = importlib.import_module(f"{__package__}._flavour_{kind}")
        found = _FLAVOURS[kind] = module.FLAVOUR
    return found


def billed(duration_ms: float) -> int:
    """Lambda bills whole milliseconds, rounded up, at least 1."""
    return max(1, math.ceil(duration_ms))
