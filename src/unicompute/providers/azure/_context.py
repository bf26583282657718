"""What the Azure drivers share: the ARM clients, the subscription, resource group and region,
and the waiting policy."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.core.polling import LROPoller
from azure.core.rest import HttpRequest
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.resource.resources import ResourceManagementClient

from ..._errors import InvalidRequest, NotFound, Timeout
from .convert import PROVIDER, managed_tags
from .errors import error_code

T = TypeVar("T")

#: Where the Azure provider logs what it could not clean up.
LOG = logging.getLogger("unicompute.providers.azure")

#: Seconds between polls of a long-running operation when ARM sends no ``Retry-After``.
DEFAULT_POLL_INTERVAL = 5.0
#: How long a driver waits for one long-running operation (a VM create or delete).
DEFAULT_WAIT_TIMEOUT = 900.0
DEFAULT_RESOURCE_GROUP = "unicompute"
#: Sent on every create of a resource that must not exist yet: ARM's PUT is an upsert, and
#: with this header a name collision is a 412 instead of an overwrite of someone's resource.
IF_NONE_MATCH = {"If-None-Match": "*"}
#: api-version of ``GET /subscriptions/{id}/locations`` (Microsoft.Resources).
LOCATIONS_API_VERSION = "2022-12-01"


@dataclass
class Clients:
    compute: ComputeManagementClient
    network: NetworkManagementClient
    resources: ResourceManagementClient

    def close(self) -> None:
        self.compute.close()
        self.network.close()
        self.resources.close()


@dataclass(kw_only=True)
class Context:
    """One subscription's clients, the resource group and region drivers work in, and the
    waiting policy."""

    clients: Clients
    subscription_id: str
    resource_group: str
    create_resource_group: bool
    region: str
    poll_interval: float = DEFAULT_POLL_INTERVAL
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT
    _group_ready: bool = field(default=False, repr=False)
    _locations: list[dict[str, Any]] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def compute(self) -> ComputeManagementClient:
        return self.clients.compute

    @property
    def network(self) -> NetworkManagementClient:
        return self.clients.network

    def ensure_group(self) -> None:
        """Make sure the resource group exists: create it (tagged managed, in the region) when
        it is missing and ``create_resource_group`` allows; else ``InvalidRequest`` naming
        ``resource_group``. Checked once per driver. The group is shared and never deleted."""
        if self._group_ready:
            return
        groups = self.clients.resources.resource_groups
        if ignore_missing(lambda: groups.get(self.resource_group)) is None:
            if not self.create_resource_group:
                raise InvalidRequest(
                    f"resource group {self.resource_group!r} does not exist in subscription "
                    f"{self.subscription_id} (create_resource_group is off)",
                    field="resource_group", provider=PROVIDER,
                )
            groups.create_or_update(
                self.resource_group, {"location": self.region, "tags": managed_tags({})}
            )
        self._group_ready = True

    def wait(self, poller: LROPoller[T], *, timeout: float | None = None, what: str) -> T:
        """The result of a long-running operation; ``Timeout`` naming ``what`` after
        ``timeout`` seconds (default ``wait_timeout``); the operation then goes on in Azure."""
        limit = self.wait_timeout if timeout is None else timeout
        poller.wait(limit)
        if not poller.done():
            raise Timeout(f"{what} did not finish within {limit:g} s", provider=PROVIDER)
        return poller.result()

    def locations(self) -> list[dict[str, Any]]:
        """The subscription's locations (``GET /subscriptions/{id}/locations``), read once.

        azure-mgmt-resource 26 no longer ships the subscriptions client, so the request goes
        through the resources client's pipeline (same credential, retries, endpoint).
        """
        with self._lock:
            if self._locations is None:
                request = HttpRequest(
                    "GET", f"/subscriptions/{self.subscription_id}/locations",
                    params={"api-version": LOCATIONS_API_VERSION},
                )
                response = self.clients.resources.send_request(request)
                if response.status_code == 404:
                    raise ResourceNotFoundError(response=response)
                if response.status_code != 200:
                    raise HttpResponseError(response=response)
                self._locations = list(response.json().get("value", []))
            return self._locations

    def zone_names(self) -> list[str]:
        """The region's logical availability zones (``"1"``, ``"2"``, ``"3"``), sorted; empty
        for a region without zones."""
        for location in self.locations():
            if str(location.get("name", "")).lower() == self.region:
                mappings = location.get("availabilityZoneMappings") or []
                return sorted({str(m["logicalZone"]) for m in mappings if "logicalZone" in m})
        return []


def ignore_missing(call: Callable[[], T]) -> T | None:
    """``call()``, or ``None`` when ARM answers 404 (the resource is gone already)."""
    try:
        return call()
    except ResourceNotFoundError:
        return None
    except HttpResponseError as exc:
        if exc.status_code == 404:
            return None
        raise


def not_found(what: str, resource: str) -> NotFound:
    return NotFound(f"{what} {resource} does not exist", provider=PROVIDER, resource=resource)


def is_code(exc: BaseException, *codes: str) -> bool:
    return isinstance(exc, HttpResponseError) and error_code(exc) in codes
