"""Portable block volumes and snapshots (``cloud.volumes``)."""

from __future__ import annotations

import builtins
from collections.abc import Mapping

from ._context import CloudContext
from ._errors import InvalidRequest, ProviderError
from ._launch_checks import check_name, check_tags
from ._models import Snapshot, Volume, VolumeState, freeze_tags
from .driver import Capability, VolumeDriver


class Volumes:
    """Create, attach, detach, snapshot and delete block volumes.

    Calls that change attachment wait until the cloud reports the new state, so the volume
    returned (or read next) is ``AVAILABLE`` or ``IN_USE`` as asked.
    """

    def __init__(self, ctx: CloudContext) -> None:
        self._ctx = ctx

    def _driver(self, operation: str, capability: Capability = Capability.VOLUMES) -> VolumeDriver:
        self._ctx.require(capability, operation)
        assert self._ctx.drivers.volumes is not None
        return self._ctx.drivers.volumes

    def create(
        self,
        size_gib: int,
        *,
        name: str,
        zone: str | None = None,
        tags: Mapping[str, str] | None = None,
        timeout: float = 300,
    ) -> Volume:
        """A new empty volume of ``size_gib`` GiB in ``zone`` (default: the region's first zone),
        returned once it is available."""
        limits = self._ctx.drivers.limits
        if isinstance(size_gib, bool) or not isinstance(size_gib, int) or size_gib < 1:
            raise InvalidRequest("must be a positive int (GiB)", field="size_gib")
        if size_gib > limits.max_disk_gib:
            raise InvalidRequest(f"at most {limits.max_disk_gib} GiB", field="size_gib")
        if not isinstance(name, str):
            raise InvalidRequest("must be a str", field="name")
        check_name(name, limits)
        checked_tags = freeze_tags(tags or {})
        check_tags(checked_tags, limits)
        driver = self._driver("volumes.create")
        zones = [z.name for z in self._ctx.call("zones", self._ctx.drivers.compute.zones,
                                               idempotent=True)]
        if zone is None:
            zone = zones[0]
        elif zone not in zones:
            raise InvalidRequest(f"no zone {zone!r} in {self._ctx.region}", field="zone")
        volume = self._ctx.call(
            "volumes.create",
            lambda: driver.create_volume(name=name, size_gib=size_gib, zone=zone,
                                         tags=checked_tags),
            resource=name,
        )
        return self._wait(volume.id, {VolumeState.AVAILABLE}, timeout)

    def get(self, volume_id: str) -> Volume:
        driver = self._driver("volumes.get")
        return self._ctx.call("volumes.get", lambda: driver.get_volume(volume_id),
                              resource=volume_id, idempotent=True)

    def list(self, *, tags: Mapping[str, str] | None = None) -> list[Volume]:
        checked = freeze_tags(tags or {})
        driver = self._driver("volumes.list")
        return self._ctx.call("volumes.list", lambda: driver.list_volumes(tags=checked),
                              idempotent=True)

    def attach(self, volume_id: str, vm_id: str, *, device: str | None = None,
               timeout: float = 300) -> Volume:
        """Attach to a VM in the same zone; returns the volume once it is in use."""
        driver = self._driver("volumes.attach")
        self._ctx.call("volumes.attach", lambda: driver.attach_volume(volume_id, vm_id, device),
                       resource=volume_id)
        return self._wait(volume_id, {VolumeState.IN_USE}, timeout)

    def detach(self, volume_id: str, *, timeout: float = 300) -> Volume:
        driver = self._driver("volumes.detach")
        self._ctx.call("volumes.detach", lambda: driver.detach_volume(volume_id),
                       resource=volume_id)
        return self._wait(volume_id, {VolumeState.AVAILABLE}, timeout)

    def delete(self, volume_id: str) -> None:
        """Delete a detached volume; ``Conflict`` while it is attached."""
        driver = self._driver("volumes.delete")
        self._ctx.call("volumes.delete", lambda: driver.delete_volume(volume_id),
                       resource=volume_id)

    def snapshot(self, volume_id: str, *, name: str,
                 tags: Mapping[str, str] | None = None) -> Snapshot:
        """Start a point-in-time snapshot of the volume."""
        limits = self._ctx.drivers.limits
        if not isinstance(name, str):
            raise InvalidRequest("must be a str", field="name")
        check_name(name, limits)
        checked = freeze_tags(tags or {})
        check_tags(checked, limits)
        driver = self._driver("volumes.snapshot", Capability.SNAPSHOTS)
        return self._ctx.call("volumes.snapshot",
                              lambda: driver.create_snapshot(volume_id, name=name, tags=checked),
                              resource=volume_id)

    def snapshots(self, *, tags: Mapping[str, str] | None = None) -> builtins.list[Snapshot]:
        checked = freeze_tags(tags or {})
        driver = self._driver("volumes.snapshots", Capability.SNAPSHOTS)
        return self._ctx.call("volumes.snapshots", lambda: driver.list_snapshots(tags=checked),
                              idempotent=True)

    def delete_snapshot(self, snapshot_id: str) -> None:
        driver = self._driver("volumes.delete_snapshot", Capability.SNAPSHOTS)
        self._ctx.call("volumes.delete_snapshot", lambda: driver.delete_snapshot(snapshot_id),
                       resource=snapshot_id)

    def _wait(self, volume_id: str, states: set[VolumeState], timeout: float) -> Volume:
        def check(volume: Volume) -> None:
            if volume.state is VolumeState.ERROR:
                raise ProviderError(f"volume {volume_id} failed (state error)", resource=volume_id)

        return self._ctx.poller.until(
            lambda: self.get(volume_id), lambda v: v.state in states, timeout=timeout,
            what=f"volume {volume_id} to be {'/'.join(s.value for s in states)}", check=check,
        )
