"""Fixtures for the AWS provider's unit tests: one moto fake per module, drivers on top of it.

Tests share the fake for speed (a fresh one costs ~0.3 s); each one works on its own names and
tags, so they do not see each other's resources.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from unicompute.driver import ProviderDrivers
from unicompute.mocks.aws import AwsFake
from unicompute.providers.aws import open_provider


@pytest.fixture(scope="module")
def fake() -> Iterator[AwsFake]:
    with AwsFake() as running:
        yield running


@pytest.fixture(scope="module")
def drivers(fake: AwsFake) -> Iterator[ProviderDrivers]:
    opened = open_provider("us-east-1", {"poll_interval": 0})
    yield opened
    opened.close()


@pytest.fixture
def run_id() -> str:
    """A fresh value for names and tags, unique to one test."""
    return uuid.uuid4().hex[:8]
