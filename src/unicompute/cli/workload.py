"""``unicompute plan|launch|status|destroy WORKLOAD.yaml``: whole workloads, on one cloud, the
cheapest, or all of them.

The file is read and checked, and the workload placed by price (:mod:`unicompute.workloads.
placement`), before any cloud is opened, so a bad file or a plan over ``max_hourly_cost``
changes nothing; ``plan --offline`` stops there and opens no cloud at all (no account
needed). ``status`` and ``destroy`` read only the name and placement from the file and
look on every cloud and region the placement allows. Providers without a price catalog
(``libcloud:*``) take the single-cloud path of :mod:`unicompute.workloads.apply`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn
from rich.progress import Progress as ProgressBar

import unicompute as uc

from .. import workloads
from ..catalog import Pricing
from ..workloads import Plan, deploy
from ..workloads.apply import STARTING_STEPS
from ..workloads.deploy import Prepared, prepare
from ..workloads.placement import DEFAULT_HOURS, Placement, place
from ..workloads.spec import ALL_CLOUDS, CHEAPEST, read_placement
from .exits import EXIT_INTERRUPTED, on_interrupt
from .output import LAUNCHED_COLUMNS, Column, console, money, note, price_column, show, vm_record
from .params import json_option, timeout_option
from .session import cloud_opener, connection_options_with, open_cloud, redact, settings

#: ``--cloud`` and ``--region`` of the workload commands.
workload_connection_options = connection_options_with(
    cloud_help="aws, azure, gcp, libcloud:<driver>, cheapest (the one cloud and region where "
    "the whole workload costs least) or all (the same workload on aws, azure and gcp) "
    "(default: the file's placement.cloud, else aws).",
    region_help="Use only this region of the cloud: one of the file's placement.regions for "
    "it (any other is refused), or, where the file lists none, a region instead of the "
    "provider's default. Not with cheapest or all (list regions per cloud in the file).")

_workload_argument = click.argument(
    "workload_file",
    metavar="WORKLOAD.yaml",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)

PLAN_COLUMNS = (
    Column("group", "group"),
    Column("size", "size"),
    Column("image", "image"),
    Column("count", "count", "right"),
    Column("existing", "existing", "right"),
    Column("to_launch", "to launch", "right"),
    price_column(),
    price_column("hourly_cost", "group/h"),
)


def _open(ctx: click.Context, workload_file: Path) -> tuple[workloads.Workload, uc.Cloud]:
    """The checked workload, then the cloud (in that order: a bad file opens nothing)."""
    workload = workloads.load(workload_file)
    return workload, open_cloud(ctx)


def _open_by_name(ctx: click.Context, workload_file: Path) -> tuple[str, uc.Cloud]:
    """Only the workload's name, then the cloud: the rest of the file may be stale."""
    name = workloads.read_name(workload_file)
    return name, open_cloud(ctx)


def _show_deployment(
    deployment: workloads.Deployment, *, as_json: bool, empty: str = "Nothing found."
) -> None:
    show(
        [vm_record(vm, price=deployment.price(vm)) for vm in deployment.vms],
        LAUNCHED_COLUMNS,
        as_json=as_json,
        title=f"VMs of {deployment.workload}",
        empty=empty,
    )


def _cost(value: float | None) -> str:
    return f"{money(value)}/h" if value is not None else "unknown cost/h"


def plan_records(plan: Plan) -> list[dict[str, Any]]:
    """One record per group: the size chosen and how many VMs exist and are missing."""
    return [
        {
            "group": group.group.name,
            "size": group.size.name,
            "vcpus": group.size.vcpus,
            "memory_gib": group.size.memory_gib,
            "image": group.image.alias or group.image.id,
            "count": group.group.count,
            "existing": len(group.existing),
            "to_launch": len(group.missing),
            "hourly_price": group.size.hourly_price,
            "hourly_cost": group.hourly_cost,
        }
        for group in plan.groups
    ]


def _show_plan(ctx: click.Context, plan: Plan, cloud: uc.Cloud, *, stderr: bool) -> None:
    """The plan as a table, and its totals (on stderr when stdout carries JSON)."""
    title = f"Plan for {plan.workload.name} on {settings(ctx).describe(cloud)}"
    show(plan_records(plan), PLAN_COLUMNS, as_json=False, title=title, stderr=stderr)
    out = console(stderr=stderr)
    out.print(
        f"{plan.to_launch} VM(s) to launch; {_cost(plan.hourly_cost)} when complete.", markup=False
    )
    for vm in plan.extra:
        out.print(f"Not in the workload any more, left running: {vm.name} ({vm.id})", markup=False)


@contextmanager
def _progress(verb: str) -> Iterator[Callable[[workloads.Progress], None]]:
    """A progress callback drawing a bar on stderr and logging each finished step."""
    with ProgressBar(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(verb, total=None)

        def update(event: workloads.Progress) -> None:
            bar.update(
                task,
                total=event.total,
                completed=event.done,
                description=f"{event.step.value} {event.name}",
            )
            if event.step not in STARTING_STEPS:
                where = f"[{event.cloud}] " if event.cloud else ""
                bar.console.print(f"{where}{event.step.value}: {event.name} ({event.vm_id})",
                                  markup=False)

        yield update


def legacy_plan(ctx: click.Context, workload_file: Path, as_json: bool) -> None:
    """``plan`` on a provider without a price catalog: one cloud, sizes from the cloud. Its
    ``--json`` object has the keys of the catalog clouds' that apply (``workload``, ``mode``,
    ``hourly``: ``null`` when a size has no price, ``chosen``: a record per group) and
    ``region`` and ``to_launch``."""
    workload, cloud = _open(ctx, workload_file)
    plan = workloads.plan(workload, cloud)
    if as_json:
        click.echo(json.dumps({
            "workload": workload.name, "mode": cloud.provider, "region": cloud.region,
            "hourly": plan.hourly_cost, "to_launch": plan.to_launch,
            "chosen": plan_records(plan)}, indent=2))
    else:
        _show_plan(ctx, plan, cloud, stderr=False)


def legacy_launch(
    ctx: click.Context, workload_file: Path, wait: bool, timeout: float, as_json: bool
) -> None:
    """``launch`` on a provider without a price catalog."""
    workload, cloud = _open(ctx, workload_file)
    plan = workloads.plan(workload, cloud)
    _show_plan(ctx, plan, cloud, stderr=as_json)
    try:
        with _progress("launching") as progress:
            result = workloads.execute(plan, cloud, progress=progress, wait=wait, timeout=timeout)
    except KeyboardInterrupt as exc:
        launched = exc.launched if isinstance(exc, workloads.LaunchInterrupted) else ()
        _interrupted(workload_file, launched)
        ctx.exit(EXIT_INTERRUPTED)
    _show_deployment(result, as_json=as_json)
    note(
        f"Launched {len(result.launched)} VM(s); {len(result.vms)} in the workload, "
        f"{_cost(result.hourly_cost)}."
    )


def _interrupted(workload_file: Path, launched: tuple[uc.VM, ...]) -> None:
    """Tell what a launch stopped by Ctrl-C left behind, and how to finish or undo it."""
    if launched:
        note(f"Interrupted after launching {len(launched)} VM(s):")
        for vm in launched:
            note(f"  {vm.name} ({vm.id})")
    else:
        note("Interrupted before any VM launch had completed.")
    note(
        f"Run `unicompute launch {workload_file}` again (same options) to complete the workload, "
        f"or `unicompute destroy {workload_file}` to remove it; `status` lists what exists."
    )


def _interrupted_on_clouds(ctx: click.Context, workload_file: Path, exc: KeyboardInterrupt
                           ) -> None:
    """Tell, per cloud, what a launch stopped by Ctrl-C made, and how to finish or undo it."""
    if isinstance(exc, deploy.CloudsInterrupted):
        note("Ctrl-C: no cloud started anything new after it; the calls under way ended.")
        for cloud, made in exc.made.items():
            functions = f" ({', '.join(made.deployed)})" if made.deployed else ""
            note(f"[{cloud}] {'finished' if made.finished else 'stopped'}: launched "
                 f"{len(made.launched)} VM(s), deployed {len(made.deployed)} "
                 f"function(s){functions}")
        for cloud, error in exc.errors.items():
            note(f"[{cloud}] failed: {redact(str(error), settings(ctx).secrets())}")
    launched = exc.launched if isinstance(exc, workloads.LaunchInterrupted) else ()
    _interrupted(workload_file, launched)


def legacy_status(ctx: click.Context, workload_file: Path, as_json: bool) -> None:
    """``status`` on a provider without a price catalog."""
    name, cloud = _open_by_name(ctx, workload_file)
    deployment = workloads.status(name, cloud)
    _show_deployment(deployment, as_json=as_json, empty=f"No VMs of {name}.")
    if deployment.vms:
        note(f"{len(deployment.vms)} VM(s), {_cost(deployment.hourly_cost)}.")


def legacy_destroy(ctx: click.Context, workload_file: Path, timeout: float, as_json: bool
                   ) -> None:
    """``destroy`` on a provider without a price catalog."""
    name, cloud = _open_by_name(ctx, workload_file)
    with _progress("terminating") as progress:
        gone = workloads.destroy(name, cloud, progress=progress, timeout=timeout)
    show(
        [vm_record(vm) for vm in gone],
        LAUNCHED_COLUMNS[:4],  # name, id, state, size: prices and addresses are gone
        as_json=as_json,
        title=f"Terminated VMs of {name}",
        empty=f"No VMs of {name}.",
    )


# -- on one cloud, the cheapest, or all: the price catalog's clouds -------------------------
_hours_option = click.option(
    "--hours", type=click.FloatRange(min=0), default=DEFAULT_HOURS, show_default=True,
    help="Hours to project the cost over (billing rules applied; 730 = a month).")

#: ``--commitment`` values and the pricing each asks for.
COMMITMENTS: dict[str, Pricing | None] = {
    "none": None, "1y": Pricing.COMMIT_1Y, "3y": Pricing.COMMIT_3Y}
_commitment_option = click.option(
    "--commitment", type=click.Choice(list(COMMITMENTS)), default="none", show_default=True,
    help="Price VMs that are not spot at a 1- or 3-year commitment where the catalog has "
    "that price (else on demand, and the plan says so).")
#: Milliseconds one function invocation is assumed to take for its cost per million.
DEFAULT_FUNCTION_MS = 100.0
_function_ms_option = click.option(
    "--function-ms", type=click.FloatRange(min=1), default=DEFAULT_FUNCTION_MS,
    show_default=True, metavar="MS",
    help="Duration of one function invocation assumed for its cost per million invocations.")

OPTION_COLUMNS = (
    Column("cloud", "cloud"),
    Column("region", "region"),
    Column("sizes", "sizes"),
    price_column("hourly", "$/h"),
    price_column("total", "total"),
    Column("chosen", "chosen"),
)
CHOSEN_COLUMNS = (
    Column("cloud", "cloud"),
    Column("region", "region"),
    Column("group", "group"),
    Column("size", "size"),
    Column("pricing", "pricing"),
    Column("count", "count", "right"),
    Column("existing", "existing", "right"),
    Column("to_launch", "to launch", "right"),
    price_column("hourly", "group/h"),
    Column("reason", "why"),
)
FUNCTION_COLUMNS = (
    Column("cloud", "cloud"),
    Column("region", "region"),
    Column("name", "function"),
)


def _mode(ctx: click.Context, workload: workloads.Workload) -> str:
    return settings(ctx).cloud or workload.placement.cloud or "aws"


def _catalog_clouds() -> tuple[str, ...]:
    from ..catalog import load_catalog

    return load_catalog().providers()


def _is_multi(mode: str) -> bool:
    return mode in (CHEAPEST, ALL_CLOUDS) or mode in _catalog_clouds()


def _place(ctx: click.Context, workload: workloads.Workload, hours: float, commitment: str
           ) -> Placement:
    return place(workload, cloud=settings(ctx).cloud, region=settings(ctx).region, hours=hours,
                 commitment=COMMITMENTS[commitment])


def option_records(placement: Placement) -> list[dict[str, Any]]:
    """The best region of every cloud considered, cheapest first, and which were chosen."""
    return [
        {"cloud": o.provider, "region": o.region,
         "sizes": ", ".join(f"{g.group.name}={g.size}{' (spot)' if g.spot else ''}"
                            for g in o.groups),
         "hourly": o.hourly, "total": o.total, "chosen": o in placement.chosen}
        for o in placement.options
    ]


def chosen_records(prepared: Prepared | None, placement: Placement) -> list[dict[str, Any]]:
    """One record per group and chosen cloud: size, pricing, existing/missing VMs, why."""
    plans = {c.provider: c.plan for c in prepared.clouds} if prepared else {}
    records = []
    for choice in placement.chosen:
        plan = plans.get(choice.provider)
        for index, group in enumerate(choice.groups):
            candidate = group.candidate
            existing = len(plan.groups[index].existing) if plan else None
            records.append({
                "cloud": choice.provider, "region": choice.region, "group": group.group.name,
                "size": group.size, "vcpus": candidate.offer.vcpus,
                "memory_gib": candidate.offer.memory_gib, "gpus": candidate.offer.gpus,
                "pricing": candidate.pricing.value, "count": group.group.count,
                "existing": existing,
                "to_launch": len(plan.groups[index].missing) if plan else None,
                "hourly": candidate.hourly, "total": candidate.total,
                "estimated": candidate.estimated, "considered": group.considered,
                "commitment_fell_back": placement.fell_back(group),
                "reason": candidate.reason,
            })
    return records


def function_records(placement: Placement, prepared: Prepared | None, function_ms: float
                     ) -> list[dict[str, Any]]:
    """One record per function and chosen cloud: whether it exists (``None`` offline, when
    ``prepared`` is ``None``: not checked), and what a million invocations of ``function_ms``
    each cost there (the catalog's on-demand prices, before the free tier, which is per account
    and month)."""
    specs = tuple(f.spec for f in placement.workload.functions)
    if prepared is None:
        found: list[tuple[str, frozenset[str] | None]] = [
            (choice.provider, None) for choice in placement.chosen]
    else:
        found = [(cloud.provider, cloud.existing_functions) for cloud in prepared.clouds]
    records = []
    for provider, existing in found if specs else ():
        prices = placement.catalog.functions(provider)
        for spec in specs:
            records.append({
                "cloud": provider, "name": spec.name,
                "exists": None if existing is None else spec.name in existing,
                "memory_mb": spec.memory_mb, "assumed_ms": function_ms,
                "cost_per_million": prices.cost_per_million(spec.memory_mb, function_ms),
                "service": prices.service,
            })
    return records


def plan_document(placement: Placement, prepared: Prepared | None, function_ms: float
                  ) -> dict[str, Any]:
    """The ``plan --json`` object; offline (``prepared`` is ``None``) ``existing``,
    ``to_launch`` and functions' ``exists`` are ``null`` and ``unchecked`` says what was not
    looked at."""
    catalog = placement.catalog
    clouds = {p for p, _ in placement.candidates} | set(placement.providers)
    return {
        "workload": placement.workload.name,
        "mode": placement.mode,
        "hours": placement.hours,
        "hourly": placement.hourly,
        "total": placement.total,
        "max_hourly_cost": placement.workload.placement.max_hourly_cost,
        "chosen": chosen_records(prepared, placement),
        "options": option_records(placement),
        "commitment": placement.commitment.value if placement.commitment else None,
        "functions": function_records(placement, prepared, function_ms),
        "offline": prepared is None,
        "unchecked": list(offline_notes(placement)) if prepared is None else [],
        "catalog": {cloud: {"date": catalog.date(cloud), "source": catalog.source(cloud),
                            "origin": catalog.origin(cloud)} for cloud in sorted(clouds)},
    }


def offline_notes(placement: Placement) -> tuple[str, ...]:
    """What a plan made from the catalog alone did not look at, one sentence each."""
    images = sorted({group.image for group in placement.workload.groups})
    notes = [OFFLINE_NOTE]
    if images:
        notes.append(f"offline: image aliases not resolved ({', '.join(images)}): whether "
                     "each chosen cloud and region has the image is not checked")
    return tuple(notes)


def _show_placement(placement: Placement, prepared: Prepared | None, *, stderr: bool,
                    function_ms: float = DEFAULT_FUNCTION_MS) -> None:
    name = placement.workload.name
    show(option_records(placement), OPTION_COLUMNS, as_json=False, stderr=stderr,
         title=f"{name}: the whole workload per cloud (best region; {placement.hours:g} h)")
    show(chosen_records(prepared, placement), CHOSEN_COLUMNS, as_json=False, stderr=stderr,
         title=f"Plan for {name} ({placement.mode}{', offline' if prepared is None else ''})",
         empty="No VM groups.")
    out = console(stderr=stderr)
    for record in function_records(placement, prepared, function_ms):
        state = ("not checked" if record["exists"] is None
                 else "exists" if record["exists"] else "to deploy")
        out.print(f"function {record['name']} on {record['cloud']}: {state}; "
                  f"{money(record['cost_per_million'])} per million invocations of "
                  f"{record['assumed_ms']:g} ms at {record['memory_mb']} MB "
                  f"({record['service']}, before the free tier)", markup=False)
    fell_back = [f"{choice.provider} {group.group.name}" for choice in placement.chosen
                 for group in choice.groups if placement.fell_back(group)]
    if fell_back and placement.commitment:
        out.print(f"No {placement.commitment.value} price in the catalog, priced on demand: "
                  f"{', '.join(fell_back)}.", markup=False)
    if prepared:
        for cloud in prepared.clouds:
            for vm in cloud.plan.extra:
                out.print(f"Not in the workload any more, left running on {cloud.provider}: "
                          f"{vm.name} ({vm.id})", markup=False)
    missing = prepared.to_launch if prepared else None
    cap = placement.workload.placement.max_hourly_cost
    out.print(
        (f"{missing} VM(s) to launch; " if missing is not None else "")
        + f"{money(placement.hourly)}/h, {money(placement.total)} over {placement.hours:g} h"
        + (f" (max {money(cap)}/h)" if cap else "") + ".", markup=False)
    catalog = placement.catalog
    for provider in sorted({c.provider for c in placement.options}):
        out.print(f"Prices: {provider} catalog of {catalog.date(provider)} "
                  f"({catalog.origin(provider)})", markup=False)
    for line in offline_notes(placement) if prepared is None else ():
        out.print(f"{line}.", markup=False)


#: The first line of every offline plan.
OFFLINE_NOTE = ("offline: nothing was checked on the clouds (existing VMs and functions not "
                "counted; images, quotas and function limits not checked; no credentials read)")
_offline_option = click.option(
    "--offline", is_flag=True,
    help="Plan from the price catalog alone: open no cloud and read no credentials (no account "
    "needed). Existing VMs and functions are not counted, image aliases not resolved, and the "
    "clouds' own checks (images, function limits) not made. Not with libcloud:<driver>.")

_plan_json_option = click.option(
    "--json", "as_json", is_flag=True,
    help="Print the plan as one JSON object instead of tables: workload, mode, hours, hourly, "
    "total, max_hourly_cost, chosen (a record per group and cloud), options (the best region "
    "per cloud), commitment, functions, offline, unchecked (what an offline plan did not "
    "look at) and catalog (date and source per cloud).")


@click.command("plan")
@_workload_argument
@_hours_option
@_commitment_option
@_function_ms_option
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE.png",
              help="Also write a PNG comparing the clouds' costs (needs matplotlib).")
@_offline_option
@_plan_json_option
@workload_connection_options
@click.pass_context
def plan_command(ctx: click.Context, workload_file: Path, hours: float, commitment: str,
                 function_ms: float, plot: Path | None, offline: bool, as_json: bool) -> None:
    """Show where WORKLOAD.yaml would go and why: the candidates per cloud, the choice, the
    hourly and projected cost, and what exists already (not with --offline, which needs no
    cloud account). Creates nothing."""
    workload = workloads.load(workload_file)
    mode = _mode(ctx, workload)
    if not _is_multi(mode):
        if offline:
            raise uc.InvalidRequest(
                f"--offline plans from the price catalog, which has no {mode!r} (it has "
                f"{', '.join(_catalog_clouds())}); plan without --offline", field="offline")
        legacy_plan(ctx, workload_file, as_json)
        return
    placement = _place(ctx, workload, hours, commitment)
    if offline:
        _print_plan(placement, None, function_ms, as_json=as_json)
    else:
        with prepare(placement, cloud_opener(ctx)) as prepared:
            _print_plan(placement, prepared, function_ms, as_json=as_json)
    if plot is not None:
        from .plot import plot_costs

        plot_costs(placement, plot)
        note(f"Wrote {plot}.")


def _print_plan(placement: Placement, prepared: Prepared | None, function_ms: float, *,
                as_json: bool) -> None:
    """The plan as JSON on stdout, or as tables; offline (``prepared`` is ``None``) what was
    not checked is said on stderr too when stdout carries JSON."""
    if as_json:
        click.echo(json.dumps(plan_document(placement, prepared, function_ms), indent=2))
        for line in offline_notes(placement) if prepared is None else ():
            note(f"{line}.")
    else:
        _show_placement(placement, prepared, stderr=False, function_ms=function_ms)


@click.command("launch")
@_workload_argument
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Wait until every launched VM is running.",
)
@_hours_option
@_commitment_option
@timeout_option
@json_option
@workload_connection_options
@click.pass_context
def launch_command(
    ctx: click.Context, workload_file: Path, wait: bool, hours: float, commitment: str,
    timeout: float, as_json: bool
) -> None:
    """Place WORKLOAD.yaml, then launch what does not run yet (clouds in parallel) and list
    everything.

    VMs are named <workload>-<group>-<n> and tagged unicompute:workload=<workload>; functions
    are named <workload>-<function>. Running launch again creates only what is missing.
    """
    workload = workloads.load(workload_file)
    if not _is_multi(_mode(ctx, workload)):
        legacy_launch(ctx, workload_file, wait, timeout, as_json)
        return
    placement = _place(ctx, workload, hours, commitment)
    with prepare(placement, cloud_opener(ctx)) as prepared:
        _show_placement(placement, prepared, stderr=as_json)
        try:
            with _progress("launching") as progress:
                results = deploy.launch(prepared, progress=progress, wait=wait,
                                        timeout=timeout)
        except KeyboardInterrupt as exc:
            _interrupted_on_clouds(ctx, workload_file, exc)
            ctx.exit(EXIT_INTERRUPTED)
    records = [vm_record(vm, price=deploy.hourly_price(vm, r.provider, r.region,
                                                       placement.catalog))
               | {"kind": "vm", "cloud": r.provider, "region": r.region}
               for r in results.values() for vm in r.vms.vms]
    functions = [{"kind": "function", "cloud": r.provider, "region": r.region, "name": name,
                  "deployed": name in r.deployed} for r in results.values()
                 for name in r.functions]
    show(records + functions if as_json else records, LAUNCHED_WHERE_COLUMNS,
         as_json=as_json, title=f"VMs of {workload.name}")
    if functions and not as_json:
        show(functions, FUNCTION_COLUMNS, as_json=False, title="Functions")
    new_vms = sum(len(r.vms.launched) for r in results.values())
    deployed = sum(len(r.deployed) for r in results.values())
    note(f"Launched {new_vms} VM(s) and deployed {deployed} function(s) on "
         f"{', '.join(results)}; {len(records)} VM(s) in the workload, "
         f"{_cost(placement.hourly)} by the catalog (spot where chosen).")


LAUNCHED_WHERE_COLUMNS = (Column("cloud", "cloud"), *LAUNCHED_COLUMNS)
STATUS_COLUMNS = (*LAUNCHED_WHERE_COLUMNS[:6], price_column("cost_so_far", "so far"),
                  *LAUNCHED_WHERE_COLUMNS[6:])


def _targets(ctx: click.Context, workload_file: Path) -> tuple[str, list[deploy.Target]] | None:
    """The workload's name and every cloud/region it may be on; ``None`` for the legacy path."""
    name, file_placement = read_placement(workload_file)
    mode = settings(ctx).cloud or file_placement.cloud or "aws"
    if not _is_multi(mode):
        return None
    return name, list(deploy.targets(file_placement, settings(ctx).cloud, settings(ctx).region))


@click.command("status")
@_workload_argument
@json_option
@workload_connection_options
@click.pass_context
def status_command(ctx: click.Context, workload_file: Path, as_json: bool) -> None:
    """What of WORKLOAD.yaml runs where: VMs with state, price, cost so far and addresses, and
    its functions.

    Cost so far: list price (spot price for spot VMs), billing rules applied, from each pending
    or running VM's launch time to now. The launch time is the last start on AWS and the
    creation on Azure and GCP (stopped periods since then count as running: unicompute keeps no
    state history); stopped VMs are not counted."""
    found = _targets(ctx, workload_file)
    if found is None:
        legacy_status(ctx, workload_file, as_json)
        return
    name, where = found
    seen = deploy.status(name, where, cloud_opener(ctx))
    records = [vm_record(vm, price=s.hourly.get(vm.id)) | {
        "kind": "vm", "cloud": s.target.provider, "region": s.target.region,
        "cost_so_far": s.cost_so_far.get(vm.id)} for s in seen.values() for vm in s.vms.vms]
    functions = [{"kind": "function", "cloud": s.target.provider, "region": s.target.region,
                  "name": function} for s in seen.values() for function in s.functions]
    show(records + functions if as_json else records, STATUS_COLUMNS, as_json=as_json,
         title=f"VMs of {name}", empty=f"No VMs of {name}.")
    if functions and not as_json:
        show(functions, FUNCTION_COLUMNS, as_json=False, title="Functions")
    if records:
        counted = [r["cost_so_far"] for r in records if r["cost_so_far"] is not None]
        hourly = [r["hourly_price"] for r in records]
        per_hour = None if None in hourly else sum(hourly)
        left_out = len(records) - len(counted)
        note(f"{len(records)} VM(s) on {', '.join(sorted({r['cloud'] for r in records}))}, "
             f"{_cost(per_hour)}; cost so far {money(sum(counted))}"
             + (f" ({left_out} VM(s) not counted: not running or no price)" if left_out
                else "") + ".")
        note(f"Rule: {deploy.COST_SO_FAR_RULE}.")


@click.command("destroy")
@_workload_argument
@timeout_option
@json_option
@workload_connection_options
@click.pass_context
def destroy_command(ctx: click.Context, workload_file: Path, timeout: float, as_json: bool) -> None:
    """Remove every VM and function of WORKLOAD.yaml on every cloud and region it may be on,
    then check that nothing tagged with it remains."""
    on_interrupt(ctx, f"run `unicompute destroy {workload_file}` again (same options) to "
                 "remove what is left")
    found = _targets(ctx, workload_file)
    if found is None:
        legacy_destroy(ctx, workload_file, timeout, as_json)
        return
    name, where = found
    with _progress("terminating") as progress:
        gone = deploy.destroy(name, where, cloud_opener(ctx), progress=progress,
                              timeout=timeout)
    records = [vm_record(vm) | {"kind": "vm", "cloud": d.target.provider,
                                "region": d.target.region}
               for d in gone.values() for vm in d.vms]
    functions = [{"kind": "function", "cloud": d.target.provider, "region": d.target.region,
                  "name": function} for d in gone.values() for function in d.functions]
    show(records + functions if as_json else records, LAUNCHED_WHERE_COLUMNS[:5],
         as_json=as_json, title=f"Terminated VMs of {name}", empty=f"No VMs of {name}.")
    if functions and not as_json:
        show(functions, FUNCTION_COLUMNS, as_json=False, title="Deleted functions")
    note(f"Nothing tagged {workloads.WORKLOAD_TAG}={name} remains on "
         f"{', '.join(t.key for t in where)}.")
