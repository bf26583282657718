"""Fixtures shared by the Libcloud tests."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from unicompute.mocks import MockServer


@pytest.fixture(scope="module")
def endpoint() -> Iterator[tuple[str, int]]:
    """``(host, port)`` of the AWS fake served on loopback for the test module, for Libcloud's
    EC2 driver (which takes a host and port, not a URL)."""
    with MockServer() as server:
        parts = urlsplit(server.endpoints["aws"])
        assert parts.hostname is not None and parts.port is not None
        yield parts.hostname, parts.port
