"""What Azure Functions (Flex Consumption, Linux, Python) accepts, checked before any call.

Imports no Azure SDK: :data:`FUNCTION_LIMITS` is part of the provider's ``LIMITS``, and
:func:`check_azure_spec` is its ``check`` hook, so both run in ``check_spec``, before any
call (the first read included).

Figures and their sources (learn.microsoft.com, 2025):

* function app names: 2-60 letters, digits and hyphens (``Microsoft.Web/sites``); the app's
  HTTP function is named after it too, and Azure function names start with a letter. Storage
  container and queue names (derived from it) forbid ``--``, so unicompute does as well.
* runtimes: Flex Consumption runs Python 3.10-3.13 (``functionAppConfig.runtime``).
* memory: Flex instance sizes are 512, 2048 and 4096 MB; ``memory_mb`` is the function's
  budget (what the context reports) and the instance is the smallest size holding it.
* timeout: Flex allows unbounded executions, but every portable sync invoke is an HTTP request
  and HTTP responses are cut at 230 s by the front end's load balancer, so 230 s is the cap.
* payloads: HTTP requests up to 100 MB (sync); async invokes run a queue-triggered function and
  Storage queue messages are at most 64 KiB.
* tags: 50 per resource, keys 512 and values 256 characters, keys without ``<>%&\\?/``.
"""

from __future__ import annotations

import re

from ..._errors import InvalidRequest
from ..._function_models import FunctionLimits, FunctionSpec, QueueTrigger, ScheduleTrigger
from ...driver import NamingRules
from .functions_convert import ASYNC_QUEUE_PREFIX
from .functions_schedules import ncrontab

#: Flex Consumption instance memory sizes, MB.
INSTANCE_MEMORY_MB = (512, 2048, 4096)
#: What every HTTP response of Azure's front end is cut at.
HTTP_RESPONSE_CAP_S = 230
#: App settings Azure or unicompute set themselves (exact names).
RESERVED_SETTINGS = frozenset({
    "AzureWebJobsStorage", "AzureWebJobsDashboard", "AzureWebJobsSecretStorageType",
    "APPLICATIONINSIGHTS_CONNECTION_STRING", "APPINSIGHTS_INSTRUMENTATIONKEY",
    "DEPLOYMENT_STORAGE_CONNECTION_STRING", "FUNCTIONS_WORKER_RUNTIME",
    "FUNCTIONS_EXTENSION_VERSION", "ENABLE_ORYX_BUILD", "SCM_DO_BUILD_DURING_DEPLOYMENT",
    "PYTHONPATH",
})
#: Prefixes of app settings the platform owns (``AzureFunctionsJobHost__`` overrides host.json).
RESERVED_SETTING_PREFIXES = ("WEBSITE_", "FUNCTIONS_", "AzureFunctionsJobHost__", "AzureWebJobs",
                             "SCM_", "APPSETTING_", "UNICOMPUTE_")
#: Storage queue names: 3-63 lower-case letters, digits and single hyphens, not at either end.
_QUEUE = re.compile(r"[a-z0-9](?:-?[a-z0-9]){2,62}")
#: Flex ``maximumInstanceCount`` bounds.
MAX_INSTANCES = 1000

def instance_memory_mb(memory_mb: int) -> int:
    """The Flex instance size (MB) a function of ``memory_mb`` runs on."""
    return next(size for size in INSTANCE_MEMORY_MB if size >= memory_mb)


def check_azure_spec(spec: FunctionSpec) -> None:
    """What :func:`~unicompute._function_models.check_spec` cannot see: schedules NCRONTAB
    cannot express (``triggers``), app settings Azure owns (``env``), tag keys with characters
    ARM refuses (``tags``), queue names Storage refuses and differing queue batch sizes
    (``triggers``), and ``concurrency`` above Flex's instance cap. ``InvalidRequest`` naming the
    field. Pure: ``check_spec`` runs it (the ``check`` of :data:`FUNCTION_LIMITS`), so bad
    input makes no call at all."""
    for key in spec.env:
        if key.startswith(RESERVED_SETTING_PREFIXES):
            raise InvalidRequest(f"{key!r} is reserved by Azure Functions (prefixes "
                                 f"{', '.join(RESERVED_SETTING_PREFIXES)})", field="env")
    for key in spec.tags:
        bad = next((c for c in key if c in '<>%&\\?/'), None)
        if bad is not None:
            raise InvalidRequest(f"tag key {key!r} contains {bad!r}, which ARM refuses",
                                 field="tags")
    sizes = set()
    for trigger in spec.triggers:
        if isinstance(trigger, ScheduleTrigger):
            ncrontab(trigger.expression)
        elif isinstance(trigger, QueueTrigger):
            if not _QUEUE.fullmatch(trigger.queue):
                raise InvalidRequest(
                    f"{trigger.queue!r} is not a Storage queue name (3-63 lower-case letters, "
                    "digits and single hyphens)", field="triggers")
            if trigger.queue.startswith(ASYNC_QUEUE_PREFIX):
                raise InvalidRequest(f"{trigger.queue!r}: queue names starting with "
                                     f"{ASYNC_QUEUE_PREFIX} are unicompute's (async invokes)",
                                     field="triggers")
            sizes.add(trigger.batch_size)
    if len(sizes) > 1:
        raise InvalidRequest(
            "queue triggers of one function app share host.json's queues.batchSize; give them "
            "the same batch_size", field="triggers")
    if spec.concurrency is not None and spec.concurrency > MAX_INSTANCES:
        raise InvalidRequest(f"at most {MAX_INSTANCES} (Flex maximumInstanceCount)",
                             field="concurrency")


FUNCTION_LIMITS = FunctionLimits(
    names=NamingRules(
        pattern=re.compile(r"[A-Za-z](?:-?[A-Za-z0-9])+"),
        max_length=60,
        description=("2-60 letters, digits and single hyphens, starting with a letter and "
                     "ending with a letter or digit (an Azure function app name)"),
    ),
    runtimes=frozenset({"python3.11", "python3.12", "python3.13"}),
    shim="azure_functions",
    min_memory_mb=128,
    max_memory_mb=INSTANCE_MEMORY_MB[-1],
    memory_step_mb=1,
    max_timeout_s=HTTP_RESPONSE_CAP_S,
    max_sync_payload_bytes=100 * 1024 * 1024,
    max_async_payload_bytes=64 * 1024,
    max_env_bytes=64 * 1024,
    reserved_env_keys=RESERVED_SETTINGS,
    max_package_bytes=100 * 1024 * 1024,
    # ARM allows 50; the app also carries unicompute:managed, :storage, :code and :concurrency.
    max_tags=46,
    max_tag_key_length=512,
    max_tag_value_length=256,
    # Characters ARM refuses in tag keys are checked by check_azure_spec (keys only).
    tag_characters=None,
    check=check_azure_spec,
)
