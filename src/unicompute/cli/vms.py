"""``unicompute vms ...``: launch, list and control single VMs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click

import unicompute as uc

from ..workloads import DEFAULT_IMAGE
from .output import LAUNCHED_COLUMNS, VM_COLUMNS, show, vm_record
from .params import json_option, tag_option, timeout_option
from .session import connection_options, open_cloud

#: States ``vms list --state`` accepts (terminated VMs are never listed).
_LISTABLE = [state.value for state in uc.VMState if state is not uc.VMState.TERMINATED]


@click.group()
def vms() -> None:
    """Launch, list, stop, start and terminate single VMs."""


@vms.command("list")
@tag_option("Only VMs with this tag (repeatable; all must match).")
@click.option(
    "--state",
    "states",
    type=click.Choice(_LISTABLE),
    multiple=True,
    help="Only VMs in this state (repeatable; any may match).",
)
@json_option
@connection_options
@click.pass_context
def list_vms(
    ctx: click.Context, tags: dict[str, str], states: tuple[str, ...], as_json: bool
) -> None:
    """List VMs; terminated ones are never listed."""
    cloud = open_cloud(ctx)
    found = cloud.vms.list(tags=tags, states=[uc.VMState(s) for s in states] or None)
    show([vm_record(vm) for vm in found], VM_COLUMNS, as_json=as_json, empty="No VMs.")


@vms.command("launch")
@click.argument("name")
@click.option("--size", help="Size name, e.g. t3.micro (see `unicompute sizes`).")
@click.option(
    "--vcpus",
    type=click.IntRange(min=1),
    help="Instead of --size: the cheapest size with at least this many vCPUs ...",
)
@click.option(
    "--memory",
    "memory_gib",
    type=click.FloatRange(min=0, min_open=True),
    metavar="GIB",
    help="... and at least this much memory.",
)
@click.option(
    "--image",
    default=DEFAULT_IMAGE,
    show_default=True,
    help="Portable image alias or the cloud's image id (see `unicompute images`).",
)
@click.option(
    "--port",
    "ports",
    type=click.IntRange(1, 65535),
    multiple=True,
    help="TCP port to open to the internet (repeatable).",
)
@tag_option("Tag to set (repeatable).")
@click.option(
    "--user-data-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Script or cloud-init file the VM runs at first boot.",
)
@click.option(
    "--disk",
    "disk_gib",
    type=click.IntRange(min=1),
    metavar="GIB",
    help="Boot disk size (default: the image's).",
)
@click.option("--spot", is_flag=True, help="Use spot capacity.")
@click.option(
    "--count",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="How many VMs; more than one are named NAME-1 ... NAME-N.",
)
@click.option("--wait", is_flag=True, help="Wait until every VM is running.")
@timeout_option
@json_option
@connection_options
@click.pass_context
def launch_vms(
    ctx: click.Context,
    name: str,
    size: str | None,
    vcpus: int | None,
    memory_gib: float | None,
    image: str,
    ports: tuple[int, ...],
    tags: dict[str, str],
    user_data_file: Path | None,
    disk_gib: int | None,
    spot: bool,
    count: int,
    wait: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Launch VMs called NAME, of --size or of the cheapest size with --vcpus/--memory."""
    if size is not None and (vcpus is not None or memory_gib is not None):
        raise click.UsageError("give --size, or --vcpus/--memory, not both")
    if size is None and vcpus is None and memory_gib is None:
        raise click.UsageError("give --size, or --vcpus and/or --memory")
    user_data = user_data_file.read_bytes() if user_data_file else None
    cloud = open_cloud(ctx)
    chosen = _size(cloud, size, vcpus, memory_gib)
    spec = uc.VMSpec(
        name=name,
        size=chosen,
        image=image,
        user_data=user_data,
        tags=tags,
        open_ports=ports,
        disk_gib=disk_gib,
        spot=spot,
    )
    launched = cloud.vms.launch(spec, count=count)
    vms = launched if isinstance(launched, list) else [launched]
    if wait:
        for vm in vms:
            vm.wait_until(uc.VMState.RUNNING, timeout=timeout)
    records = [vm_record(vm, price=chosen.hourly_price) for vm in vms]
    show(records, LAUNCHED_COLUMNS, as_json=as_json)


def _size(
    cloud: uc.Cloud, name: str | None, vcpus: int | None, memory_gib: float | None
) -> uc.Size:
    """The size named ``name``, or the cheapest with ``vcpus`` and ``memory_gib``."""
    try:
        if name is not None:
            return cloud.vms.size(name)
        return cloud.vms.cheapest_size(vcpus=vcpus, memory_gib=memory_gib)
    except uc.NotFound as exc:
        raise click.BadParameter(
            f"{exc.message}; see `unicompute sizes`",
            param_hint="--size" if name else "--vcpus/--memory",
        ) from exc


def _action(
    name: str, summary: str, act: Callable[[uc.VM], object], verb: str, target: uc.VMState
) -> click.Command:
    """A command that applies ``act`` to every VM given by id, after checking they all exist."""

    @click.command(name, help=f"{summary}\n\nEvery ID is looked up before any VM is changed.")
    @click.argument("ids", nargs=-1, required=True, metavar="ID...")
    @click.option("--wait", is_flag=True, help=f"Wait until each VM is {target.value}.")
    @timeout_option
    @connection_options
    @click.pass_context
    def command(ctx: click.Context, ids: tuple[str, ...], wait: bool, timeout: float) -> None:
        cloud = open_cloud(ctx)
        targets = [cloud.vms.get(vm_id) for vm_id in dict.fromkeys(ids)]
        for vm in targets:
            act(vm)
            click.echo(f"{verb} {vm.id} ({vm.name})")
        if wait:
            for vm in targets:
                vm.wait_until(target, timeout=timeout)
                click.echo(f"{vm.id} ({vm.name}) is {target.value}")

    return command


for _command in (
    _action("stop", "Stop VMs; their disks are kept.", uc.VM.stop, "stopping", uc.VMState.STOPPED),
    _action("start", "Start stopped VMs.", uc.VM.start, "starting", uc.VMState.RUNNING),
    _action("reboot", "Reboot running VMs.", uc.VM.reboot, "rebooting", uc.VMState.RUNNING),
    _action(
        "terminate",
        "Terminate VMs and delete their disks.",
        uc.VM.terminate,
        "terminating",
        uc.VMState.TERMINATED,
    ),
):
    vms.add_command(_command)
