"""Fixtures for the GCP provider's tests on the Compute Engine fake: a fresh fake per test
(it costs a few milliseconds) and a cloud that never sleeps."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import unicompute
from unicompute.mocks import MockCloud, mock_cloud
from unicompute.mocks.gcp import FAKE_PROJECT, GcpFake


@pytest.fixture
def mock() -> Iterator[MockCloud]:
    with mock_cloud(["gcp"]) as running:
        yield running


@pytest.fixture
def fake(mock: MockCloud) -> GcpFake:
    found: GcpFake = mock.gcp
    return found


@pytest.fixture
def cloud(mock: MockCloud) -> Iterator[unicompute.Cloud]:
    with unicompute.connect("gcp", region="us-central1", poll_interval=0) as opened:
        opened.poller = unicompute.Poller(interval=0, sleep=lambda _: None)
        yield opened


@pytest.fixture
def project() -> str:
    return FAKE_PROJECT
