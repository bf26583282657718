"""The contract between the portable API and a provider.

A provider is a module with ``open_provider(region, config) -> ProviderDrivers``. Its drivers only
do what differs per cloud; the portable types (:class:`~unicompute.Cloud`, :class:`~unicompute.VMs`
...) validate input, page, wait, and wrap errors. Drivers raise their SDK's native exceptions and
the portable layer passes them to :attr:`ProviderDrivers.translate_error`, so each error is wrapped
exactly once. Drivers may raise :class:`~unicompute.UnicomputeError` subclasses themselves for
conditions they detect (they are passed through untouched).

Contracts common to every method:

* a VM, volume, snapshot or key that does not exist raises an error whose code is ``NOT_FOUND``;
  a terminated VM counts as not existing;
* a method that creates several resources and fails part-way deletes what it created before it
  re-raises;
* everything a driver creates carries the tags it was given plus ``unicompute:managed=true``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, runtime_checkable

from ._errors import UnicomputeError
from ._function_models import (
    FunctionInfo,
    FunctionLimits,
    FunctionPlan,
    InvocationInfo,
    InvokeMode,
    LogLine,
)
from ._models import (
    Image,
    InboundRule,
    KeyPair,
    LaunchPlan,
    Page,
    Region,
    Size,
    Snapshot,
    VMInfo,
    VMState,
    Volume,
    Zone,
)

#: Tag put on every resource unicompute creates.
MANAGED_TAG = "unicompute:managed"


class Capability(StrEnum):
    """Optional features; a Cloud checks them and raises ``Unsupported`` for what is missing."""

    KEYS = "keys"
    VOLUMES = "volumes"
    SNAPSHOTS = "snapshots"
    FIREWALLS = "firewalls"
    SPOT = "spot"
    REBOOT = "reboot"
    USER_DATA = "user_data"
    TAGS = "tags"
    FUNCTIONS = "functions"
    #: ``VM.console_output()``: the compute driver is also a :class:`ConsoleDriver`.
    CONSOLE_OUTPUT = "console_output"


@dataclass(frozen=True, kw_only=True)
class NamingRules:
    """What the cloud accepts as a resource name; ``description`` is shown when one is rejected."""

    pattern: re.Pattern[str]
    max_length: int
    description: str

    def check(self, name: str) -> str | None:
        """``None`` if ``name`` is acceptable, otherwise the reason it is not."""
        if len(name) > self.max_length:
            return f"{name!r} is longer than {self.max_length} characters"
        if not self.pattern.fullmatch(name):
            return f"{name!r} is not a valid name: {self.description}"
        return None


@dataclass(frozen=True, kw_only=True)
class TagCharacters:
    """The characters a cloud allows in tag keys and values: those of the Unicode general
    categories starting with one of ``categories`` (``"L"`` letters, ``"Z"`` separators,
    ``"N"`` numbers), plus the characters of ``extra`` (Python's ``re`` has no ``\\p{..}``)."""

    categories: tuple[str, ...]
    extra: str
    description: str

    def first_bad(self, text: str) -> str | None:
        """The first character of ``text`` not allowed, or ``None`` if all are."""
        import unicodedata

        for char in text:
            if char not in self.extra and not unicodedata.category(char).startswith(
                    self.categories):
                return char
        return None


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Cloud limits checked before any API call."""

    names: NamingRules
    max_user_data_bytes: int
    max_tags: int
    max_tag_key_length: int
    max_tag_value_length: int
    max_disk_gib: int
    max_count: int
    #: Tag keys users may not set: the cloud's own (``aws:``) and the provider's internal ones.
    #: The portable layer always reserves :data:`MANAGED_TAG` too.
    reserved_tag_prefixes: tuple[str, ...] = ()
    #: Exact tag keys users may not set (EC2's ``Name``, which holds the VM name).
    reserved_tag_keys: tuple[str, ...] = ()
    #: Limits of serverless functions; ``None`` when the provider has none.
    functions: FunctionLimits | None = None
    #: Characters allowed in tag keys and values; ``None``: not checked before the call.
    tag_characters: TagCharacters | None = None


@runtime_checkable
class ComputeDriver(Protocol):
    """Virtual machines, sizes, images and locations for one provider and region."""

    def regions(self) -> list[Region]:
        """Every region the account can use."""

    def zones(self) -> list[Zone]:
        """The zones of the driver's region."""

    def list_sizes(self) -> list[Size]:
        """The full size catalog of the region, with prices where known."""

    def get_size(self, name: str) -> Size:
        """One size of the region's catalog, read without listing the catalog (launching with a
        size name must not cost the ~14 calls of ``list_sizes`` on EC2); ``NOT_FOUND`` if the
        region has no size ``name``."""

    def resolve_image(self, ref: str, *, arch: str) -> Image:
        """The image for a portable alias or a native image id, built for ``arch``.

        Must raise ``NOT_FOUND`` when ``ref`` is neither a known alias nor an existing image.
        """

    def list_images(self) -> list[Image]:
        """The images the portable aliases resolve to, plus the account's own images."""

    def check_launch(self, plan: LaunchPlan) -> None:
        """Checks of ``plan`` only this cloud can make (a disk smaller than the image needs, a
        subnet in another zone...): raise ``InvalidRequest`` naming the field. Only reads; runs
        before ``launch`` and on its own for ``cloud.vms.check()``."""

    def launch(self, plan: LaunchPlan) -> list[VMInfo]:
        """Create ``plan.count`` VMs with their plumbing (network, firewall for ``open_ports``).

        Must either create all of them or, on failure, remove everything it created and re-raise.
        """

    def get_vm(self, vm_id: str) -> VMInfo:
        """One VM; ``NOT_FOUND`` if it does not exist or is terminated."""

    def list_vms(
        self,
        *,
        tags: Mapping[str, str],
        states: frozenset[VMState] | None,
        page_token: str | None,
    ) -> Page[VMInfo]:
        """One page of VMs that carry all ``tags`` and (if given) are in one of ``states``.

        Terminated VMs are never returned.
        """

    def start_vm(self, vm_id: str) -> None: ...

    def stop_vm(self, vm_id: str) -> None: ...

    def reboot_vm(self, vm_id: str) -> None: ...

    def terminate_vm(self, vm_id: str, *, timeout: float | None = None) -> None:
        """Terminate the VM, wait until it is terminated, and delete the plumbing ``launch``
        created for it alone.

        Waits at most ``timeout`` seconds (``None``: the driver's default) for the VM, then
        raises ``TIMEOUT``; the VM keeps terminating and calling again finishes the cleanup, so
        the call must accept a VM that is already terminating or terminated.
        """

    def set_vm_tags(self, vm_id: str, tags: Mapping[str, str]) -> None:
        """Add or overwrite ``tags`` on the VM; other tags are kept."""

    def inbound_rules(self, vm_id: str) -> list[InboundRule]:
        """Every inbound flow the VM's firewall allows."""

    def user_data(self, vm_id: str) -> bytes | None:
        """The user data the VM was launched with, as raw bytes; ``None`` if it has none."""


@runtime_checkable
class ConsoleDriver(Protocol):
    """The serial console output of VMs (``Capability.CONSOLE_OUTPUT``), implemented by the
    provider's compute driver itself: a provider that declares the capability has a compute
    driver that is also a ``ConsoleDriver``."""

    def console_output(self, vm_id: str) -> str:
        """What the VM wrote to its serial console (boot messages, cloud-init and user-data
        output), oldest first, decoded as UTF-8 with undecodable bytes replaced; the most
        recent output when the cloud keeps only a window of it; ``""`` when the cloud has
        none yet. ``NOT_FOUND`` if the VM does not exist."""


@runtime_checkable
class KeyDriver(Protocol):
    """SSH key pairs (``Capability.KEYS``)."""

    def import_key(self, name: str, public_key: str) -> KeyPair:
        """Register ``public_key``; ``ALREADY_EXISTS`` if ``name`` is taken."""

    def list_keys(self) -> list[KeyPair]: ...

    def delete_key(self, name: str) -> None:
        """``NOT_FOUND`` if there is no key ``name``."""


@runtime_checkable
class VolumeDriver(Protocol):
    """Block volumes and their snapshots (``Capability.VOLUMES``/``SNAPSHOTS``).

    ``create_volume``, ``attach_volume`` and ``detach_volume`` return as soon as the cloud has
    accepted the request; the portable layer polls ``get_volume`` until the volume is in the
    state asked for, within the caller's timeout. Drivers do not wait themselves.
    """

    def create_volume(
        self, *, name: str, size_gib: int, zone: str, tags: Mapping[str, str]
    ) -> Volume: ...

    def get_volume(self, volume_id: str) -> Volume: ...

    def list_volumes(self, *, tags: Mapping[str, str]) -> list[Volume]: ...

    def attach_volume(self, volume_id: str, vm_id: str, device: str | None) -> None: ...

    def detach_volume(self, volume_id: str) -> None: ...

    def delete_volume(self, volume_id: str) -> None: ...

    def create_snapshot(
        self, volume_id: str, *, name: str, tags: Mapping[str, str]
    ) -> Snapshot: ...

    def get_snapshot(self, snapshot_id: str) -> Snapshot: ...

    def list_snapshots(self, *, tags: Mapping[str, str]) -> list[Snapshot]: ...

    def delete_snapshot(self, snapshot_id: str) -> None: ...


@runtime_checkable
class FunctionDriver(Protocol):
    """Serverless functions (``Capability.FUNCTIONS``).

    The portable layer validates the spec, builds the code package, waits between steps (a
    function that is still being created or updated cannot be changed or invoked) and raises
    :class:`~unicompute.FunctionError` for a failed invocation. Drivers do not wait for state
    changes; they may retry a call the cloud rejects only for eventual consistency.

    Everything a driver creates for a function (the function, its execution role, trigger
    plumbing) carries ``plan.tags`` plus ``unicompute:managed=true``, and ``delete_function``
    removes all of it.
    """

    def get_function(self, name: str) -> FunctionInfo:
        """One function with its triggers; ``NOT_FOUND`` if there is none called ``name``."""

    def list_functions(self, *, page_token: str | None) -> Page[FunctionInfo]:
        """One page of the region's functions, with their tags but not their triggers
        (``triggers=None``)."""

    def create_function(self, plan: FunctionPlan) -> FunctionInfo:
        """Create the function (and, when the plan names none, an execution identity) without
        its triggers; returns once the cloud accepted it, possibly still ``PENDING``.

        ``ALREADY_EXISTS`` if the name is taken. On failure removes what it created.
        """

    def update_code(self, plan: FunctionPlan, current: FunctionInfo) -> bool:
        """Replace the code if ``plan.package`` differs from what ``current`` runs; whether
        anything was changed. Returns once accepted."""

    def update_config(self, plan: FunctionPlan, current: FunctionInfo) -> bool:
        """Bring runtime, handler, memory, timeout, environment, concurrency and tags to the
        plan's values, changing only what differs; whether anything was changed."""

    def sync_triggers(self, plan: FunctionPlan, current: FunctionInfo) -> None:
        """Make the function's triggers exactly ``plan.spec.triggers``: create the missing,
        delete the others, leave the identical ones alone. On failure deletes what this call
        created."""

    def delete_function(self, name: str) -> None:
        """Delete the function and everything unicompute made for it (triggers, permissions,
        the execution identity it created); ``NOT_FOUND`` if there is no such function."""

    def invoke(self, name: str, payload: bytes, mode: InvokeMode) -> InvocationInfo:
        """Invoke once with ``payload`` (JSON bytes). A handler failure is not an exception:
        it is returned in ``InvocationInfo.error``. Platform refusals (throttling, not found)
        raise as usual."""

    def logs(self, name: str, *, since_ms: int | None, limit: int) -> list[LogLine]:
        """Up to ``limit`` of the function's most recent log lines (oldest first), written at
        or after ``since_ms`` (epoch milliseconds) when given; empty if it never logged."""


@dataclass(kw_only=True)
class ProviderDrivers:
    """What ``open_provider`` returns: the drivers of one provider and region, and its policies.

    ``translate_error(exc, operation)`` maps a native exception to a :class:`UnicomputeError`
    (with ``original=exc``), or returns ``None`` for exceptions that are not the SDK's.
    ``thread_safe`` is ``False`` when the drivers must not be called from several threads at
    once (then callers such as workload ``destroy`` work one VM at a time).
    """

    provider: str
    region: str
    compute: ComputeDriver
    limits: Limits
    translate_error: Callable[[BaseException, str], UnicomputeError | None]
    capabilities: frozenset[Capability] = frozenset()
    keys: KeyDriver | None = None
    volumes: VolumeDriver | None = None
    functions: FunctionDriver | None = None
    options_type: type | None = None
    close: Callable[[], None] = field(default=lambda: None)
    thread_safe: bool = True


class ProviderFactory(Protocol):
    def __call__(self, region: str | None, config: Mapping[str, object]) -> ProviderDrivers: ...


__all__ = [
    "MANAGED_TAG",
    "Capability",
    "ComputeDriver",
    "ConsoleDriver",
    "FunctionDriver",
    "KeyDriver",
    "Limits",
    "NamingRules",
    "ProviderDrivers",
    "ProviderFactory",
    "VolumeDriver",
]
