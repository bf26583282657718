"""Fixtures for the Azure provider's tests on the ARM fake, driven through the official SDKs.

One fake per module (tests use their own names and tags); every call goes over the wire to
the fake.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from unicompute._cloud import Cloud
from unicompute._context import CloudContext
from unicompute._waiting import Poller
from unicompute.driver import ProviderDrivers
from unicompute.mocks._kernel import Interceptor
from unicompute.mocks.azure import AzureFake
from unicompute.providers.azure import open_provider


@pytest.fixture(scope="module")
def fake() -> Iterator[Any]:
    running = AzureFake().start()
    interceptor = Interceptor(running.routes())
    interceptor.install()
    try:
        yield running
    finally:
        interceptor.uninstall()
        running.stop()


@pytest.fixture(scope="module")
def drivers(fake: Any) -> Iterator[ProviderDrivers]:
    opened = open_provider("eastus", {"poll_interval": 0, "retry_total": 0})
    yield opened
    opened.close()


@pytest.fixture
def cloud(drivers: ProviderDrivers) -> Cloud:
    """A portable Cloud on the module's drivers (never closed: the drivers are shared)."""
    return Cloud(CloudContext(drivers, poller=Poller(interval=0, sleep=lambda _: None)), {})


@pytest.fixture
def run_id() -> str:
    return uuid.uuid4().hex[:8]
