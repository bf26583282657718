"""``instances.getSerialPortOutput``: ``GET .../instances/{name}/serialPort?port=&start=``.

Port 1 holds the console (a plain boot log, or what the metadata plane recorded: boot lines and
user-data output); ports 2-4 are empty. ``start`` is a byte offset; ``next`` is where the
following call should start, ``start`` in the answer the offset actually used (a negative
``start`` counts from the end, as GCE allows). Console text per instance id lives in
:attr:`SerialPortApi.consoles`.
"""

from __future__ import annotations

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import json_response
from ..metadata._console import ConsoleLog, console_of
from ._base import ComputeBase
from ._errors import invalid_field, not_found
from ._links import link

RULES = [
    Rule("/compute/v1/projects/<project>/zones/<zone>/instances/<instance>/serialPort",
         methods=["GET"], endpoint="instances_get_serial_port_output"),
]


class SerialPortApi(ComputeBase):
    """Endpoint (and fault) name: ``instances_get_serial_port_output``."""

    @property
    def consoles(self) -> ConsoleLog:
        """Serial port 1 text per instance id."""
        return console_of(self, "gcp")

    def instances_get_serial_port_output(self, request: Request, project: str, zone: str,
                                         instance: str) -> Response:
        self.check_zone(project, zone)
        path = f"projects/{project}/zones/{zone}/instances/{instance}"
        state = self.project(project)
        table = state.instances.get(zone)
        found = table.get(instance) if table is not None else None
        if found is None:
            raise not_found(path)
        port_raw = request.args.get("port", "1")
        if not port_raw.lstrip("-").isdigit() or not 1 <= int(port_raw) <= 4:
            raise invalid_field("port", port_raw, "Must be between 1 and 4.")
        start_raw = request.args.get("start", "0")
        if not start_raw.lstrip("-").isdigit():
            raise invalid_field("start", start_raw, "Must be an integer.")
        hostname = found.get("hostname") or f"{instance}.{zone}.c.{project}.internal"
        data = (self.consoles.text(str(found["id"]), hostname).encode()
                if int(port_raw) == 1 else b"")
        start = int(start_raw)
        if start < 0:
            start = max(0, len(data) + start)
        start = min(start, len(data))
        return json_response({
            "kind": "compute#serialPortOutput",
            "contents": data[start:].decode("utf-8", "replace"),
            "start": str(start), "next": str(len(data)),
            "selfLink": link(f"{path}/serialPort")})
