"""Fixtures: the ARM fake under ``mock_cloud(["azure"])`` and the official clients on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from arm_helpers import Clients, make_clients
from azure.identity import DefaultAzureCredential

from unicompute.mocks import mock_cloud


@pytest.fixture
def az() -> Iterator[Clients]:
    """Official clients with ``DefaultAzureCredential()`` inside ``mock_cloud(["azure"])``."""
    with mock_cloud(["azure"]) as mock:
        yield make_clients(mock, DefaultAzureCredential())
