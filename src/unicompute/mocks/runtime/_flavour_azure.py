"""Azure Functions (Linux, Python worker) as the local runtime's caller sees it: the
environment a function app's worker has, the host's log lines and failure wording."""

from __future__ import annotations

import uuid

from ._models import WorkerConfig

#: ``PATH`` of the Azure Functions Python image.
AZURE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def timespan(seconds: float) -> str:
    """``hh:mm:ss`` as the host prints a ``TimeSpan``."""
    whole = int(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


class AzureFlavour:
    """The Azure Functions host (runtime ~4) running the Python worker."""

    def environment(self, config: WorkerConfig, log_stream: str) -> dict[str, str]:
        """The app settings (``env``), the fake's site variables (``platform_env``:
        ``WEBSITE_SITE_NAME``, ``WEBSITE_HOSTNAME``...) and the host's own, which app settings
        cannot override."""
        env = dict(config.env)
        env.update(config.platform_env)
        env.update({
            "FUNCTIONS_WORKER_RUNTIME": "python",
            "FUNCTIONS_WORKER_RUNTIME_VERSION": config.runtime.removeprefix("python"),
            "FUNCTIONS_EXTENSION_VERSION": "~4",
            "AzureWebJobsScriptRoot": config.code_dir,
            "WEBSITE_INSTANCE_ID": log_stream,
            "REGION_NAME": env.get("REGION_NAME", config.region),
            "HOME": "/home",
            "LANG": "C.UTF-8",
            "PATH": AZURE_PATH,
        })
        env.setdefault("WEBSITE_SITE_NAME", config.function_name)
        return env

    def log_stream(self, config: WorkerConfig) -> str:
        return uuid.uuid4().hex

    def timeout_message(self, request_id: str, timeout_s: float) -> str:
        return (f"Timeout value of {timespan(timeout_s)} exceeded by function (Id: "
                f"'{request_id}'). Initiating cancellation.")

    def exit_message(self, request_id: str, returncode: int | None) -> str:
        return (f"Language Worker Process exited. Pid=unknown. Exit code {returncode} "
                f"(invocation Id: '{request_id}').")

    def format_logs(self, config: WorkerConfig, request_id: str, output: str,
                    duration_ms: float, billed_ms: int, max_memory_mb: int,
                    init_ms: float | None) -> str:
        if output and not output.endswith("\n"):
            output += "\n"
        return (f"Executing 'Functions.{config.function_name}' (Id={request_id})\n{output}"
                f"Executed 'Functions.{config.function_name}' (Id={request_id}, "
                f"Duration={round(duration_ms)}ms)\n")


FLAVOUR = AzureFlavour()
