"""``unicompute mock-server``: the fakes over HTTP, for clients in other processes."""

from __future__ import annotations

import logging
import threading

import click

from ..mocks import MockServer
from .output import Column, show
from .params import json_option, key_values

#: The ports ``mock-server`` binds unless told otherwise.
DEFAULT_PORTS: dict[str, int] = {"aws": 5000, "azure": 5001, "gcp": 5002}


def silence_access_logs() -> None:
    """Log no request lines of the served fakes: they can carry secrets (function keys in
    ``?code=``, signed URLs). Moto (the AWS fake) serves through werkzeug, which logs each
    request at INFO on the ``werkzeug`` logger; its warnings and errors still show."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


@click.command("mock-server")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. Anything but loopback exposes the fakes to the network.",
)
@click.option(
    "--port",
    "ports",
    multiple=True,
    callback=key_values,
    metavar="PROVIDER=PORT",
    help="Port of a provider's fake (0: any free port); repeatable. "
    f"Defaults: {', '.join(f'{k}={v}' for k, v in DEFAULT_PORTS.items())}.",
)
@json_option
def mock_server(host: str, ports: dict[str, str], as_json: bool) -> None:
    """Serve the cloud fakes until interrupted (Ctrl-C, exit status 0), and print their
    endpoints. Their clocks follow the wall clock, so what is created later carries a later
    time, as on a real cloud. Requests are not logged (URLs can carry secrets).

    \b
    Point clients at an endpoint, e.g.:
      unicompute --cloud aws --endpoint http://127.0.0.1:5000 vms list
      unicompute.connect("aws", region="us-east-1", endpoint_url="http://127.0.0.1:5000")
      boto3.client("ec2", endpoint_url="http://127.0.0.1:5000", region_name="us-east-1")
    """
    chosen: dict[str, int] = dict(DEFAULT_PORTS)
    for provider, port in ports.items():
        try:
            chosen[provider] = int(port)
        except ValueError:
            raise click.BadParameter(f"{port!r} is not a port number",
                                     param_hint="--port") from None
    silence_access_logs()
    with MockServer(host=host, ports=chosen, real_time=True) as server:
        records = [{"provider": name, "endpoint": url} for name, url in server.endpoints.items()]
        columns = [Column("provider", "provider"), Column("endpoint", "endpoint")]
        show(records, columns, as_json=as_json, empty="No fake is running.")
        click.echo("Serving; Ctrl-C stops.", err=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            click.echo("Stopped.", err=True)
