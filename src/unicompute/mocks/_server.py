"""The fakes served over HTTP (``unicompute mock-server``), for clients in other processes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._errors import InvalidRequest

if TYPE_CHECKING:
    from .aws import AwsFake


class MockServer:
    """Serves the fakes on ``host`` (127.0.0.1 unless asked otherwise).

    :meth:`start` returns the endpoint of each provider; point a client at it, e.g.
    ``unicompute.connect("aws", region="us-east-1", endpoint_url=endpoints["aws"])``.
    """

    def __init__(self, *, host: str = "127.0.0.1", aws_port: int = 0) -> None:
        if not isinstance(aws_port, int) or not 0 <= aws_port <= 65535:
            raise InvalidRequest("must be a TCP port or 0 for any free port", field="aws_port")
        self.host = host
        self.aws_port = aws_port
        self._aws: AwsFake | None = None
        self.endpoints: dict[str, str] = {}

    def start(self) -> dict[str, str]:
        from .aws import AwsFake

        self._aws = AwsFake()
        self.endpoints = {"aws": self._aws.serve(self.host, self.aws_port)}
        return dict(self.endpoints)

    def stop(self) -> None:
        if self._aws is not None:
            self._aws.shutdown_server()
            self._aws = None
        self.endpoints = {}

    def __enter__(self) -> MockServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
