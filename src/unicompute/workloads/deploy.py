"""A placed workload on several clouds at once: prepare, launch, status and destroy.

Each cloud is worked on in its own thread (a cloud is only ever used by that thread, so a
provider that is not ``thread_safe`` is safe too); within a cloud, :mod:`.apply` does the VMs
and ``cloud.functions`` the functions. The clouds are the state: VMs and functions carry the
``unicompute:workload`` tag, so running :func:`launch` again creates nothing that exists, and
:func:`destroy` removes whatever carries the tag and then checks that nothing does any more.

```python
placement = place(workload, cloud="all")
with prepare(placement, opener) as prepared:    # opens each cloud, reads what exists
    result = launch(prepared, progress=print)
```
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TypeVar

from .. import (
    VM,
    Cloud,
    Conflict,
    FunctionSpec,
    InvalidRequest,
    NotFound,
    UnicomputeError,
    VMState,
)
from .._function_models import check_spec_on
from ..catalog import Catalog, Pricing, cost_of, load_catalog
from ..driver import Capability
from . import apply
from .apply import (
    Deployment,
    LaunchInterrupted,
    LaunchResult,
    Plan,
    Progress,
    ProgressCallback,
    Step,
)
from .placement import CloudChoice, Placement, clouds_for, regions_for
from .spec import LEGACY_FUNCTION_WORKLOAD_TAG, WORKLOAD_TAG, Workload, located
from .spec import Placement as FilePlacement

#: Opens the cloud ``provider`` in ``region`` (the CLI's: with its endpoints, ``--mock``...).
Opener = Callable[[str, str], Cloud]
_T = TypeVar("_T")
#: Seconds per slice of :func:`_wait_for` (how late a Ctrl-C can be seen).
_WAIT_SLICE = 0.1
_R = TypeVar("_R")


class CloudsIncomplete(UnicomputeError):
    """Work on some clouds failed; the others were done. ``errors`` maps each failed cloud to
    its error (``cause`` is the first); ``done`` maps each other cloud to its result. Running the
    command again completes the work."""

    def __init__(self, errors: Mapping[str, BaseException], done: Mapping[str, object]) -> None:
        listed = "; ".join(f"{cloud}: {error}" for cloud, error in errors.items())
        first = next(iter(errors.values()))
        cause = first if isinstance(first, UnicomputeError) else None
        super().__init__(
            f"failed on {len(errors)} of {len(errors) + len(done)} cloud(s): {listed}"
            + (f"; done on {', '.join(done)}" if done else ""),
            provider=cause.provider if cause else None,
            operation=cause.operation if cause else None,
            transient=cause.transient if cause else False,
        )
        if cause is not None:
            self.code = cause.code
        self.errors = dict(errors)
        self.done = dict(done)
        self.cause = first


def in_parallel(items: Sequence[_T], work: Callable[[_T], _R], key: Callable[[_T], str], *,
                stop: threading.Event | None = None) -> dict[str, _R]:
    """``work(item)`` for every item, each in its own thread; the results by ``key(item)``.

    Every item is worked on to the end even when another fails; then one failure is raised as
    it is and several as :class:`CloudsIncomplete`. A ``KeyboardInterrupt`` in the caller
    propagates at once (the threads are daemons and go on in the background) unless ``stop`` is
    given: then ``stop`` is set, the threads are waited for (they are to stop starting new work
    when it is set; a second Ctrl-C ends the wait) and ``KeyboardInterrupt`` is raised."""
    results: dict[str, _R] = {}
    errors: dict[str, BaseException] = {}
    lock = threading.Lock()
    ended = {key(item): threading.Event() for item in items}

    def run(item: _T) -> None:
        try:
            result = work(item)
        except BaseException as exc:  # reported to the caller, per item
            with lock:
                errors[key(item)] = exc
        else:
            with lock:
                results[key(item)] = result
        finally:
            ended[key(item)].set()

    if len(items) == 1:
        run(items[0])
    else:
        threads = [threading.Thread(target=run, args=(item,), daemon=True,
                                    name=f"unicompute-{key(item)}") for item in items]
        try:
            for thread in threads:
                thread.start()
            _wait_for(ended.values())
        except KeyboardInterrupt:
            if stop is None:
                raise
            stop.set()
            _wait_for(ended[key(item)] for item, thread in zip(items, threads, strict=True)
                      if thread.ident is not None)  # the started ones
            raise
    if errors:
        order = [key(item) for item in items]
        ordered = {name: errors[name] for name in order if name in errors}
        if len(ordered) == 1 and not results:
            raise next(iter(ordered.values()))
        raise CloudsIncomplete(ordered, {k: results[k] for k in order if k in results})
    return {key(item): results[key(item)] for item in items}


def _wait_for(events: Iterable[threading.Event]) -> None:
    """Wait until every event is set, a Ctrl-C interrupting the wait at once.

    Waits in short slices: a SIGINT arriving just as a wait begins would otherwise go unseen
    until the wait ends. Events, not ``Thread.join``: a join interrupted by Ctrl-C can leave the
    thread marked as ended while it runs (CPython bpo-45274), so a second join would not wait.
    """
    for event in events:
        while not event.wait(_WAIT_SLICE):
            pass


def _for_cloud(progress: ProgressCallback | None, provider: str) -> ProgressCallback | None:
    if progress is None:
        return None
    return lambda event: progress(replace(event, cloud=provider))


# -- prepare --------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class CloudPlan:
    """The workload on one open cloud: the VM plan, the functions to deploy and those that
    already exist there."""

    choice: CloudChoice
    cloud: Cloud
    plan: Plan
    functions: tuple[FunctionSpec, ...]
    existing_functions: frozenset[str]

    @property
    def provider(self) -> str:
        return self.choice.provider

    @property
    def region(self) -> str:
        return self.choice.region

    @property
    def to_deploy(self) -> tuple[str, ...]:
        """The functions that do not exist yet."""
        return tuple(f.name for f in self.functions if f.name not in self.existing_functions)


@dataclass(frozen=True, kw_only=True)
class Prepared:
    """:func:`prepare`'s outcome: a plan per chosen cloud, in the placement's order."""

    placement: Placement
    clouds: tuple[CloudPlan, ...]

    @property
    def to_launch(self) -> int:
        return sum(c.plan.to_launch for c in self.clouds)


@contextmanager
def prepare(placement: Placement, opener: Opener) -> Iterator[Prepared]:
    """Open every chosen cloud (in parallel) and plan the workload there: sizes, images and
    the cloud's own rules checked, existing VMs and functions found. Only reads; a cloud without
    functions for a workload that has some is :class:`~unicompute.InvalidRequest` naming
    ``functions``, and every function is checked against every chosen cloud's function limits
    (:func:`~unicompute._function_models.check_spec_on`), a refusal being ``InvalidRequest``
    naming ``functions[i].<field>`` and the cloud, so that nothing is made on any cloud when
    one would refuse a function. The clouds close when the block ends."""
    opened: list[Cloud] = []
    lock = threading.Lock()
    workload = placement.workload

    def plan_on(choice: CloudChoice) -> CloudPlan:
        cloud = opener(choice.provider, choice.region)
        with lock:
            opened.append(cloud)
        with located(workload):
            return plan_there(choice, cloud)

    def plan_there(choice: CloudChoice, cloud: Cloud) -> CloudPlan:
        functions = tuple(f.spec for f in workload.functions)
        existing: frozenset[str] = frozenset()
        if functions:
            if Capability.FUNCTIONS.value not in cloud.capabilities:
                raise InvalidRequest(f"{choice.provider} has no serverless functions in "
                                     "unicompute; place the workload elsewhere", field="functions")
            existing = frozenset(tagged_functions(cloud, workload.name))
        return CloudPlan(choice=choice, cloud=cloud,
                         plan=apply.plan(choice.resolved(workload), cloud),
                         functions=functions, existing_functions=existing)

    try:
        plans = in_parallel(list(placement.chosen), plan_on, lambda c: c.provider)
        for planned in plans.values():
            _check_functions(workload, planned.cloud)
        yield Prepared(placement=placement, clouds=tuple(plans.values()))
    finally:
        for cloud in opened:
            cloud.close()


def _check_functions(workload: Workload, cloud: Cloud) -> None:
    for index, function in enumerate(workload.functions):
        try:
            check_spec_on(function.spec, cloud)
        except InvalidRequest as exc:
            field = f"functions[{index}]" + (f".{exc.field}" if exc.field else "")
            raise workload.locate(InvalidRequest(
                f"{cloud.provider} refuses function {function.name!r}: {exc.reason}; nothing "
                "was created", field=field, provider=cloud.provider)) from None


# -- launch ---------------------------------------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class CloudResult:
    """What :func:`launch` left on one cloud: its VMs and functions, and what it created."""

    provider: str
    region: str
    vms: LaunchResult
    functions: tuple[str, ...]
    deployed: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class CloudMade:
    """What :func:`launch` created on one cloud before it was interrupted, and whether that
    cloud's work had finished."""

    launched: tuple[VM, ...]
    deployed: tuple[str, ...]
    finished: bool


class CloudsInterrupted(LaunchInterrupted):
    """Ctrl-C (or a ``KeyboardInterrupt`` in a cloud's thread) during :func:`launch`: no cloud
    started new work after it, the calls under way ended. Still a ``KeyboardInterrupt``;
    ``launched`` lists the VMs created on every cloud, ``made[cloud]`` what each created and
    whether it finished, ``errors`` the clouds that failed otherwise. Everything made is tagged
    with the workload, so running ``launch`` again completes it and ``destroy`` removes it."""

    def __init__(self, made: Mapping[str, CloudMade],
                 errors: Mapping[str, BaseException]) -> None:
        super().__init__([vm for work in made.values() for vm in work.launched])
        self.made = dict(made)
        self.errors = {cloud: error for cloud, error in errors.items()
                       if not isinstance(error, KeyboardInterrupt)}


def launch(prepared: Prepared, *, progress: ProgressCallback | None = None, wait: bool = True,
           timeout: float = apply.DEFAULT_TIMEOUT) -> dict[str, CloudResult]:
    """Launch the missing VMs and deploy the functions on every cloud of ``prepared``, a thread
    per cloud; the results by cloud. A cloud that fails does not stop the others
    (:class:`CloudsIncomplete` names it); launching again completes the workload.

    On Ctrl-C, or a ``KeyboardInterrupt`` raised in one cloud's thread (by ``progress``, say),
    every cloud stops starting VMs and functions, the calls under way end, and
    :class:`CloudsInterrupted` says what each cloud made."""
    stop = threading.Event()
    launched: dict[str, list[VM]] = {c.provider: [] for c in prepared.clouds}
    deployed: dict[str, list[str]] = {c.provider: [] for c in prepared.clouds}
    finished: set[str] = set()

    def on(plan: CloudPlan) -> CloudResult:
        report = _for_cloud(progress, plan.provider)
        made, functions = launched[plan.provider], deployed[plan.provider]
        try:
            vms = apply.execute(plan.plan, plan.cloud, progress=report, wait=wait,
                                timeout=timeout, stop=stop)
            made.extend(vms.launched)
            for spec in plan.functions:
                if spec.name in plan.existing_functions:
                    continue
                if stop.is_set():
                    raise KeyboardInterrupt
                if report:
                    report(Progress(Step.DEPLOYING, spec.name, spec.name, 0, 0))
                plan.cloud.functions.deploy(spec, timeout=timeout)
                functions.append(spec.name)
                if report:
                    report(Progress(Step.DEPLOYED, spec.name, spec.name, len(functions),
                                    len(plan.to_deploy)))
        except KeyboardInterrupt as exc:
            stop.set()
            if isinstance(exc, LaunchInterrupted):
                made.extend(exc.launched)
            raise
        finished.add(plan.provider)
        return CloudResult(provider=plan.provider, region=plan.region, vms=vms,
                           functions=tuple(f.name for f in plan.functions),
                           deployed=tuple(functions))

    try:
        return in_parallel(list(prepared.clouds), on, lambda p: p.provider, stop=stop)
    except (KeyboardInterrupt, CloudsIncomplete) as exc:
        if not stop.is_set():
            raise
        errors = exc.errors if isinstance(exc, CloudsIncomplete) else {}
        made = {provider: CloudMade(launched=tuple(vms), deployed=tuple(deployed[provider]),
                                    finished=provider in finished)
                for provider, vms in launched.items()}
        raise CloudsInterrupted(made, errors) from exc


# -- status and destroy ---------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """One cloud and region a workload may be on."""

    provider: str
    region: str

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.region}"


def targets(placement: FilePlacement, cloud: str | None = None, region: str | None = None
            ) -> tuple[Target, ...]:
    """Every cloud and region the workload may have been placed on: each cloud its placement
    mode considers (``cloud`` overrides the file's), in each region allowed there."""
    mode = cloud or placement.cloud or "aws"
    probe = Workload(name="x", groups=(), placement=placement)
    return tuple(Target(name, where) for name in clouds_for(mode)
                 for where in regions_for(probe, name, region))


@dataclass(frozen=True, kw_only=True)
class CloudStatus:
    """The workload on one cloud and region: its VMs, its functions, what each VM costs per
    hour (:func:`hourly_price`, spot price for spot VMs) and so far (``None`` per VM not
    counted, see :func:`cost_so_far`), by VM id."""

    target: Target
    vms: Deployment
    functions: tuple[str, ...]
    cost_so_far: Mapping[str, float | None]
    hourly: Mapping[str, float | None]

    @property
    def total_so_far(self) -> float:
        """USD of the VMs that have a cost so far (the others are not counted)."""
        return math.fsum(v for v in self.cost_so_far.values() if v is not None)


#: States in which a VM's compute is billed: its current run counts in the cost so far.
BILLED_STATES = frozenset({VMState.PENDING, VMState.RUNNING})
#: What each cloud's launch time (``VM.launched_at``) is, for the rule of :func:`cost_so_far`.
LAUNCH_TIME_MEANS: Mapping[str, str] = MappingProxyType({
    "aws": "its last start (EC2 LaunchTime)",
    "azure": "its creation (timeCreated)",
    "gcp": "its last start (GCE lastStartTimestamp)",
})
#: The rule of :func:`cost_so_far`, in words, for status output and docs.
COST_SO_FAR_RULE = (
    "cost so far = list price (spot price for spot VMs), billing rules applied, from each "
    "pending or running VM's launch time to now: on AWS and GCP its last start, on Azure its "
    "creation (stopped periods since then count as running; unicompute keeps no state "
    "history); stopped VMs are not counted")


def hourly_price(vm: VM, provider: str, region: str, catalog: Catalog) -> float | None:
    """USD per hour of ``vm`` by the catalog: its size's spot price if it is a spot VM, else
    on demand; ``None`` when the catalog has no such price."""
    try:
        offer = catalog.offer(provider, region, vm.size)
    except NotFound:
        return None
    return offer.hourly(Pricing.SPOT if vm.spot else Pricing.ON_DEMAND)


def cost_so_far(vm: VM, provider: str, region: str, *, now: datetime,
                catalog: Catalog) -> float | None:
    """USD ``vm`` has cost from its launch time to ``now`` by the catalog's price and billing
    rules (spot price for a spot VM), if it is pending or running (:data:`BILLED_STATES`).

    ``None`` when it is not (a stopped VM's compute is not billed, and when it last ran is
    not known), the catalog has no price, or the VM no launch time. The launch time is what
    the cloud reports (:data:`LAUNCH_TIME_MEANS`): the last start on AWS and GCP, the creation
    on Azure, so there a VM stopped and started again counts its stopped periods as running.
    See :data:`COST_SO_FAR_RULE`."""
    if vm.launched_at is None or vm.state not in BILLED_STATES:
        return None
    try:
        offer = catalog.offer(provider, region, vm.size)
    except NotFound:
        return None
    seconds = max(0.0, (now - vm.launched_at).total_seconds())
    pricing = Pricing.SPOT if vm.spot else Pricing.ON_DEMAND
    try:
        return cost_of(offer, seconds, pricing)
    except UnicomputeError:
        return None


def status(name: str, where: Sequence[Target], opener: Opener, *, now: datetime | None = None,
           catalog: Catalog | None = None) -> dict[str, CloudStatus]:
    """The workload's VMs and functions on each target (in parallel), with the cost so far."""
    when = now or datetime.now(UTC)
    prices = catalog or load_catalog()

    def on(target: Target) -> CloudStatus:
        with opener(target.provider, target.region) as cloud:
            deployment = apply.status(name, cloud)
            functions: tuple[str, ...] = ()
            if Capability.FUNCTIONS.value in cloud.capabilities:
                functions = tuple(tagged_functions(cloud, name))
        costs = {vm.id: cost_so_far(vm, target.provider, target.region, now=when,
                                    catalog=prices) for vm in deployment.vms}
        hourly = {vm.id: hourly_price(vm, target.provider, target.region, prices)
                  for vm in deployment.vms}
        return CloudStatus(target=target, vms=deployment, functions=functions,
                           cost_so_far=costs, hourly=hourly)

    return in_parallel(list(where), on, lambda t: t.key)


@dataclass(frozen=True, kw_only=True)
class CloudDestroyed:
    """What :func:`destroy` removed from one cloud and region."""

    target: Target
    vms: tuple[VM, ...]
    functions: tuple[str, ...]


def destroy(name: str, where: Sequence[Target], opener: Opener, *,
            progress: ProgressCallback | None = None,
            timeout: float = apply.DEFAULT_TIMEOUT) -> dict[str, CloudDestroyed]:
    """Delete the workload's functions and terminate its VMs on every target (in parallel),
    then check on each that nothing tagged with it remains (:class:`~unicompute.Conflict`
    naming what does)."""

    def on(target: Target) -> CloudDestroyed:
        report = _for_cloud(progress, target.key)
        with opener(target.provider, target.region) as cloud:
            functions = _delete_functions(name, cloud, report)
            vms = apply.destroy(name, cloud, progress=report, timeout=timeout)
            if functions or Capability.FUNCTIONS.value in cloud.capabilities:
                left = tagged_functions(cloud, name)
                if left:
                    raise Conflict(f"functions tagged {WORKLOAD_TAG}={name} remain after "
                                   f"destroy: {', '.join(left)}", provider=cloud.provider,
                                   operation="workloads.destroy", resource=name)
        return CloudDestroyed(target=target, vms=vms, functions=functions)

    return in_parallel(list(where), on, lambda t: t.key)


def tagged_functions(cloud: Cloud, name: str) -> list[str]:
    """The names of the functions of workload ``name`` on ``cloud``, sorted: those tagged
    ``unicompute:workload=<name>`` as its VMs are (or with the tag functions carried before,
    :data:`~.spec.LEGACY_FUNCTION_WORKLOAD_TAG`). A container the cloud reports missing
    (Azure's resource group before the first launch) holds none."""
    try:
        return sorted(f.name for f in cloud.functions.list() if name in (
            f.tags.get(WORKLOAD_TAG), f.tags.get(LEGACY_FUNCTION_WORKLOAD_TAG)))
    except NotFound:
        return []


def _delete_functions(name: str, cloud: Cloud, report: ProgressCallback | None
                      ) -> tuple[str, ...]:
    if Capability.FUNCTIONS.value not in cloud.capabilities:
        return ()
    found = tagged_functions(cloud, name)
    for done, function in enumerate(found, 1):
        if report:
            report(Progress(Step.DELETING, function, function, done - 1, len(found)))
        with contextlib.suppress(NotFound):  # deleted meanwhile: gone either way
            cloud.functions.delete(function)
        if report:
            report(Progress(Step.DELETED, function, function, done, len(found)))
    return tuple(found)
