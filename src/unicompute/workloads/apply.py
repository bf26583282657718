"""Launching, inspecting and destroying a workload on one open cloud.

The cloud itself is the state: every VM of a workload is named ``<workload>-<group>-<n>`` and
tagged ``unicompute:workload=<workload>`` and ``unicompute:group=<group>``, so :func:`plan` finds
what already runs by listing tags, :func:`launch` creates only what is missing (running it twice
creates nothing the second time), and :func:`destroy` terminates everything carrying the tag.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .. import (
    VM,
    Cloud,
    Conflict,
    Image,
    InvalidRequest,
    NotFound,
    Size,
    UnicomputeError,
    VMSpec,
    VMState,
)
from .spec import GROUP_TAG, WORKLOAD_TAG, VMGroup, Workload, located

#: States in which a VM counts as present; one being terminated will be launched again.
_PRESENT = frozenset(VMState) - {VMState.TERMINATING, VMState.TERMINATED}
#: How long launch waits for RUNNING and destroy for TERMINATED, per VM, by default (seconds).
DEFAULT_TIMEOUT = 600.0
#: How many VMs :func:`destroy` terminates at the same time, by default.
DESTROY_WORKERS = 8


def vm_name(workload: str, group: str, index: int) -> str:
    """The name of VM ``index`` (from 1) of ``group`` in ``workload``."""
    return f"{workload}-{group}-{index}"


# -- progress -------------------------------------------------------------------------------
class Step(StrEnum):
    """What happened to one VM. ``LAUNCHING`` and ``TERMINATING`` announce work about to start;
    the others complete one unit of :attr:`Progress.total`."""

    LAUNCHING = "launching"
    LAUNCHED = "launched"
    RUNNING = "running"
    TERMINATING = "terminating"
    TERMINATED = "terminated"
    DEPLOYING = "deploying"
    DEPLOYED = "deployed"
    DELETING = "deleting"
    DELETED = "deleted"


#: Steps that announce work about to start (the others complete a unit).
STARTING_STEPS = frozenset({Step.LAUNCHING, Step.TERMINATING, Step.DEPLOYING, Step.DELETING})


@dataclass(frozen=True)
class Progress:
    """One event for a progress display: ``done`` of ``total`` units are finished (on
    ``cloud``, when several clouds are worked on at once; ``vm_id`` is a function's name for
    function steps)."""

    step: Step
    name: str
    vm_id: str | None
    done: int
    total: int
    cloud: str = ""


ProgressCallback = Callable[[Progress], None]


class _Reporter:
    """Counts finished units and passes each event to the callback, if there is one.

    Safe to call from several threads: events reach the callback one at a time, in the order
    of their ``done`` counts."""

    def __init__(self, callback: ProgressCallback | None, total: int) -> None:
        self._callback = callback
        self._total = total
        self._done = 0
        self._lock = threading.Lock()

    def __call__(self, step: Step, name: str, vm_id: str | None = None) -> None:
        with self._lock:
            if step not in STARTING_STEPS:
                self._done += 1
            if self._callback is not None:
                self._callback(Progress(step, name, vm_id, self._done, self._total))


# -- results --------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class GroupPlan:
    """One group on one cloud: its size and image there, the VMs that exist and the names of
    the ones to launch, and whether they are launched as spot VMs."""

    group: VMGroup
    size: Size
    image: Image
    existing: tuple[VM, ...]
    missing: tuple[str, ...]
    spot: bool = False

    @property
    def hourly_cost(self) -> float | None:
        """On-demand USD per hour for the whole group; ``None`` if the price is unknown."""
        price = self.size.hourly_price
        return None if price is None else price * self.group.count

    def spec(self, workload: str, name: str) -> VMSpec:
        """What to launch for the VM called ``name``."""
        group = self.group
        tags = {**group.tags, WORKLOAD_TAG: workload, GROUP_TAG: group.name}
        return VMSpec(
            name=name,
            size=self.size,
            image=self.image,
            user_data=group.user_data,
            tags=tags,
            open_ports=group.ports,
            disk_gib=group.disk_gib,
            spot=self.spot,
        )


@dataclass(frozen=True, kw_only=True)
class Plan:
    """What :func:`launch` will do. ``extra`` holds VMs tagged with the workload that it no longer
    asks for (a removed group, a lowered count): they are left alone and listed by ``status``."""

    workload: Workload
    provider: str
    region: str
    groups: tuple[GroupPlan, ...]
    extra: tuple[VM, ...]

    @property
    def to_launch(self) -> int:
        """How many VMs are missing."""
        return sum(len(group.missing) for group in self.groups)

    @property
    def hourly_cost(self) -> float | None:
        """USD per hour once the workload is complete; ``None`` if a price is unknown."""
        return _total(group.hourly_cost for group in self.groups)


@dataclass(frozen=True, kw_only=True)
class Deployment:
    """The VMs of a workload as the cloud reported them, ordered by group and index.

    ``prices`` maps each of their size names to its on-demand USD price per hour (or ``None``).
    """

    workload: str
    vms: tuple[VM, ...]
    prices: Mapping[str, float | None]

    def price(self, vm: VM) -> float | None:
        """The hourly price of ``vm``'s size, ``None`` if unknown."""
        return self.prices.get(vm.size)

    @property
    def hourly_cost(self) -> float | None:
        """USD per hour for all VMs; ``None`` if a price is unknown."""
        return _total(self.price(vm) for vm in self.vms)


@dataclass(frozen=True, kw_only=True)
class LaunchResult(Deployment):
    """Every VM of the workload after :func:`launch`, in file order of the groups;
    ``launched`` are the ones it created, in launch order."""

    launched: tuple[VM, ...]


def _vm_list(vms: Iterable[VM]) -> str:
    return ", ".join(f"{vm.name} ({vm.id})" for vm in vms)


class LaunchIncomplete(UnicomputeError):
    """A launch failed after creating some VMs. ``launched`` lists them, ``cause`` is the error;
    the code, ``transient`` (so :attr:`retryable`), provider and operation are the cause's.
    Running ``launch`` again completes the workload, ``destroy`` removes it."""

    def __init__(self, cause: UnicomputeError, launched: Sequence[VM]) -> None:
        super().__init__(
            f"{cause.message}; launched before the failure: {_vm_list(launched)}; run launch "
            "again to complete the workload or destroy to remove it",
            provider=cause.provider,
            operation=cause.operation,
            resource=cause.resource,
            original=cause.original,
            transient=cause.transient,
        )
        self.code = cause.code
        self.cause = cause
        self.launched = tuple(launched)


class DestroyIncomplete(UnicomputeError):
    """:func:`destroy` could not terminate some VMs; it went on with the others.

    ``failed`` pairs each such VM with its error, in the workload's order; ``terminated`` lists
    the VMs that are gone. The code, ``transient`` (so :attr:`retryable`), provider and
    operation are those of the first failure, which is also ``cause``. Running ``destroy``
    again finishes the job.
    """

    def __init__(
        self, failed: Sequence[tuple[VM, UnicomputeError]], terminated: Sequence[VM]
    ) -> None:
        cause = failed[0][1]
        listed = "; ".join(f"{vm.name} ({vm.id}): {error.message}" for vm, error in failed)
        super().__init__(
            f"could not terminate {len(failed)} of {len(failed) + len(terminated)} VM(s): "
            f"{listed}; run destroy again to finish",
            provider=cause.provider,
            operation=cause.operation,
            resource=", ".join(vm.id for vm, _ in failed),
            original=cause.original,
            transient=cause.transient,
        )
        self.code = cause.code
        self.cause = cause
        self.failed = tuple(failed)
        self.terminated = tuple(terminated)


class LaunchInterrupted(KeyboardInterrupt):
    """Ctrl-C (``KeyboardInterrupt``) during :func:`execute` after some VMs were launched.

    Still a ``KeyboardInterrupt``, so that ``except Exception`` does not swallow it and the
    program stops as the user asked; ``launched`` lists the VMs created before it, and the
    original interrupt is the ``__cause__``. Running ``launch`` again completes the workload,
    ``destroy`` removes it."""

    def __init__(self, launched: Sequence[VM]) -> None:
        super().__init__(f"interrupted after launching {_vm_list(launched)}")
        self.launched = tuple(launched)


# -- operations -----------------------------------------------------------------------------
def plan(workload: Workload, cloud: Cloud) -> Plan:
    """Resolve every group's size and image on ``cloud`` and find the VMs that already exist.

    Only reads. A size or image the cloud does not have raises
    :class:`~unicompute.InvalidRequest` naming the group key (``vms[0].size.aws``), a
    :class:`~unicompute.workloads.WorkloadError` at its line for a workload read from a file.
    """
    with located(workload):
        return _plan(workload, cloud)


def _plan(workload: Workload, cloud: Cloud) -> Plan:
    present = list(cloud.vms.list(tags={WORKLOAD_TAG: workload.name}, states=_PRESENT))
    groups: list[GroupPlan] = []
    for index, group in enumerate(workload.groups):
        path = f"vms[{index}]"
        size = _size(cloud, group, path)
        names = [vm_name(workload.name, group.name, n) for n in range(1, group.count + 1)]
        existing = [
            vm for vm in present if vm.tags.get(GROUP_TAG) == group.name and vm.name in names
        ]
        found = {vm.name for vm in existing}
        group_plan = GroupPlan(
            group=group,
            size=size,
            image=_image(cloud, group, size, path),
            existing=tuple(sorted(existing, key=_order)),
            missing=tuple(name for name in names if name not in found),
            spot=_spot(cloud, group),
        )
        _check_cloud_rules(cloud, group_plan, workload.name, path)
        groups.append(group_plan)
    planned = {vm for group in groups for vm in group.existing}
    extra = tuple(sorted((vm for vm in present if vm not in planned), key=_order))
    return Plan(
        workload=workload,
        provider=cloud.provider,
        region=cloud.region,
        groups=tuple(groups),
        extra=extra,
    )


def execute(
    plan: Plan,
    cloud: Cloud,
    *,
    progress: ProgressCallback | None = None,
    wait: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    stop: threading.Event | None = None,
) -> LaunchResult:
    """Launch the VMs ``plan`` found missing, one at a time, then (with ``wait``) wait until
    each is RUNNING.

    If something fails after at least one VM was launched, raises :class:`LaunchIncomplete`
    listing them, and a ``KeyboardInterrupt`` becomes :class:`LaunchInterrupted` (still a
    ``KeyboardInterrupt``) listing them; before the first launch both pass unchanged. A VM
    whose launch call was itself interrupted may exist without being listed: :func:`status`
    finds every VM of the workload. Once ``stop`` is set (another thread was interrupted), no
    further VM is launched or waited for: the call under way ends, then it is as Ctrl-C here.
    """
    todo = [(group, name) for group in plan.groups for name in group.missing]
    report = _Reporter(progress, len(todo) * (2 if wait else 1))
    launched: list[VM] = []

    def check_stop() -> None:
        if stop is not None and stop.is_set():
            raise KeyboardInterrupt

    try:
        for group, name in todo:
            check_stop()
            report(Step.LAUNCHING, name)
            vm = cloud.vms.launch(group.spec(plan.workload.name, name))
            launched.append(vm)
            report(Step.LAUNCHED, name, vm.id)
        if wait:
            for vm in launched:
                check_stop()
                vm.wait_until(VMState.RUNNING, timeout=timeout)
                report(Step.RUNNING, vm.name, vm.id)
    except UnicomputeError as exc:
        if launched:
            raise LaunchIncomplete(exc, launched) from exc
        raise
    except KeyboardInterrupt as exc:
        if launched:
            raise LaunchInterrupted(launched) from exc
        raise
    new = {vm.name: vm for vm in launched}
    vms = [
        vm
        for group in plan.groups
        for vm in sorted([*group.existing, *(new[name] for name in group.missing)], key=_order)
    ]
    return LaunchResult(
        workload=plan.workload.name,
        vms=tuple(vms),
        prices=_prices(cloud, vms),
        launched=tuple(launched),
    )


def launch(
    workload: Workload,
    cloud: Cloud,
    *,
    progress: ProgressCallback | None = None,
    wait: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> LaunchResult:
    """Make ``workload`` complete on ``cloud``: :func:`plan`, then :func:`execute`.

    Idempotent: VMs that exist (by name and tags) are kept, only missing ones are launched.
    """
    return execute(plan(workload, cloud), cloud, progress=progress, wait=wait, timeout=timeout)


def status(workload_name: str, cloud: Cloud) -> Deployment:
    """The VMs tagged with ``workload_name`` that are not terminated, with their prices."""
    vms = _tagged(workload_name, cloud)
    return Deployment(workload=workload_name, vms=vms, prices=_prices(cloud, vms))


def destroy(
    workload_name: str,
    cloud: Cloud,
    *,
    progress: ProgressCallback | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    workers: int = DESTROY_WORKERS,
) -> tuple[VM, ...]:
    """Terminate every VM tagged with ``workload_name``, wait until each is gone, and return them.

    Up to ``workers`` VMs are terminated at the same time (one at a time on Libcloud, whose
    drivers must not be shared between threads), each with its own ``timeout``. Progress
    events reach ``progress`` one at a time: ``TERMINATING`` when a VM's turn comes,
    ``TERMINATED`` once it is gone. A VM that cannot be terminated does not stop the others:
    once all were tried, :class:`DestroyIncomplete` names each failure. Then lists the tag
    again and raises :class:`~unicompute.Conflict` naming whatever remains (a VM launched
    meanwhile). Destroying a workload with no VMs does nothing.

    On Ctrl-C (``KeyboardInterrupt``) no further VM is started and the interrupt propagates at
    once; terminations already under way go on in the background while the program runs.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidRequest("must be a whole number >= 1", field="workers")
    vms = _tagged(workload_name, cloud)
    report = _Reporter(progress, len(vms))

    def terminate(vm: VM) -> None:
        report(Step.TERMINATING, vm.name, vm.id)
        vm.terminate(timeout=timeout)
        vm.wait_until(VMState.TERMINATED, timeout=timeout)
        report(Step.TERMINATED, vm.name, vm.id)

    if not cloud.thread_safe:
        workers = 1
    outcomes = _each_in_threads(vms, terminate, workers)
    unexpected = [error for error in outcomes if error is not None
                  and not isinstance(error, UnicomputeError)]
    if unexpected:
        raise unexpected[0]
    failed = [(vm, error) for vm, error in zip(vms, outcomes, strict=True)
              if isinstance(error, UnicomputeError)]
    if failed:
        raise DestroyIncomplete(
            failed, [vm for vm, error in zip(vms, outcomes, strict=True) if error is None]
        )
    remaining = _tagged(workload_name, cloud)
    if remaining:
        names = ", ".join(f"{vm.name} ({vm.id}, {vm.state.value})" for vm in remaining)
        raise Conflict(
            f"VMs tagged {WORKLOAD_TAG}={workload_name} remain after destroy: {names}",
            provider=cloud.provider,
            operation="workloads.destroy",
            resource=workload_name,
        )
    return vms


def _each_in_threads(
    items: Sequence[VM], work: Callable[[VM], None], workers: int
) -> list[BaseException | None]:
    """``work(item)`` for every item, in at most ``workers`` threads; what each raised (or
    ``None``), in the items' order. A failure does not stop the other items.

    The threads are daemon threads, so that a ``KeyboardInterrupt`` in the caller propagates at
    once instead of waiting for work under way (which goes on while the program runs); items
    not yet started then are not started.
    """
    outcomes: list[BaseException | None] = [None] * len(items)
    pending = iter(enumerate(items))
    lock = threading.Lock()
    stopped = threading.Event()

    def worker() -> None:
        while not stopped.is_set():
            with lock:
                taken = next(pending, None)
            if taken is None:
                return
            index, item = taken
            try:
                work(item)
            except BaseException as exc:  # reported to the caller, per item
                outcomes[index] = exc

    threads = [
        threading.Thread(target=worker, name=f"unicompute-destroy-{n}", daemon=True)
        for n in range(min(workers, len(items)))
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    except BaseException:
        stopped.set()
        raise
    return outcomes


# -- helpers --------------------------------------------------------------------------------
def _size(cloud: Cloud, group: VMGroup, path: str) -> Size:
    explicit = group.size_for(cloud.provider)
    if explicit is not None:
        try:
            return cloud.vms.size(explicit)
        except NotFound as exc:
            raise InvalidRequest(
                f"no size {explicit!r} in {cloud.provider} {cloud.region}",
                field=f"{path}.size.{cloud.provider}",
            ) from exc
    if group.vcpus is None and group.memory_gib is None:
        raise InvalidRequest(
            f"no size for {cloud.provider}; add size.{cloud.provider} or vcpus/memory_gib",
            field=f"{path}.size",
        )
    try:
        return cloud.vms.cheapest_size(vcpus=group.vcpus, memory_gib=group.memory_gib)
    except NotFound as exc:
        raise InvalidRequest(exc.message, field=path) from exc


def _spot(cloud: Cloud, group: VMGroup) -> bool:
    """``spot: prefer`` is spot where the cloud offers spot VMs at all (this path has no spot
    prices; the multi-cloud planner decides by them)."""
    if group.spot == "prefer":
        return "spot" in cloud.capabilities
    return group.spot is True


def _image(cloud: Cloud, group: VMGroup, size: Size, path: str) -> Image:
    try:
        return cloud.vms.image(group.image, arch=size.arch)
    except NotFound as exc:
        raise InvalidRequest(
            f"no image {group.image!r} for {size.arch} in {cloud.provider} {cloud.region}",
            field=f"{path}.image",
        ) from exc


#: Workload keys that differ from the VMSpec field they fill.
_SPEC_TO_KEY = {"open_ports": "ports"}


def _check_cloud_rules(cloud: Cloud, group: GroupPlan, workload: str, path: str) -> None:
    """The cloud's own limits (name length, user data size, tags ...) for the group's longest VM
    name, so that a group the cloud would reject fails before anything is launched."""
    if not group.missing:
        return
    longest = max(group.missing, key=len)
    try:
        cloud.vms.check(group.spec(workload, longest))
    except InvalidRequest as exc:
        key = _SPEC_TO_KEY.get(exc.field or "", exc.field)
        raise InvalidRequest(exc.reason, field=f"{path}.{key}" if key else path) from exc


def _tagged(workload_name: str, cloud: Cloud) -> tuple[VM, ...]:
    return tuple(sorted(cloud.vms.list(tags={WORKLOAD_TAG: workload_name}), key=_order))


def _prices(cloud: Cloud, vms: Iterable[VM]) -> dict[str, float | None]:
    prices: dict[str, float | None] = {}
    for name in {vm.size for vm in vms}:
        try:
            prices[name] = cloud.vms.size(name).hourly_price
        except NotFound:
            prices[name] = None
    return prices


_INDEX = re.compile(r"-(\d+)$")


def _order(vm: VM) -> tuple[str, int, str, str]:
    """Group, then index within the group (``web-10`` after ``web-9``), then name and id."""
    match = _INDEX.search(vm.name)
    return (vm.tags.get(GROUP_TAG, ""), int(match.group(1)) if match else 0, vm.name, vm.id)


def _total(prices: Iterable[float | None]) -> float | None:
    total = 0.0
    for price in prices:
        if price is None:
            return None
        total += price
    return total
