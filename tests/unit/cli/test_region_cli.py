"""``--region`` on a workload command never overrides the file's ``placement.regions``: a region
the file does not allow is refused before any cloud is opened, naming ``--region``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

import unicompute as uc

Cli = Callable[..., Result]
SHOP = str(Path(__file__).parents[3] / "examples" / "shop.yaml")  # gcp: us-central1, europe-west1


@pytest.mark.parametrize("command", ["plan", "launch", "status", "destroy"])
def test_a_region_outside_the_files_regions_is_refused(
        cli: Cli, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    def no_cloud(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cloud was opened")

    monkeypatch.setattr(uc, "connect", no_cloud)
    result = cli(command, SHOP, "--cloud", "gcp", "--region", "asia-southeast1")
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("error: ")
    assert "--region 'asia-southeast1' is not among placement.regions.gcp" in line
