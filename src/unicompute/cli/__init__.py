"""The ``unicompute`` command: VMs, catalogs and whole workloads on any cloud.

``main`` is the entry point. Errors from unicompute print one line to stderr (``error: ...``) and
exit with 2 for bad input (:class:`~unicompute.InvalidRequest`, usage errors) or 1 for everything
the cloud refused; no traceback is shown for them. Secret config values are never printed.
"""

from __future__ import annotations

from typing import Any

import click

import unicompute as uc

from .catalog import images, sizes
from .catalog_commands import catalog_group
from .functions import functions
from .mock_server import mock_server
from .mock_state import mock_group
from .session import connection_options, redact, settings
from .vms import vms
from .workload import destroy_command, launch_command, plan_command, status_command

#: Exit status for bad input (also click's own for usage errors) and for cloud failures.
EXIT_BAD_INPUT = 2
EXIT_CLOUD_ERROR = 1


class _Main(click.Group):
    """The root group; turns :class:`~unicompute.UnicomputeError` into one line and an exit
    status."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except uc.UnicomputeError as exc:
            message = " ".join(str(exc).split())  # one line, whatever the provider sent
            click.echo(f"error: {redact(message, settings(ctx).secrets())}", err=True)
            ctx.exit(EXIT_BAD_INPUT if isinstance(exc, uc.InvalidRequest) else EXIT_CLOUD_ERROR)


@click.group(
    cls=_Main, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@connection_options
@click.version_option(uc.__version__, prog_name="unicompute")
@click.pass_context
def main(ctx: click.Context) -> None:
    """One command line for virtual machines on every cloud.

    \b
    Examples:
      unicompute plan examples/shop.yaml --cloud all --mock   # cost on every cloud
      unicompute launch examples/shop.yaml --mock    # on the cheapest cloud (fakes)
      unicompute sizes --vcpus 2 --memory 4          # the cheapest sizes with 2 vCPUs, 4 GiB
      unicompute vms list --state running --json
    """
    settings(ctx)


for _command in (
    vms,
    sizes,
    images,
    catalog_group,
    plan_command,
    launch_command,
    status_command,
    destroy_command,
    mock_server,
    mock_group,
    functions,
):
    main.add_command(_command)

__all__ = ["EXIT_BAD_INPUT", "EXIT_CLOUD_ERROR", "main"]
