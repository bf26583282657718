"""EC2 response dicts → portable records, and portable values → EC2 request pieces.

Converters take the dicts boto3 returns and keep them as ``raw``; they never call AWS.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..._models import Image, KeyPair, Size, Snapshot, VMInfo, VMState, Volume, VolumeState

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import (
        FilterTypeDef,
        ImageTypeDef,
        InstanceTypeDef,
        InstanceTypeInfoTypeDef,
        KeyPairInfoTypeDef,
        SnapshotResponseTypeDef,
        SnapshotTypeDef,
        TagTypeDef,
        VolumeResponseTypeDef,
        VolumeTypeDef,
    )

PROVIDER = "aws"

#: Tag holding the id of the security group ``launch`` created for an instance.
SG_TAG = "unicompute:sg"

#: Tag marking the root volume ``launch`` created with an instance (not a data volume).
ROOT_TAG = "unicompute:root"

#: Tag holding, on the security group ``launch`` created, the ``ClientToken`` of the launch's
#: RunInstances call. EC2 shows that token on the instances and nobody can change it afterwards,
#: so it proves which launch a group belongs to even when the instance no longer lists its groups.
CLIENT_TOKEN_TAG = "unicompute:client-token"

#: Tags unicompute uses for its own bookkeeping, hidden from the ``tags`` of records.
INTERNAL_TAGS = frozenset({"Name", SG_TAG, ROOT_TAG, CLIENT_TOKEN_TAG})

#: EC2 instance state name → portable state.
VM_STATES: dict[str, VMState] = {
    "pending": VMState.PENDING,
    "running": VMState.RUNNING,
    "stopping": VMState.STOPPING,
    "stopped": VMState.STOPPED,
    "shutting-down": VMState.TERMINATING,
    "terminated": VMState.TERMINATED,
}

#: EC2 states of instances that still exist (everything but ``terminated``).
LIVE_STATES = ("pending", "running", "stopping", "stopped", "shutting-down")

#: Portable state → EC2 instance state name (the inverse of :data:`VM_STATES`).
EC2_STATES: dict[VMState, str] = {portable: native for native, portable in VM_STATES.items()}

VOLUME_STATES: dict[str, VolumeState] = {
    "creating": VolumeState.CREATING,
    "available": VolumeState.AVAILABLE,
    "in-use": VolumeState.IN_USE,
    "deleting": VolumeState.DELETING,
    "deleted": VolumeState.DELETING,
    "error": VolumeState.ERROR,
}


def tags_of(resource: Mapping[str, Any]) -> dict[str, str]:
    """The ``Tags`` list of an EC2 resource as a dict."""
    return {tag["Key"]: tag.get("Value", "") for tag in resource.get("Tags") or []}


def tag_list(tags: Mapping[str, str]) -> list[TagTypeDef]:
    """A dict of tags as EC2's ``[{"Key": ..., "Value": ...}]``."""
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def filter_literal(value: str) -> str:
    """``value`` as a filter value that matches only itself: EC2 reads ``*`` and ``?`` in filter
    values as wildcards, and ``\\`` escapes them (and itself)."""
    return value.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


def tag_filters(tags: Mapping[str, str]) -> list[FilterTypeDef]:
    """``Filters`` that match resources carrying all of ``tags``, values taken literally."""
    return [
        {"Name": f"tag:{key}", "Values": [filter_literal(value)]} for key, value in tags.items()
    ]


def vm_info(instance: InstanceTypeDef) -> VMInfo:
    """An EC2 instance as a :class:`VMInfo`; spot from ``InstanceLifecycle``, name from ``Name``,
    key pair from ``KeyName``."""
    tags = tags_of(instance)
    state = instance.get("State", {}).get("Name", "")
    return VMInfo(
        id=instance["InstanceId"],
        name=tags.get("Name", ""),
        state=VM_STATES.get(state, VMState.UNKNOWN),
        size=instance.get("InstanceType", ""),
        image=instance.get("ImageId", ""),
        zone=instance.get("Placement", {}).get("AvailabilityZone"),
        private_ip=instance.get("PrivateIpAddress"),
        public_ip=instance.get("PublicIpAddress"),
        tags={key: value for key, value in tags.items() if key not in INTERNAL_TAGS},
        launched_at=instance.get("LaunchTime"),
        spot=instance.get("InstanceLifecycle") == "spot",
        key_name=instance.get("KeyName") or None,
        raw=instance,
    )


def is_root_volume(item: VolumeTypeDef) -> bool:
    """Whether ``item`` is the root volume ``launch`` created with an instance."""
    return tags_of(item).get(ROOT_TAG) == "true"


def volume(item: VolumeTypeDef | VolumeResponseTypeDef) -> Volume:
    """An EBS volume (as listed, or as CreateVolume answers); ``attached_to`` is the instance of
    an attaching or attached attachment."""
    tags = tags_of(item)
    attached = [
        a["InstanceId"]
        for a in item.get("Attachments") or []
        if a.get("State") in ("attaching", "attached") and "InstanceId" in a
    ]
    return Volume(
        id=item["VolumeId"],
        name=tags.get("Name", ""),
        size_gib=item.get("Size", 0),
        zone=item.get("AvailabilityZone", ""),
        state=VOLUME_STATES.get(item.get("State", ""), VolumeState.UNKNOWN),
        attached_to=attached[0] if attached else None,
        tags={key: value for key, value in tags.items() if key not in INTERNAL_TAGS},
        raw=item,
    )


def snapshot(item: SnapshotTypeDef | SnapshotResponseTypeDef) -> Snapshot:
    """An EBS snapshot; ``state`` is EC2's own (``pending``, ``completed``, ``error`` …)."""
    tags = tags_of(item)
    return Snapshot(
        id=item["SnapshotId"],
        volume_id=item.get("VolumeId", ""),
        size_gib=item.get("VolumeSize", 0),
        state=item.get("State", "unknown"),
        tags={key: value for key, value in tags.items() if key not in INTERNAL_TAGS},
        raw=item,
    )


def key_pair(item: KeyPairInfoTypeDef) -> KeyPair:
    return KeyPair(
        name=item.get("KeyName", ""),
        fingerprint=item.get("KeyFingerprint", ""),
        id=item.get("KeyPairId", ""),
    )


def arch_of(architectures: Iterable[str]) -> str:
    """The portable arch of a type listing ``architectures``: x86_64 first, then arm64."""
    listed = list(architectures)
    for preferred in ("x86_64", "arm64"):
        if preferred in listed:
            return preferred
    return listed[0] if listed else "x86_64"


def size(item: InstanceTypeInfoTypeDef, hourly_price: float | None,
         price_source: str | None = None) -> Size:
    """An instance type: vCPUs, memory in GiB, GPU count, family (before the dot) and arch."""
    name = item["InstanceType"]
    gpus = sum(gpu.get("Count", 0) for gpu in item.get("GpuInfo", {}).get("Gpus", []))
    return Size(
        name=name,
        vcpus=item.get("VCpuInfo", {}).get("DefaultVCpus", 0),
        memory_gib=item.get("MemoryInfo", {}).get("SizeInMiB", 0) / 1024,
        gpus=gpus,
        family=name.split(".", 1)[0],
        arch=arch_of(item.get("ProcessorInfo", {}).get("SupportedArchitectures", [])),
        hourly_price=hourly_price,
        provider=PROVIDER,
        price_source=price_source if hourly_price is not None else None,
    )


def image(item: ImageTypeDef, alias: str | None = None) -> Image:
    """An AMI; ``os`` is ``windows`` for Windows platforms, else ``linux``."""
    platform = f"{item.get('Platform', '')} {item.get('PlatformDetails', '')}".lower()
    return Image(
        id=item["ImageId"],
        name=item.get("Name", ""),
        os="windows" if "windows" in platform else "linux",
        arch=item.get("Architecture", "x86_64"),
        alias=alias,
        provider=PROVIDER,
    )
