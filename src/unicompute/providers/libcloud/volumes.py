"""Block volumes and snapshots through a Libcloud driver (``Capability.VOLUMES`` and
``SNAPSHOTS`` when it implements them; see :mod:`.capabilities`).

Drivers do not wait: the portable layer polls :meth:`LibcloudVolumes.get_volume`. Tags need
the driver's adapter (:class:`Ec2Volumes`); the generic path refuses tags with ``Unsupported``
rather than dropping them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..._errors import NotFound
from ..._models import Snapshot, Volume
from ...driver import MANAGED_TAG
from . import convert
from ._context import Context
from .compute import LibcloudCompute
from .ec2 import tag_specification

#: Device names EC2 gives root volumes; such an attached volume is a VM's disk, not listed.
ROOT_DEVICES = frozenset({"/dev/sda1", "/dev/xvda", "/dev/sda"})
#: Device names tried, in order, when ``attach_volume`` is given none.
SPARE_DEVICES = tuple(f"/dev/sd{c}" for c in "fghijklmnop")


class LibcloudVolumes:
    def __init__(self, ctx: Context, compute: LibcloudCompute) -> None:
        self._ctx = ctx
        self._compute = compute

    @property
    def driver(self) -> Any:
        return self._ctx.driver

    # -- hooks ------------------------------------------------------------------------------
    def _refuse_tags(self, tags: Mapping[str, str], operation: str) -> None:
        """The generic path cannot tag: refuse rather than drop the tags."""
        if tags:
            raise self._ctx.unsupported("tag volumes or snapshots", operation)

    def zone_of(self, raw: Any) -> str:
        extra = raw.extra or {}
        return str(extra.get("zone") or extra.get("location") or extra.get("region") or "")

    def attached_to(self, raw: Any) -> str | None:
        extra = raw.extra or {}
        value = extra.get("instance_id") or extra.get("attached_to") or extra.get("node_id")
        return str(value) if value else None

    # -- volumes ----------------------------------------------------------------------------
    def _volume(self, raw: Any) -> Volume:
        return convert.volume(raw, zone=self.zone_of(raw), attached_to=self.attached_to(raw))

    def _native_volume(self, volume_id: str) -> Any:
        for raw in self.driver.list_volumes():
            if str(raw.id) == volume_id:
                return raw
        raise NotFound(f"volume {volume_id} does not exist", provider=self._ctx.provider,
                       resource=volume_id)

    def create_volume(
        self, *, name: str, size_gib: int, zone: str, tags: Mapping[str, str]
    ) -> Volume:
        self._refuse_tags(tags, "volumes.create")
        raw = self.driver.create_volume(size_gib, name, location=self._compute.location(zone))
        return self._volume(raw)

    def get_volume(self, volume_id: str) -> Volume:
        return self._volume(self._native_volume(volume_id))

    def list_volumes(self, *, tags: Mapping[str, str]) -> list[Volume]:
        found = []
        for raw in self.driver.list_volumes():
            if str((raw.extra or {}).get("device") or "") in ROOT_DEVICES:
                continue
            volume = self._volume(raw)
            if all(volume.tags.get(k) == v for k, v in tags.items()):
                found.append(volume)
        return sorted(found, key=lambda v: v.id)

    def attach_volume(self, volume_id: str, vm_id: str, device: str | None) -> None:
        node = self._compute.fetch_node(vm_id)
        volume = self._native_volume(volume_id)
        if device is None:
            used = {str(m.get("device_name"))
                    for m in (node.extra or {}).get("block_device_mapping") or []}
            device = next((d for d in SPARE_DEVICES if d not in used), SPARE_DEVICES[0])
        self.driver.attach_volume(node, volume, device)

    def detach_volume(self, volume_id: str) -> None:
        self.driver.detach_volume(self._native_volume(volume_id))

    def delete_volume(self, volume_id: str) -> None:
        self.driver.destroy_volume(self._native_volume(volume_id))

    # -- snapshots --------------------------------------------------------------------------
    def _snapshot(self, raw: Any) -> Snapshot:
        extra = raw.extra or {}
        return convert.snapshot(raw, volume_id=str(extra.get("volume_id") or ""))

    def _native_snapshots(self) -> list[Any]:
        return list(self.driver.list_snapshots())

    def _native_snapshot(self, snapshot_id: str) -> Any:
        for raw in self._native_snapshots():
            if str(raw.id) == snapshot_id:
                return raw
        raise NotFound(f"snapshot {snapshot_id} does not exist", provider=self._ctx.provider,
                       resource=snapshot_id)

    def create_snapshot(
        self, volume_id: str, *, name: str, tags: Mapping[str, str]
    ) -> Snapshot:
        self._refuse_tags(tags, "volumes.snapshot")
        raw = self.driver.create_volume_snapshot(self._native_volume(volume_id), name=name)
        snapshot = self._snapshot(raw)
        return snapshot if snapshot.volume_id else convert.snapshot(raw, volume_id=volume_id)

    def get_snapshot(self, snapshot_id: str) -> Snapshot:
        return self._snapshot(self._native_snapshot(snapshot_id))

    def list_snapshots(self, *, tags: Mapping[str, str]) -> list[Snapshot]:
        found = [self._snapshot(raw) for raw in self._native_snapshots()]
        return sorted((s for s in found if all(s.tags.get(k) == v for k, v in tags.items())),
                      key=lambda s: s.id)

    def delete_snapshot(self, snapshot_id: str) -> None:
        self.driver.destroy_volume_snapshot(self._native_snapshot(snapshot_id))


class Ec2Volumes(LibcloudVolumes):
    """EBS through Libcloud's EC2 driver. Volumes and snapshots are created with their tags in
    one call (``TagSpecification``), so there is nothing to undo when tagging fails; requests go
    through the driver's signed connection and are parsed by its own converters."""

    def create_volume(
        self, *, name: str, size_gib: int, zone: str, tags: Mapping[str, str]
    ) -> Volume:
        params = {"Action": "CreateVolume", "Size": str(size_gib), "AvailabilityZone": zone,
                  "VolumeType": "gp3",
                  **tag_specification("volume", {"Name": name, **tags, MANAGED_TAG: "true"})}
        body = self.driver.connection.request(self.driver.path, params=params).object
        return self._volume(self.driver._to_volume(body, name=name))

    def create_snapshot(
        self, volume_id: str, *, name: str, tags: Mapping[str, str]
    ) -> Snapshot:
        params = {"Action": "CreateSnapshot", "VolumeId": volume_id, "Description": name,
                  **tag_specification("snapshot", {"Name": name, **tags, MANAGED_TAG: "true"})}
        body = self.driver.connection.request(self.driver.path, params=params).object
        return convert.snapshot(self.driver._to_snapshot(body, name), volume_id=volume_id)

    def detach_volume(self, volume_id: str) -> None:
        """``DetachVolume`` naming the instance too: optional for EC2, but moto fails with a
        500 without it (Libcloud's ``detach_volume`` sends only the volume)."""
        params = {"Action": "DetachVolume", "VolumeId": volume_id}
        instance = self.attached_to(self._native_volume(volume_id))
        if instance is not None:
            params["InstanceId"] = instance
        self.driver.connection.request(self.driver.path, params=params)

    def _native_volume(self, volume_id: str) -> Any:
        found = self.driver.list_volumes(ex_filters={"volume-id": volume_id})
        if not found:
            raise NotFound(f"volume {volume_id} does not exist", provider=self._ctx.provider,
                           resource=volume_id)
        return found[0]

    def _native_snapshots(self) -> list[Any]:
        return list(self.driver.list_snapshots(owner="self"))
