"""Managed disks and snapshots: the :class:`~unicompute.driver.VolumeDriver`.

Volumes are ``StandardSSD_LRS`` managed disks in the resource group; ids are ARM ids. Listing
leaves out OS disks (they belong to their VM). Attaching and detaching rewrite the VM's
``storageProfile.dataDisks`` (a PUT of the VM) and return once ARM accepted it; the portable
layer polls :meth:`get_volume`. A volume is attached at the first free LUN unless ``device``
names one (``"0"`` ... ``"63"``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from azure.mgmt.compute import models

from ..._errors import Conflict, InvalidRequest
from ..._models import Snapshot, Volume
from . import convert
from ._context import IF_NONE_MATCH, Context, ignore_missing, not_found
from .convert import ArmId, managed_tags, parse_id, tag_problem

DISK_KIND = "Microsoft.Compute/disks"
SNAPSHOT_KIND = "Microsoft.Compute/snapshots"
VM_KIND = "Microsoft.Compute/virtualMachines"
VOLUME_TYPE = "StandardSSD_LRS"
MAX_LUN = 63


class AzureDisks:
    """Managed disks and snapshots of one resource group and location."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def _disk_ref(self, volume_id: str) -> ArmId:
        return parse_id(volume_id, DISK_KIND, subscription=self._ctx.subscription_id,
                        what="volume")

    def create_volume(
        self, *, name: str, size_gib: int, zone: str, tags: Mapping[str, str]
    ) -> Volume:
        """An empty disk, as ARM answered the PUT (``If-None-Match: *``: a taken name is
        ``ALREADY_EXISTS``)."""
        _check_tags(tags)
        ctx = self._ctx
        ctx.ensure_group()
        body = {
            "location": ctx.region,
            "tags": managed_tags(tags),
            "zones": [zone],
            "sku": {"name": VOLUME_TYPE},
            "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": size_gib},
        }
        poller = ctx.compute.disks.begin_create_or_update(ctx.resource_group, name,
                                                          models.Disk(body),
                                                          headers=IF_NONE_MATCH)
        return convert.volume(ctx.wait(poller, what=f"creating volume {name}",
                                       resource=ctx.resource_id(DISK_KIND, name)))

    def get_volume(self, volume_id: str) -> Volume:
        ref = self._disk_ref(volume_id)
        return convert.volume(self._ctx.compute.disks.get(ref.group, ref.name))

    def list_volumes(self, *, tags: Mapping[str, str]) -> list[Volume]:
        """Data disks of the resource group, in the location, carrying all ``tags``."""
        ctx = self._ctx
        found = ignore_missing(
            lambda: list(ctx.compute.disks.list_by_resource_group(ctx.resource_group)))
        return [
            convert.volume(disk)
            for disk in found or []
            if not convert.is_os_disk(disk)
            and (disk.location or "").replace(" ", "").lower() == ctx.region
            and convert.has_tags(convert.user_tags(convert.tags_of(disk)), tags)
        ]

    def attach_volume(self, volume_id: str, vm_id: str, device: str | None) -> None:
        ref = self._disk_ref(volume_id)
        vm_ref = parse_id(vm_id, VM_KIND, subscription=self._ctx.subscription_id, what="VM")
        disk = self._ctx.compute.disks.get(ref.group, ref.name)
        vm = self._ctx.compute.virtual_machines.get(vm_ref.group, vm_ref.name)
        data_disks = _data_disks(vm)
        used = {int(d["lun"]) for d in data_disks}
        lun = _lun(device, used)
        data_disks.append({"lun": lun, "createOption": "Attach",
                           "managedDisk": {"id": str(disk.id)}})
        self._put_data_disks(vm, vm_ref, data_disks)

    def detach_volume(self, volume_id: str) -> None:
        """``Conflict`` if the disk is not attached."""
        ref = self._disk_ref(volume_id)
        disk = self._ctx.compute.disks.get(ref.group, ref.name)
        owner = getattr(disk, "managed_by", None)
        if not owner:
            raise Conflict(f"volume {volume_id} is not attached", provider=convert.PROVIDER,
                           resource=volume_id)
        vm_ref = parse_id(owner, VM_KIND, subscription=self._ctx.subscription_id, what="VM")
        vm = self._ctx.compute.virtual_machines.get(vm_ref.group, vm_ref.name)
        kept = [d for d in _data_disks(vm)
                if not convert.same_id(d.get("managedDisk", {}).get("id"), str(disk.id))]
        self._put_data_disks(vm, vm_ref, kept)

    def _put_data_disks(self, vm: Any, ref: ArmId, data_disks: list[dict[str, Any]]) -> None:
        """PUT the VM with ``data_disks``; returns once ARM accepted it."""
        # The model itself is sent back: the SDK leaves out its read-only fields.
        properties = vm.setdefault("properties", {})
        properties.setdefault("storageProfile", {})["dataDisks"] = data_disks
        self._ctx.compute.virtual_machines.begin_create_or_update(
            ref.group, ref.name, vm, polling=False)

    def delete_volume(self, volume_id: str) -> None:
        """Delete and wait (at most ``operation_timeout``, then ``Timeout``); ``NOT_FOUND`` if
        there is no such disk, ``CONFLICT`` while attached (ARM's ``OperationNotAllowed``)."""
        ref = self._disk_ref(volume_id)
        self._ctx.compute.disks.get(ref.group, ref.name)  # ARM's DELETE of nothing succeeds
        poller = self._ctx.compute.disks.begin_delete(ref.group, ref.name)
        self._ctx.wait(poller, what=f"deleting volume {ref.name}", resource=volume_id)

    def create_snapshot(self, volume_id: str, *, name: str, tags: Mapping[str, str]) -> Snapshot:
        """An incremental snapshot of the disk, as ARM answered the PUT."""
        _check_tags(tags)
        ref = self._disk_ref(volume_id)
        disk = self._ctx.compute.disks.get(ref.group, ref.name)
        body = {
            "location": self._ctx.region,
            "tags": managed_tags(tags),
            "properties": {"creationData": {"createOption": "Copy",
                                            "sourceResourceId": str(disk.id)},
                           "incremental": True},
        }
        poller = self._ctx.compute.snapshots.begin_create_or_update(
            self._ctx.resource_group, name, models.Snapshot(body), headers=IF_NONE_MATCH)
        return convert.snapshot(self._ctx.wait(
            poller, what=f"creating snapshot {name}",
            resource=self._ctx.resource_id(SNAPSHOT_KIND, name)))

    def _snapshot_ref(self, snapshot_id: str) -> ArmId:
        return parse_id(snapshot_id, SNAPSHOT_KIND, subscription=self._ctx.subscription_id,
                        what="snapshot")

    def get_snapshot(self, snapshot_id: str) -> Snapshot:
        ref = self._snapshot_ref(snapshot_id)
        return convert.snapshot(self._ctx.compute.snapshots.get(ref.group, ref.name))

    def list_snapshots(self, *, tags: Mapping[str, str]) -> list[Snapshot]:
        ctx = self._ctx
        found = ignore_missing(
            lambda: list(ctx.compute.snapshots.list_by_resource_group(ctx.resource_group)))
        return [convert.snapshot(item) for item in found or []
                if convert.has_tags(convert.user_tags(convert.tags_of(item)), tags)]

    def delete_snapshot(self, snapshot_id: str) -> None:
        ref = self._snapshot_ref(snapshot_id)
        found = ignore_missing(lambda: self._ctx.compute.snapshots.get(ref.group, ref.name))
        if found is None:
            raise not_found("snapshot", snapshot_id)
        poller = self._ctx.compute.snapshots.begin_delete(ref.group, ref.name)
        self._ctx.wait(poller, what=f"deleting snapshot {ref.name}", resource=snapshot_id)


def _check_tags(tags: Mapping[str, str]) -> None:
    problem = tag_problem(tags)
    if problem is not None:
        raise InvalidRequest(problem, field="tags")


def _data_disks(vm: Any) -> list[dict[str, Any]]:
    """The VM's ``dataDisks`` as request JSON (``lun``, ``createOption``, ``managedDisk.id``)."""
    storage = getattr(vm, "storage_profile", None)
    result: list[dict[str, Any]] = []
    for disk in getattr(storage, "data_disks", None) or []:
        managed = getattr(getattr(disk, "managed_disk", None), "id", None)
        entry: dict[str, Any] = {"lun": int(disk.lun), "createOption": "Attach"}
        if managed:
            entry["managedDisk"] = {"id": str(managed)}
        if getattr(disk, "name", None):
            entry["name"] = str(disk.name)
        result.append(entry)
    return result


def _lun(device: str | None, used: set[int]) -> int:
    if device is None:
        for lun in range(MAX_LUN + 1):
            if lun not in used:
                return lun
        raise Conflict("the VM has no free LUN (0-63)", provider=convert.PROVIDER)
    text = device.removeprefix("lun")
    if not text.isdigit() or not 0 <= int(text) <= MAX_LUN:
        raise InvalidRequest("must be a LUN from 0 to 63 ('3' or 'lun3')", field="device")
    if int(text) in used:
        raise Conflict(f"LUN {text} is in use on the VM", provider=convert.PROVIDER)
    return int(text)
