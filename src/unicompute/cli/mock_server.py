"""``unicompute mock-server``: the fakes over HTTP, for clients in other processes."""

from __future__ import annotations

import threading

import click

from ..mocks import MockServer
from .output import Column, show
from .params import json_option


@click.command("mock-server")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to bind. Anything but loopback exposes the fakes to the network.",
)
@click.option(
    "--aws-port",
    type=click.IntRange(0, 65535),
    default=5000,
    show_default=True,
    help="Port of the AWS fake (0: any free port).",
)
@json_option
def mock_server(host: str, aws_port: int, as_json: bool) -> None:
    """Serve the cloud fakes until interrupted (Ctrl-C), and print their endpoints.

    \b
    Point clients at an endpoint, e.g.:
      unicompute --endpoint http://127.0.0.1:5000 vms list
      unicompute.connect("aws", region="us-east-1", endpoint_url="http://127.0.0.1:5000")
      boto3.client("ec2", endpoint_url="http://127.0.0.1:5000", region_name="us-east-1")
    """
    with MockServer(host=host, aws_port=aws_port) as server:
        records = [{"provider": name, "endpoint": url} for name, url in server.endpoints.items()]
        columns = [Column("provider", "provider"), Column("endpoint", "endpoint")]
        show(records, columns, as_json=as_json, empty="No fake is running.")
        click.echo("Serving; Ctrl-C stops.", err=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            click.echo("Stopped.", err=True)
