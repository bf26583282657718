"""Portable value types: states, sizes, images, specs and the records drivers return.

Everything here is a frozen dataclass or an enum and carries no SDK types, except the ``raw`` field
of driver records, which holds the native object for the escape hatch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from ._errors import InvalidRequest

T = TypeVar("T")

#: Image aliases every provider resolves to its own current image.
IMAGE_ALIASES: tuple[str, ...] = (
    "ubuntu-22.04",
    "ubuntu-24.04",
    "debian-12",
    "amazon-linux-2023",
    "windows-2022",
)


class VMState(StrEnum):
    """Portable lifecycle states, mapped from each cloud's own."""

    PENDING = "pending"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    TERMINATING = "terminating"
    TERMINATED = "terminated"
    UNKNOWN = "unknown"


@dataclass(frozen=True, kw_only=True)
class Size:
    """A machine size. ``hourly_price`` is the on-demand USD price per hour, ``None`` if unknown;
    ``price_source`` says where that price comes from and how current it is (a dated snapshot,
    or an estimate), ``None`` when there is no price."""

    name: str
    vcpus: int
    memory_gib: float
    gpus: int = 0
    family: str = ""
    arch: str = "x86_64"
    hourly_price: float | None = None
    provider: str = ""
    price_source: str | None = None

    def meets(
        self,
        *,
        vcpus: int | None = None,
        memory_gib: float | None = None,
        gpus: int | None = None,
        family: str | None = None,
        arch: str | None = None,
    ) -> bool:
        """Whether this size has at least the given resources (and the family/arch, if given)."""
        return (
            (vcpus is None or self.vcpus >= vcpus)
            and (memory_gib is None or self.memory_gib >= memory_gib)
            and (gpus is None or self.gpus >= gpus)
            and (family is None or self.family == family)
            and (arch is None or self.arch == arch)
        )


@dataclass(frozen=True, kw_only=True)
class Image:
    """A bootable image. ``alias`` is the portable alias it was resolved from, if any."""

    id: str
    name: str
    os: str = "linux"
    arch: str = "x86_64"
    alias: str | None = None
    provider: str = ""


@dataclass(frozen=True, kw_only=True)
class Region:
    name: str
    provider: str = ""


@dataclass(frozen=True, kw_only=True)
class Zone:
    name: str
    region: str
    provider: str = ""


@dataclass(frozen=True, kw_only=True)
class KeyPair:
    name: str
    fingerprint: str = ""
    id: str = ""


@dataclass(frozen=True, kw_only=True)
class InboundRule:
    """One allowed inbound flow: ``protocol`` ports ``port_from``..``port_to`` from ``source``."""

    protocol: str
    port_from: int
    port_to: int
    source: str


class VolumeState(StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"
    IN_USE = "in-use"
    DELETING = "deleting"
    ERROR = "error"
    UNKNOWN = "unknown"


@dataclass(frozen=True, kw_only=True)
class Volume:
    id: str
    name: str
    size_gib: int
    zone: str
    state: VolumeState
    attached_to: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    raw: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    id: str
    volume_id: str
    size_gib: int
    state: str
    tags: Mapping[str, str] = field(default_factory=dict)
    raw: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, kw_only=True)
class VMInfo:
    """What a driver reports about one VM; the portable :class:`~unicompute.VM` wraps it."""

    id: str
    name: str
    state: VMState
    size: str
    image: str
    zone: str | None
    private_ip: str | None
    public_ip: str | None
    tags: Mapping[str, str]
    launched_at: datetime | None
    spot: bool
    key_name: str | None = None
    raw: Any = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing; ``next_token`` is ``None`` on the last page."""

    items: list[T]
    next_token: str | None = None


def freeze_tags(tags: object, field_name: str = "tags") -> Mapping[str, str]:
    """Check ``tags`` is a str-to-str mapping and return a read-only copy."""
    if not isinstance(tags, Mapping):
        raise InvalidRequest("must be a mapping of str to str", field=field_name)
    for key, value in tags.items():
        if not isinstance(key, str) or not key:
            raise InvalidRequest(f"tag key {key!r} must be a non-empty str", field=field_name)
        if not isinstance(value, str):
            raise InvalidRequest(f"value of tag {key!r} must be a str", field=field_name)
    return MappingProxyType(dict(tags))


def _ports(ports: Iterable[object]) -> tuple[int, ...]:
    if isinstance(ports, str | bytes) or not isinstance(ports, Iterable):
        raise InvalidRequest("must be a sequence of port numbers", field="open_ports")
    result: list[int] = []
    for port in ports:
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            raise InvalidRequest(f"{port!r} is not a TCP port (1-65535)", field="open_ports")
        if port not in result:
            result.append(port)
    return tuple(result)


@dataclass(frozen=True, kw_only=True)
class VMSpec:
    """What to launch. Checked for shape on construction; the cloud's own rules are checked at
    launch, before any API call.

    ``size`` is a :class:`Size` or a provider size name; ``image`` a portable alias from
    :data:`IMAGE_ALIASES` or a provider image id. ``options`` is the provider's typed options
    object (``unicompute.aws.Options``), if any.
    """

    name: str
    size: Size | str
    image: Image | str
    user_data: str | bytes | None = field(default=None, repr=False)  # often holds secrets
    tags: Mapping[str, str] = field(default_factory=dict)
    open_ports: Sequence[int] = ()
    key_name: str | None = None
    disk_gib: int | None = None
    spot: bool = False
    zone: str | None = None
    options: Any = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise InvalidRequest("must be a non-empty str", field="name")
        if not isinstance(self.size, Size | str) or self.size == "":
            raise InvalidRequest("must be a Size or a size name", field="size")
        if not isinstance(self.image, Image | str) or self.image == "":
            raise InvalidRequest("must be an Image or an image alias or id", field="image")
        if self.user_data is not None and not isinstance(self.user_data, str | bytes):
            raise InvalidRequest("must be str or bytes", field="user_data")
        object.__setattr__(self, "tags", freeze_tags(self.tags, "tags"))
        object.__setattr__(self, "open_ports", _ports(self.open_ports))
        if self.key_name is not None and (not isinstance(self.key_name, str) or not self.key_name):
            raise InvalidRequest("must be a non-empty str", field="key_name")
        disk = self.disk_gib
        if disk is not None and (isinstance(disk, bool) or not isinstance(disk, int) or disk < 1):
            raise InvalidRequest("must be a positive int (GiB)", field="disk_gib")
        if not isinstance(self.spot, bool):
            raise InvalidRequest("must be a bool", field="spot")
        if self.zone is not None and (not isinstance(self.zone, str) or not self.zone):
            raise InvalidRequest("must be a non-empty str", field="zone")

    @property
    def user_data_bytes(self) -> bytes | None:
        """User data as raw bytes (UTF-8 for text), the form cloud size limits apply to."""
        if isinstance(self.user_data, str):
            return self.user_data.encode()
        return self.user_data


@dataclass(frozen=True, kw_only=True)
class LaunchPlan:
    """A :class:`VMSpec` after the portable layer resolved and checked it; what drivers receive."""

    spec: VMSpec
    size: Size
    image: Image
    count: int

    @property
    def names(self) -> tuple[str, ...]:
        """The VM names: ``spec.name`` for one VM, ``<name>-1`` ... ``<name>-<count>`` for more."""
        if self.count == 1:
            return (self.spec.name,)
        return tuple(f"{self.spec.name}-{i}" for i in range(1, self.count + 1))

