"""Cloud Functions (2nd gen) limits and the checks of a function spec only GCP needs; no SDK
imports, so ``providers/gcp/__init__.py`` can name them without loading Google's libraries.

:data:`FUNCTION_LIMITS` is what the portable ``check_spec`` applies, including its ``check``
hook :func:`check_plan`: what the fields cannot say (labels, the 540 s cap of event-driven
functions, reserved variable prefixes, one Pub/Sub trigger per function and never with a public
URL, schedules unix-cron can express). Both run before any API call (the first read included)
and raise ``InvalidRequest`` naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from ..._errors import InvalidRequest
from ..._function_models import (
    RUNTIMES,
    FunctionLimits,
    FunctionSpec,
    HttpTrigger,
    QueueTrigger,
    ScheduleTrigger,
)
from ...driver import NamingRules
from .convert import check_labels
from .unix_cron import unix_cron

#: Portable runtime → Cloud Functions runtime id.
GCF_RUNTIMES: Mapping[str, str] = MappingProxyType(
    {name: name.replace(".", "") for name in RUNTIMES})
#: The longest a function answering HTTP (direct invokes, its URL, Cloud Scheduler) may run.
MAX_HTTP_TIMEOUT_S = 3600
#: The longest an event-driven function (a Pub/Sub trigger) may run.
MAX_EVENT_TIMEOUT_S = 540
#: Variables of this prefix are Google's.
RESERVED_ENV_PREFIX = "X_GOOGLE_"
#: Bytes of the names and values of a function's runtime variables.
MAX_ENV_BYTES = 32 * 1024

def check_plan(spec: FunctionSpec) -> None:
    """What Cloud Functions refuses that :data:`FUNCTION_LIMITS` cannot express."""
    check_labels(spec.tags)
    for key in spec.env:
        if key.startswith(RESERVED_ENV_PREFIX):
            raise InvalidRequest(f"{key!r}: variables starting with {RESERVED_ENV_PREFIX} are "
                                 "reserved by Cloud Functions", field="env")
    from .functions_convert import INVOKE_KEY_CHARS, service_env

    # GCF's own measure: bytes of every runtime variable's name and value, unicompute's
    # included (the invoke key has a fixed length).
    size = sum(len(k.encode()) + len(v.encode())
               for k, v in service_env(spec, "k" * INVOKE_KEY_CHARS).items())
    if size > MAX_ENV_BYTES:
        raise InvalidRequest(f"{size} bytes of variable names and values (with unicompute's "
                             f"own); Cloud Functions allows {MAX_ENV_BYTES}", field="env")
    queues = [t for t in spec.triggers if isinstance(t, QueueTrigger)]
    if len(queues) > 1:
        raise InvalidRequest("Cloud Functions takes at most one QueueTrigger (one Pub/Sub "
                             "event trigger) per function", field="triggers")
    if queues:
        topic_of(queues[0].queue)
        if any(isinstance(t, HttpTrigger) and t.auth == "none" for t in spec.triggers):
            raise InvalidRequest(
                "a public HttpTrigger (auth='none') cannot go with a QueueTrigger on Cloud "
                "Functions: Pub/Sub messages arrive at the function's own URL, and once that "
                "URL is public anyone could send forged messages; use HttpTrigger(auth='key') "
                "or two functions", field="triggers")
        if spec.timeout_s > MAX_EVENT_TIMEOUT_S:
            raise InvalidRequest(
                f"{spec.timeout_s} s; event-driven functions (QueueTrigger) run at most "
                f"{MAX_EVENT_TIMEOUT_S} s", field="timeout_s")
    for trigger in spec.triggers:
        if isinstance(trigger, ScheduleTrigger):
            unix_cron(trigger.expression)


_TOPIC_ID = re.compile(r"[A-Za-z][A-Za-z0-9._~%+-]{2,254}")
_TOPIC_PATH = re.compile(r"projects/([a-z0-9.:-]+)/topics/(?P<topic>[^/]+)")


def topic_of(queue: str, project: str | None = None) -> str:
    """The Pub/Sub topic path of a queue trigger's ``queue`` (a topic id, or
    ``projects/p/topics/t``); ``InvalidRequest`` (``triggers.queue``) when it is neither."""
    path = _TOPIC_PATH.fullmatch(queue)
    topic = path.group("topic") if path else queue
    if not _TOPIC_ID.fullmatch(topic) or topic.lower().startswith("goog"):
        raise InvalidRequest(
            f"{queue!r} is not a Pub/Sub topic id (3-255 letters, digits and -_.~+%, starting "
            "with a letter, not with 'goog') or projects/<p>/topics/<id>",
            field="triggers.queue")
    if path:
        return queue
    return f"projects/{project or '-'}/topics/{queue}"


FUNCTION_LIMITS = FunctionLimits(
    names=NamingRules(
        pattern=re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?"),
        max_length=63,
        description=("lower-case letters, digits and hyphens, starting with a letter and not "
                     "ending with a hyphen, at most 63 characters"),
    ),
    runtimes=frozenset(GCF_RUNTIMES),
    shim="gcp_functions",
    # 2nd gen takes any amount from 128 MiB to 32 GiB (the CPU follows the memory).
    min_memory_mb=128,
    max_memory_mb=32768,
    memory_step_mb=1,
    max_timeout_s=MAX_HTTP_TIMEOUT_S,
    # 32 MB HTTP requests; async invokes are the same request, not waited for.
    max_sync_payload_bytes=32 * 1024 * 1024,
    max_async_payload_bytes=32 * 1024 * 1024,
    max_env_bytes=MAX_ENV_BYTES,
    reserved_env_keys=frozenset({
        "FUNCTION_TARGET", "FUNCTION_SIGNATURE_TYPE", "K_SERVICE", "K_REVISION",
        "K_CONFIGURATION", "PORT", "LOG_EXECUTION_ID",
    }),
    # Sources up to 100 MB compressed.
    max_package_bytes=100 * 1024 * 1024,
    # 64 labels; unicompute adds managed, http, concurrency and batch-size ones.
    max_tags=60,
    max_tag_key_length=63,
    max_tag_value_length=63,
    reserved_tag_prefixes=("goog-",),
    check=check_plan,
)
