"""``unicompute.connect("azure")`` inside ``mock_cloud()``: no settings needed, as for AWS/GCP."""

from __future__ import annotations

import pytest

import unicompute
from unicompute.mocks import mock_cloud


def test_connect_without_a_region_uses_eastus_inside_mock_cloud(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_DEFAULTS_LOCATION", raising=False)
    with mock_cloud(["azure"]):
        cloud = unicompute.connect("azure", poll_interval=0)
        try:
            assert cloud.region == "eastus"
            assert any(size.name == "Standard_B1s" for size in cloud.vms.sizes())
        finally:
            cloud.close()


def test_connect_without_a_region_follows_azure_defaults_location(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_DEFAULTS_LOCATION", "westeurope")
    with mock_cloud(["azure"]):
        cloud = unicompute.connect("azure", poll_interval=0)
        try:
            assert cloud.region == "westeurope"
        finally:
            cloud.close()
