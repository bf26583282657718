"""Portable block volumes and snapshots (``cloud.volumes``)."""

from __future__ import annotations

import builtins
from collections.abc import Mapping

from ._context import CloudContext
from ._errors import InvalidRequest, ProviderError
from ._launch_checks import check_id, check_name, check_tags, check_zone
from ._models import Snapshot, Volume, VolumeState, freeze_tags
from ._waiting import check_timeout
from .driver import Capability, VolumeDriver


class Volumes:
    """Create, attach, detach, snapshot and delete block volumes.

    Calls that change a volume's state wait, within their ``timeout``, until the cloud reports
    the new state: the volume returned is ``AVAILABLE`` or ``IN_USE`` as asked.
    """

    def __init__(self, ctx: CloudContext) -> None:
        self._ctx = ctx

    def _driver(self, operation: str, capability: Capability = Capability.VOLUMES) -> VolumeDriver:
        self._ctx.require(capability, operation)
        assert self._ctx.drivers.volumes is not None
        return self._ctx.drivers.volumes

    def _checked_name_and_tags(
        self, name: object, tags: Mapping[str, str] | None
    ) -> tuple[str, Mapping[str, str]]:
        if not isinstance(name, str):
            raise InvalidRequest("must be a str", field="name")
        limits = self._ctx.drivers.limits
        check_name(name, limits)
        checked = freeze_tags(tags or {})
        check_tags(checked, limits)
        return name, checked

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
        name, checked_tags = self._checked_name_and_tags(name, tags)
        seconds = check_timeout(timeout)
        driver = self._driver("volumes.create")
        in_zone = check_zone(self._ctx, zone)
        volume = self._ctx.call(
            "volumes.create",
            lambda: driver.create_volume(name=name, size_gib=size_gib, zone=in_zone,
                                         tags=checked_tags),
            resource=name,
        )
        return self._wait(volume.id, VolumeState.AVAILABLE, seconds, "volumes.create")

    def get(self, volume_id: str) -> Volume:
        """The volume; ``NotFound`` if there is none."""
        check_id(volume_id, "volume_id")
        driver = self._driver("volumes.get")
        return self._ctx.call("volumes.get", lambda: driver.get_volume(volume_id),
                              resource=volume_id, idempotent=True)

    def list(self, *, tags: Mapping[str, str] | None = None) -> builtins.list[Volume]:
        """The volumes carrying all ``tags`` (VMs' root disks are not listed)."""
        checked = freeze_tags(tags or {})
        driver = self._driver("volumes.list")
        return self._ctx.call("volumes.list", lambda: driver.list_volumes(tags=checked),
                              idempotent=True)

    def attach(self, volume_id: str, vm_id: str, *, device: str | None = None,
               timeout: float = 300) -> Volume:
        """Attach to a VM in the same zone; returns the volume once it is in use."""
        check_id(volume_id, "volume_id")
        check_id(vm_id, "vm_id")
        if device is not None:
            check_id(device, "device")
        seconds = check_timeout(timeout)
        driver = self._driver("volumes.attach")
        self._ctx.call("volumes.attach", lambda: driver.attach_volume(volume_id, vm_id, device),
                       resource=volume_id)
        return self._wait(volume_id, VolumeState.IN_USE, seconds, "volumes.attach")

    def detach(self, volume_id: str, *, timeout: float = 300) -> Volume:
        """Detach from its VM; returns the volume once it is available."""
        check_id(volume_id, "volume_id")
        seconds = check_timeout(timeout)
        driver = self._driver("volumes.detach")
        self._ctx.call("volumes.detach", lambda: driver.detach_volume(volume_id),
                       resource=volume_id)
        return self._wait(volume_id, VolumeState.AVAILABLE, seconds, "volumes.detach")

    def delete(self, volume_id: str) -> None:
        """Delete a detached volume; ``Conflict`` while it is attached."""
        check_id(volume_id, "volume_id")
        driver = self._driver("volumes.delete")
        self._ctx.call("volumes.delete", lambda: driver.delete_volume(volume_id),
                       resource=volume_id)

    def snapshot(self, volume_id: str, *, name: str,
                 tags: Mapping[str, str] | None = None) -> Snapshot:
        """Start a point-in-time snapshot of the volume (it may still be pending)."""
        check_id(volume_id, "volume_id")
        name, checked = self._checked_name_and_tags(name, tags)
        driver = self._driver("volumes.snapshot", Capability.SNAPSHOTS)
        return self._ctx.call("volumes.snapshot",
                              lambda: driver.create_snapshot(volume_id, name=name, tags=checked),
                              resource=volume_id)

    def get_snapshot(self, snapshot_id: str) -> Snapshot:
        """The snapshot; ``NotFound`` if there is none."""
        check_id(snapshot_id, "snapshot_id")
        driver = self._driver("volumes.get_snapshot", Capability.SNAPSHOTS)
        return self._ctx.call("volumes.get_snapshot", lambda: driver.get_snapshot(snapshot_id),
                              resource=snapshot_id, idempotent=True)

    def snapshots(self, *, tags: Mapping[str, str] | None = None) -> builtins.list[Snapshot]:
        """The snapshots carrying all ``tags``."""
        checked = freeze_tags(tags or {})
        driver = self._driver("volumes.snapshots", Capability.SNAPSHOTS)
        return self._ctx.call("volumes.snapshots", lambda: driver.list_snapshots(tags=checked),
                              idempotent=True)

    def delete_snapshot(self, snapshot_id: str) -> None:
        check_id(snapshot_id, "snapshot_id")
        driver = self._driver("volumes.delete_snapshot", Capability.SNAPSHOTS)
        self._ctx.call("volumes.delete_snapshot", lambda: driver.delete_snapshot(snapshot_id),
                       resource=snapshot_id)

    def _wait(self, volume_id: str, state: VolumeState, timeout: float,
              operation: str) -> Volume:
        def check(volume: Volume) -> None:
            if volume.state is VolumeState.ERROR:
                raise ProviderError(f"volume {volume_id} failed (state error)",
                                    provider=self._ctx.provider, operation=operation,
                                    resource=volume_id)

        return self._ctx.wait(
            lambda: self.get(volume_id), lambda v: v.state is state, timeout=timeout,
            operation=operation, resource=volume_id,
            what=f"volume {volume_id} to be {state.value}", check=check,
        )
