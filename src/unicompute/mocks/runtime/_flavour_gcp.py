"""Cloud Functions (2nd gen, i.e. a Cloud Run service running the Functions Framework): the
environment a function's container sees, and how the platform words its failures.

The GCP fake registers each function with ``entry="main.<entryPoint>"``, ``function_version``
set to the Cloud Run revision name and ``platform_env`` holding ``FUNCTION_SIGNATURE_TYPE``
(``http`` or ``cloudevent``), as the buildpack bakes it into the image.
"""

from __future__ import annotations

import uuid

from ._models import WorkerConfig

#: Variables Cloud Run and the Python buildpack set, which declared ones cannot override.
_FIXED = {"PORT": "8080", "HOME": "/root", "LANG": "C.UTF-8", "PYTHONUNBUFFERED": "TRUE",
          "PATH": "/layers/google.python.pip/pip/bin:/usr/local/sbin:/usr/local/bin:"
                  "/usr/sbin:/usr/bin:/sbin:/bin",
          "LOG_EXECUTION_ID": "true"}

#: Cloud Run's words when a request outlives the service's timeout.
TIMEOUT_MESSAGE = ("The request has been terminated because it has reached the maximum request "
                   "timeout. To change this limit, see "
                   "https://cloud.google.com/run/docs/configuring/request-timeout")


class GcpFlavour:
    """A Python function on Cloud Run functions."""

    def environment(self, config: WorkerConfig, log_stream: str) -> dict[str, str]:
        env = dict(config.env)
        target = config.entry.split(".", 1)[1]
        env.update(config.platform_env)
        env.update(_FIXED)
        env.update({
            "K_SERVICE": config.function_name,
            "K_REVISION": config.function_version,
            "K_CONFIGURATION": config.function_name,
            "FUNCTION_TARGET": target,
            "FUNCTION_SIGNATURE_TYPE": config.platform_env.get("FUNCTION_SIGNATURE_TYPE",
                                                               "http"),
            "GOOGLE_FUNCTION_TARGET": target,
        })
        return env

    def log_stream(self, config: WorkerConfig) -> str:
        """The instance id Cloud Logging puts on each line (``labels.instanceId``)."""
        return "00" + uuid.uuid4().hex + uuid.uuid4().hex[:30]

    def timeout_message(self, request_id: str, timeout_s: float) -> str:
        return TIMEOUT_MESSAGE

    def exit_message(self, request_id: str, returncode: int | None) -> str:
        if returncode is not None and returncode < 0:
            return f"Uncaught signal: {-returncode}, pid=1, tid=1, fault_addr=0."
        return f"Container called exit({returncode})."

    def format_logs(self, config: WorkerConfig, request_id: str, output: str,
                    duration_ms: float, billed_ms: int, max_memory_mb: int,
                    init_ms: float | None) -> str:
        """Cloud Run adds no start/end lines: the log is what the container wrote."""
        if output and not output.endswith("\n"):
            output += "\n"
        return output


FLAVOUR = GcpFlavour()
