"""Fixtures for the Azure provider's tests on the ARM fake, driven through the official SDKs.

One fake per module (tests use their own names and tags). The fake does not answer ARM's
``GET /subscriptions/{id}/locations`` yet (regions and zones come from it); until it does,
:func:`drivers` answers that one call with ARM's own shape for eastus (three zones) and says
so. Everything else goes over the wire to the fake.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from azure.core.exceptions import ResourceNotFoundError

from unicompute._cloud import Cloud
from unicompute._context import CloudContext
from unicompute._waiting import Poller
from unicompute.driver import ProviderDrivers
from unicompute.mocks._kernel import Interceptor
from unicompute.providers.azure import open_provider
from unicompute.providers.azure._context import Context

#: ``GET /subscriptions/{id}/locations`` as ARM answers it, trimmed to the fields used.
EASTUS = [{
    "id": "/subscriptions/00000000-0000-0000-0000-0000000fa4e2/locations/eastus",
    "name": "eastus", "displayName": "East US", "regionalDisplayName": "(US) East US",
    "availabilityZoneMappings": [
        {"logicalZone": zone, "physicalZone": f"eastus-az{zone}"} for zone in ("1", "2", "3")],
}]


@pytest.fixture(scope="module")
def fake() -> Iterator[Any]:
    fakes = pytest.importorskip("unicompute.mocks.azure", reason="the ARM fake is not there")
    running = fakes.AzureFake().start()
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
    ctx: Context = opened.compute._ctx  # type: ignore[attr-defined]
    try:
        ctx.locations()
    except ResourceNotFoundError:  # the fake has no locations endpoint yet: stand in for it
        ctx._locations = EASTUS
    yield opened
    opened.close()


@pytest.fixture
def cloud(drivers: ProviderDrivers) -> Cloud:
    """A portable Cloud on the module's drivers (never closed: the drivers are shared)."""
    return Cloud(CloudContext(drivers, poller=Poller(interval=0, sleep=lambda _: None)), {})


@pytest.fixture
def run_id() -> str:
    return uuid.uuid4().hex[:8]
