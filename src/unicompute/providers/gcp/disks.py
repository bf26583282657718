"""Persistent disks and snapshots: the :class:`~unicompute.driver.VolumeDriver`.

A volume id is ``<zone>/<name>`` (disks are zonal); a snapshot id is the snapshot's name
(snapshots are global), made unique as ``<name>-<8 hex>``. Volumes are ``pd-balanced``.
Listing leaves out the boot disks ``launch`` created with VMs (labelled
``unicompute--root=true``). Creating a disk and deleting disks and snapshots wait for their
(short) operation, so that a disk can be read right after it was created and an in-use disk's
refusal (``resourceInUseByAnotherResource``) is raised; attach, detach and snapshot return once
GCE accepted them and the portable layer polls.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping

from google.api_core import exceptions as core
from google.cloud import compute_v1

from ..._errors import Conflict, InvalidRequest, NotFound
from ..._models import Snapshot, Volume
from . import convert, operations
from ._clients import Context
from .convert import PROVIDER, last_segment

DISK_TYPE = "pd-balanced"
#: Device names GCE accepts (RFC 1035 names, as its other resource names).
_DEVICE = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")


def parse_volume_id(volume_id: str) -> tuple[str, str]:
    """``(zone, name)`` of a portable volume id; ``NotFound`` if it has not that shape."""
    zone, _, name = volume_id.partition("/")
    if not zone or not name or "/" in name:
        raise NotFound(f"{volume_id!r} is not a GCE volume id (<zone>/<name>)",
                       provider=PROVIDER, resource=volume_id)
    return zone, name


class GceVolumes:
    """Persistent disks and snapshots of one project and region."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._disks = ctx.clients.disks

    def create_volume(
        self, *, name: str, size_gib: int, zone: str, tags: Mapping[str, str]
    ) -> Volume:
        convert.check_labels(tags)
        disk = compute_v1.Disk(
            name=name, size_gb=size_gib, type_=f"zones/{zone}/diskTypes/{DISK_TYPE}",
            labels=convert.managed_labels(tags))
        op = self._disks.insert_unary(project=self._ctx.project, zone=zone,
                                      disk_resource=disk, **self._ctx.rpc)
        operations.wait(self._ctx, op)
        return self.get_volume(convert.volume_id(zone, name))

    def _get(self, volume_id: str) -> compute_v1.Disk:
        zone, name = parse_volume_id(volume_id)
        return self._disks.get(project=self._ctx.project, zone=zone, disk=name, **self._ctx.rpc)

    def get_volume(self, volume_id: str) -> Volume:
        return convert.volume(self._get(volume_id))

    def list_volumes(self, *, tags: Mapping[str, str]) -> list[Volume]:
        """Data disks of the region's zones carrying all ``tags`` (label filter on GCE)."""
        for key, value in tags.items():
            if convert.label_problem(key, value) is not None:
                return []
        request = compute_v1.AggregatedListDisksRequest(project=self._ctx.project)
        expression = convert.label_filter(tags)
        if expression:
            request.filter = expression
        zones = set(self._ctx.zone_names())
        return [
            convert.volume(disk)
            for scope, scoped in self._disks.aggregated_list(request=request, **self._ctx.rpc)
            if last_segment(scope) in zones
            for disk in scoped.disks
            if not convert.is_root_disk(disk)
        ]

    def attach_volume(self, volume_id: str, vm_id: str, device: str | None) -> None:
        """``attachDisk`` read-write, not deleted with the VM; ``device`` is the device name
        (``/dev/disk/by-id/google-<device>`` in the guest), default the disk's name.
        ``InvalidRequest`` before any call for a device name GCE refuses (``device``: an
        RFC 1035 name, not a path such as ``/dev/sdf``) or a VM in another zone than the
        disk (``vm_id``: GCE attaches zonal disks only in their zone)."""
        from .compute import parse_vm_id

        zone, name = parse_volume_id(volume_id)
        vm_zone, vm_name = parse_vm_id(vm_id)
        if device is not None and not _DEVICE.fullmatch(device):
            raise InvalidRequest(
                f"GCE device names are lower-case letters, digits and hyphens, starting with a "
                f"letter, at most 63 characters (the guest sees /dev/disk/by-id/google-<name>),"
                f" not {device!r}", field="device")
        if zone != vm_zone:
            raise InvalidRequest(f"volume {volume_id} is in {zone} and VM {vm_id} in {vm_zone}; "
                                 "GCE attaches a disk only to VMs of its zone", field="vm_id")
        attached = compute_v1.AttachedDisk(
            source=f"projects/{self._ctx.project}/zones/{zone}/disks/{name}",
            device_name=device or name, mode="READ_WRITE", auto_delete=False,
            type_="PERSISTENT")
        operations.check(self._ctx.clients.instances.attach_disk_unary(
            project=self._ctx.project, zone=vm_zone, instance=vm_name,
            attached_disk_resource=attached, **self._ctx.rpc))

    def detach_volume(self, volume_id: str) -> None:
        """``detachDisk`` by the device name the VM knows it under; ``Conflict`` if the disk
        is not attached."""
        disk = self._get(volume_id)
        if not disk.users:
            raise Conflict(f"volume {volume_id} is not attached", provider=PROVIDER,
                           resource=volume_id)
        user = disk.users[0]
        parts = user.rstrip("/").split("/")
        vm_zone, vm_name = parts[-3], parts[-1]
        instance = self._ctx.clients.instances.get(project=self._ctx.project, zone=vm_zone,
                                                   instance=vm_name, **self._ctx.rpc)
        device = next((d.device_name for d in instance.disks
                       if last_segment(d.source) == disk.name
                       and _zone_of(d.source) in ("", last_segment(disk.zone))), None)
        if device is None:
            raise Conflict(f"volume {volume_id} is not attached to {vm_zone}/{vm_name}",
                           provider=PROVIDER, resource=volume_id)
        operations.check(self._ctx.clients.instances.detach_disk_unary(
            project=self._ctx.project, zone=vm_zone, instance=vm_name, device_name=device,
            **self._ctx.rpc))

    def delete_volume(self, volume_id: str) -> None:
        zone, name = parse_volume_id(volume_id)
        op = self._disks.delete_unary(project=self._ctx.project, zone=zone, disk=name,
                                      **self._ctx.rpc)
        operations.wait(self._ctx, op)

    def create_snapshot(self, volume_id: str, *, name: str, tags: Mapping[str, str]
                        ) -> Snapshot:
        """``disks.createSnapshot`` as ``<name>-<8 hex>``; the snapshot may still be
        ``creating`` or ``uploading``."""
        convert.check_labels(tags)
        zone, disk = parse_volume_id(volume_id)
        snapshot_name = f"{name[:54]}-{secrets.token_hex(4)}"
        body = compute_v1.Snapshot(name=snapshot_name, labels=convert.managed_labels(tags),
                                   description=name)
        op = self._disks.create_snapshot_unary(project=self._ctx.project, zone=zone, disk=disk,
                                               snapshot_resource=body, **self._ctx.rpc)
        operations.check(op)
        try:
            return self.get_snapshot(snapshot_name)
        except core.NotFound:  # accepted, not readable yet
            return Snapshot(id=snapshot_name, volume_id=volume_id, size_gib=0, state="creating",
                            tags=dict(tags), raw=op)

    def get_snapshot(self, snapshot_id: str) -> Snapshot:
        found = self._ctx.clients.snapshots.get(project=self._ctx.project,
                                                snapshot=snapshot_id, **self._ctx.rpc)
        return convert.snapshot(found)

    def list_snapshots(self, *, tags: Mapping[str, str]) -> list[Snapshot]:
        for key, value in tags.items():
            if convert.label_problem(key, value) is not None:
                return []
        request = compute_v1.ListSnapshotsRequest(project=self._ctx.project)
        expression = convert.label_filter(tags)
        if expression:
            request.filter = expression
        found = self._ctx.clients.snapshots.list(request=request, **self._ctx.rpc)
        return [convert.snapshot(item) for item in found]

    def delete_snapshot(self, snapshot_id: str) -> None:
        op = self._ctx.clients.snapshots.delete_unary(project=self._ctx.project,
                                                      snapshot=snapshot_id, **self._ctx.rpc)
        operations.wait(self._ctx, op)


def _zone_of(url: str) -> str:
    parts = url.rstrip("/").split("/")
    return parts[parts.index("zones") + 1] if "zones" in parts else ""
