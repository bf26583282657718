"""The ``unicompute`` command: VMs, catalogs and whole workloads on any cloud.

``main`` is the entry point. Errors from unicompute print one line to stderr (``error: ...``) and
exit with 2 for bad input (:class:`~unicompute.InvalidRequest`, usage errors) or 1 for everything
the cloud refused; no traceback is shown for them. Ctrl-C ends any command with one line
(``interrupted (Ctrl-C)``, plus what to run next where a command says so) and exit status 130, as a
shell reports a process ended by SIGINT; ``launch`` first says, per cloud, what it had made.
(``mock-server`` is the exception: Ctrl-C is how it is stopped, with status 0.) Secret config
values are never printed.
"""

from __future__ import annotations

from typing import Any

import click

import unicompute as uc

from .catalog import images, sizes
from .catalog_commands import catalog_group
from .exits import EXIT_BAD_INPUT, EXIT_CLOUD_ERROR, EXIT_INTERRUPTED, INTERRUPT_HINT
from .functions import functions
from .mock_server import mock_server
from .mock_state import mock_group
from .session import ROOT_CLOUD_HELP, connection_options_with, redact, settings
from .vms import vms
from .workload import destroy_command, launch_command, plan_command, status_command


class _Main(click.Group):
    """The root group; turns :class:`~unicompute.UnicomputeError` and Ctrl-C into one line and
    an exit status (click's own handling would print ``Aborted!`` and exit 1)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except uc.UnicomputeError as exc:
            message = " ".join(str(exc).split())  # one line, whatever the provider sent
            click.echo(f"error: {redact(message, settings(ctx).secrets())}", err=True)
            ctx.exit(EXIT_BAD_INPUT if isinstance(exc, uc.InvalidRequest) else EXIT_CLOUD_ERROR)
        except (KeyboardInterrupt, click.Abort):
            hint = ctx.meta.get(INTERRUPT_HINT)
            click.echo("interrupted (Ctrl-C)" + (f"; {hint}" if hint else ""), err=True)
            ctx.exit(EXIT_INTERRUPTED)


@click.group(
    cls=_Main, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100}
)
@connection_options_with(cloud_help=ROOT_CLOUD_HELP)
@click.version_option(uc.__version__, prog_name="unicompute")
@click.pass_context
def main(ctx: click.Context) -> None:
    """One command line for virtual machines, serverless functions and whole workloads (VM
    groups and functions from one YAML file, placed by price) on AWS, Azure, GCP and Apache
    Libcloud's clouds, or offline on built-in fakes (--mock).

    \b
    Examples:
      unicompute plan examples/shop.yaml --cloud all --mock   # cost on every cloud
      unicompute launch examples/shop.yaml --mock    # on the cheapest cloud (fakes)
      unicompute functions deploy examples/functions/hello --cloud all --mock
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

__all__ = ["EXIT_BAD_INPUT", "EXIT_CLOUD_ERROR", "EXIT_INTERRUPTED", "main"]
