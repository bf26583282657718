"""Cloud Functions (2nd gen) as a :class:`~unicompute.driver.FunctionDriver`, over the official
``google-cloud-functions`` v2 and ``google-cloud-scheduler`` REST clients.

Every function unicompute deploys runs the shim ``shims/gcp_functions.py`` (entry point
``unicompute_entry``) with the user's handler in ``UNICOMPUTE_HANDLER``; how the spec is kept on
the function is in :mod:`.functions_convert`. Triggers:

* ``HttpTrigger``: the function's own URL (``serviceConfig.uri``); ``auth="none"`` grants
  ``allUsers`` the Cloud Run invoker role on its service, ``"key"`` requires an ID token.
  Without an ``HttpTrigger`` the URL stays private and ``Function.url`` is ``None``.
* ``ScheduleTrigger``: a Cloud Scheduler job calling the URL with an OIDC token and the
  function's invoke key (:mod:`.scheduler`).
* ``QueueTrigger``: the function's Pub/Sub ``eventTrigger`` (one per function, fixed when the
  function is created: Cloud Functions cannot change it later; never with a public URL).

The shim's private paths (direct invokes, Cloud Scheduler's calls) require the function's
invoke key, a random secret made at create and kept in its runtime environment, on top of
Cloud Run's ID-token check: a public URL serves its ``HttpTrigger`` and nothing else.

Deploy uploads the zip to a ``generateUploadUrl`` signed URL, then creates or patches the
function with an update mask of only what differs (an identical re-deploy makes no write call).
Invoke and logs are in :mod:`.functions_invoke`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import replace

from google.api_core import exceptions as core
from google.cloud import functions_v2

from ..._errors import AlreadyExists, Conflict, ProviderError
from ..._function_models import (
    FunctionInfo,
    FunctionPlan,
    FunctionState,
    InvocationInfo,
    InvokeMode,
    LogLine,
    ScheduleTrigger,
)
from ..._models import Page
from ...driver import ProviderDrivers
from . import functions_deploy as deploy
from . import functions_invoke, scheduler
from ._clients import Connection, connect
from .convert import PROVIDER
from .functions_clients import FunctionClients
from .functions_convert import function_info, invoke_key

LOG = logging.getLogger("unicompute.providers.gcp")
_PAGE_SIZE = 50
#: Seconds a direct invoke may wait for the answer beyond the function's own timeout.
_INVOKE_GRACE_S = 30
#: Answers of a direct invoke after which the function is read again (and the call retried
#: once if what was used came from an earlier read).
_STALE_TARGET = frozenset({401, 403, 404})


def open_functions(region: str, config: Mapping[str, object] | Connection) -> GcfFunctions:
    """The Cloud Functions driver of ``region`` for the provider ``config`` (the GCP
    provider's settings: ``project``, ``endpoint_url``, ``poll_interval``), or for the
    :class:`~._clients.Connection` already made of them (credentials are not looked up
    again)."""
    connection = config if isinstance(config, Connection) else connect(config)
    clients = FunctionClients(credentials=connection.credentials, project=connection.project,
                              region=region, endpoint=connection.endpoint,
                              poll_interval=connection.poll_interval)
    return GcfFunctions(clients)


class GcfFunctions:
    """The functions of one project and region."""

    def __init__(self, clients: FunctionClients) -> None:
        self._clients = clients
        self._async = functions_invoke.AsyncInvoker(clients)
        #: Function name → where and how to invoke it, from the last read.
        self._targets: dict[str, functions_invoke.Target] = {}

    @property
    def clients(self) -> FunctionClients:
        return self._clients

    # -- reading ----------------------------------------------------------------------------
    def _get(self, name: str) -> functions_v2.Function:
        fn = self._clients.functions.get_function(name=self._clients.function_path(name),
                                                  **self._clients.rpc)
        key = invoke_key(fn)
        if fn.service_config.uri and key:
            self._targets[name] = functions_invoke.Target(
                fn.service_config.uri, fn.service_config.timeout_seconds, key)
        return fn

    def get_function(self, name: str) -> FunctionInfo:
        fn = self._get(name)
        jobs = scheduler.read(self._clients, name)
        return function_info(fn, schedules=tuple(jobs[job].expression for job in sorted(jobs)))

    def list_functions(self, *, page_token: str | None) -> Page[FunctionInfo]:
        request = functions_v2.ListFunctionsRequest(
            parent=self._clients.parent, page_size=_PAGE_SIZE, page_token=page_token or "")
        pager = self._clients.functions.list_functions(request=request, **self._clients.rpc)
        page = next(iter(pager.pages))
        return Page(items=[function_info(fn) for fn in page.functions],
                    next_token=page.next_page_token or None)

    # -- deploying --------------------------------------------------------------------------
    def create_function(self, plan: FunctionPlan) -> FunctionInfo:
        spec = plan.spec
        source = deploy.upload(self._clients, plan.package)
        fn = deploy.new_function(self._clients, spec, source, plan.package)
        try:
            self._clients.functions.create_function(
                parent=self._clients.parent, function=fn, function_id=spec.name,
                **self._clients.rpc)
        except core.Conflict as exc:
            raise AlreadyExists(f"a function {spec.name} exists already", provider=PROVIDER,
                                operation="functions.deploy", resource=spec.name) from exc
        fn.state = functions_v2.Function.State.DEPLOYING  # type: ignore[assignment]
        return function_info(fn, schedules=())

    def update_code(self, plan: FunctionPlan, current: FunctionInfo) -> bool:
        # The first step of an update: a trigger change GCP refuses is found before any write
        # (the spec's own checks ran in ``check_spec``: FUNCTION_LIMITS.check).
        now = self._raw(current)
        deploy.check_trigger_kind(self._clients, plan.spec, now)
        if current.code_sha256 == plan.package.sha256:
            return False
        source = deploy.upload(self._clients, plan.package)
        patch, paths = deploy.code_patch(now, source, plan.package)
        self._patch(patch, paths)
        return True

    def update_config(self, plan: FunctionPlan, current: FunctionInfo) -> bool:
        patch, paths = deploy.config_changes(plan.spec, self._raw(current))
        if not paths:
            return False
        self._patch(patch, paths)
        return True

    def _patch(self, patch: functions_v2.Function, paths: list[str]) -> None:
        self._clients.functions.update_function(
            function=patch, update_mask={"paths": paths}, **self._clients.rpc)

    def _raw(self, current: FunctionInfo) -> functions_v2.Function:
        if isinstance(current.raw, functions_v2.Function) and current.raw.service_config.uri:
            return current.raw
        return self._get(current.name)

    def sync_triggers(self, plan: FunctionPlan, current: FunctionInfo) -> None:
        """Invoker binding (public or not) and Cloud Scheduler jobs; the event trigger was
        fixed at create (``update_code`` refuses a change)."""
        spec = plan.spec
        fn = self._raw(current)
        service, uri = fn.service_config.service, fn.service_config.uri
        if not service or not uri:
            raise ProviderError(f"function {spec.name} has no service URI yet",
                                provider=PROVIDER, operation="functions.deploy",
                                resource=spec.name)
        key = invoke_key(fn)
        if not key:
            raise ProviderError(f"function {spec.name} has no invoke key", provider=PROVIDER,
                                operation="functions.deploy", resource=spec.name)
        public = deploy.wants_public(spec)
        changed = deploy.set_public(self._clients, service, public)
        try:
            scheduler.sync(
                self._clients, function=spec.name,
                wanted=tuple(t.expression for t in spec.triggers
                             if isinstance(t, ScheduleTrigger)),
                target=scheduler.JobTarget(
                    uri=uri, key=key, service_account=fn.service_config.service_account_email,
                    deadline_s=scheduler.attempt_deadline(spec.timeout_s)),
                current=scheduler.read(self._clients, spec.name))
        except BaseException:
            if changed:
                try:
                    deploy.set_public(self._clients, service, not public)
                except core.GoogleAPICallError as exc:
                    LOG.warning("could not restore the invoker policy of %s: %s",
                                spec.name, exc)
            raise

    def delete_function(self, name: str) -> None:
        self._get(name)  # NotFound when there is none
        for job in scheduler.read(self._clients, name):
            scheduler.delete(self._clients, job)
        self._targets.pop(name, None)
        try:
            operation = self._clients.functions.delete_function(
                name=self._clients.function_path(name), **self._clients.rpc)
        except core.NotFound:
            return
        self._clients.wait_operation(operation, what=f"deletion of function {name}")

    # -- running ----------------------------------------------------------------------------
    def _target(self, name: str) -> functions_invoke.Target:
        found = self._targets.get(name)
        if found is None:
            fn = self._get(name)
            if not fn.service_config.uri:
                raise Conflict(f"function {name} has no URI yet", provider=PROVIDER,
                               operation="functions.invoke", resource=name)
            if not invoke_key(fn):
                raise Conflict(f"function {name} has no invoke key: deploy it again",
                               provider=PROVIDER, operation="functions.invoke", resource=name)
            found = self._targets[name]
        return found

    def invoke(self, name: str, payload: bytes, mode: InvokeMode) -> InvocationInfo:
        if mode == "dry_run":
            info = function_info(self._get(name))
            if info.state is not FunctionState.ACTIVE:
                raise Conflict(f"function {name} is {info.state.value}", provider=PROVIDER,
                               operation="functions.invoke", resource=name)
            return InvocationInfo(status_code=204, payload=b"")
        cached = name in self._targets
        target = self._target(name)
        wait = float(target.timeout_s or 60) + _INVOKE_GRACE_S
        if mode == "async":
            self._async.submit(name, target, payload, wait)
            return InvocationInfo(status_code=202, payload=b"")
        response = functions_invoke.post_invoke(self._clients, target, payload, wait)
        if response.status_code in _STALE_TARGET:
            # The function may have been re-created (new URI, new key) since it was read.
            self._targets.pop(name, None)
            if cached:
                target = self._target(name)
                response = functions_invoke.post_invoke(self._clients, target, payload, wait)
        return functions_invoke.outcome(name, response)

    def logs(self, name: str, *, since_ms: int | None, limit: int) -> list[LogLine]:
        return functions_invoke.read_logs(self._clients, name, since_ms=since_ms, limit=limit)

    def close(self) -> None:
        self._async.close()
        self._clients.close()


def attach(drivers: ProviderDrivers,
           config: Mapping[str, object] | Connection) -> ProviderDrivers:
    """``drivers`` (the GCP provider's, from ``_clients.open_provider``) with the Cloud
    Functions driver of their region, closed with them. Given the ``Connection`` the drivers
    were opened with, the credentials are not looked up a second time."""
    functions = open_functions(drivers.region, config)
    close_others = drivers.close

    def close() -> None:
        try:
            functions.close()
        finally:
            close_others()

    return replace(drivers, functions=functions, close=close)
