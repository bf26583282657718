"""Libcloud objects → portable records. Converters never call the cloud; ``raw`` keeps the
Libcloud object (``Node``, ``StorageVolume``, ...) for the escape hatch.

Libcloud's own types are read by attribute only, so this module does not import Libcloud.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

from ..._models import Image, KeyPair, Size, Snapshot, VMInfo, VMState, Volume, VolumeState

#: Libcloud ``NodeState`` values → portable states. A rebooting, starting or reconfiguring node
#: is on its way to running (PENDING); a suspended or paused one keeps its disks like a stopped
#: one. ``error`` and values Libcloud adds later are UNKNOWN.
NODE_STATES: dict[str, VMState] = {
    "running": VMState.RUNNING,
    "starting": VMState.PENDING,
    "rebooting": VMState.PENDING,
    "pending": VMState.PENDING,
    "reconfiguring": VMState.PENDING,
    "updating": VMState.PENDING,
    "migrating": VMState.RUNNING,
    "stopping": VMState.STOPPING,
    "stopped": VMState.STOPPED,
    "suspended": VMState.STOPPED,
    "paused": VMState.STOPPED,
    "terminated": VMState.TERMINATED,
    "error": VMState.UNKNOWN,
    "unknown": VMState.UNKNOWN,
}

#: Libcloud ``StorageVolumeState`` values → portable volume states.
VOLUME_STATES: dict[str, VolumeState] = {
    "available": VolumeState.AVAILABLE,
    "inuse": VolumeState.IN_USE,
    "attaching": VolumeState.IN_USE,
    "creating": VolumeState.CREATING,
    "deleting": VolumeState.DELETING,
    "deleted": VolumeState.DELETING,
    "error": VolumeState.ERROR,
}

#: Keys of ``NodeSize.extra`` that hold the vCPU count, GPU count or architecture, by driver
#: family (EC2: ``vcpu``/``gpu``; DigitalOcean, Linode, OpenStack: ``vcpus``...).
_VCPU_KEYS = ("vcpus", "vcpu", "cpus", "cpu", "cores")
_GPU_KEYS = ("gpus", "gpu")
_ARCH_KEYS = ("architecture", "arch", "cpu_architecture")
_ARCH_NAMES = {"amd64": "x86_64", "x86_64": "x86_64", "x64": "x86_64", "arm64": "arm64",
               "aarch64": "arm64"}


def state_of(value: object) -> VMState:
    """The portable state for a Libcloud ``NodeState`` (or its string value)."""
    return NODE_STATES.get(str(getattr(value, "value", value)).lower(), VMState.UNKNOWN)


def _count(extra: Mapping[str, Any], keys: tuple[str, ...]) -> int:
    for key in keys:
        value: Any = extra.get(key)
        if isinstance(value, bool) or value is None:
            continue
        try:
            return int(float(value))
        except (TypeError, ValueError):
            continue
    return 0


def arch_of(extra: Mapping[str, Any], default: str = "x86_64") -> str:
    """The portable architecture named in a Libcloud ``extra`` dict; ``default`` if none."""
    processor = str(extra.get("physicalProcessor", ""))
    if "Graviton" in processor:  # EC2's catalog names the processor, not the architecture
        return "arm64"
    for key in _ARCH_KEYS:
        value = extra.get(key)
        if isinstance(value, str) and value.lower() in _ARCH_NAMES:
            return _ARCH_NAMES[value.lower()]
    return default


def size(raw: Any, *, provider: str, family: str = "") -> Size:
    """A ``NodeSize`` as a :class:`Size` named by its id (what ``create_node`` takes).

    ``hourly_price`` is Libcloud's ``NodeSize.price``, an estimate (see the package docs), and
    ``None`` when it is missing or not above 0: Libcloud's bundled pricing file holds 0.0 for the
    sizes it has no price for (e.g. EC2's t3.medium in us-east-1), which must not make them the
    cheapest. vCPUs and GPUs are read from ``extra`` and are 0 when the driver does not report
    them.
    """
    extra: Mapping[str, Any] = raw.extra or {}
    price = raw.price
    try:
        hourly = float(price) if price is not None and price != "" else None
    except (TypeError, ValueError):
        hourly = None
    if hourly is not None and not hourly > 0:
        hourly = None
    return Size(
        name=str(raw.id),
        vcpus=_count(extra, _VCPU_KEYS),
        memory_gib=round(float(raw.ram or 0) / 1024, 3),
        gpus=_count(extra, _GPU_KEYS),
        family=family,
        arch=arch_of(extra),
        hourly_price=hourly,
        provider=provider,
        price_source=None if hourly is None else pricing_source(),
    )


@cache
def pricing_source() -> str:
    """How :class:`Size` describes Libcloud's prices: ``NodeSize.price``, an estimate (from the
    pricing file bundled with Libcloud, whose date is given, or from the driver's own API)."""
    from libcloud.pricing import get_pricing_file_path

    try:
        with open(get_pricing_file_path(), encoding="utf-8") as handle:
            updated = json.load(handle).get("updated")
        day = datetime.fromtimestamp(float(updated), UTC).date().isoformat()
    except (OSError, ValueError, TypeError):
        return "Libcloud estimate (NodeSize.price)"
    return f"Libcloud estimate (NodeSize.price; bundled pricing data of {day})"


def image(raw: Any, *, provider: str, alias: str | None = None) -> Image:
    extra: Mapping[str, Any] = raw.extra or {}
    platform = str(extra.get("platform") or "").lower()
    return Image(
        id=str(raw.id),
        name=str(raw.name or raw.id),
        os="windows" if platform == "windows" else "linux",
        arch=arch_of(extra),
        alias=alias,
        provider=provider,
    )


def tags_of(extra: Mapping[str, Any] | None) -> dict[str, str]:
    """The tags (EC2) or metadata (OpenStack, ...) a Libcloud object's ``extra`` carries."""
    extra = extra or {}
    for key in ("tags", "metadata"):
        value = extra.get(key)
        if isinstance(value, Mapping):
            return {str(k): str(v) for k, v in value.items()}
    return {}


def vm(
    raw: Any,
    *,
    state: VMState | None = None,
    size_name: str | None = None,
    image_id: str | None = None,
    zone: str | None = None,
    hidden_tags: tuple[str, ...] = (),
) -> VMInfo:
    """A ``Node`` as :class:`VMInfo`. The driver-specific parts (EC2 keeps the instance type and
    zone in ``extra``) are passed in; otherwise they come from ``node.size``/``node.image``.
    ``hidden_tags`` are tag keys that are bookkeeping, not user tags (EC2's ``Name``)."""
    extra: Mapping[str, Any] = raw.extra or {}
    tags = {k: v for k, v in tags_of(extra).items() if k not in hidden_tags}
    created = raw.created_at if isinstance(raw.created_at, datetime) else None
    lifecycle = extra.get("instance_lifecycle")
    key_name = extra.get("key_name") or extra.get("key") or extra.get("ssh_keys")
    node_size = getattr(raw, "size", None)
    node_image = getattr(raw, "image", None)
    return VMInfo(
        id=str(raw.id),
        name=str(raw.name),
        state=state if state is not None else state_of(raw.state),
        size=size_name or (str(node_size.id) if node_size is not None else ""),
        image=image_id or (str(node_image.id) if node_image is not None else ""),
        zone=zone,
        private_ip=next(iter(raw.private_ips or []), None),
        public_ip=next(iter(raw.public_ips or []), None),
        tags=tags,
        launched_at=created,
        spot=lifecycle == "spot",
        key_name=key_name if isinstance(key_name, str) and key_name else None,
        raw=raw,
    )


def volume(raw: Any, *, zone: str, attached_to: str | None) -> Volume:
    extra: Mapping[str, Any] = raw.extra or {}
    state_value = str(getattr(raw.state, "value", raw.state) or "").lower()
    return Volume(
        id=str(raw.id),
        name=str(raw.name or raw.id),
        size_gib=int(raw.size or 0),
        zone=zone,
        state=VOLUME_STATES.get(state_value, VolumeState.UNKNOWN),
        attached_to=attached_to,
        tags={k: v for k, v in tags_of(extra).items() if k != "Name"},
        raw=raw,
    )


def snapshot(raw: Any, *, volume_id: str) -> Snapshot:
    extra: Mapping[str, Any] = raw.extra or {}
    return Snapshot(
        id=str(raw.id),
        volume_id=volume_id,
        size_gib=int(raw.size or 0),
        state=str(getattr(raw.state, "value", raw.state) or "unknown"),
        tags={k: v for k, v in tags_of(extra).items() if k != "Name"},
        raw=raw,
    )


def key_pair(raw: Any) -> KeyPair:
    return KeyPair(name=str(raw.name), fingerprint=str(raw.fingerprint or ""))
