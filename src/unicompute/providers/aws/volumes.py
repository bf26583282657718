"""EBS volumes and snapshots: the :class:`~unicompute.driver.VolumeDriver`.

Volumes are gp3. Listing leaves out the root volumes ``launch`` created with instances. Creating,
attaching, detaching and snapshotting return as soon as EC2 accepted the request (a volume may
still be ``creating``, a snapshot ``pending``): the portable layer polls ``get_volume`` with the
caller's timeout.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..._errors import Conflict, NotFound
from ..._models import Snapshot, Volume
from . import convert
from ._context import Context, managed_tags, tag_spec
from .convert import PROVIDER

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import InstanceTypeDef

#: Device names offered to data volumes when the caller names none, in order.
DATA_DEVICES = tuple(f"/dev/sd{letter}" for letter in "fghijklmnop")


class Ec2Volumes:
    """EBS volumes and snapshots of one region."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._client = ctx.client

    def create_volume(
        self, *, name: str, size_gib: int, zone: str, tags: Mapping[str, str]
    ) -> Volume:
        """A gp3 volume, as CreateVolume answered (usually still ``creating``)."""
        answer = self._client.create_volume(
            AvailabilityZone=zone,
            Size=size_gib,
            VolumeType="gp3",
            TagSpecifications=[tag_spec("volume", managed_tags(name, tags))],
        )
        return convert.volume(answer)

    def get_volume(self, volume_id: str) -> Volume:
        found = self._client.describe_volumes(VolumeIds=[volume_id])["Volumes"]
        if not found:
            raise NotFound(
                f"volume {volume_id} does not exist", provider=PROVIDER, resource=volume_id
            )
        return convert.volume(found[0])

    def list_volumes(self, *, tags: Mapping[str, str]) -> list[Volume]:
        """Data volumes carrying all ``tags``. Root volumes that ``launch`` created belong to
        their VM (they carry its tags, for cost reports) and are left out."""
        pages = self._client.get_paginator("describe_volumes").paginate(
            Filters=convert.tag_filters(tags)
        )
        return [
            convert.volume(v)
            for page in pages
            for v in page["Volumes"]
            if not convert.is_root_volume(v)
        ]

    def attach_volume(self, volume_id: str, vm_id: str, device: str | None) -> None:
        """Attach as ``device`` (default: the first free of ``/dev/sdf``…``/dev/sdp``); the
        volume may still be ``attaching`` when this returns."""
        instance = self._ctx.live_instance(vm_id)
        if device is None:
            device = _free_device(instance)
        self._client.attach_volume(VolumeId=volume_id, InstanceId=vm_id, Device=device)

    def detach_volume(self, volume_id: str) -> None:
        """Start detaching (the volume may still be ``detaching`` when this returns);
        ``Conflict`` if not attached.

        The instance and device are named explicitly (EC2 accepts them; moto requires them).
        """
        found = self._client.describe_volumes(VolumeIds=[volume_id])["Volumes"]
        attachments = [
            a
            for item in found
            for a in item.get("Attachments", [])
            if a.get("State") in ("attaching", "attached") and "InstanceId" in a
        ]
        if not attachments:
            raise Conflict(
                f"volume {volume_id} is not attached", provider=PROVIDER, resource=volume_id
            )
        attachment = attachments[0]
        if "Device" in attachment:
            self._client.detach_volume(
                VolumeId=volume_id, InstanceId=attachment["InstanceId"], Device=attachment["Device"]
            )
        else:
            self._client.detach_volume(VolumeId=volume_id, InstanceId=attachment["InstanceId"])

    def delete_volume(self, volume_id: str) -> None:
        self._client.delete_volume(VolumeId=volume_id)

    def create_snapshot(self, volume_id: str, *, name: str, tags: Mapping[str, str]) -> Snapshot:
        answer = self._client.create_snapshot(
            VolumeId=volume_id,
            Description=name,
            TagSpecifications=[tag_spec("snapshot", managed_tags(name, tags))],
        )
        return convert.snapshot(answer)

    def get_snapshot(self, snapshot_id: str) -> Snapshot:
        found = self._client.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"]
        if not found:
            raise NotFound(
                f"snapshot {snapshot_id} does not exist", provider=PROVIDER, resource=snapshot_id
            )
        return convert.snapshot(found[0])

    def list_snapshots(self, *, tags: Mapping[str, str]) -> list[Snapshot]:
        """The account's own snapshots carrying all ``tags``."""
        pages = self._client.get_paginator("describe_snapshots").paginate(
            OwnerIds=["self"], Filters=convert.tag_filters(tags)
        )
        return [convert.snapshot(s) for page in pages for s in page["Snapshots"]]

    def delete_snapshot(self, snapshot_id: str) -> None:
        self._client.delete_snapshot(SnapshotId=snapshot_id)


def _free_device(instance: InstanceTypeDef) -> str:
    """The first of :data:`DATA_DEVICES` the instance does not use (``xvdX`` counts as ``sdX``)."""
    used = {m.get("DeviceName", "") for m in instance.get("BlockDeviceMappings", [])}
    used.add(instance.get("RootDeviceName", ""))
    letters = {name.rstrip("0123456789")[-1:] for name in used if name}
    for device in DATA_DEVICES:
        if device[-1] not in letters:
            return device
    raise Conflict(
        f"VM {instance['InstanceId']} has no free device name in /dev/sdf-/dev/sdp",
        provider=PROVIDER,
        resource=instance["InstanceId"],
    )
