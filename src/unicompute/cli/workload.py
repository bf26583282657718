"""``unicompute plan|launch|status|destroy WORKLOAD.yaml``: whole workloads.

The file is read and checked before any cloud is opened, so a bad file changes nothing;
``status`` and ``destroy`` read only the workload's name from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, SpinnerColumn, TextColumn
from rich.progress import Progress as ProgressBar

import unicompute as uc

from .. import workloads
from ..workloads import Plan, Step
from .output import LAUNCHED_COLUMNS, Column, console, money, note, price_column, show, vm_record
from .params import json_option, timeout_option
from .session import connection_options, open_cloud, settings

#: Exit status after Ctrl-C, as a shell reports a process ended by SIGINT (128 + 2).
EXIT_INTERRUPTED = 130

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
            if event.step not in (Step.LAUNCHING, Step.TERMINATING):
                bar.console.print(f"{event.step.value}: {event.name} ({event.vm_id})", markup=False)

        yield update


@click.command("plan")
@_workload_argument
@json_option
@connection_options
@click.pass_context
def plan_command(ctx: click.Context, workload_file: Path, as_json: bool) -> None:
    """Show what `launch` would do: each group's size, price and missing VMs. Changes nothing."""
    workload, cloud = _open(ctx, workload_file)
    plan = workloads.plan(workload, cloud)
    if as_json:
        show(plan_records(plan), PLAN_COLUMNS, as_json=True)
    else:
        _show_plan(ctx, plan, cloud, stderr=False)


@click.command("launch")
@_workload_argument
@click.option(
    "--wait/--no-wait",
    default=True,
    show_default=True,
    help="Wait until every launched VM is running.",
)
@timeout_option
@json_option
@connection_options
@click.pass_context
def launch_command(
    ctx: click.Context, workload_file: Path, wait: bool, timeout: float, as_json: bool
) -> None:
    """Launch the VMs of WORKLOAD.yaml that do not run yet, then list all of them.

    VMs are named <workload>-<group>-<n> and tagged unicompute:workload=<workload>; running
    launch again creates only what is missing.
    """
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


@click.command("status")
@_workload_argument
@json_option
@connection_options
@click.pass_context
def status_command(ctx: click.Context, workload_file: Path, as_json: bool) -> None:
    """List the VMs of WORKLOAD.yaml that exist, with their state, price and addresses."""
    name, cloud = _open_by_name(ctx, workload_file)
    deployment = workloads.status(name, cloud)
    _show_deployment(deployment, as_json=as_json, empty=f"No VMs of {name}.")
    if deployment.vms:
        note(f"{len(deployment.vms)} VM(s), {_cost(deployment.hourly_cost)}.")


@click.command("destroy")
@_workload_argument
@timeout_option
@json_option
@connection_options
@click.pass_context
def destroy_command(ctx: click.Context, workload_file: Path, timeout: float, as_json: bool) -> None:
    """Terminate every VM tagged with the workload of WORKLOAD.yaml and check none remains."""
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
