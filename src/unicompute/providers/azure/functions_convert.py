"""Azure Functions ↔ portable records: the names unicompute derives from a function's, the app
settings it writes, and the function app it reads back (schedules: :mod:`.functions_schedules`).

Pure functions over ARM's JSON (``Model.as_dict()``), no calls and no Azure SDK imports. The
shapes are those of ``Microsoft.Web/sites`` (``properties.functionAppConfig``), app settings
(``config/appsettings``) and Kudu's deployment records.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ..._function_models import (
    FunctionFailure,
    FunctionInfo,
    FunctionSpec,
    FunctionState,
    HttpTrigger,
    QueueTrigger,
    ScheduleTrigger,
    Trigger,
)
from ..._function_models import user_tags as portable_user_tags
from ...driver import MANAGED_TAG
from ...shims import HANDLER_ENV
from .functions_schedules import ncrontab

#: App settings the shim reads (besides :data:`HANDLER_ENV`).
FUNCTION_SETTING = "UNICOMPUTE_FUNCTION"
MEMORY_SETTING = "UNICOMPUTE_MEMORY_MB"
TRIGGERS_SETTING = "UNICOMPUTE_TRIGGERS"
TIMEOUT_SETTING = "UNICOMPUTE_TIMEOUT_S"
#: Azure's documented app-setting overrides of host.json values.
HOST_TIMEOUT_SETTING = "AzureFunctionsJobHost__functionTimeout"
HOST_BATCH_SETTING = "AzureFunctionsJobHost__extensions__queues__batchSize"
STORAGE_SETTING = "AzureWebJobsStorage"
DEPLOYMENT_STORAGE_SETTING = "DEPLOYMENT_STORAGE_CONNECTION_STRING"
INSIGHTS_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
#: Seconds the host's own timeout (a backstop) leaves after the shim's, which answers
#: ``Timeout`` itself: a host timeout is a bare 500 nobody can tell from a crash.
HOST_TIMEOUT_GRACE_S = 5
#: Site tags: the shared storage account the app uses, and the SHA-256 of its published code.
STORAGE_TAG = "unicompute:storage"
CODE_TAG = "unicompute:code"
#: Kudu's ``DeployStatus``: 3 Failed, 4 Success; lower values are still running.
DEPLOY_FAILED, DEPLOY_SUCCESS = 3, 4

# -- names ------------------------------------------------------------------------------------
def _digest(*parts: str, length: int) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:length]


def storage_account_name(subscription: str, group: str, region: str) -> str:
    """The storage account shared by the function apps of one resource group and region:
    ``uc`` + 20 hex digits (3-24 lower-case letters and digits, globally unique)."""
    return "uc" + _digest(subscription.lower(), group.lower(), region, length=20)


def _child(prefix: str, name: str, keep: int) -> str:
    return f"{prefix}{name.lower()[:keep].rstrip('-')}-{_digest(name.lower(), length=7)}"


def container_name(name: str) -> str:
    """The blob container holding the app's deployment packages (3-63 characters)."""
    return _child("app-package-", name, 32)


#: The start of every app's async queue (:func:`async_queue_name`).
ASYNC_QUEUE_PREFIX = "uc-async-"


def async_queue_name(name: str) -> str:
    """The Storage queue behind the app's ``uc-async-*`` function (3-63 characters)."""
    return _child(ASYNC_QUEUE_PREFIX, name, 40)


def plan_name(name: str) -> str:
    return f"{name}-plan"


def invoke_function(name: str) -> str:
    """The shim's HTTP function that runs the handler with a raw payload."""
    return f"uc-invoke-{name}"


def async_function(name: str) -> str:
    """The shim's queue-triggered function async invokes run through ``/admin/functions``."""
    return f"uc-async-{name}"


def invoke_route(name: str) -> str:
    return f"unicompute/invoke/{name}"


# -- settings ---------------------------------------------------------------------------------
def timespan(seconds: int) -> str:
    """``HH:MM:SS`` as host.json's ``functionTimeout`` takes it."""
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def triggers_json(name: str, triggers: tuple[Trigger, ...]) -> str:
    """What the shim registers, as the ``UNICOMPUTE_TRIGGERS`` app setting: a JSON list of
    ``{"type": "http", "auth"}``, ``{"type": "schedule", "expression", "ncrontab"}`` and
    ``{"type": "queue", "queue", "batch_size"}``, plus the async queue."""
    items: list[dict[str, Any]] = []
    for trigger in triggers:
        if isinstance(trigger, HttpTrigger):
            items.append({"type": "http", "auth": trigger.auth})
        elif isinstance(trigger, ScheduleTrigger):
            items.append({"type": "schedule", "expression": trigger.expression,
                          "ncrontab": ncrontab(trigger.expression)})
        else:
            items.append({"type": "queue", "queue": trigger.queue,
                          "batch_size": trigger.batch_size})
    return json.dumps({"async_queue": async_queue_name(name), "triggers": items},
                      separators=(",", ":"), sort_keys=True)


def parse_triggers(text: str | None) -> tuple[Trigger, ...]:
    """The portable triggers of a ``UNICOMPUTE_TRIGGERS`` value (unknown entries skipped)."""
    if not text:
        return ()
    try:
        document = json.loads(text)
    except ValueError:
        return ()
    result: list[Trigger] = []
    for item in document.get("triggers", []) if isinstance(document, dict) else []:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "http":
            result.append(HttpTrigger(auth="key" if item.get("auth") == "key" else "none"))
        elif kind == "schedule":
            result.append(ScheduleTrigger(str(item["expression"])))
        elif kind == "queue":
            result.append(QueueTrigger(str(item["queue"]), int(item.get("batch_size", 10))))
    return tuple(result)


def app_settings(spec: FunctionSpec, *, connection: str, insights: str | None) -> dict[str, str]:
    """Every app setting of the function app of ``spec``: the user's env, the storage
    connections, the shim's settings and the host.json overrides."""
    settings = dict(spec.env)
    settings.update({
        STORAGE_SETTING: connection,
        DEPLOYMENT_STORAGE_SETTING: connection,
        HANDLER_ENV: spec.handler,
        FUNCTION_SETTING: spec.name,
        MEMORY_SETTING: str(spec.memory_mb),
        TIMEOUT_SETTING: str(spec.timeout_s),
        TRIGGERS_SETTING: triggers_json(spec.name, spec.triggers),
        HOST_TIMEOUT_SETTING: timespan(spec.timeout_s + HOST_TIMEOUT_GRACE_S),
    })
    batch = {t.batch_size for t in spec.triggers if isinstance(t, QueueTrigger)}
    if batch:
        settings[HOST_BATCH_SETTING] = str(batch.pop())
    if insights is not None:
        settings[INSIGHTS_SETTING] = insights
    return settings


def is_platform_setting(key: str) -> bool:
    """Settings unicompute or Azure own (not the user's env)."""
    from .functions_limits import RESERVED_SETTING_PREFIXES, RESERVED_SETTINGS

    return key in RESERVED_SETTINGS or key.startswith(RESERVED_SETTING_PREFIXES)


def connection_string(account: str, key: str, suffix: str = "core.windows.net") -> str:
    return (f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={key};"
            f"EndpointSuffix={suffix}")


def managed(tags: Mapping[str, str]) -> dict[str, str]:
    return {**tags, MANAGED_TAG: "true"}


def user_tags(tags: Mapping[str, str] | None) -> dict[str, str]:
    """An app's tags without unicompute's bookkeeping (``BOOKKEEPING_TAGS``: the managed
    marker, :data:`STORAGE_TAG`, :data:`CODE_TAG`, the instance cap)."""
    return portable_user_tags(tags)


# -- reading ----------------------------------------------------------------------------------
def function_state(site: Mapping[str, Any], deployment: Mapping[str, Any] | None
                   ) -> tuple[FunctionState, str | None]:
    """The portable state of an app and its latest Kudu deployment (``None``: none yet)."""
    properties = site.get("properties", {})
    if str(properties.get("state", "Running")) != "Running":
        return FunctionState.INACTIVE, f"the app is {properties.get('state')}"
    if deployment is None:
        return FunctionState.PENDING, "no code published yet"
    status = int(deployment.get("status", 0))
    if status == DEPLOY_SUCCESS:
        return FunctionState.ACTIVE, None
    if status == DEPLOY_FAILED:
        return FunctionState.FAILED, str(deployment.get("status_text") or "deployment failed")
    return FunctionState.UPDATING, str(deployment.get("status_text") or "") or None


def function_info(site: Mapping[str, Any], settings: Mapping[str, str],
                  deployment: Mapping[str, Any] | None, *, with_triggers: bool = True
                  ) -> FunctionInfo:
    """A function app (``site``, its app ``settings``, latest ``deployment``) as a
    :class:`FunctionInfo`: the user's handler, env and tags without the shim's."""
    properties = site.get("properties", {})
    config = properties.get("functionAppConfig") or {}
    version = str((config.get("runtime") or {}).get("version", ""))
    tags: Mapping[str, str] = site.get("tags") or {}
    triggers = parse_triggers(settings.get(TRIGGERS_SETTING))
    host = properties.get("defaultHostName")
    name = str(site["name"])
    url = (f"https://{host}/api/{name}"
           if host and any(isinstance(t, HttpTrigger) for t in triggers) else None)
    state, reason = function_state(site, deployment)
    code = tags.get(CODE_TAG)
    scale = config.get("scaleAndConcurrency") or {}
    concurrency = tags.get("unicompute:concurrency")
    info = FunctionInfo(
        name=name,
        runtime=f"python{version}" if version else "",
        handler=settings.get(HANDLER_ENV, ""),
        memory_mb=int(settings.get(MEMORY_SETTING) or scale.get("instanceMemoryMB") or 0),
        timeout_s=int(settings.get(TIMEOUT_SETTING) or 0),
        state=state,
        state_reason=reason,
        env={k: v for k, v in settings.items() if not is_platform_setting(k)},
        tags=user_tags(tags),
        url=url,
        version=config_version(site, settings),
        code_sha256=bytes.fromhex(code) if code else None,
        concurrency=int(concurrency) if concurrency else None,
        triggers=triggers if with_triggers else None,
        raw={"site": _without_settings(site), "deployment": deployment},
    )
    return info


def _without_settings(site: Mapping[str, Any]) -> dict[str, Any]:
    """``site`` without ``siteConfig.appSettings`` (a create's answer may echo them, and they
    hold the storage account key)."""
    copy = json.loads(json.dumps(site, default=str))
    config = (copy.get("properties") or {}).get("siteConfig")
    if isinstance(config, dict):
        config.pop("appSettings", None)
    return dict(copy)


def config_version(site: Mapping[str, Any], settings: Mapping[str, str]) -> str:
    """A digest of the published code and everything a deploy controls (settings, runtime,
    instance memory, tags): equal for an unchanged app, different after any change."""
    properties = site.get("properties", {})
    fields = {
        "settings": {k: hashlib.sha256(v.encode()).hexdigest() for k, v in settings.items()},
        "config": properties.get("functionAppConfig"),
        "tags": site.get("tags") or {},
    }
    text = json.dumps(fields, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# -- invocations ------------------------------------------------------------------------------
#: The shim's ``errorType`` for platform failures → ``FunctionError.error_type``; any other
#: errorType is the class of an exception the handler raised (``Unhandled``).
ERROR_TYPES: Mapping[str, str] = {
    "Timeout": "Timeout",
    "ImportModuleError": "ImportError",
    "HandlerNotFound": "ImportError",
    "MemoryError": "OutOfMemory",
    "HostError": "Crashed",
}


def failure(body: Mapping[str, Any]) -> FunctionFailure:
    """The shim's ``{"ok": false, ...}`` answer as a :class:`FunctionFailure`."""
    native = str(body.get("errorType") or "Unhandled")
    trace = body.get("stackTrace")
    lines = tuple(str(line) for line in trace) if isinstance(trace, list) else ()
    return FunctionFailure(error_type=ERROR_TYPES.get(native, "Unhandled"), native_type=native,
                           message=str(body.get("errorMessage") or ""), traceback=lines)


def host_failure(status: int, text: str) -> FunctionFailure:
    """A function host that answered ``status`` without the shim's document (the worker died:
    a crash, the memory limit, or the host's own timeout)."""
    return FunctionFailure(error_type="Crashed", native_type="HostError",
                           message=f"the function host answered {status}: {text[:500]}")
