"""Portable value types of serverless functions: the spec, its triggers, states, the records
function drivers return, and the checks of a spec against a cloud's limits.

Everything here is a frozen dataclass or an enum without SDK types, except the ``raw`` fields of
driver records (the escape hatch). Checks raise :class:`~unicompute.InvalidRequest` naming the
field, before any API call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from ._errors import InvalidRequest
from ._models import freeze_tags
from ._schedules import InvalidSchedule
from ._schedules import parse as parse_schedule

if TYPE_CHECKING:
    from ._cloud import Cloud
    from .driver import NamingRules, TagCharacters

#: Portable runtime names → language. Node.js joins as ``"nodejs22.x": "node"`` with its shim.
RUNTIMES: Mapping[str, str] = MappingProxyType(
    {"python3.11": "python", "python3.12": "python", "python3.13": "python"}
)

#: The tag keys unicompute keeps on functions for its own bookkeeping, on any cloud: the managed
#: marker (``unicompute.driver.MANAGED_TAG``), Lambda's execution role it made, Azure's storage
#: account, code digest and instance cap, Cloud Functions' HTTP auth, instance cap and queue
#: batch size. A spec may not set them (:func:`check_spec`) and ``FunctionInfo.tags`` leaves
#: them out (:func:`user_tags`); every other key, ``unicompute:workload`` included, is the
#: user's.
BOOKKEEPING_TAGS: frozenset[str] = frozenset({
    "unicompute:managed", "unicompute:role", "unicompute:storage", "unicompute:code",
    "unicompute:concurrency", "unicompute:http", "unicompute:batch-size",
})


_BOOKKEEPING_FOLDED = frozenset(key.casefold() for key in BOOKKEEPING_TAGS)


def user_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    """``tags`` of a function as the cloud holds them, without :data:`BOOKKEEPING_TAGS`."""
    return {k: v for k, v in (tags or {}).items() if k not in BOOKKEEPING_TAGS}


#: How ``Function.invoke`` runs: wait for the result, queue it, or only check it would be allowed.
InvokeMode = Literal["sync", "async", "dry_run"]
INVOKE_MODES: tuple[InvokeMode, ...] = ("sync", "async", "dry_run")

#: ``FunctionError.error_type`` values: why an invocation failed.
ERROR_TYPES = ("Unhandled", "Timeout", "ImportError", "OutOfMemory", "Crashed")

_HANDLER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")
#: Lambda's rule, the strictest of the clouds: a letter, then at least one letter, digit or _.
_ENV_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_]+")


class Environment(Mapping[str, str]):
    """A function's environment variables: an immutable mapping whose ``repr`` shows the
    names only, since values are often secrets (the values are there: ``env["KEY"]``)."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values: dict[str, str] = dict(values or {})

    def __getitem__(self, key: str) -> str:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return "{" + ", ".join(f"{key!r}: '<redacted>'" for key in self._values) + "}"


def env_json_bytes(variables: Mapping[str, str]) -> int:
    """Size of ``variables`` as Lambda measures its 4 KB limit: the UTF-8 bytes of the JSON
    object of names and values."""
    return len(json.dumps(dict(variables), separators=(",", ":"), ensure_ascii=False).encode())


class FunctionState(StrEnum):
    """Portable function states: ``PENDING`` while created, ``UPDATING`` while code or settings
    change (neither can be invoked or changed reliably yet), ``ACTIVE`` when ready, ``FAILED``
    when the last create or update failed, ``INACTIVE`` when the cloud idled it (it reactivates
    on the next invoke)."""

    PENDING = "pending"
    ACTIVE = "active"
    UPDATING = "updating"
    FAILED = "failed"
    INACTIVE = "inactive"
    UNKNOWN = "unknown"


@dataclass(frozen=True, kw_only=True)
class HttpTrigger:
    """A URL plain HTTP can call. ``auth="none"``: anyone; ``"key"``: requests must carry the
    cloud's credential (AWS: SigV4-signed, Azure: function key, GCP: ID token)."""

    auth: Literal["none", "key"] = "none"

    def __post_init__(self) -> None:
        if self.auth not in ("none", "key"):
            raise InvalidRequest(f"{self.auth!r} is not 'none' or 'key'", field="triggers.auth")


@dataclass(frozen=True)
class ScheduleTrigger:
    """Runs the function on a schedule: ``"rate(5 minutes)"`` or ``"cron(0 12 * * ? *)"`` (the
    six-field form of EventBridge: minutes hours day-of-month month day-of-week year, UTC).
    The whole EventBridge grammar is checked here (see :mod:`unicompute._schedules`), so a bad
    expression is ``InvalidRequest`` (``triggers.expression``) before any call."""

    expression: str

    def __post_init__(self) -> None:
        check_schedule(self.expression)


@dataclass(frozen=True)
class QueueTrigger:
    """Runs the function with batches of at most ``batch_size`` messages pulled from ``queue``
    (a queue name, or the cloud's queue id such as an SQS ARN); messages are deleted when the
    function succeeds."""

    queue: str
    batch_size: int = 10

    def __post_init__(self) -> None:
        if not isinstance(self.queue, str) or not self.queue.strip():
            raise InvalidRequest("must be a non-empty queue name", field="triggers.queue")
        size = self.batch_size
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 10:
            raise InvalidRequest("must be an int from 1 to 10", field="triggers.batch_size")


Trigger = HttpTrigger | ScheduleTrigger | QueueTrigger


def check_schedule(expression: object) -> str:
    """``expression`` if EventBridge's grammar (see :mod:`unicompute._schedules`) accepts it:
    ``rate(N unit)`` or six-field ``cron(...)``; else ``InvalidRequest`` (``triggers.expression``)
    saying which part is wrong."""
    try:
        parse_schedule(expression)
    except InvalidSchedule as exc:
        shown = repr(expression) if isinstance(expression, str) else "the expression"
        raise InvalidRequest(f"{shown}: {exc}", field="triggers.expression") from None
    assert isinstance(expression, str)
    return expression


@dataclass(frozen=True, kw_only=True)
class FunctionSpec:
    """What to deploy. ``source`` is a directory or a ``.zip``; a ``requirements.txt`` at its
    root is installed into the package. ``handler`` is ``"module.function"`` in that source, a
    ``def handler(event: dict, context)`` returning something JSON can encode. ``concurrency``
    caps parallel executions (``None``: the cloud's default). Provider-only settings go in
    ``options`` (``unicompute.aws.Options``)."""

    name: str
    runtime: str
    handler: str
    source: str | Path
    memory_mb: int = 128
    timeout_s: int = 30
    env: Mapping[str, str] = field(default_factory=dict)
    triggers: tuple[Trigger, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    concurrency: int | None = None
    options: Any = None

    def __post_init__(self) -> None:
        # ``env`` values are secrets: the repr shows only their names (see Environment).
        if not isinstance(self.name, str) or not self.name:
            raise InvalidRequest("must be a non-empty str", field="name")
        if self.runtime not in RUNTIMES:
            raise InvalidRequest(
                f"{self.runtime!r} is not a supported runtime; use one of "
                f"{', '.join(RUNTIMES)}",
                field="runtime",
            )
        if not isinstance(self.handler, str) or not _HANDLER.fullmatch(self.handler):
            raise InvalidRequest(
                f"{self.handler!r} is not 'module.function' (e.g. 'app.handler')",
                field="handler",
            )
        if not isinstance(self.source, str | Path) or not str(self.source):
            raise InvalidRequest("must be a directory or .zip path", field="source")
        object.__setattr__(self, "source", Path(self.source))
        for name in ("memory_mb", "timeout_s"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidRequest(f"must be an int, not {type(value).__name__}", field=name)
        object.__setattr__(self, "env", _freeze_env(self.env))
        object.__setattr__(self, "triggers", _triggers(self.triggers))
        object.__setattr__(self, "tags", freeze_tags(self.tags))
        c = self.concurrency
        if c is not None and (isinstance(c, bool) or not isinstance(c, int) or c < 1):
            raise InvalidRequest("must be an int >= 1 or None", field="concurrency")

    @property
    def source_path(self) -> Path:
        return Path(self.source)


def _freeze_env(env: object) -> Mapping[str, str]:
    if not isinstance(env, Mapping):
        raise InvalidRequest("must be a mapping of str to str", field="env")
    for key, value in env.items():
        if not isinstance(key, str) or not _ENV_KEY.fullmatch(key):
            raise InvalidRequest(
                f"{key!r} is not a variable name (a letter, then one or more letters, digits "
                "or _)", field="env")
        if not isinstance(value, str):
            # The value may be a secret: only its key is named.
            raise InvalidRequest(f"value of {key!r} must be a str", field="env")
    return Environment(env)


def _triggers(triggers: object) -> tuple[Trigger, ...]:
    if isinstance(triggers, str | bytes) or not isinstance(triggers, Iterable):
        raise InvalidRequest("must be a sequence of triggers", field="triggers")
    result = tuple(triggers)
    for trigger in result:
        if not isinstance(trigger, HttpTrigger | ScheduleTrigger | QueueTrigger):
            raise InvalidRequest(
                f"{type(trigger).__name__} is not HttpTrigger, ScheduleTrigger or QueueTrigger",
                field="triggers",
            )
    if sum(isinstance(t, HttpTrigger) for t in result) > 1:
        raise InvalidRequest("at most one HttpTrigger per function", field="triggers")
    if len(set(result)) != len(result):
        raise InvalidRequest("the same trigger is given twice", field="triggers")
    return result


@dataclass(frozen=True, kw_only=True)
class FunctionLimits:
    """A cloud's function limits, checked before any call (see :func:`check_spec`)."""

    names: NamingRules
    runtimes: frozenset[str]
    #: The shim module (``unicompute/shims/<shim>.py``) packaged with every function.
    shim: str
    min_memory_mb: int
    max_memory_mb: int
    memory_step_mb: int
    max_timeout_s: int
    max_sync_payload_bytes: int
    max_async_payload_bytes: int
    #: Bytes of the environment as a JSON object (see :func:`env_json_bytes`), with the shim's
    #: own variable naming the handler.
    max_env_bytes: int
    #: Environment keys the platform sets itself and rejects from users.
    reserved_env_keys: frozenset[str]
    #: Size of the zip uploaded with the deploy call.
    max_package_bytes: int
    max_tags: int
    max_tag_key_length: int
    max_tag_value_length: int
    reserved_tag_prefixes: tuple[str, ...] = ()
    #: Characters allowed in tag keys and values (``None``: any).
    tag_characters: TagCharacters | None = None
    #: The cloud's own checks of a spec (what the fields above cannot say), run last by
    #: :func:`check_spec`, so before any call; raises ``InvalidRequest`` naming the field.
    check: Callable[[FunctionSpec], None] | None = None


def check_spec(spec: object, limits: FunctionLimits, options_type: type | None) -> FunctionSpec:
    """``spec`` if it is a :class:`FunctionSpec` the cloud accepts; else ``InvalidRequest``."""
    from ._launch_checks import check_options, check_tags
    from .driver import Limits

    if not isinstance(spec, FunctionSpec):
        raise InvalidRequest(f"must be a FunctionSpec, not {type(spec).__name__}", field="spec")
    problem = limits.names.check(spec.name)
    if problem is not None:
        raise InvalidRequest(problem, field="name")
    if spec.runtime not in limits.runtimes:
        raise InvalidRequest(f"{spec.runtime!r} is not offered here", field="runtime")
    lo, hi, step = limits.min_memory_mb, limits.max_memory_mb, limits.memory_step_mb
    if not lo <= spec.memory_mb <= hi or spec.memory_mb % step:
        raise InvalidRequest(f"{spec.memory_mb} MB is not {lo}..{hi} MB in steps of {step} MB",
                             field="memory_mb")
    if not 1 <= spec.timeout_s <= limits.max_timeout_s:
        raise InvalidRequest(f"{spec.timeout_s} s is not 1..{limits.max_timeout_s} s",
                             field="timeout_s")
    for key in spec.env:
        if key in limits.reserved_env_keys or key.startswith("UNICOMPUTE_"):
            raise InvalidRequest(f"{key!r} is reserved by the platform", field="env")
    from .shims import HANDLER_ENV

    env_bytes = env_json_bytes({**spec.env, HANDLER_ENV: spec.handler})
    if env_bytes > limits.max_env_bytes:
        raise InvalidRequest(
            f"{env_bytes} bytes of variables as JSON (with {HANDLER_ENV}); at most "
            f"{limits.max_env_bytes}", field="env")
    tag_rules = Limits(
        names=limits.names, max_user_data_bytes=0, max_tags=limits.max_tags,
        max_tag_key_length=limits.max_tag_key_length,
        max_tag_value_length=limits.max_tag_value_length, max_disk_gib=0, max_count=1,
        reserved_tag_prefixes=limits.reserved_tag_prefixes,
        tag_characters=limits.tag_characters,
    )
    for key in spec.tags:  # in any case: Azure's tag names are case-insensitive
        if key.casefold() in _BOOKKEEPING_FOLDED:
            raise InvalidRequest(f"tag key {key!r} is reserved (unicompute's own)",
                                 field="tags")
    check_tags(spec.tags, tag_rules)
    check_options(spec.options, options_type, "this provider's")
    if limits.check is not None:
        limits.check(spec)
    return spec


def check_spec_on(spec: FunctionSpec, cloud: Cloud) -> FunctionSpec:
    """:func:`check_spec` against ``cloud``'s function limits, for a deploy to come, so that a
    spec meant for several clouds is checked on all of them before anything is made on any.
    A refusal is ``InvalidRequest`` naming the field and ``provider``. Everything a deploy
    checks is checked except provider ``options`` (one provider's options type is only known
    to its own deploy, which checks them before any call)."""
    portable = spec if spec.options is None else replace(spec, options=None)
    try:
        check_spec(portable, cloud.functions.limits, None)
    except InvalidRequest as exc:
        raise InvalidRequest(exc.reason, field=exc.field, provider=cloud.provider) from None
    return spec


def encode_payload(payload: object, mode: InvokeMode, limits: FunctionLimits) -> bytes:
    """``payload`` as JSON bytes within the cloud's size limit for ``mode``."""
    if mode not in INVOKE_MODES:
        raise InvalidRequest(f"{mode!r} is not one of {', '.join(INVOKE_MODES)}", field="mode")
    try:
        data = json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidRequest(f"cannot be encoded as JSON: {exc}", field="payload") from exc
    cap = limits.max_async_payload_bytes if mode == "async" else limits.max_sync_payload_bytes
    if len(data) > cap:
        raise InvalidRequest(f"{len(data)} bytes as JSON; {mode} invokes allow {cap}",
                             field="payload")
    return data


@dataclass(frozen=True, kw_only=True)
class FunctionPackage:
    """The zip a deploy uploads: the user's code, its vendored requirements and the shim."""

    zip_bytes: bytes
    #: SHA-256 of ``zip_bytes``: identical code gives an identical digest.
    sha256: bytes


@dataclass(frozen=True, kw_only=True)
class FunctionPlan:
    """A checked spec and its package: what a function driver deploys."""

    spec: FunctionSpec
    package: FunctionPackage


@dataclass(frozen=True, kw_only=True)
class FunctionInfo:
    """What a driver reads about one function. ``handler`` is the user's (not the shim's);
    ``triggers`` is ``None`` when not read (listings); ``version`` changes with every change
    of code or configuration. ``recreate_to_repair`` marks a ``FAILED`` function the cloud
    will not update (Lambda: a failed create), which a deploy deletes and creates again; other
    ``FAILED`` functions (a failed update) are updated in place. ``code_sha256=None`` means
    the code is unknown, so a deploy uploads it."""

    name: str
    runtime: str
    handler: str
    memory_mb: int
    timeout_s: int
    state: FunctionState
    state_reason: str | None = None
    env: Mapping[str, str] = field(default_factory=Environment)
    tags: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None
    version: str | None = None
    code_sha256: bytes | None = None
    concurrency: int | None = None
    triggers: tuple[Trigger, ...] | None = None
    recreate_to_repair: bool = False
    raw: Any = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.env, Environment):
            object.__setattr__(self, "env", Environment(self.env))


@dataclass(frozen=True, kw_only=True)
class FunctionFailure:
    """Why an invocation failed: ``error_type`` is one of :data:`ERROR_TYPES`, ``native_type``
    the cloud's own (``ValueError``, ``Sandbox.Timedout`` ...)."""

    error_type: str
    native_type: str
    message: str
    traceback: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class InvocationInfo:
    """What a driver returns for one invoke: the raw result bytes and what it parsed."""

    status_code: int
    payload: bytes
    request_id: str | None = None
    error: FunctionFailure | None = None
    logs: str = ""
    duration_ms: float | None = None
    billed_ms: int | None = None
    cold_start: bool | None = None


@dataclass(frozen=True, kw_only=True)
class Invocation:
    """One invocation's outcome. ``result`` is the handler's decoded return value (``None`` for
    async and dry-run invokes); ``logs`` the tail of what it printed; ``duration_ms``,
    ``billed_ms`` and ``cold_start`` are ``None`` where the cloud did not report them."""

    result: Any
    status_code: int
    logs: str = ""
    duration_ms: float | None = None
    billed_ms: int | None = None
    cold_start: bool | None = None
    request_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class LogLine:
    """One line of a function's log; ``timestamp_ms`` is epoch milliseconds."""

    timestamp_ms: int
    message: str
