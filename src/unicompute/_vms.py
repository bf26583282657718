"""Portable virtual machines: :class:`VMs` (the collection of one cloud) and :class:`VM`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from datetime import datetime
from functools import partial
from typing import Any, Literal, overload

from ._context import CloudContext
from ._errors import InvalidRequest, NotFound, Unsupported
from ._launch_checks import check_id, check_launch, check_tags
from ._models import (
    Image,
    InboundRule,
    LaunchPlan,
    Size,
    VMInfo,
    VMSpec,
    VMState,
    freeze_tags,
)
from ._waiting import check_timeout
from .driver import Capability, ConsoleDriver

#: States a VM can no longer leave; waiting for any other state from one of them is pointless.
_FINAL = {VMState.TERMINATING: {VMState.TERMINATED}, VMState.TERMINATED: set()}


class VM:
    """One virtual machine. Attributes reflect the last :meth:`refresh` (or the listing it came
    from); ``start``, ``stop`` and ``reboot`` return once the cloud accepted them — use
    :meth:`wait_until` for the state; :meth:`terminate` waits."""

    def __init__(self, ctx: CloudContext, info: VMInfo) -> None:
        self._ctx = ctx
        self._info = info

    # -- attributes -------------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self._info.id

    @property
    def name(self) -> str:
        return self._info.name

    @property
    def state(self) -> VMState:
        return self._info.state

    @property
    def size(self) -> str:
        return self._info.size

    @property
    def image(self) -> str:
        return self._info.image

    @property
    def zone(self) -> str | None:
        return self._info.zone

    @property
    def private_ip(self) -> str | None:
        return self._info.private_ip

    @property
    def public_ip(self) -> str | None:
        return self._info.public_ip

    @property
    def tags(self) -> Mapping[str, str]:
        return self._info.tags

    @property
    def launched_at(self) -> datetime | None:
        return self._info.launched_at

    @property
    def spot(self) -> bool:
        return self._info.spot

    @property
    def key_name(self) -> str | None:
        """The key pair the VM was launched with, if any."""
        return self._info.key_name

    @property
    def provider(self) -> str:
        return self._ctx.provider

    @property
    def raw(self) -> Any:
        """The native SDK object this VM was read from (escape hatch)."""
        return self._info.raw

    def __repr__(self) -> str:
        return (
            f"VM(provider={self.provider!r}, id={self.id!r}, name={self.name!r}, "
            f"state={self.state.value!r}, size={self.size!r})"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VM) and (other.provider, other.id) == (self.provider, self.id)

    def __hash__(self) -> int:
        return hash((self.provider, self.id))

    # -- actions ----------------------------------------------------------------------------
    def refresh(self) -> VM:
        """Re-read the VM from the cloud; ``NotFound`` once it is terminated."""
        compute = self._ctx.drivers.compute
        self._info = self._ctx.call(
            "vms.get", lambda: compute.get_vm(self.id), resource=self.id, idempotent=True
        )
        return self

    def start(self) -> VM:
        """Start a stopped VM; returns once the cloud accepted it."""
        self._ctx.call("vms.start", lambda: self._ctx.drivers.compute.start_vm(self.id),
                       resource=self.id)
        return self

    def stop(self) -> VM:
        """Stop the VM, keeping its disks; returns once accepted. ``Unsupported`` where the
        cloud cannot stop it (a one-time spot VM, an instance-store root on EC2)."""
        self._ctx.call("vms.stop", lambda: self._ctx.drivers.compute.stop_vm(self.id),
                       resource=self.id)
        return self

    def reboot(self) -> VM:
        """Reboot a running VM in place; returns once accepted."""
        self._ctx.require(Capability.REBOOT, "vms.reboot")
        self._ctx.call("vms.reboot", lambda: self._ctx.drivers.compute.reboot_vm(self.id),
                       resource=self.id)
        return self

    def terminate(self, *, timeout: float = 900) -> None:
        """Terminate the VM and delete the plumbing unicompute launched with it (its firewall).

        Unlike the other actions this one waits: it returns once the cloud reports the VM
        terminated and the plumbing deleted (on EC2 a security group cannot be deleted before).
        After ``timeout`` seconds it raises :class:`~unicompute.Timeout`; the VM keeps
        terminating, and calling ``terminate()`` again finishes the cleanup. A VM that is
        already gone is not an error.
        """
        seconds = check_timeout(timeout)
        compute = self._ctx.drivers.compute
        with suppress(NotFound):
            self._ctx.call("vms.terminate",
                           lambda: compute.terminate_vm(self.id, timeout=seconds),
                           resource=self.id)
        self._info = _with_state(self._info, VMState.TERMINATED)

    def set_tags(self, tags: Mapping[str, str]) -> VM:
        """Add or overwrite ``tags``; other tags stay."""
        checked = freeze_tags(tags)
        check_tags(checked, self._ctx.drivers.limits)
        self._ctx.require(Capability.TAGS, "vms.set_tags")
        self._ctx.call("vms.set_tags",
                       lambda: self._ctx.drivers.compute.set_vm_tags(self.id, checked),
                       resource=self.id)
        return self.refresh()

    def inbound_rules(self) -> list[InboundRule]:
        """The inbound flows the VM's firewall allows, as the cloud reports them."""
        self._ctx.require(Capability.FIREWALLS, "vms.inbound_rules")
        compute = self._ctx.drivers.compute
        return self._ctx.call("vms.inbound_rules", lambda: compute.inbound_rules(self.id),
                              resource=self.id, idempotent=True)

    def user_data(self) -> bytes | None:
        """The user data the VM was launched with (raw bytes), read back from the cloud."""
        self._ctx.require(Capability.USER_DATA, "vms.user_data")
        compute = self._ctx.drivers.compute
        return self._ctx.call("vms.user_data", lambda: compute.user_data(self.id),
                              resource=self.id, idempotent=True)

    def console_output(self) -> str:
        """The VM's serial console output as text, read from the cloud (EC2
        ``GetConsoleOutput``, Azure boot diagnostics, GCE serial port 1): boot messages and
        what user data printed. Clouds lag behind the console by up to a few minutes and
        keep only the most recent part (EC2 64 KiB, GCE 1 MiB); ``""`` when there is none
        yet. :class:`~unicompute.Unsupported` on a provider without it."""
        self._ctx.require(Capability.CONSOLE_OUTPUT, "vms.console_output")
        compute = self._ctx.drivers.compute
        if not isinstance(compute, ConsoleDriver):
            raise Unsupported(f"{self.provider} does not support console_output",
                              provider=self.provider, operation="vms.console_output")
        return self._ctx.call("vms.console_output", lambda: compute.console_output(self.id),
                              resource=self.id, idempotent=True)

    def wait_until(self, state: VMState | str, *, timeout: float = 600) -> VM:
        """Poll until the VM is in ``state`` (a :class:`VMState` or its value, ``"running"``).

        Raises :class:`~unicompute.Timeout` after ``timeout`` seconds;
        :class:`~unicompute.NotFound` once the VM is gone, unless ``state`` is TERMINATED (then
        that is success); :class:`~unicompute.InvalidRequest` at once when the VM is
        terminating and ``state`` is anything but TERMINATED.
        """
        target = as_state(state, "state")

        def fetch() -> VMState:
            try:
                return self.refresh().state
            except NotFound:
                if target is VMState.TERMINATED:
                    self._info = _with_state(self._info, VMState.TERMINATED)
                    return VMState.TERMINATED
                raise

        def check(current: VMState) -> None:
            reachable = _FINAL.get(current)
            if reachable is not None and target not in reachable:
                raise InvalidRequest(
                    f"VM {self.id} is {current.value}; it will never be {target.value}",
                    field="state",
                )

        self._ctx.wait(
            fetch, lambda current: current is target, timeout=timeout, operation="vms.wait_until",
            resource=self.id, what=f"VM {self.id} to be {target.value}", check=check,
        )
        return self


def as_state(value: object, field: str) -> VMState:
    """``value`` as a :class:`VMState`; its string value (``"running"``) is accepted too."""
    if isinstance(value, VMState):
        return value
    if isinstance(value, str):
        try:
            return VMState(value.lower())
        except ValueError:
            pass
    names = ", ".join(s.value for s in VMState)
    raise InvalidRequest(f"{value!r} is not a VM state ({names})", field=field)


def _with_state(info: VMInfo, state: VMState) -> VMInfo:
    fields = {name: getattr(info, name) for name in VMInfo.__dataclass_fields__}
    fields["state"] = state
    return VMInfo(**fields)


class VMs:
    """The VMs of one cloud and region: launch, find, list, and the size and image catalogs."""

    def __init__(self, ctx: CloudContext) -> None:
        self._ctx = ctx
        self._sizes: list[Size] | None = None

    # -- catalog ----------------------------------------------------------------------------
    def _catalog(self) -> list[Size]:
        if self._sizes is None:
            compute = self._ctx.drivers.compute
            self._sizes = self._ctx.call("vms.sizes", compute.list_sizes, idempotent=True)
        self._ctx.check_open("vms.sizes")
        return self._sizes

    def sizes(
        self,
        *,
        vcpus: int | None = None,
        memory_gib: float | None = None,
        gpus: int | None = None,
        family: str | None = None,
        arch: str | None = None,
    ) -> list[Size]:
        """Sizes with at least these resources, cheapest first (unpriced sizes last)."""
        _check_minimum("vcpus", vcpus)
        _check_minimum("memory_gib", memory_gib)
        _check_minimum("gpus", gpus)
        for name, value in (("family", family), ("arch", arch)):
            if value is not None:
                check_id(value, name)
        found = [
            size
            for size in self._catalog()
            if size.meets(vcpus=vcpus, memory_gib=memory_gib, gpus=gpus, family=family,
                          arch=arch)
        ]
        return sorted(found, key=_price_order)

    def cheapest_size(
        self,
        *,
        vcpus: int | None = None,
        memory_gib: float | None = None,
        gpus: int | None = None,
        family: str | None = None,
        arch: str | None = None,
    ) -> Size:
        """The cheapest priced size with at least these resources; ``NotFound`` if none."""
        wanted = {"vcpus": vcpus, "memory_gib": memory_gib, "gpus": gpus, "family": family,
                  "arch": arch}
        for size in self.sizes(vcpus=vcpus, memory_gib=memory_gib, gpus=gpus, family=family,
                               arch=arch):
            if size.hourly_price is not None:
                return size
        asked = ", ".join(f"{k}={v}" for k, v in wanted.items() if v is not None) or "any"
        raise NotFound(
            f"no size with a known price meets {asked} in {self._ctx.region}",
            provider=self._ctx.provider, operation="vms.cheapest_size",
        )

    def size(self, name: str) -> Size:
        """The catalog entry of size ``name``; ``NotFound`` if the region has no such size.

        Answered from the catalog if :meth:`sizes` already read it, else with one lookup."""
        check_id(name, "name")
        if self._sizes is None:
            compute = self._ctx.drivers.compute
            return self._ctx.call("vms.size", lambda: compute.get_size(name), resource=name,
                                  idempotent=True)
        for size in self._catalog():
            if size.name == name:
                return size
        raise NotFound(f"no size {name!r} in {self._ctx.region}", provider=self._ctx.provider,
                       operation="vms.size", resource=name)

    def images(self) -> list[Image]:
        """The images the portable aliases resolve to here, and the account's own images."""
        compute = self._ctx.drivers.compute
        return self._ctx.call("vms.images", compute.list_images, idempotent=True)

    def image(self, ref: str, *, arch: str = "x86_64") -> Image:
        """Resolve a portable alias or a native image id; ``NotFound`` if neither."""
        check_id(ref, "ref")
        check_id(arch, "arch")
        compute = self._ctx.drivers.compute
        return self._ctx.call("vms.image", lambda: compute.resolve_image(ref, arch=arch),
                              resource=ref, idempotent=True)

    # -- VMs --------------------------------------------------------------------------------
    @overload
    def launch(self, spec: VMSpec, *, count: Literal[1] = 1) -> VM: ...

    @overload
    def launch(self, spec: VMSpec, *, count: int) -> VM | list[VM]: ...

    def launch(self, spec: VMSpec, *, count: int = 1) -> VM | list[VM]:
        """Launch ``count`` VMs from ``spec``: one :class:`VM`, or a list when ``count > 1``
        (named ``<name>-1`` ... ``<name>-<count>``).

        Everything about the spec is checked first — names, size, image, zone, key, limits —
        and bad input raises :class:`~unicompute.InvalidRequest` naming the field before any
        call that creates something. The driver either creates all VMs or nothing.
        """
        plan = self.check(spec, count=count)
        compute = self._ctx.drivers.compute
        infos = self._ctx.call("vms.launch", lambda: compute.launch(plan), resource=spec.name)
        vms = [VM(self._ctx, info) for info in infos]
        return vms[0] if count == 1 else vms

    def check(self, spec: VMSpec, *, count: int = 1) -> LaunchPlan:
        """Run every check :meth:`launch` runs, without launching: the resolved size and image,
        or :class:`~unicompute.InvalidRequest` naming the field. Only reads the cloud."""
        return check_launch(self._ctx, self, spec, count)

    def get(self, vm_id: str) -> VM:
        """The VM with this id; ``NotFound`` if it does not exist or is terminated."""
        check_id(vm_id, "vm_id")
        compute = self._ctx.drivers.compute
        info = self._ctx.call("vms.get", lambda: compute.get_vm(vm_id), resource=vm_id,
                              idempotent=True)
        return VM(self._ctx, info)

    def list(
        self,
        *,
        tags: Mapping[str, str] | None = None,
        states: Iterable[VMState | str] | VMState | str | None = None,
    ) -> Iterator[VM]:
        """Lazily iterate over the VMs that carry all ``tags`` and are in one of ``states``.

        Pages are fetched as the iterator advances. Terminated VMs are never listed.
        """
        wanted_tags = freeze_tags(tags or {})
        wanted_states = _check_states(states)
        self._ctx.check_open("vms.list")
        return self._pages(wanted_tags, wanted_states)

    def _pages(
        self, tags: Mapping[str, str], states: frozenset[VMState] | None
    ) -> Iterator[VM]:
        compute = self._ctx.drivers.compute
        token: str | None = None
        while True:
            page = self._ctx.call(
                "vms.list",
                partial(compute.list_vms, tags=tags, states=states, page_token=token),
                idempotent=True,
            )
            for info in page.items:
                yield VM(self._ctx, info)
            if page.next_token is None:
                return
            token = page.next_token


def _price_order(size: Size) -> tuple[bool, float, int, float, str]:
    price = size.hourly_price
    return (price is None, price or 0.0, size.vcpus, size.memory_gib, size.name)


def _check_minimum(name: str, value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InvalidRequest("must be a number >= 0", field=name)


def _check_states(states: Iterable[VMState | str] | VMState | str | None
                  ) -> frozenset[VMState] | None:
    if states is None:
        return None
    if isinstance(states, VMState | str):
        states = [states]
    result = frozenset(as_state(state, "states") for state in states)
    if VMState.TERMINATED in result:
        raise InvalidRequest("terminated VMs are not listed", field="states")
    return result
