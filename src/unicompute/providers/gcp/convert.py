"""Compute Engine messages → portable records, and portable tags ↔ GCE labels.

Converters take the ``compute_v1`` messages the SDK returns and keep them as ``raw``; they never
call GCE.

**Tags as labels.** GCE labels allow keys of lowercase ``[a-z][a-z0-9_-]*`` and values of
``[a-z0-9_-]*`` (both at most 63 characters). A portable tag key keeps its spelling, except that
each ``:`` becomes ``--`` (``unicompute:managed`` → ``unicompute--managed``); reading labels back
turns every ``--`` into ``:`` again. A tag is accepted only when that round trip gives it back
unchanged, so keys containing ``--`` (or ``-`` next to ``:``), upper-case letters or other
characters, and values that are not lower-case ``[a-z0-9_-]``, are rejected with
``InvalidRequest`` naming the tag, before any API call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from ..._errors import InvalidRequest
from ..._models import Image, Size, Snapshot, VMInfo, VMState, Volume, VolumeState
from ...driver import MANAGED_TAG

if TYPE_CHECKING:
    from google.cloud import compute_v1

PROVIDER = "gcp"

#: Label marking the boot disk ``launch`` created with a VM (not a data volume).
ROOT_TAG = "unicompute:root"
#: Label holding, on each VM of a launch with ``open_ports``, the name of the launch's firewall
#: rule (which is also the VM's network tag the rule targets).
FIREWALL_TAG = "unicompute:firewall"
#: Metadata key holding the image a VM was launched from (GCE keeps it only on the boot disk).
IMAGE_METADATA_KEY = "unicompute-image"
#: Metadata key holding the name of the key pair a VM was launched with.
KEY_NAME_METADATA_KEY = "unicompute-key-name"
#: Metadata key of the SSH keys the guest agent installs (``user:key line`` per line).
SSH_KEYS_METADATA_KEY = "ssh-keys"
#: Metadata key of the startup script on Linux images, and on Windows images.
STARTUP_SCRIPT_KEY = "startup-script"
WINDOWS_STARTUP_SCRIPT_KEY = "windows-startup-script-ps1"

#: Tags unicompute uses for its own bookkeeping, hidden from the ``tags`` of records.
INTERNAL_TAGS = frozenset({ROOT_TAG, FIREWALL_TAG})

_LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")

#: GCE instance status → portable state. GCE says TERMINATED for a stopped VM; a deleted VM is
#: simply gone (NotFound).
VM_STATES: dict[str, VMState] = {
    "PROVISIONING": VMState.PENDING,
    "STAGING": VMState.PENDING,
    "REPAIRING": VMState.PENDING,
    "RUNNING": VMState.RUNNING,
    "STOPPING": VMState.STOPPING,
    "SUSPENDING": VMState.STOPPING,
    "SUSPENDED": VMState.STOPPED,
    "TERMINATED": VMState.STOPPED,
}

VOLUME_STATES: dict[str, VolumeState] = {
    "CREATING": VolumeState.CREATING,
    "RESTORING": VolumeState.CREATING,
    "READY": VolumeState.AVAILABLE,
    "DELETING": VolumeState.DELETING,
    "FAILED": VolumeState.ERROR,
    "UNAVAILABLE": VolumeState.ERROR,
}

_ARCHES = {"X86_64": "x86_64", "ARM64": "arm64"}
#: Machine families built on Arm, for machine types that do not report ``architecture``.
ARM_FAMILIES = frozenset({"t2a", "c4a", "n4a"})


# -- labels ------------------------------------------------------------------------------------
def label_key(tag_key: str) -> str:
    """The label key of portable tag key ``tag_key`` (``:`` → ``--``), unchecked."""
    return tag_key.replace(":", "--")


def tag_key(label: str) -> str:
    """The portable tag key of label key ``label`` (``--`` → ``:``)."""
    return label.replace("--", ":")


def label_problem(key: str, value: str) -> str | None:
    """Why tag ``key=value`` cannot be a GCE label, or ``None`` if it can."""
    encoded = label_key(key)
    if not _LABEL_KEY.fullmatch(encoded) or tag_key(encoded) != key:
        return (
            f"tag key {key!r} cannot be a GCE label key: use lower-case letters, digits, '_', "
            "'-' and ':', start with a letter, at most 63 characters as a label (each ':' "
            "becomes '--'), and no '--' or '-' next to ':'"
        )
    if not _LABEL_VALUE.fullmatch(value):
        return (
            f"value of tag {key!r} cannot be a GCE label value: use at most 63 lower-case "
            "letters, digits, '_' and '-'"
        )
    return None


def check_labels(tags: Mapping[str, str], field: str = "tags") -> None:
    """``InvalidRequest`` naming ``field`` and the tag unless every tag can be a label."""
    for key, value in tags.items():
        problem = label_problem(key, value)
        if problem is not None:
            raise InvalidRequest(problem, field=field)


def labels(tags: Mapping[str, str]) -> dict[str, str]:
    """GCE labels for ``tags`` (already checked with :func:`check_labels`)."""
    return {label_key(key): value for key, value in tags.items()}


def managed_labels(tags: Mapping[str, str]) -> dict[str, str]:
    """Labels for ``tags`` plus ``unicompute:managed=true``."""
    return labels({**tags, MANAGED_TAG: "true"})


def tags_of(found: Mapping[str, str]) -> dict[str, str]:
    """The portable tags of a resource's labels, without unicompute's internal ones."""
    result = {tag_key(key): value for key, value in found.items()}
    return {key: value for key, value in result.items() if key not in INTERNAL_TAGS}


def label_filter(tags: Mapping[str, str]) -> str:
    """A GCE list ``filter`` matching resources that carry all ``tags`` (checked labels, so
    the values need no escaping); empty for no tags."""
    return " AND ".join(
        f'labels.{label_key(key)} = "{value}"' for key, value in sorted(tags.items())
    )


def status_filter(states: frozenset[VMState]) -> str:
    """A GCE list ``filter`` matching instances in one of the portable ``states`` (their GCE
    statuses joined by ``OR``, in parentheses); empty when no GCE status maps to them."""
    statuses = sorted(status for status, state in VM_STATES.items() if state in states)
    return "(" + " OR ".join(f"status = {status}" for status in statuses) + ")" \
        if statuses else ""


# -- paths -------------------------------------------------------------------------------------
def last_segment(url: str) -> str:
    """The last path segment of a GCE resource URL (``.../zones/us-central1-a`` → the zone)."""
    return url.rstrip("/").rsplit("/", 1)[-1]


def _timestamp(value: str) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# -- records -----------------------------------------------------------------------------------
def vm_id(zone: str, name: str) -> str:
    """The portable id of instance ``name`` in ``zone``: ``<zone>/<name>``."""
    return f"{zone}/{name}"


def metadata_value(instance: compute_v1.Instance, key: str) -> str | None:
    """The instance metadata value of ``key``, if set."""
    for item in instance.metadata.items:
        if item.key == key:
            return item.value
    return None


def is_spot(instance: compute_v1.Instance) -> bool:
    scheduling = instance.scheduling
    return scheduling.provisioning_model == "SPOT" or bool(scheduling.preemptible)


def vm_info(instance: compute_v1.Instance) -> VMInfo:
    """A GCE instance as a :class:`VMInfo`; its id is ``<zone>/<name>``."""
    zone = last_segment(instance.zone)
    private_ip = public_ip = None
    if instance.network_interfaces:
        nic = instance.network_interfaces[0]
        private_ip = nic.network_i_p or None
        nats = [a.nat_i_p for a in nic.access_configs if a.nat_i_p]
        public_ip = nats[0] if nats else None
    return VMInfo(
        id=vm_id(zone, instance.name),
        name=instance.name,
        state=VM_STATES.get(instance.status, VMState.UNKNOWN),
        size=last_segment(instance.machine_type),
        image=metadata_value(instance, IMAGE_METADATA_KEY) or "",
        zone=zone or None,
        private_ip=private_ip,
        public_ip=public_ip,
        tags=tags_of(instance.labels),
        launched_at=_timestamp(instance.last_start_timestamp or instance.creation_timestamp),
        spot=is_spot(instance),
        key_name=metadata_value(instance, KEY_NAME_METADATA_KEY) or None,
        raw=instance,
    )


def arch_of_machine_type(item: compute_v1.MachineType) -> str:
    if item.architecture in _ARCHES:
        return _ARCHES[item.architecture]
    return "arm64" if item.name.split("-", 1)[0] in ARM_FAMILIES else "x86_64"


def size(item: compute_v1.MachineType, hourly_price: float | None,
         price_source: str | None = None) -> Size:
    """A machine type: vCPUs, memory in GiB, accelerator count, family (before the first -)."""
    return Size(
        name=item.name,
        vcpus=item.guest_cpus,
        memory_gib=item.memory_mb / 1024,
        gpus=sum(a.guest_accelerator_count for a in item.accelerators),
        family=item.name.split("-", 1)[0],
        arch=arch_of_machine_type(item),
        hourly_price=hourly_price,
        provider=PROVIDER,
        price_source=price_source if hourly_price is not None else None,
    )


def image_ref(item: compute_v1.Image) -> str:
    """The portable id of an image: its path ``projects/<p>/global/images/<name>``."""
    link = item.self_link
    marker = "projects/"
    if marker in link:
        return link[link.index(marker):]
    return item.name


def image(item: compute_v1.Image, alias: str | None = None) -> Image:
    """A GCE image; ``os`` is ``windows`` for images of Windows families/projects."""
    arch = _ARCHES.get(item.architecture)
    if arch is None:
        arch = "arm64" if "arm64" in f"{item.family} {item.name}" else "x86_64"
    ref = image_ref(item)
    windows = "windows" in f"{ref} {item.family}".lower()
    return Image(
        id=ref,
        name=item.name,
        os="windows" if windows else "linux",
        arch=arch,
        alias=alias,
        provider=PROVIDER,
    )


def volume_id(zone: str, name: str) -> str:
    """The portable id of disk ``name`` in ``zone``: ``<zone>/<name>``."""
    return f"{zone}/{name}"


def is_root_disk(item: compute_v1.Disk) -> bool:
    """Whether ``item`` is a boot disk ``launch`` created with an instance."""
    return item.labels.get(label_key(ROOT_TAG)) == "true"


def attached_vm(users: Iterable[str]) -> str | None:
    """The portable id of the first instance in a disk's ``users`` URLs."""
    for user in users:
        parts = user.rstrip("/").split("/")
        if len(parts) >= 4 and parts[-2] == "instances" and parts[-4] == "zones":
            return vm_id(parts[-3], parts[-1])
    return None


def volume(item: compute_v1.Disk) -> Volume:
    """A persistent disk; IN_USE while an instance uses it."""
    zone = last_segment(item.zone)
    state = VOLUME_STATES.get(item.status, VolumeState.UNKNOWN)
    attached = attached_vm(item.users)
    if state is VolumeState.AVAILABLE and attached is not None:
        state = VolumeState.IN_USE
    return Volume(
        id=volume_id(zone, item.name),
        name=item.name,
        size_gib=int(item.size_gb),
        zone=zone,
        state=state,
        attached_to=attached,
        tags=tags_of(item.labels),
        raw=item,
    )


def snapshot(item: compute_v1.Snapshot) -> Snapshot:
    """A disk snapshot; its id is its (project-wide) name; ``state`` is GCE's status, lower-case
    (``creating``, ``uploading``, ``ready``, ``failed``, ``deleting``)."""
    source = item.source_disk
    volume = ""
    parts = source.rstrip("/").split("/")
    if len(parts) >= 4 and parts[-2] == "disks" and parts[-4] == "zones":
        volume = volume_id(parts[-3], parts[-1])
    return Snapshot(
        id=item.name,
        volume_id=volume,
        size_gib=int(item.disk_size_gb),
        state=(item.status or "unknown").lower(),
        tags=tags_of(item.labels),
        raw=item,
    )
