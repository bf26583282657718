"""ARM resources → portable records; ARM ids, tags and names.

Converters read the azure-mgmt models through their snake_case attributes (the same in the
msrest-based and the TypeSpec-based generations of the SDK) and keep the model as ``raw``; they
never call Azure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from ..._errors import NotFound
from ..._models import Image, KeyPair, Size, Snapshot, VMInfo, VMState, Volume, VolumeState
from ...driver import MANAGED_TAG

PROVIDER = "azure"

#: Tag holding the id of the launch that created a resource: every VM, NIC, public IP and NSG
#: one ``launch`` call makes carries the same value, which is how ``terminate`` proves a piece
#: of plumbing belongs to the VM it is terminating.
LAUNCH_TAG = "unicompute:launch"
#: Tag holding the name of the SSH key (``Microsoft.Compute/sshPublicKeys``) a VM was launched
#: with: ARM keeps only the key material in ``osProfile``.
KEY_TAG = "unicompute:key"
#: Tags unicompute uses for its own bookkeeping, hidden from the ``tags`` of records.
INTERNAL_TAGS = frozenset({LAUNCH_TAG, KEY_TAG})
#: Characters ARM refuses in tag names.
FORBIDDEN_TAG_CHARACTERS = frozenset("<>%&\\?/")

#: instanceView ``PowerState/*`` → portable state.
POWER_STATES: dict[str, VMState] = {
    "starting": VMState.PENDING,
    "running": VMState.RUNNING,
    "stopping": VMState.STOPPING,
    "deallocating": VMState.STOPPING,
    "stopped": VMState.STOPPED,
    "deallocated": VMState.STOPPED,
}
#: instanceView ``ProvisioningState/*`` when it decides the state whatever the power state.
PROVISIONING_STATES: dict[str, VMState] = {
    "creating": VMState.PENDING,
    "deleting": VMState.TERMINATING,
}

VOLUME_STATES: dict[str, VolumeState] = {
    "unattached": VolumeState.AVAILABLE,
    "attached": VolumeState.IN_USE,
    # attached to a deallocated VM
    "reserved": VolumeState.IN_USE,
    "activesas": VolumeState.AVAILABLE,
    "activesasfrozen": VolumeState.AVAILABLE,
    "readytoupload": VolumeState.CREATING,
    "activeupload": VolumeState.CREATING,
}

_ARM_ID = re.compile(
    r"/subscriptions/(?P<subscription>[^/]+)/resourceGroups/(?P<group>[^/]+)"
    r"/providers/(?P<namespace>[^/]+)/(?P<type>[^/]+)/(?P<name>[^/]+)",
    re.IGNORECASE,
)


def text(value: object) -> str:
    """An SDK enum or str as its wire value (``str()`` of a str enum gives its Python name)."""
    if isinstance(value, Enum):
        return str(value.value)
    return "" if value is None else str(value)


@dataclass(frozen=True)
class ArmId:
    """The parts of a top-level ARM resource id."""

    subscription: str
    group: str
    namespace: str
    type: str
    name: str

    def __str__(self) -> str:
        return (
            f"/subscriptions/{self.subscription}/resourceGroups/{self.group}/providers/"
            f"{self.namespace}/{self.type}/{self.name}"
        )


def arm_id(subscription: str, group: str, kind: str, name: str) -> str:
    """The id of ``kind`` (``Microsoft.Compute/virtualMachines``) ``name`` in ``group``."""
    return f"/subscriptions/{subscription}/resourceGroups/{group}/providers/{kind}/{name}"


def parse_id(value: str, kind: str, *, subscription: str, what: str) -> ArmId:
    """``value`` parsed as the ARM id of a ``kind`` resource of ``subscription``.

    An id of another shape, type or subscription names nothing this cloud can see:
    :class:`NotFound`, as for an id that does not exist.
    """
    match = _ARM_ID.fullmatch(value.rstrip("/"))
    namespace, _, type_name = kind.partition("/")
    if (
        match is None
        or match["namespace"].lower() != namespace.lower()
        or match["type"].lower() != type_name.lower()
    ):
        raise NotFound(
            f"{value!r} is not the ARM id of a {what} "
            f"(/subscriptions/<id>/resourceGroups/<group>/providers/{kind}/<name>)",
            provider=PROVIDER, resource=value,
        )
    if match["subscription"].lower() != subscription.lower():
        raise NotFound(
            f"{what} {value} is in another subscription than this cloud's ({subscription})",
            provider=PROVIDER, resource=value,
        )
    return ArmId(match["subscription"], match["group"], match["namespace"], match["type"],
                 match["name"])


def name_of(resource_id: str) -> str:
    """The last segment of an ARM id."""
    return resource_id.rstrip("/").rsplit("/", 1)[-1]


def same_id(a: str | None, b: str | None) -> bool:
    """ARM ids compare case-insensitively."""
    return a is not None and b is not None and a.lower() == b.lower()


# -- tags ---------------------------------------------------------------------------------------

def managed_tags(tags: Mapping[str, str], **internal: str) -> dict[str, str]:
    """``tags`` plus the managed marker and the internal tags given (``launch=``, ``key=``)."""
    result = dict(tags)
    for key, value in internal.items():
        result[f"unicompute:{key}"] = value
    result[MANAGED_TAG] = "true"
    return result


def tag_problem(tags: Mapping[str, str]) -> str | None:
    """Why ARM would refuse ``tags`` beyond the portable limits, or ``None``: a name with one of
    ``<>%&\\?/``, or two names differing only in case (ARM tag names are case-insensitive)."""
    seen: set[str] = set()
    for key in tags:
        bad = sorted(FORBIDDEN_TAG_CHARACTERS.intersection(key))
        if bad:
            return f"tag key {key!r} contains {''.join(bad)!r}, which Azure does not allow"
        if key.lower() in seen:
            return f"tag key {key!r} differs from another only in case; Azure ignores case"
        seen.add(key.lower())
    return None


def tags_of(resource: Any) -> dict[str, str]:
    return dict(getattr(resource, "tags", None) or {})


def user_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """``tags`` without unicompute's internal bookkeeping."""
    return {key: value for key, value in tags.items() if key not in INTERNAL_TAGS}


def has_tags(resource_tags: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    """Whether ``resource_tags`` carries every one of ``wanted`` (names case-insensitive as in
    ARM, values exact)."""
    folded = {key.lower(): value for key, value in resource_tags.items()}
    return all(folded.get(key.lower()) == value for key, value in wanted.items())


def is_managed(resource: Any) -> bool:
    return tags_of(resource).get(MANAGED_TAG) == "true"


# -- VMs ----------------------------------------------------------------------------------------

def vm_state(statuses: Iterable[Any] | None) -> VMState:
    """The portable state from instanceView ``statuses`` (``PowerState/*`` and
    ``ProvisioningState/*`` codes). ``PENDING`` while creating, ``TERMINATING`` while deleting,
    else from the power state; ``UNKNOWN`` when neither says."""
    power = provisioning = ""
    for status in statuses or []:
        code = text(getattr(status, "code", "")).lower()
        kind, _, value = code.partition("/")
        if kind == "powerstate":
            power = value
        elif kind == "provisioningstate":
            provisioning = value
    if provisioning in PROVISIONING_STATES:
        return PROVISIONING_STATES[provisioning]
    if power in POWER_STATES:
        return POWER_STATES[power]
    return VMState.UNKNOWN


@dataclass(frozen=True)
class Addresses:
    """The IPs of a VM's primary NIC."""

    private_ip: str | None = None
    public_ip: str | None = None


def image_ref(reference: Any) -> str:
    """An ``imageReference`` as unicompute's image id: ``publisher:offer:sku:version`` (the
    version ARM resolved when the request said ``latest``), or the id of a custom image."""
    if reference is None:
        return ""
    if getattr(reference, "id", None):
        return str(reference.id)
    version = getattr(reference, "exact_version", None) or getattr(reference, "version", "")
    parts = [getattr(reference, "publisher", ""), getattr(reference, "offer", ""),
             getattr(reference, "sku", ""), version]
    return ":".join(text(p) for p in parts)


def vm_info(vm: Any, statuses: Iterable[Any] | None, addresses: Addresses) -> VMInfo:
    """A VM model as a :class:`VMInfo`; ``statuses`` from its instance view, IPs from its NIC.
    The id is the VM's ARM id."""
    tags = tags_of(vm)
    zones = list(getattr(vm, "zones", None) or [])
    storage = getattr(vm, "storage_profile", None)
    hardware = getattr(vm, "hardware_profile", None)
    launched = getattr(vm, "time_created", None)
    return VMInfo(
        id=str(vm.id),
        name=str(vm.name),
        state=vm_state(statuses),
        size=text(getattr(hardware, "vm_size", "")),
        image=image_ref(getattr(storage, "image_reference", None)),
        zone=zones[0] if zones else None,
        private_ip=addresses.private_ip,
        public_ip=addresses.public_ip,
        tags=user_tags(tags),
        launched_at=parse_time(launched),
        spot=text(getattr(vm, "priority", "")).lower() == "spot",
        key_name=tags.get(KEY_TAG) or None,
        raw=vm,
    )


def parse_time(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value)
    return None


# -- catalog -------------------------------------------------------------------------------------

_SIZE_NAME = re.compile(
    r"(?:Standard|Basic)_(?P<series>[A-Z]+)(?P<cores>\d+)(?:-\d+)?(?P<features>[a-z]*)"
    r"(?P<rest>(?:_.*)?)"
)


@dataclass(frozen=True)
class SizeName:
    """What Azure's size naming convention says: ``Standard_D2ps_v5`` is family ``Dps_v5``
    (series ``D``, additive features ``ps``, version ``_v5``), arch arm64 (``p``)."""

    family: str
    arch: str


def parse_size_name(name: str) -> SizeName:
    """Family and arch of a size name; a name off the convention is its own family, x86_64.

    The lower-case letters after the vCPU count are the additive features; ``p`` means an ARM
    (Ampere Altra / Cobalt) processor.
    """
    match = _SIZE_NAME.fullmatch(name)
    if match is None:
        return SizeName(family=name, arch="x86_64")
    features = match["features"]
    return SizeName(
        family=f"{match['series']}{features}{match['rest']}",
        arch="arm64" if "p" in features else "x86_64",
    )


def size(item: Any, hourly_price: float | None, gpus: int,
         price_source: str | None = None) -> Size:
    """A ``VirtualMachineSize`` (``locations/{loc}/vmSizes``); ``price_source`` is kept only
    when there is a price."""
    name = str(item.name)
    parsed = parse_size_name(name)
    return Size(
        name=name,
        vcpus=int(item.number_of_cores or 0),
        memory_gib=(item.memory_in_mb or 0) / 1024,
        gpus=gpus,
        family=parsed.family,
        arch=parsed.arch,
        hourly_price=hourly_price,
        provider=PROVIDER,
        price_source=price_source if hourly_price is not None else None,
    )


def portable_arch(architecture: object) -> str:
    """ARM's image ``architecture`` (``x64``, ``Arm64``) as a portable arch."""
    return "arm64" if text(architecture).lower() == "arm64" else "x86_64"


def image(urn: str, *, os: str, arch: str, alias: str | None = None) -> Image:
    return Image(id=urn, name=urn, os=os, arch=arch, alias=alias, provider=PROVIDER)


# -- disks, snapshots, keys ------------------------------------------------------------------------

def volume(disk: Any) -> Volume:
    """A managed disk; ``attached_to`` is the VM's ARM id (``managedBy``)."""
    provisioning = text(getattr(disk, "provisioning_state", "")).lower()
    if provisioning in ("creating", "updating") and not getattr(disk, "disk_state", None):
        state = VolumeState.CREATING
    elif provisioning == "deleting":
        state = VolumeState.DELETING
    elif provisioning == "failed":
        state = VolumeState.ERROR
    else:
        state = VOLUME_STATES.get(text(getattr(disk, "disk_state", "")).lower(),
                                  VolumeState.UNKNOWN)
    zones = list(getattr(disk, "zones", None) or [])
    tags = tags_of(disk)
    return Volume(
        id=str(disk.id),
        name=str(disk.name),
        size_gib=int(getattr(disk, "disk_size_gb", 0) or 0),
        zone=zones[0] if zones else "",
        state=state,
        attached_to=getattr(disk, "managed_by", None) or None,
        tags=user_tags(tags),
        raw=disk,
    )


def is_os_disk(disk: Any) -> bool:
    """Whether ``disk`` is a VM's OS disk (it has an ``osType``), not a data volume."""
    return bool(getattr(disk, "os_type", None))


def snapshot(item: Any) -> Snapshot:
    """A snapshot; ``state`` is ARM's ``provisioningState`` (``Succeeded``, ``Creating``...)."""
    creation = getattr(item, "creation_data", None)
    return Snapshot(
        id=str(item.id),
        volume_id=str(getattr(creation, "source_resource_id", "") or ""),
        size_gib=int(getattr(item, "disk_size_gb", 0) or 0),
        state=text(getattr(item, "provisioning_state", "")) or "unknown",
        tags=user_tags(tags_of(item)),
        raw=item,
    )


def key_pair(item: Any, fingerprint: str) -> KeyPair:
    return KeyPair(name=str(item.name), fingerprint=fingerprint, id=str(item.id))
