"""What the local runtime is told (:class:`WorkerConfig`) and what it answers
(:class:`InvocationResult`, :class:`RuntimeThrottled`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ..._errors import InvalidRequest

#: Runtimes the local runtime accepts. Every one runs on the local interpreter (whatever
#: ``sys.executable`` is): the version named is checked to be a Python runtime, not provided.
PYTHON_RUNTIMES = frozenset({"python3.11", "python3.12", "python3.13"})
#: Context flavours: the ``context`` object and platform environment of each cloud. ``aws`` is
#: built in; the others live in ``_flavour_<kind>.py`` (caller's side) and ``_host_<kind>.py``
#: (inside the worker: how that cloud's host loads and calls the code).
CONTEXT_KINDS = frozenset({"aws", "azure", "gcp"})


@dataclass(frozen=True)
class WorkerConfig:
    """One function as the runtime runs it.

    ``code_dir`` is the unpacked package (first on ``sys.path`` and the working directory);
    ``entry`` is ``"module.attr"``; ``env`` the function's declared variables, to which the
    flavour (``context_kind``) adds only its platform's standard ones (``platform_env`` holds
    extra ones the caller supplies, e.g. the fake's dummy credentials). ``concurrency`` caps
    parallel executions (``None``: the runtime's default); ``memory_mb`` caps the worker's
    address space; ``timeout_s`` kills a worker whose invocation runs longer.
    """

    code_dir: str
    entry: str
    function_name: str
    runtime: str = "python3.12"
    memory_mb: int = 128
    timeout_s: float = 3.0
    #: Not in the ``repr``: values are often secrets.
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}), repr=False)
    concurrency: int | None = None
    context_kind: str = "aws"
    region: str = "us-east-1"
    function_version: str = "$LATEST"
    function_arn: str = ""
    platform_env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}),
                                            repr=False)

    def __post_init__(self) -> None:
        if self.runtime not in PYTHON_RUNTIMES:
            raise InvalidRequest(
                f"{self.runtime!r} is not a Python runtime the local runtime can run; "
                f"supported: {', '.join(sorted(PYTHON_RUNTIMES))}", field="runtime")
        if self.context_kind not in CONTEXT_KINDS:
            raise InvalidRequest(f"unknown context flavour {self.context_kind!r}",
                                 field="context_kind")
        if isinstance(self.memory_mb, bool) or not isinstance(self.memory_mb, int) \
                or self.memory_mb < 1:
            raise InvalidRequest("must be a positive number of MB", field="memory_mb")
        if not self.timeout_s > 0:
            raise InvalidRequest("must be > 0 seconds", field="timeout_s")
        if self.concurrency is not None and (
                isinstance(self.concurrency, bool) or self.concurrency < 0):
            raise InvalidRequest("must be an int >= 0 or None", field="concurrency")
        if not self.entry or "." not in self.entry:
            raise InvalidRequest("must be 'module.attr'", field="entry")
        for name, value in {**self.env, **self.platform_env}.items():
            if not isinstance(name, str) or not isinstance(value, str):
                raise InvalidRequest("environment names and values must be str", field="env")


@dataclass(frozen=True)
class InvocationResult:
    """One finished invocation.

    ``payload`` is what the platform answers: the handler's JSON result when ``ok``, else the
    error document (Lambda: ``{"errorMessage","errorType","requestId","stackTrace"}``).
    ``output`` is what the handler printed or logged; ``logs`` the platform's full log of the
    invocation (Lambda: ``START``, the output, ``END`` and the ``REPORT`` line).
    ``error_type`` is the platform's (Lambda: the exception class name, or ``Sandbox.Timedout``,
    ``Runtime.ImportModuleError``, ``Runtime.HandlerNotFound``, ``Runtime.ExitError``,
    ``Runtime.OutOfMemory``...). Durations are milliseconds; ``init_duration_ms`` is set on
    cold starts only.
    """

    request_id: str
    ok: bool
    payload: bytes
    error_type: str | None
    error_message: str | None
    stack_trace: tuple[str, ...]
    logs: str
    output: str
    duration_ms: float
    billed_ms: int
    cold_start: bool
    init_duration_ms: float | None
    max_memory_used_mb: int
    memory_mb: int
    log_stream: str


class RuntimeThrottled(Exception):
    """Every execution slot of the function is busy (its concurrency limit is reached)."""

    def __init__(self, key: str, limit: int) -> None:
        super().__init__(f"Rate Exceeded. ({key}: {limit} concurrent executions)")
        self.key = key
        self.limit = limit
