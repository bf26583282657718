"""Building and changing a Cloud Functions v2 function: the upload of its package, the
``Function`` of a spec, the update mask of what differs, and the invoker IAM binding of its
Cloud Run service (2nd gen functions are Cloud Run services; ``allUsers`` as
``roles/run.invoker`` is what makes the URL public, as ``gcloud functions deploy
--allow-unauthenticated`` does).
"""

from __future__ import annotations

from typing import Any

from google.api_core import exceptions as core
from google.cloud import functions_v2

from ..._errors import InvalidRequest
from ..._function_models import FunctionPackage, FunctionSpec, HttpTrigger, QueueTrigger
from .convert import label_key
from .functions_clients import RUN_API, UPLOAD_TIMEOUT, FunctionClients
from .functions_convert import (
    CONCURRENCY_TAG,
    DEFAULT_MAX_INSTANCES,
    ENTRY_POINT,
    PLATFORM_ENV,
    PUBSUB_EVENT,
    build_env,
    function_labels,
    gcf_runtime,
    invoke_key,
    memory_mb,
    memory_text,
    new_invoke_key,
    service_env,
)
from .functions_limits import topic_of

INVOKER_ROLE = "roles/run.invoker"
PUBLIC = "allUsers"


def upload(clients: FunctionClients, package: FunctionPackage) -> functions_v2.StorageSource:
    """Upload ``package`` to a fresh signed URL; the storage source that names it."""
    answer = clients.functions.generate_upload_url(
        request=functions_v2.GenerateUploadUrlRequest(parent=clients.parent), **clients.rpc)
    target, headers = clients.route(answer.upload_url)
    response = clients.data.put(target, data=package.zip_bytes, timeout=UPLOAD_TIMEOUT,
                                headers={**headers, "content-type": "application/zip"})
    if response.status_code >= 300:
        raise core.from_http_response(response)  # type: ignore[no-untyped-call]
    source = answer.storage_source
    return functions_v2.StorageSource(bucket=source.bucket, object_=source.object_)


def event_trigger(clients: FunctionClients, spec: FunctionSpec
                  ) -> functions_v2.EventTrigger | None:
    queue = next((t for t in spec.triggers if isinstance(t, QueueTrigger)), None)
    if queue is None:
        return None
    return functions_v2.EventTrigger(
        event_type=PUBSUB_EVENT, pubsub_topic=topic_of(queue.queue, clients.project),
        retry_policy=functions_v2.EventTrigger.RetryPolicy.RETRY_POLICY_RETRY,
        trigger_region=clients.region)


def new_function(clients: FunctionClients, spec: FunctionSpec,
                 source: functions_v2.StorageSource, package: FunctionPackage
                 ) -> functions_v2.Function:
    """The ``Function`` to create for ``spec`` running ``package``, uploaded to ``source``,
    with a new invoke key."""
    fn = functions_v2.Function(
        name=clients.function_path(spec.name),
        description="Deployed by unicompute",
        build_config=functions_v2.BuildConfig(
            runtime=gcf_runtime(spec.runtime), entry_point=ENTRY_POINT,
            source=functions_v2.Source(storage_source=source),
            environment_variables=build_env(package.sha256)),
        service_config=functions_v2.ServiceConfig(
            available_memory=memory_text(spec.memory_mb), timeout_seconds=spec.timeout_s,
            environment_variables=service_env(spec, new_invoke_key()),
            ingress_settings=functions_v2.ServiceConfig.IngressSettings.ALLOW_ALL,
            all_traffic_on_latest_revision=True),
        labels=function_labels(spec),
    )
    if spec.concurrency is not None:
        fn.service_config.max_instance_count = spec.concurrency
    trigger = event_trigger(clients, spec)
    if trigger is not None:
        fn.event_trigger = trigger
    return fn


def check_trigger_kind(clients: FunctionClients, spec: FunctionSpec,
                       current: functions_v2.Function) -> None:
    """``InvalidRequest`` (``triggers``) when ``spec`` would change the function's event
    trigger: Cloud Functions cannot change the trigger of an existing function."""
    wanted = event_trigger(clients, spec)
    now = current.event_trigger.pubsub_topic if current.event_trigger else ""
    if (wanted.pubsub_topic if wanted else "") != now:
        shown = now or "none (an HTTP function)"
        raise InvalidRequest(
            f"the function's event trigger is {shown}; Cloud Functions cannot change the "
            "trigger of an existing function: delete it and deploy again",
            field="triggers")


def config_changes(spec: FunctionSpec, current: functions_v2.Function
                   ) -> tuple[functions_v2.Function, list[str]]:
    """The ``Function`` patch and the update-mask paths that bring ``current``'s runtime,
    memory, timeout, environment, instance cap and labels to ``spec`` (empty: no change).
    The invoke key is kept (one is made for a function that has none)."""
    patch = functions_v2.Function(name=current.name)
    paths: list[str] = []
    service = current.service_config
    runtime = gcf_runtime(spec.runtime)
    if current.build_config.runtime != runtime:
        patch.build_config.runtime = runtime
        paths.append("build_config.runtime")
    if memory_mb(service.available_memory) != spec.memory_mb:
        patch.service_config.available_memory = memory_text(spec.memory_mb)
        paths.append("service_config.available_memory")
    if service.timeout_seconds != spec.timeout_s:
        patch.service_config.timeout_seconds = spec.timeout_s
        paths.append("service_config.timeout_seconds")
    env = service_env(spec, invoke_key(current) or new_invoke_key())
    if _user_visible(dict(service.environment_variables)) != env:
        patch.service_config.environment_variables = env
        paths.append("service_config.environment_variables")
    # Without a concurrency the cap is Cloud Functions' default; it is only put back when
    # unicompute had set one (its label says so).
    had_cap = label_key(CONCURRENCY_TAG) in current.labels
    cap = spec.concurrency if spec.concurrency is not None else (
        DEFAULT_MAX_INSTANCES if had_cap else None)
    if cap is not None and service.max_instance_count != cap:
        patch.service_config.max_instance_count = cap
        paths.append("service_config.max_instance_count")
    labels = function_labels(spec)
    if dict(current.labels) != labels:
        patch.labels = labels
        paths.append("labels")
    return patch, paths


def _user_visible(variables: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in variables.items() if k not in PLATFORM_ENV}


def code_patch(current: functions_v2.Function, source: functions_v2.StorageSource,
               package: FunctionPackage) -> tuple[functions_v2.Function, list[str]]:
    patch = functions_v2.Function(name=current.name)
    patch.build_config.source = functions_v2.Source(storage_source=source)
    patch.build_config.environment_variables = build_env(package.sha256)
    return patch, ["build_config.source", "build_config.environment_variables"]


# -- invoker IAM ---------------------------------------------------------------------------------
def wants_public(spec: FunctionSpec) -> bool:
    return any(isinstance(t, HttpTrigger) and t.auth == "none" for t in spec.triggers)


def _policy_url(service: str, verb: str) -> str:
    return f"{RUN_API}/v2/{service}:{verb}"


def is_public(policy: dict[str, Any]) -> bool:
    return any(binding.get("role") == INVOKER_ROLE and PUBLIC in binding.get("members", ())
               for binding in policy.get("bindings", ()))


def set_public(clients: FunctionClients, service: str, public: bool) -> bool:
    """Add or remove ``allUsers`` as invoker of the Cloud Run ``service``; whether the policy
    changed (read first: an identical state writes nothing)."""
    policy: dict[str, Any] = clients.call_api("GET", _policy_url(service, "getIamPolicy"))
    if is_public(policy) == public:
        return False
    bindings = [dict(b) for b in policy.get("bindings", ())]
    if public:
        for binding in bindings:
            if binding.get("role") == INVOKER_ROLE:
                binding["members"] = [*binding.get("members", ()), PUBLIC]
                break
        else:
            bindings.append({"role": INVOKER_ROLE, "members": [PUBLIC]})
    else:
        for binding in bindings:
            if binding.get("role") == INVOKER_ROLE:
                binding["members"] = [m for m in binding.get("members", ()) if m != PUBLIC]
        bindings = [b for b in bindings if b.get("members")]
    body: dict[str, Any] = {"bindings": bindings}
    if policy.get("etag"):
        body["etag"] = policy["etag"]
    clients.call_api("POST", _policy_url(service, "setIamPolicy"), json={"policy": body})
    return True
