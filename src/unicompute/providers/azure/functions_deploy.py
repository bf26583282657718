"""Making, changing and removing what an Azure function app needs.

Per resource group and region, shared by every function app unicompute makes there (created
when missing, tagged ``unicompute:managed=true``, deleted with the last such app): a storage
account (``AzureWebJobsStorage``, deployment packages, queues), a Log Analytics workspace and an
Application Insights component (the apps' logs). Per function: a blob container for its
packages, the Storage queue behind async invokes, a Flex Consumption plan (one app per plan)
and the function app. Code is published with Flex's One Deploy (``POST /api/publish`` on the
app's Kudu site, with an ARM bearer token); the app's state follows the latest deployment.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.mgmt.storage.models import BlobContainer
from azure.mgmt.web.models import AppServicePlan, Site

from ..._errors import PermissionDenied, ProviderError, Unauthenticated
from ..._function_models import FunctionSpec, QueueTrigger
from ._context import ignore_missing
from .convert import PROVIDER
from .functions_clients import ARM_SCOPE, FunctionClients
from .functions_convert import (
    ASYNC_QUEUE_PREFIX,
    CODE_TAG,
    STORAGE_TAG,
    async_queue_name,
    connection_string,
    container_name,
    managed,
    plan_name,
    storage_account_name,
)
from .functions_limits import MAX_INSTANCES, instance_memory_mb

LOG = logging.getLogger("unicompute.providers.azure")

WORKSPACE_API = "2022-10-01"
INSIGHTS_API = "2020-02-02"
#: Flex's default ``maximumInstanceCount`` (used when the spec sets no concurrency).
DEFAULT_INSTANCES = 100
CONCURRENCY_TAG = "unicompute:concurrency"
#: Metadata on the queues unicompute creates.
QUEUE_METADATA = {"unicompute_managed": "true"}


@dataclass
class Undo:
    """What one deploy created, undone in reverse order when it fails part-way."""

    steps: list[tuple[str, Callable[[], object]]] = field(default_factory=list)

    def add(self, what: str, step: Callable[[], object]) -> None:
        self.steps.append((what, step))

    def run(self) -> None:
        for what, step in reversed(self.steps):
            try:
                step()
            except Exception as exc:  # keep undoing; the original error is re-raised
                LOG.warning("could not delete %s after a failed deploy: %s", what, exc)
        self.steps.clear()


@dataclass(frozen=True)
class Shared:
    """The shared resources of a resource group and region. The connection strings hold the
    account key and the App Insights key: never in the repr."""

    account: str
    connection: str = field(repr=False)
    insights_connection: str | None = field(repr=False)


class Deployer:
    """ARM and Kudu calls for deploys and deletes, over :class:`FunctionClients`."""

    def __init__(self, clients: FunctionClients) -> None:
        self.c = clients

    # -- ids ----------------------------------------------------------------------------------
    def _id(self, provider_type: str, name: str) -> str:
        return (f"/subscriptions/{self.c.subscription_id}/resourceGroups/"
                f"{self.c.resource_group}/providers/{provider_type}/{name}")

    @property
    def account(self) -> str:
        return storage_account_name(self.c.subscription_id, self.c.resource_group, self.c.region)

    @property
    def workspace_id(self) -> str:
        return self._id("Microsoft.OperationalInsights/workspaces", f"uc-logs-{self.c.region}")

    @property
    def insights_id(self) -> str:
        return self._id("Microsoft.Insights/components", f"uc-insights-{self.c.region}")

    # -- shared resources ---------------------------------------------------------------------
    def ensure_shared(self, undo: Undo) -> Shared:
        """The group (created when allowed), storage account and App Insights component,
        created when missing (and then registered on ``undo``)."""
        self.c.ctx.ensure_group()
        storage = self.c.storage.storage_accounts
        group, account = self.c.resource_group, self.account
        if ignore_missing(lambda: storage.get_properties(group, account)) is None:
            poller = storage.begin_create(group, account, {
                "location": self.c.region, "kind": "StorageV2", "sku": {"name": "Standard_LRS"},
                "tags": managed({}),
                "properties": {"minimumTlsVersion": "TLS1_2", "allowBlobPublicAccess": False},
            })
            undo.add(f"storage account {account}", lambda: storage.delete(group, account))
            self.c.ctx.wait(poller, what=f"storage account {account}", resource=account)
        keys = storage.list_keys(group, account).as_dict().get("keys", [])
        if not keys:
            raise ProviderError(f"storage account {account} has no keys", provider=PROVIDER)
        connection = connection_string(account, str(keys[0]["value"]))
        return Shared(account=account, connection=connection,
                      insights_connection=self._ensure_insights(undo))

    def _ensure_insights(self, undo: Undo) -> str | None:
        resources = self.c.ctx.clients.resources.resources
        tags = managed({})
        component = ignore_missing(partial(resources.get_by_id, self.insights_id,
                                           api_version=INSIGHTS_API))
        if component is None:
            if ignore_missing(lambda: resources.get_by_id(
                    self.workspace_id, api_version=WORKSPACE_API)) is None:
                poller = resources.begin_create_or_update_by_id(self.workspace_id, {
                    "location": self.c.region, "tags": tags,
                    "properties": {"sku": {"name": "PerGB2018"}, "retentionInDays": 30}},
                    api_version=WORKSPACE_API)
                undo.add("the Log Analytics workspace", lambda: resources.begin_delete_by_id(
                    self.workspace_id, api_version=WORKSPACE_API).result())
                self.c.ctx.wait(poller, what="Log Analytics workspace",
                                resource=self.workspace_id)
            poller = resources.begin_create_or_update_by_id(self.insights_id, {
                "location": self.c.region, "kind": "web", "tags": tags,
                "properties": {"Application_Type": "web", "IngestionMode": "LogAnalytics",
                               "WorkspaceResourceId": self.workspace_id}},
                api_version=INSIGHTS_API)
            undo.add("the Application Insights component", lambda: resources.begin_delete_by_id(
                self.insights_id, api_version=INSIGHTS_API).result())
            component = self.c.ctx.wait(poller, what="Application Insights component",
                                        resource=self.insights_id)
        properties = dict(component.properties or {})
        connection = properties.get("ConnectionString")
        return str(connection) if connection else None

    def insights_app_id(self) -> str | None:
        """The App Insights component's ``AppId``; ``None`` when there is none."""
        resources = self.c.ctx.clients.resources.resources
        component = ignore_missing(partial(resources.get_by_id, self.insights_id,
                                           api_version=INSIGHTS_API))
        if component is None:
            return None
        app_id = dict(component.properties or {}).get("AppId")
        return str(app_id) if app_id else None

    def ensure_queues(self, account: str, queues: list[str], undo: Undo | None) -> None:
        """Create the Storage queues of ``queues`` that are missing."""
        api, group = self.c.storage.queue, self.c.resource_group
        for queue in queues:
            if ignore_missing(partial(api.get, group, account, queue)) is None:
                api.create(group, account, queue, {"properties": {"metadata": QUEUE_METADATA}})
                if undo is not None:
                    undo.add(f"queue {queue}", partial(api.delete, group, account, queue))

    # -- the app ------------------------------------------------------------------------------
    def function_app_config(self, spec: FunctionSpec, account: str) -> dict[str, Any]:
        container = container_name(spec.name)
        return {
            "deployment": {"storage": {
                "type": "blobContainer",
                "value": f"https://{account}.blob.core.windows.net/{container}",
                "authentication": {"type": "StorageAccountConnectionString",
                                   "storageAccountConnectionStringName":
                                       "DEPLOYMENT_STORAGE_CONNECTION_STRING"}}},
            "runtime": {"name": "python", "version": spec.runtime.removeprefix("python")},
            "scaleAndConcurrency": {
                "instanceMemoryMB": instance_memory_mb(spec.memory_mb),
                "maximumInstanceCount": min(spec.concurrency or DEFAULT_INSTANCES,
                                            MAX_INSTANCES)},
        }

    def site_tags(self, spec: FunctionSpec, account: str, code: str | None) -> dict[str, str]:
        tags = managed(spec.tags)
        tags[STORAGE_TAG] = account
        if code is not None:
            tags[CODE_TAG] = code
        if spec.concurrency is not None:
            tags[CONCURRENCY_TAG] = str(spec.concurrency)
        return tags

    def create_app(self, spec: FunctionSpec, shared: Shared, settings: Mapping[str, str],
                   code: str, undo: Undo) -> dict[str, Any]:
        """The container, the async queue, the plan and the app; the app's JSON."""
        group, name, account = self.c.resource_group, spec.name, shared.account
        containers = self.c.storage.blob_containers
        container = container_name(name)
        containers.create(group, account, container, BlobContainer())
        undo.add(f"container {container}", lambda: containers.delete(group, account, container))
        queues = [async_queue_name(name)] + [t.queue for t in spec.triggers
                                              if isinstance(t, QueueTrigger)]
        self.ensure_queues(account, queues, undo)
        plans, apps = self.c.web.app_service_plans, self.c.web.web_apps
        plan = plan_name(name)
        poller = plans.begin_create_or_update(group, plan, AppServicePlan({
            "location": self.c.region, "kind": "functionapp", "tags": managed(spec.tags),
            "sku": {"name": "FC1", "tier": "FlexConsumption"}, "properties": {"reserved": True}}))
        undo.add(f"plan {plan}", lambda: plans.delete(group, plan))
        made_plan = self.c.ctx.wait(poller, what=f"plan {plan}", resource=plan)
        site_poller = apps.begin_create_or_update(group, name, Site({
            "location": self.c.region, "kind": "functionapp,linux",
            "tags": self.site_tags(spec, account, code),
            "properties": {
                "serverFarmId": made_plan.id, "httpsOnly": True, "reserved": True,
                "siteConfig": {"appSettings": [{"name": k, "value": v}
                                               for k, v in settings.items()]},
                "functionAppConfig": self.function_app_config(spec, account)}}))
        undo.add(f"function app {name}", lambda: apps.delete(group, name))
        made = self.c.ctx.wait(site_poller, what=f"function app {name}", resource=name)
        return dict(made.as_dict())

    # -- Kudu ---------------------------------------------------------------------------------
    @staticmethod
    def scm_host(site: Mapping[str, Any]) -> str:
        properties = site.get("properties", {})
        for host in properties.get("enabledHostNames") or []:
            if ".scm." in str(host):
                return str(host)
        return f"{str(site['name']).lower()}.scm.azurewebsites.net"

    def publish(self, site: Mapping[str, Any], package: bytes) -> None:
        """Flex One Deploy of ``package``; returns once Kudu accepted it (the deployment's
        progress is read by :meth:`latest_deployment`)."""
        url = f"https://{self.scm_host(site)}/api/publish?RemoteBuild=false"
        answer = self.c.request("POST", url, data=package, headers={
            "Authorization": f"Bearer {self.c.token(ARM_SCOPE)}",
            "Content-Type": "application/zip"})
        if answer.status_code not in (200, 202):
            raise data_plane_error("Kudu", answer.status_code, answer.text, str(site["name"]))

    def latest_deployment(self, site: Mapping[str, Any]) -> dict[str, Any] | None:
        """Kudu's latest deployment record of the app; ``None`` when it has none."""
        url = f"https://{self.scm_host(site)}/api/deployments/latest"
        answer = self.c.request("GET", url, headers={
            "Authorization": f"Bearer {self.c.token(ARM_SCOPE)}"}, timeout=60)
        if answer.status_code == 404:
            return None
        if answer.status_code != 200:
            raise data_plane_error("Kudu", answer.status_code, answer.text, str(site["name"]))
        record = answer.json()
        return dict(record) if isinstance(record, dict) else None

    # -- deleting -----------------------------------------------------------------------------
    def delete_app(self, site: Mapping[str, Any]) -> None:
        """The app, its plan (when unicompute made it), container and async queue; then the
        shared resources if no other unicompute function app of the group uses them (the
        storage account only once it holds no ``QueueTrigger`` queue: never the user's
        messages)."""
        group, name = self.c.resource_group, str(site["name"])
        tags: Mapping[str, str] = site.get("tags") or {}
        account = tags.get(STORAGE_TAG)
        if account:
            storage = self.c.storage
            ignore_missing(lambda: storage.blob_containers.delete(group, account,
                                                                  container_name(name)))
            ignore_missing(lambda: storage.queue.delete(group, account, async_queue_name(name)))
        apps, plans = self.c.web.web_apps, self.c.web.app_service_plans
        ignore_missing(lambda: apps.delete(group, name))
        plan = ignore_missing(lambda: plans.get(group, plan_name(name)))
        if plan is not None and (plan.tags or {}).get("unicompute:managed") == "true":
            ignore_missing(lambda: plans.delete(group, plan_name(name)))
        if account and not self._account_in_use(account):
            self._delete_shared(account)

    def _account_in_use(self, account: str) -> bool:
        for other in self.c.web.web_apps.list_by_resource_group(self.c.resource_group):
            if (other.tags or {}).get(STORAGE_TAG) == account:
                return True
        return False

    def _delete_shared(self, account: str) -> None:
        resources = self.c.ctx.clients.resources.resources
        for resource_id, api in ((self.insights_id, INSIGHTS_API),
                                 (self.workspace_id, WORKSPACE_API)):
            found = ignore_missing(partial(resources.get_by_id, resource_id, api_version=api))
            if found is not None and (found.tags or {}).get("unicompute:managed") == "true":
                poller = resources.begin_delete_by_id(resource_id, api_version=api)
                self.c.ctx.wait(poller, what=f"deleting {resource_id}", resource=resource_id)
        storage = self.c.storage.storage_accounts
        account_model = ignore_missing(
            lambda: storage.get_properties(self.c.resource_group, account))
        managed_tag = (account_model.tags or {}) if account_model is not None else {}
        if managed_tag.get("unicompute:managed") == "true" and not self._user_queues(account):
            ignore_missing(lambda: storage.delete(self.c.resource_group, account))

    def _user_queues(self, account: str) -> list[str]:
        """The queues of ``account`` that are not an app's async queue: the queues of
        ``QueueTrigger`` s, which hold the user's messages (so the account stays)."""
        queues = ignore_missing(lambda: list(self.c.storage.queue.list(
            self.c.resource_group, account))) or []
        return [str(q.name) for q in queues if not str(q.name).startswith(ASYNC_QUEUE_PREFIX)]


def data_plane_error(service: str, status: int, text: str, app: str) -> Exception:
    """The error for ``service`` (Kudu, App Insights) answering ``status`` about ``app``:
    401 ``Unauthenticated``, 403 ``PermissionDenied``, else ``ProviderError`` (5xx
    transient). The answer's text (no request data: keys travel in headers) is quoted."""
    message = f"{service} of {app} answered {status}: {text[:300]}"
    if status == 401:
        return Unauthenticated(message, provider=PROVIDER, resource=app)
    if status == 403:
        return PermissionDenied(message, provider=PROVIDER, resource=app)
    return ProviderError(message, provider=PROVIDER, resource=app, transient=status >= 500)


def site_json(model: Any) -> dict[str, Any]:
    """A site model (or its JSON) as ARM's JSON."""
    as_dict = getattr(model, "as_dict", None)
    return dict(as_dict()) if callable(as_dict) else dict(model)


def settings_of(model: Any) -> dict[str, str]:
    """The ``properties`` of a ``StringDictionary`` (app settings) as a dict."""
    data = site_json(model)
    return {str(k): str(v) for k, v in (data.get("properties") or {}).items()}


def dumps(value: object) -> str:
    return json.dumps(value, sort_keys=True)


__all__ = ["Deployer", "HttpResponseError", "Shared", "Undo", "settings_of", "site_json"]
