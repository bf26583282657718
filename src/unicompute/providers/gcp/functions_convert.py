"""Cloud Functions v2 messages ↔ portable records, and answers of the shim's private invoke
path → invocation records. Pure functions, no calls.

How a portable function is kept on GCP:

* ``buildConfig``: runtime ``python312`` ..., entry point ``unicompute_entry``, the build
  variable ``GOOGLE_FUNCTION_SOURCE=unicompute_shim.py`` (the shim is the function's source
  file) and ``UNICOMPUTE_PACKAGE_SHA256`` (the SHA-256 of the uploaded zip, so a re-deploy of
  the same code uploads nothing);
* ``serviceConfig.environmentVariables``: the user's variables plus ``UNICOMPUTE_HANDLER``,
  ``UNICOMPUTE_MEMORY_MB`` and ``UNICOMPUTE_TIMEOUT_S`` (the context reports them),
  ``UNICOMPUTE_TRIGGERS`` (which requests the shim serves: ``http``, ``schedule``, ``queue``)
  and ``UNICOMPUTE_INVOKE_KEY``, the function's invoke key: random, made at create and kept by
  every update, required by the shim on its private paths (header ``x-unicompute-key``).
  Reading it takes control-plane access (``cloudfunctions.functions.get``), as Azure's
  function keys take ``listKeys``; it never appears in ``FunctionInfo.env``, reprs or logs;
* labels: the user's tags as labels (see ``convert.py``) plus ``unicompute--managed=true``,
  ``unicompute--http=none|key`` (the function has an ``HttpTrigger``),
  ``unicompute--concurrency=N`` (``concurrency`` was set; it is ``maxInstanceCount``) and
  ``unicompute--batch-size=N`` (the ``QueueTrigger``'s batch size).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..._function_models import (
    FunctionFailure,
    FunctionInfo,
    FunctionSpec,
    FunctionState,
    HttpTrigger,
    QueueTrigger,
    ScheduleTrigger,
    Trigger,
    user_tags,
)
from ...driver import MANAGED_TAG
from ...shims import HANDLER_ENV, SHIM_MODULE
from .convert import labels, tag_key
from .functions_limits import GCF_RUNTIMES

if TYPE_CHECKING:
    from google.cloud import functions_v2

ENTRY_POINT = "unicompute_entry"
SOURCE_FILE = f"{SHIM_MODULE}.py"
#: The build variable naming the function's source file (Google's buildpacks read it).
SOURCE_ENV = "GOOGLE_FUNCTION_SOURCE"
PACKAGE_ENV = "UNICOMPUTE_PACKAGE_SHA256"
MEMORY_ENV = "UNICOMPUTE_MEMORY_MB"
TIMEOUT_ENV = "UNICOMPUTE_TIMEOUT_S"
#: Variables Cloud Functions sets on every 2nd gen function itself.
PLATFORM_ENV = frozenset({"LOG_EXECUTION_ID"})
#: The function's invoke key (see the module docstring) and the header that carries it.
INVOKE_KEY_ENV = "UNICOMPUTE_INVOKE_KEY"
INVOKE_KEY_HEADER = "x-unicompute-key"
#: Characters of a key: ``secrets.token_urlsafe(32)`` (256 random bits).
INVOKE_KEY_CHARS = 43
TRIGGERS_ENV = "UNICOMPUTE_TRIGGERS"
HTTP_TAG = "unicompute:http"
CONCURRENCY_TAG = "unicompute:concurrency"
BATCH_TAG = "unicompute:batch-size"
PUBSUB_EVENT = "google.cloud.pubsub.topic.v1.messagePublished"
#: Cloud Run's default ``maxInstanceCount`` of a 2nd gen function (what "no cap" goes back to).
DEFAULT_MAX_INSTANCES = 100

_BACK_RUNTIMES = {gcf: portable for portable, gcf in GCF_RUNTIMES.items()}
_MEMORY = re.compile(r"(?P<n>[0-9]+(?:\.[0-9]+)?)(?P<unit>k|M|G|Ki|Mi|Gi)?")
_UNIT_BYTES = {None: 1, "k": 1000, "M": 1000**2, "G": 1000**3, "Ki": 1024, "Mi": 1024**2,
               "Gi": 1024**3}

_STATES = {
    "ACTIVE": FunctionState.ACTIVE,
    "FAILED": FunctionState.FAILED,
    "DELETING": FunctionState.UPDATING,
}


def memory_text(memory_mb: int) -> str:
    """``availableMemory`` for ``memory_mb`` (MiB, the unit of Cloud Functions' tiers)."""
    return f"{memory_mb}Mi"


def memory_mb(text: str) -> int:
    """MiB of an ``availableMemory`` quantity (``256Mi``, ``1Gi``, ``256M``: Cloud Functions'
    own tiers say M for MiB; bytes without a unit); 256, the default, when empty."""
    match = _MEMORY.fullmatch(text.strip())
    if match is None:
        return 256
    unit = match["unit"]
    if unit in ("M", "G"):  # GCF's tier names: 256M is 256 MiB, 1G is 1 GiB
        unit += "i"
    return round(float(match["n"]) * _UNIT_BYTES[unit] / 1024**2)


def gcf_runtime(runtime: str) -> str:
    return GCF_RUNTIMES[runtime]


def function_labels(spec: FunctionSpec) -> dict[str, str]:
    """Every label of the function of ``spec`` (user tags, already checked, and unicompute's)."""
    own: dict[str, str] = {MANAGED_TAG: "true"}
    http = next((t for t in spec.triggers if isinstance(t, HttpTrigger)), None)
    if http is not None:
        own[HTTP_TAG] = http.auth
    if spec.concurrency is not None:
        own[CONCURRENCY_TAG] = str(spec.concurrency)
    queue = next((t for t in spec.triggers if isinstance(t, QueueTrigger)), None)
    if queue is not None:
        own[BATCH_TAG] = str(queue.batch_size)
    return labels({**spec.tags, **own})


def new_invoke_key() -> str:
    """A fresh invoke key (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def trigger_kinds(spec: FunctionSpec) -> str:
    """``UNICOMPUTE_TRIGGERS`` of ``spec``: the kinds of its triggers, in a fixed order."""
    kinds = {"http": HttpTrigger, "schedule": ScheduleTrigger, "queue": QueueTrigger}
    return ",".join(kind for kind, cls in kinds.items()
                    if any(isinstance(t, cls) for t in spec.triggers))


def service_env(spec: FunctionSpec, invoke_key: str) -> dict[str, str]:
    """Every runtime variable of the function of ``spec`` (the user's and unicompute's)."""
    return {**spec.env, HANDLER_ENV: spec.handler, MEMORY_ENV: str(spec.memory_mb),
            TIMEOUT_ENV: str(spec.timeout_s), TRIGGERS_ENV: trigger_kinds(spec),
            INVOKE_KEY_ENV: invoke_key}


def invoke_key(fn: functions_v2.Function) -> str | None:
    """The invoke key kept on ``fn`` (``None``: deployed without one)."""
    return fn.service_config.environment_variables.get(INVOKE_KEY_ENV) or None


def build_env(sha256: bytes) -> dict[str, str]:
    return {SOURCE_ENV: SOURCE_FILE, PACKAGE_ENV: sha256.hex()}


def tags_of(found: Mapping[str, str]) -> dict[str, str]:
    """The user's tags among a function's labels: all but unicompute's bookkeeping
    (``BOOKKEEPING_TAGS``: the managed marker, :data:`HTTP_TAG`, :data:`CONCURRENCY_TAG`,
    :data:`BATCH_TAG`)."""
    return user_tags({tag_key(k): v for k, v in found.items()})


def state_of(fn: functions_v2.Function) -> tuple[FunctionState, str | None]:
    """The portable state and the reason Cloud Functions gives (its ``stateMessages``).
    ``DEPLOYING`` is ``PENDING`` until the function has a revision, then ``UPDATING``."""
    name = fn.state.name
    messages = "; ".join(m.message for m in fn.state_messages if m.message) or None
    if name == "DEPLOYING":
        busy = FunctionState.UPDATING if fn.service_config.revision else FunctionState.PENDING
        return busy, messages
    return _STATES.get(name, FunctionState.UNKNOWN), messages


def config_version(fn: functions_v2.Function) -> str:
    """A digest of the code and the settings a deploy controls: equal for an unchanged
    function, different after any change of code or configuration."""
    service, build = fn.service_config, fn.build_config
    text = json.dumps({
        "code": build.environment_variables.get(PACKAGE_ENV),
        "runtime": build.runtime, "entry": build.entry_point,
        "memory": memory_mb(service.available_memory), "timeout": service.timeout_seconds,
        "env": dict(service.environment_variables), "max": service.max_instance_count,
    }, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def short_name(resource: str) -> str:
    """``fn`` of ``projects/p/locations/l/functions/fn``."""
    return resource.rsplit("/", 1)[-1]


def function_info(fn: functions_v2.Function, *,
                  schedules: tuple[str, ...] | None = None) -> FunctionInfo:
    """A Cloud Functions ``Function`` as a :class:`FunctionInfo`; ``schedules`` (the
    EventBridge expressions of its Cloud Scheduler jobs) are given when the triggers were
    read, else ``triggers`` is ``None``."""
    service, build = fn.service_config, fn.build_config
    variables = dict(service.environment_variables)
    found = dict(fn.labels)
    own = {tag_key(k): v for k, v in found.items() if tag_key(k).startswith("unicompute:")}
    state, reason = state_of(fn)
    sha = build.environment_variables.get(PACKAGE_ENV)
    concurrency = own.get(CONCURRENCY_TAG)
    auth = own.get(HTTP_TAG)
    triggers: tuple[Trigger, ...] | None = None
    if schedules is not None:
        listed: list[Trigger] = []
        if auth in ("none", "key"):
            listed.append(HttpTrigger(auth=auth))  # type: ignore[arg-type]
        listed.extend(ScheduleTrigger(expression) for expression in schedules)
        topic = fn.event_trigger.pubsub_topic if fn.event_trigger else ""
        if topic:
            batch = own.get(BATCH_TAG, "10")
            listed.append(QueueTrigger(topic.rsplit("/", 1)[-1],
                                       int(batch) if batch.isdigit() else 10))
        triggers = tuple(listed)
    return FunctionInfo(
        name=short_name(fn.name),
        runtime=_BACK_RUNTIMES.get(build.runtime, build.runtime),
        handler=variables.get(HANDLER_ENV, build.entry_point),
        memory_mb=memory_mb(service.available_memory),
        timeout_s=int(service.timeout_seconds or 60),
        state=state,
        state_reason=reason,
        env={k: v for k, v in variables.items()
             if not k.startswith("UNICOMPUTE_") and k not in PLATFORM_ENV},
        tags=tags_of(found),
        url=(service.uri or None) if auth in ("none", "key") else None,
        version=config_version(fn),
        code_sha256=_hex_bytes(sha),
        concurrency=int(concurrency) if concurrency and concurrency.isdigit() else None,
        triggers=triggers,
        recreate_to_repair=False,
        raw=fn,
    )


def _hex_bytes(text: str | None) -> bytes | None:
    if not text:
        return None
    try:
        return bytes.fromhex(text)
    except ValueError:
        return None


# -- invocations -------------------------------------------------------------------------------
#: The shim's ``errorType`` of a handler that could not be imported.
IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "SyntaxError"})


def failure(document: Mapping[str, Any]) -> FunctionFailure:
    """The ``{"ok": false, ...}`` answer of the shim as a :class:`FunctionFailure`."""
    native = str(document.get("errorType") or "Error")
    trace = document.get("stackTrace")
    lines = tuple(str(line) for line in trace) if isinstance(trace, list) else ()
    return FunctionFailure(
        error_type="ImportError" if native in IMPORT_ERRORS else "Unhandled",
        native_type=native,
        message=str(document.get("errorMessage") or ""),
        traceback=lines,
    )


def platform_failure(status: int, body: str) -> FunctionFailure | None:
    """The failure a data-plane status means when the platform (not the shim) answered: 504
    (Cloud Run's request timeout) ``Timeout``, a 5xx mentioning the memory limit
    ``OutOfMemory``, any other 5xx ``Crashed``; ``None`` for other statuses."""
    text = body.strip()[:1000]
    if status == 504:
        return FunctionFailure(error_type="Timeout", native_type="DeadlineExceeded",
                               message=text or "upstream request timeout")
    if status >= 500:
        if "memory limit" in text.lower():
            return FunctionFailure(error_type="OutOfMemory", native_type="MemoryLimitExceeded",
                                   message=text)
        return FunctionFailure(error_type="Crashed", native_type=f"HTTP{status}",
                               message=text or f"the function answered {status}")
    return None
