"""What the Azure drivers share: the ARM clients, the subscription, resource group and region,
and the waiting policy.

Every ARM long-running operation is waited for by :meth:`Context.wait`, never by the SDK's
unbounded ``LROPoller.result()``.
"""

from __future__ import annotations

import logging
import threading
import time
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
from ..._waiting import Poller
from .convert import PROVIDER, arm_id, managed_tags
from .errors import error_code

T = TypeVar("T")

#: Where the Azure provider logs what it could not clean up.
LOG = logging.getLogger("unicompute.providers.azure")

#: Seconds between polls of a long-running operation when ARM sends no ``Retry-After``.
DEFAULT_POLL_INTERVAL = 5.0
#: How long a driver waits for a VM create or delete (the VMs of one launch share it).
DEFAULT_VM_TIMEOUT = 600.0
#: How long a driver waits for any other long-running operation (network, disk, snapshot).
DEFAULT_OPERATION_TIMEOUT = 300.0
#: Seconds between looks at an operation when ``poll_interval`` is 0: the wait itself then
#: needs a step on its clock (looking costs nothing; the SDK's thread does the polling).
ZERO_INTERVAL_STEP = 1.0
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
    waiting policy.

    ``vm_timeout`` bounds VM creates, deletes and updates, ``operation_timeout`` every other
    long-running operation. :meth:`wait` measures them on ``clock`` and pauses between looks
    with ``sleep``; without one (the default) it pauses by waiting on the operation itself, so
    it returns as soon as the operation ends. Tests inject both to control time; azure-core's
    own polling still runs in real time in its thread, so an injected ``sleep`` that never
    lets real time pass only suits operations that are done at once or never.
    """

    clients: Clients
    subscription_id: str
    resource_group: str
    create_resource_group: bool
    region: str
    poll_interval: float = DEFAULT_POLL_INTERVAL
    vm_timeout: float = DEFAULT_VM_TIMEOUT
    operation_timeout: float = DEFAULT_OPERATION_TIMEOUT
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] | None = None
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

    def wait(self, poller: LROPoller[T], *, what: str, resource: str,
             timeout: float | None = None) -> T:
        """The result of a long-running operation, waited for at most ``timeout`` seconds
        (default ``operation_timeout``; clamped at 0) on ``clock``.

        azure-core polls ARM in a thread the poller starts at creation (none when the first
        answer was final), at ARM's ``Retry-After`` (else the client's ``polling_interval``);
        ``done()`` only asks whether that thread has ended. This looks at it every
        ``poll_interval`` seconds (:data:`ZERO_INTERVAL_STEP` when that is 0), on a
        :class:`Poller` of ``clock`` and ``sleep``. A failed operation raises the SDK's error
        (``HttpResponseError``, which ``errors.py`` translates). After the deadline:
        :class:`~unicompute.Timeout` naming ``what`` and ``resource``; the operation goes on
        in Azure, and the SDK's (daemon) thread keeps following it until it ends.
        """
        limit = max(0.0, self.operation_timeout if timeout is None else timeout)
        # Without an injected sleep, the pause joins the poller's thread: it ends early when
        # the operation does (and raises its error, as result() would).
        pause = self.sleep if self.sleep is not None else poller.wait
        schedule = Poller.every(self.poll_interval or ZERO_INTERVAL_STEP, clock=self.clock,
                                sleep=pause)

        def timed_out(_: object) -> Timeout:
            return Timeout(f"{what} did not finish within {limit:g} s; it goes on in Azure",
                           provider=PROVIDER, resource=resource)

        schedule.until(poller.done, bool, timeout=limit, what=what, timed_out=timed_out)
        return poller.result(timeout=0)  # done: returns (or raises) at once

    def resource_id(self, kind: str, name: str, group: str | None = None) -> str:
        """The ARM id of ``kind`` ``name`` in ``group`` (default: the driver's), for errors."""
        return arm_id(self.subscription_id, group or self.resource_group, kind, name)

    def deadline(self, timeout: float) -> Callable[[], float]:
        """Seconds left, on ``clock``, of a budget of ``timeout`` seconds starting now (never
        negative): for several waits that share one deadline."""
        end = self.clock() + timeout
        return lambda: max(0.0, end - self.clock())

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
