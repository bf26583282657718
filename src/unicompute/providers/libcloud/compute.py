"""The portable compute driver over any Libcloud ``NodeDriver``.

The generic path uses only ``NodeDriver``'s documented methods, so it works on every Libcloud
compute provider: sizes, images by id, locations as the zones of the one region the cloud was
opened in, create/list/start/stop/reboot/destroy. What needs a driver's ``ex_*`` extensions
(tags, user data, spot, image aliases, disk size) is left to adapters such as
:class:`~unicompute.providers.libcloud.ec2.Ec2Compute`, which override the hooks marked below.

Libcloud returns whole lists; :meth:`LibcloudCompute.list_vms` sorts them by id and slices them
into pages whose token is the last id returned, so a listing never truncates and a VM created
or deleted between pages cannot shift the others. The list read for a listing's first page
serves its later pages for :data:`SNAPSHOT_TTL` seconds (one read per listing, not one per
page); a token whose snapshot is gone (expired, another process) reads the list afresh.
"""

from __future__ import annotations

import base64
import binascii
import inspect
import json
import secrets
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from ..._errors import InvalidRequest, NotFound, Timeout
from ..._models import (
    IMAGE_ALIASES,
    Image,
    InboundRule,
    LaunchPlan,
    Page,
    Region,
    Size,
    VMInfo,
    VMState,
    Zone,
)
from . import convert
from ._context import Context

#: Seconds ``terminate_vm`` waits when the caller gives no timeout.
DEFAULT_TERMINATE_TIMEOUT = 900.0


#: Seconds the rest of a listing, read for its first page, serves the later pages; after that
#: they are read afresh.
SNAPSHOT_TTL = 30.0
#: Listings whose later pages are kept at once; the oldest is dropped first.
MAX_SNAPSHOTS = 8


def encode_token(last_id: str, snapshot: str | None = None) -> str:
    body = json.dumps({"after": last_id, "snapshot": snapshot}, separators=(",", ":"))
    return base64.urlsafe_b64encode(body.encode()).decode()


def decode_token(token: str) -> tuple[str, str | None]:
    """The last id of the previous page and the listing's snapshot key; ``InvalidRequest``
    (``page_token``) if ``token`` is not one this driver made."""
    try:
        body = json.loads(base64.b64decode(token.encode(), altchars=b"-_", validate=True))
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidRequest("not a page token of this listing", field="page_token") from exc
    after = body.get("after") if isinstance(body, dict) else None
    snapshot = body.get("snapshot") if isinstance(body, dict) else None
    if not isinstance(after, str) or not after or not isinstance(snapshot, str | None):
        raise InvalidRequest("not a page token of this listing", field="page_token")
    return after, snapshot


@dataclass(frozen=True)
class _Snapshot:
    """The VMs after a page of one listing, as read for its first page."""

    query: tuple[tuple[tuple[str, str], ...], frozenset[VMState] | None]
    items: list[VMInfo]
    taken_at: float


class LibcloudCompute:
    """VMs, sizes, images and locations through a Libcloud ``NodeDriver``."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._sizes: list[Any] | None = None
        self._snapshots: dict[str, _Snapshot] = {}

    @property
    def driver(self) -> Any:
        return self._ctx.driver

    # -- hooks adapters override ------------------------------------------------------------
    def zone_name(self, location: Any) -> str:
        """The portable zone name of a ``NodeLocation`` (its id, which drivers take back)."""
        return str(location.id)

    def fetch_nodes(self, tags: Mapping[str, str]) -> list[Any]:
        """Every node the driver lists; adapters may push ``tags`` down as a filter (the result
        is filtered again here)."""
        return list(self.driver.list_nodes())

    def fetch_node(self, vm_id: str) -> Any:
        """The ``Node`` with id ``vm_id``, terminated or not; ``NotFound`` if none."""
        for node in self.driver.list_nodes():
            if str(node.id) == vm_id:
                return node
        raise NotFound(f"VM {vm_id} does not exist", provider=self._ctx.provider,
                       resource=vm_id)

    def info(self, node: Any) -> VMInfo:
        extra = node.extra or {}
        zone = extra.get("availability_zone") or extra.get("zone") or extra.get("region")
        return convert.vm(node, zone=str(zone) if zone else None)

    def create_node(self, name: str, plan: LaunchPlan) -> Any:
        """Create one node of ``plan`` named ``name``."""
        kwargs: dict[str, Any] = {
            "name": name,
            "size": self._native_size(plan.size.name),
            "image": self._native_image(plan.image.id),
        }
        if plan.spec.zone is not None:
            if not _accepts(self.driver.create_node, "location"):
                raise self._ctx.unsupported("choose a zone", "vms.launch")
            kwargs["location"] = self.location(plan.spec.zone)
        return self.driver.create_node(**kwargs)

    def check_extras(self, plan: LaunchPlan) -> None:
        """Reject what the generic path cannot do (tags, a disk size) before anything is
        created. Adapters that can do them replace this."""
        if plan.spec.tags:
            raise self._ctx.unsupported("tag VMs", "vms.launch")
        if plan.spec.disk_gib is not None:
            raise InvalidRequest(
                f"{self._ctx.provider} cannot set the disk size; leave disk_gib unset",
                field="disk_gib",
            )

    # -- locations --------------------------------------------------------------------------
    def regions(self) -> list[Region]:
        """The region the cloud was opened in: Libcloud drivers are bound to one endpoint."""
        return [Region(name=self._ctx.region, provider=self._ctx.provider)]

    def zones(self) -> list[Zone]:
        return [
            Zone(name=self.zone_name(loc), region=self._ctx.region, provider=self._ctx.provider)
            for loc in self.driver.list_locations()
        ]

    def location(self, zone: str) -> Any:
        for loc in self.driver.list_locations():
            if self.zone_name(loc) == zone:
                return loc
        raise InvalidRequest(f"no zone {zone!r} in {self._ctx.region}", field="zone")

    # -- catalog ----------------------------------------------------------------------------
    def _native_sizes(self) -> list[Any]:
        if self._sizes is None:
            self._sizes = list(self.driver.list_sizes())
        return self._sizes

    def _native_size(self, name: str) -> Any:
        for raw in self._native_sizes():
            if str(raw.id) == name:
                return raw
        raise NotFound(f"no size {name!r} in {self._ctx.region}", provider=self._ctx.provider,
                       resource=name)

    def size_of(self, raw: Any) -> Size:
        return convert.size(raw, provider=self._ctx.provider)

    def list_sizes(self) -> list[Size]:
        return [self.size_of(raw) for raw in self._native_sizes()]

    def get_size(self, name: str) -> Size:
        return self.size_of(self._native_size(name))

    def _native_image(self, image_id: str) -> Any:
        for raw in self.driver.list_images():
            if str(raw.id) == image_id:
                return raw
        raise NotFound(f"image {image_id} does not exist", provider=self._ctx.provider,
                       resource=image_id)

    def resolve_image(self, ref: str, *, arch: str) -> Image:
        if ref in IMAGE_ALIASES:
            raise NotFound(
                f"{self._ctx.provider} has no table of portable image aliases; pass one of "
                "its image ids (cloud.vms.images())",
                provider=self._ctx.provider, resource=ref,
            )
        return convert.image(self._native_image(ref), provider=self._ctx.provider)

    def list_images(self) -> list[Image]:
        return [convert.image(raw, provider=self._ctx.provider)
                for raw in self.driver.list_images()]

    # -- VMs --------------------------------------------------------------------------------
    def check_launch(self, plan: LaunchPlan) -> None:
        self._ctx.require("vms.launch")
        self.check_extras(plan)
        self._native_size(plan.size.name)

    def launch(self, plan: LaunchPlan) -> list[VMInfo]:
        """Create the plan's VMs one by one; on failure destroy those created, then re-raise."""
        created: list[Any] = []
        try:
            for name in plan.names:
                created.append(self.create_node(name, plan))
        except BaseException:
            for node in created:
                with suppress(Exception):
                    self.driver.destroy_node(node)
            raise
        return [self.info(node) for node in created]

    def get_vm(self, vm_id: str) -> VMInfo:
        info = self.info(self.fetch_node(vm_id))
        if info.state is VMState.TERMINATED:
            raise NotFound(f"VM {vm_id} is terminated", provider=self._ctx.provider,
                           resource=vm_id)
        return info

    def list_vms(
        self,
        *,
        tags: Mapping[str, str],
        states: frozenset[VMState] | None,
        page_token: str | None,
    ) -> Page[VMInfo]:
        after, key = decode_token(page_token) if page_token is not None else (None, None)
        query = (tuple(sorted(tags.items())), states)
        now = self._ctx.poller.clock()
        kept = self._snapshots.pop(key, None) if key is not None else None
        if kept is not None and kept.query == query and now - kept.taken_at <= SNAPSHOT_TTL:
            wanted, taken_at = kept.items, kept.taken_at
        else:
            wanted, taken_at = self._read_vms(tags, states), now
            if after is not None:
                wanted = [i for i in wanted if i.id > after]
        page, rest = wanted[: self._ctx.page_size], wanted[self._ctx.page_size:]
        if not rest:
            return Page(page, None)
        key = secrets.token_hex(8)
        self._snapshots[key] = _Snapshot(query, rest, taken_at)
        while len(self._snapshots) > MAX_SNAPSHOTS:
            del self._snapshots[next(iter(self._snapshots))]
        return Page(page, encode_token(page[-1].id, key))

    def _read_vms(
        self, tags: Mapping[str, str], states: frozenset[VMState] | None
    ) -> list[VMInfo]:
        """Every live VM with ``tags`` in ``states``, sorted by id."""
        wanted = []
        for node in self.fetch_nodes(tags):
            info = self.info(node)
            if info.state is VMState.TERMINATED:
                continue
            if states is not None and info.state not in states:
                continue
            if any(info.tags.get(k) != v for k, v in tags.items()):
                continue
            wanted.append(info)
        return sorted(wanted, key=lambda i: i.id)

    def start_vm(self, vm_id: str) -> None:
        self._ctx.require("vms.start")
        self.driver.start_node(self.fetch_node(vm_id))

    def stop_vm(self, vm_id: str) -> None:
        self._ctx.require("vms.stop")
        self.driver.stop_node(self.fetch_node(vm_id))

    def reboot_vm(self, vm_id: str) -> None:
        self._ctx.require("vms.reboot")
        self.driver.reboot_node(self.fetch_node(vm_id))

    def plumbing_of(self, node: Any) -> Callable[[], None] | None:
        """What removes the plumbing ``launch`` made for ``node`` alone, once it is terminated;
        read before the node is destroyed. Adapters that create plumbing override this."""
        return None

    def terminate_vm(self, vm_id: str, *, timeout: float | None = None) -> None:
        """Destroy the node, wait until the driver no longer lists it (or lists it as
        terminated), then remove its plumbing (:meth:`plumbing_of`). A node already
        terminating is not destroyed again, so an interrupted call can be repeated. A node that
        is already gone raises ``NotFound``, which the portable layer treats as done."""
        self._ctx.require("vms.terminate")
        node = self.fetch_node(vm_id)
        cleanup = self.plumbing_of(node)
        if self.info(node).state not in (VMState.TERMINATING, VMState.TERMINATED):
            self.driver.destroy_node(node)
        limit = DEFAULT_TERMINATE_TIMEOUT if timeout is None else timeout
        self._ctx.poller.until(
            lambda: self._gone(vm_id), bool, timeout=limit,
            what=f"VM {vm_id} to be terminated",
            timed_out=lambda _: Timeout(
                f"VM {vm_id} is still not terminated after {limit:g} s",
                provider=self._ctx.provider, resource=vm_id),
        )
        if cleanup is not None:
            cleanup()

    def _gone(self, vm_id: str) -> bool:
        try:
            return self.get_vm(vm_id).state is VMState.TERMINATED
        except NotFound:
            return True

    def set_vm_tags(self, vm_id: str, tags: Mapping[str, str]) -> None:
        raise self._ctx.unsupported("tag VMs", "vms.set_tags")

    def inbound_rules(self, vm_id: str) -> list[InboundRule]:
        raise self._ctx.unsupported("read firewall rules", "vms.inbound_rules")

    def user_data(self, vm_id: str) -> bytes | None:
        raise self._ctx.unsupported("read user data", "vms.user_data")


def _accepts(method: Any, parameter: str) -> bool:
    """Whether ``method`` takes keyword ``parameter`` (explicitly or through ``**kwargs``)."""
    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return True
    return parameter in params or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    )
