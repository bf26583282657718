"""Opening the Azure provider: config checking, the credential, the three ARM clients, the drivers.

Imported by :func:`unicompute.providers.azure.open_provider` on first use, so that importing the
package (for ``Options``) does not import the Azure SDK.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from azure.core.credentials import TokenCredential
from azure.core.pipeline import PipelineRequest
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

from ... import _config
from ..._errors import InvalidRequest
from ...driver import Capability, Limits, ProviderDrivers
from ._context import (
    DEFAULT_OPERATION_TIMEOUT,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_RESOURCE_GROUP,
    DEFAULT_VM_TIMEOUT,
    Clients,
    Context,
)
from .compute import AzureCompute
from .convert import PROVIDER
from .disks import AzureDisks
from .errors import translate_error
from .keys import AzureKeys
from .options import Options

CONFIG_KEYS = frozenset({
    "subscription_id", "resource_group", "create_resource_group", "credential", "endpoint_url",
    "poll_interval", "retry_total", "vm_timeout", "operation_timeout",
})
#: The environment variable the Azure CLI and SDK samples use for the subscription.
SUBSCRIPTION_ENV = "AZURE_SUBSCRIPTION_ID"
#: The Azure CLI's ``defaults.location`` setting in its environment-variable form.
LOCATION_ENV = "AZURE_DEFAULTS_LOCATION"
#: The location when neither ``region`` nor :data:`LOCATION_ENV` names one.
DEFAULT_REGION = "eastus"
DEFAULT_RETRY_TOTAL = 3
#: ARM location names: lower-case letters and digits ("eastus", "westus2", "germanywestcentral").
_LOCATION = re.compile(r"[a-z][a-z0-9]{2,39}")
#: Resource group names: 1-90 letters, digits, '_', '-', '.', '(' or ')', not ending with '.'.
_GROUP = re.compile(r"[\w\-.()]{0,89}[\w\-()]")
_SUBSCRIPTION = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
#: Sent instead of a real token to a plain-http endpoint (a local fake).
PLACEHOLDER_TOKEN = "unicompute-placeholder"


class _PlaceholderBearer(SansIOHTTPPolicy[Any, Any]):
    """``Authorization: Bearer <placeholder>`` for an ``http://`` endpoint: azure-core refuses
    bearer tokens over http, and a real token must never travel in clear text anyway."""

    def on_request(self, request: PipelineRequest[Any]) -> None:
        request.http_request.headers["Authorization"] = f"Bearer {PLACEHOLDER_TOKEN}"


def open_provider(
    region: str | None,
    config: Mapping[str, object],
    *,
    limits: Limits,
    capabilities: frozenset[Capability],
) -> ProviderDrivers:
    """The Azure drivers for ``region``; ``config`` as described in the package docstring."""
    settings = _check_config(region, config)
    clients = _create_clients(settings)
    ctx = Context(
        clients=clients,
        subscription_id=settings["subscription_id"],
        resource_group=settings["resource_group"],
        create_resource_group=settings["create_resource_group"],
        region=settings["region"],
        poll_interval=settings["poll_interval"],
        vm_timeout=settings["vm_timeout"],
        operation_timeout=settings["operation_timeout"],
    )
    return ProviderDrivers(
        provider=PROVIDER,
        region=ctx.region,
        compute=AzureCompute(ctx),
        limits=limits,
        translate_error=translate_error,
        capabilities=capabilities,
        keys=AzureKeys(ctx),
        volumes=AzureDisks(ctx),
        options_type=Options,
        close=clients.close,
    )


def _create_clients(settings: Mapping[str, Any]) -> Clients:
    credential = settings["credential"]
    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    kwargs: dict[str, Any] = {
        "polling_interval": settings["poll_interval"],
        "retry_total": settings["retry_total"],
    }
    endpoint = settings["endpoint_url"]
    if endpoint is not None:
        kwargs["base_url"] = endpoint
        if endpoint.startswith("http://"):
            kwargs["authentication_policy"] = _PlaceholderBearer()
    subscription = settings["subscription_id"]
    return Clients(
        compute=ComputeManagementClient(credential, subscription, **kwargs),
        network=NetworkManagementClient(credential, subscription, **kwargs),
        resources=ResourceManagementClient(credential, subscription, **kwargs),
    )


def _check_config(region: str | None, config: Mapping[str, object]) -> dict[str, Any]:
    _config.check_known(config, CONFIG_KEYS, provider=PROVIDER)
    region = region or os.environ.get(LOCATION_ENV) or DEFAULT_REGION
    location = region.replace(" ", "").lower()
    if not _LOCATION.fullmatch(location):
        raise InvalidRequest(f"{region!r} is not an Azure location name (e.g. eastus)",
                             field="region", provider=PROVIDER, operation="connect")
    subscription = (_config.optional_str(config, "subscription_id", provider=PROVIDER)
                    or os.environ.get(SUBSCRIPTION_ENV))
    if subscription is None or not _SUBSCRIPTION.fullmatch(subscription):
        raise InvalidRequest(
            f"must be a subscription id (a GUID), given as subscription_id= or in "
            f"${SUBSCRIPTION_ENV}",
            field="subscription_id", provider=PROVIDER,
        )
    group = (_config.optional_str(config, "resource_group", provider=PROVIDER)
             or DEFAULT_RESOURCE_GROUP)
    if not _GROUP.fullmatch(group):
        raise InvalidRequest(
            "must be 1-90 letters, digits, '_', '-', '.', '(' or ')', not ending with '.'",
            field="resource_group", provider=PROVIDER,
        )
    endpoint = _config.endpoint_url(config, provider=PROVIDER)
    return {
        "region": location,
        "subscription_id": subscription,
        "resource_group": group,
        "create_resource_group": _bool(config.get("create_resource_group", True),
                                       "create_resource_group"),
        "credential": _credential(config.get("credential")),
        "endpoint_url": endpoint.rstrip("/") if endpoint is not None else None,
        "poll_interval": _config.seconds(config, "poll_interval", DEFAULT_POLL_INTERVAL,
                                         provider=PROVIDER),
        "retry_total": _count(config.get("retry_total", DEFAULT_RETRY_TOTAL)),
        "vm_timeout": _config.seconds(config, "vm_timeout", DEFAULT_VM_TIMEOUT,
                                      provider=PROVIDER),
        "operation_timeout": _config.seconds(config, "operation_timeout",
                                             DEFAULT_OPERATION_TIMEOUT, provider=PROVIDER),
    }


def _bool(value: object, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise InvalidRequest("must be a bool (or 'true'/'false')", field=field, provider=PROVIDER)


def _credential(value: object) -> TokenCredential | None:
    if value is None:
        return None
    if not callable(getattr(value, "get_token", None)):
        raise InvalidRequest("must be an azure.core.credentials.TokenCredential",
                             field="credential", provider=PROVIDER)
    return value  # type: ignore[return-value]  # has get_token: a TokenCredential by protocol


def _count(value: object) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise InvalidRequest("must be an int from 0 to 10", field="retry_total",
                             provider=PROVIDER)
    return value
