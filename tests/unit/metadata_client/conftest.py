"""Small WSGI stand-ins for the three metadata services, served on 127.0.0.1, and the
environment that points the client at them (the other two clouds at a closed port)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

VARIABLES = {
    "aws": "AWS_EC2_METADATA_SERVICE_ENDPOINT",
    "azure": "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "gcp": "GCE_METADATA_HOST",
}

Handler = Callable[[Request], Response]


@dataclass
class Served:
    url: str
    seen: list[Request] = field(default_factory=list)


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], Served]]:
    servers: list[Any] = []

    def start(handler: Handler) -> Served:
        served = Served("")

        @Request.application  # type: ignore[arg-type]
        def app(request: Request) -> Response:
            request.get_data()
            served.seen.append(request)
            return handler(request)

        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                         daemon=True).start()
        servers.append(server)
        served.url = f"http://127.0.0.1:{server.server_port}"
        return served

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def on_cloud(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, str], None]:
    """Point ``provider``'s variable at ``url`` and the other two clouds at a closed port."""

    def point(provider: str, url: str) -> None:
        for name, variable in VARIABLES.items():
            target = url if name == provider else f"http://127.0.0.1:{closed_port()}"
            if name == "gcp":
                target = target.removeprefix("http://")
            monkeypatch.setenv(variable, target)
        monkeypatch.delenv("GCE_METADATA_ROOT", raising=False)

    return point
