"""Azure Functions as a :class:`~unicompute.driver.FunctionDriver`: one Flex Consumption function
app (Linux, Python) per portable function, in the provider's resource group and region.

The package holds the user's code and the shim ``function_app.py`` (Python v2 model, see
:mod:`unicompute.shims.azure_functions`); which functions the shim registers (the HTTP, timer
and queue triggers) and the handler, memory and timeout it applies come from app settings, so
the code package does not depend on the spec and a trigger change is a settings change. The
app is tagged with the user's tags, ``unicompute:managed=true``, ``unicompute:storage`` (the
shared storage account) and ``unicompute:code`` (SHA-256 of the published package). What is
made, changed and deleted is in :mod:`.functions_deploy`; invokes and logs in
:mod:`.functions_invoke`; ARM JSON → portable records in :mod:`.functions_convert`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.web.models import SitePatchResource

from ..._errors import Conflict, NotFound
from ..._function_models import (
    FunctionInfo,
    FunctionPlan,
    InvocationInfo,
    InvokeMode,
    LogLine,
    QueueTrigger,
)
from ..._models import Page
from ._context import ignore_missing
from .convert import PROVIDER
from .functions_clients import FunctionClients
from .functions_convert import (
    CODE_TAG,
    HOST_BATCH_SETTING,
    INSIGHTS_SETTING,
    STORAGE_SETTING,
    STORAGE_TAG,
    TRIGGERS_SETTING,
    app_settings,
    function_info,
    triggers_json,
)
from .functions_deploy import Deployer, Shared, Undo, settings_of, site_json
from .functions_invoke import Invoker


def open_functions(region: str | None, config: Mapping[str, object]) -> AzureFunctions:
    """The driver for the provider ``config`` (checked as ``open_provider`` checks it). No
    client or credential is made before the first call."""
    from ._session import _check_config

    return AzureFunctions(FunctionClients(_check_config(region, config)))


def _is_function_app(site: Mapping[str, Any]) -> bool:
    return "functionapp" in str(site.get("kind", "")).lower()


class AzureFunctions:
    """Function apps of one resource group and region."""

    def __init__(self, clients: FunctionClients) -> None:
        self._clients = clients
        self._deployer = Deployer(clients)
        self._invoker = Invoker(clients, self._deployer)

    @property
    def clients(self) -> FunctionClients:
        return self._clients

    # -- reading ------------------------------------------------------------------------------
    def _site(self, name: str) -> dict[str, Any]:
        site = site_json(self._clients.web.web_apps.get(self._clients.resource_group, name))
        if not _is_function_app(site):
            raise NotFound(f"{name} is a web app, not a function app", provider=PROVIDER,
                           resource=name)
        return site

    def _settings(self, name: str) -> dict[str, str]:
        return settings_of(self._clients.web.web_apps.list_application_settings(
            self._clients.resource_group, name))

    def get_function(self, name: str) -> FunctionInfo:
        site = self._site(name)
        return function_info(site, self._settings(name), self._deployer.latest_deployment(site))

    def list_functions(self, *, page_token: str | None) -> Page[FunctionInfo]:
        pages = self._clients.web.web_apps.list_by_resource_group(
            self._clients.resource_group).by_page(continuation_token=page_token)
        items: list[FunctionInfo] = []
        try:
            page = next(pages, None)
        except ResourceNotFoundError:
            return Page(items=[], next_token=None)  # no resource group: no functions yet
        for model in page or ():
            site = site_json(model)
            if not _is_function_app(site) or site.get("location", "").replace(" ", "").lower(
                    ) != self._clients.region:
                continue
            try:
                settings = self._settings(str(site["name"]))
            except ResourceNotFoundError:
                continue  # deleted since the listing
            items.append(function_info(site, settings, {"status": 4}, with_triggers=False))
        return Page(items=items, next_token=getattr(pages, "continuation_token", None))

    # -- deploying ----------------------------------------------------------------------------
    def create_function(self, plan: FunctionPlan) -> FunctionInfo:
        spec = plan.spec
        existing = ignore_missing(lambda: self._clients.web.web_apps.get(
            self._clients.resource_group, spec.name))
        if existing is not None:
            # A web app of that name (get_function calls it NotFound): never overwrite it,
            # nor delete it when this deploy fails half-way.
            raise Conflict(f"{spec.name} is a web app of resource group "
                           f"{self._clients.resource_group}, not a function app",
                           provider=PROVIDER, resource=spec.name)
        undo = Undo()
        try:
            shared = self._deployer.ensure_shared(undo)
            settings = app_settings(spec, connection=shared.connection,
                                    insights=shared.insights_connection)
            site = self._deployer.create_app(spec, shared, settings, plan.package.sha256.hex(),
                                             undo)
            self._deployer.publish(site, plan.package.zip_bytes)
        except BaseException:
            undo.run()
            raise
        return function_info(site, settings, self._deployer.latest_deployment(site))

    def update_code(self, plan: FunctionPlan, current: FunctionInfo) -> bool:
        if current.code_sha256 == plan.package.sha256:
            return False
        site = self._site(plan.spec.name)
        self._deployer.publish(site, plan.package.zip_bytes)
        tags = {**(site.get("tags") or {}), CODE_TAG: plan.package.sha256.hex()}
        self._clients.web.web_apps.update(self._clients.resource_group, plan.spec.name,
                                          SitePatchResource({"tags": tags}))
        return True

    def update_config(self, plan: FunctionPlan, current: FunctionInfo) -> bool:
        """Settings (env, handler, memory, timeout, triggers), runtime, instance memory,
        concurrency and tags, each written only when it differs."""
        spec, group = plan.spec, self._clients.resource_group
        apps = self._clients.web.web_apps
        site = self._site(spec.name)
        now = self._settings(spec.name)
        account = (site.get("tags") or {}).get(STORAGE_TAG, self._deployer.account)
        shared = Shared(account=account, connection=now.get(STORAGE_SETTING, ""),
                        insights_connection=now.get(INSIGHTS_SETTING))
        if not shared.connection:
            shared = self._deployer.ensure_shared(Undo())
        self._deployer.ensure_queues(shared.account, [t.queue for t in spec.triggers
                                                      if isinstance(t, QueueTrigger)], None)
        wanted = app_settings(spec, connection=shared.connection,
                              insights=shared.insights_connection)
        changed = False
        if now != wanted:
            apps.update_application_settings(group, spec.name, {"properties": wanted})
            changed = True
        properties = site.get("properties", {})
        config = self._deployer.function_app_config(spec, shared.account)
        patch: dict[str, Any] = {}
        if _differs(properties.get("functionAppConfig") or {}, config):
            patch["properties"] = {"functionAppConfig": config}
        code = (site.get("tags") or {}).get(CODE_TAG)
        tags = self._deployer.site_tags(spec, shared.account, code)
        if dict(site.get("tags") or {}) != tags:
            patch["tags"] = tags
        if patch:
            apps.update(group, spec.name, SitePatchResource(patch))
            changed = True
        if changed:
            self._invoker.forget(spec.name)
        return changed

    def sync_triggers(self, plan: FunctionPlan, current: FunctionInfo) -> None:
        """Triggers are app settings the shim reads; ``update_config`` and ``create_function``
        write them. This makes sure they match (a create, or a settings change since), and
        that the queues of queue triggers exist."""
        spec = plan.spec
        settings = self._settings(spec.name)
        raw: Mapping[str, Any] = current.raw or {}
        site_tags: Mapping[str, str] = (raw.get("site") or {}).get("tags") or {}
        account = site_tags.get(STORAGE_TAG) or self._deployer.account
        self._deployer.ensure_queues(account, [t.queue for t in spec.triggers
                                               if isinstance(t, QueueTrigger)], None)
        wanted = app_settings(spec, connection=settings.get(STORAGE_SETTING, ""),
                              insights=settings.get(INSIGHTS_SETTING))
        keys = (TRIGGERS_SETTING, HOST_BATCH_SETTING)
        if any(settings.get(k) != wanted.get(k) for k in keys):
            merged = {k: v for k, v in settings.items() if k not in keys}
            merged[TRIGGERS_SETTING] = triggers_json(spec.name, spec.triggers)
            if HOST_BATCH_SETTING in wanted:
                merged[HOST_BATCH_SETTING] = wanted[HOST_BATCH_SETTING]
            self._clients.web.web_apps.update_application_settings(
                self._clients.resource_group, spec.name, {"properties": merged})

    def delete_function(self, name: str) -> None:
        self._deployer.delete_app(self._site(name))
        self._invoker.forget(name)

    # -- running ------------------------------------------------------------------------------
    def invoke(self, name: str, payload: bytes, mode: InvokeMode) -> InvocationInfo:
        return self._invoker.invoke(name, payload, mode)

    def logs(self, name: str, *, since_ms: int | None, limit: int) -> list[LogLine]:
        return self._invoker.logs(name, since_ms=since_ms, limit=limit)

    def close(self) -> None:
        self._clients.close()


def _differs(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Whether ``current`` (as ARM answers it) lacks or has other values for what ``wanted``
    sets (ARM adds defaults of its own, which do not count)."""
    for key, value in wanted.items():
        have = current.get(key)
        if isinstance(value, Mapping):
            if not isinstance(have, Mapping) or _differs(have, value):
                return True
        elif have != value:
            return True
    return False
