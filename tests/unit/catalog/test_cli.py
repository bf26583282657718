"""``unicompute catalog show|refresh`` (the group is registered in the main command by the
integrator; these tests call it directly)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from unicompute.catalog import load_catalog
from unicompute.cli.catalog_commands import catalog_group


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("UNICOMPUTE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("UNICOMPUTE_GCP_API_KEY", raising=False)
    return tmp_path / "catalog"


def test_show_json_lists_offers_cheapest_first_with_sources_and_estimates() -> None:
    result = CliRunner().invoke(catalog_group, ["show", "--cloud", "aws", "--region",
                                                "us-east-1", "--vcpus", "2", "--memory", "4",
                                                "--json"])
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert len(records) == 20
    prices = [r["on_demand_hourly"] for r in records]
    assert prices == sorted(prices)
    assert all(r["vcpus"] >= 2 and r["memory_gib"] >= 4 for r in records)
    first = records[0]
    expected = load_catalog().offer("aws", "us-east-1", first["size"])
    assert first["on_demand_hourly"] == expected.on_demand_hourly
    assert first["estimates"] == ["spot"]
    assert first["sources"]["spot"]["source"].startswith("estimate:")
    assert first["sources"]["on_demand"]["date"] == "2024-10-01"


def test_show_table_marks_estimates_and_names_dates_and_sources() -> None:
    result = CliRunner().invoke(catalog_group, ["show", "--cloud", "gcp", "--family", "e2",
                                                "--region", "us-east1", "--limit", "3"])
    assert result.exit_code == 0, result.output
    assert "e2-micro" in result.stdout and "~$0.0084" in result.stdout
    assert "gcp: prices of 2025-03-06 (shipped snapshot); source: https://cloud.google.com" in (
        result.stderr)
    assert "~ = estimate" in result.stderr
    sources = CliRunner().invoke(catalog_group, ["show", "--cloud", "gcp", "--sources",
                                                 "--limit", "1", "--json"])
    keys = {r["key"] for r in json.loads(sources.stdout)}
    assert {"gcp-page", "libcloud-spot", "estimate-americas"} <= keys


def test_show_functions() -> None:
    result = CliRunner().invoke(catalog_group, ["show", "--functions", "--json"])
    records = {r["provider"]: r for r in json.loads(result.stdout)}
    assert records["aws"]["per_million_requests"] == 0.20
    # 2nd gen: 128 MiB gets 0.083 vCPU; 12,500 GiB-s and 8,300 vCPU-s per million
    assert records["gcp"]["million_128mb_100ms"] == pytest.approx(
        0.40 + 12_500 * 0.0000025 + 0.083 * 100_000 * 0.000024, abs=1e-4)
    # Flex Consumption: 128 MB runs on (and is billed as) 512 MB, 100 ms as 1,000 ms
    azure = records["azure"]
    assert azure["instance_memory_mb"] == [512, 2048, 4096]
    assert azure["million_128mb_100ms"] == pytest.approx(0.40 + 500_000 * 0.000026, abs=1e-4)
    assert records["aws"]["instance_memory_mb"] == []


def test_refresh_without_network_fails_clearly_and_keeps_the_snapshot(
        monkeypatch: pytest.MonkeyPatch, cache: Path) -> None:
    from unicompute.catalog import refresh as module

    def offline(url: str, headers: object) -> bytes:
        raise module.RefreshFailed(f"could not fetch {url}: no network; the catalog in use "
                                   "is unchanged")

    monkeypatch.setattr(module, "urllib_get", offline)
    result = CliRunner().invoke(catalog_group, ["refresh", "--cloud", "azure", "--cloud", "gcp"])
    assert result.exit_code == 1
    assert "error: azure: could not fetch https://prices.azure.com" in result.stderr
    assert "error: gcp: " in result.stderr and "API key" in result.stderr
    assert "azure: prices of 2024-10-01 (shipped snapshot)" in result.stderr
    assert not cache.exists() or not any(cache.iterdir())


def test_refresh_gcp_with_adc_but_no_credentials_is_a_clear_error(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cache: Path) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "missing.json"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    result = CliRunner().invoke(catalog_group, ["refresh", "--cloud", "gcp", "--adc"])
    assert result.exit_code == 1
    assert "error: gcp: adc: no usable Application Default Credentials" in result.stderr
    assert not cache.exists() or not any(cache.iterdir())


def test_show_billing_rules_with_sources() -> None:
    result = CliRunner().invoke(catalog_group, ["show", "--billing", "--json"])
    rules = {r["provider"]: r for r in json.loads(result.stdout)}
    assert (rules["aws"]["increment_s"], rules["aws"]["minimum_s"]) == (1, 60)
    assert rules["azure"]["minimum_s"] == 300 and rules["gcp"]["sustained_use"]["n2"] == 0.2
    assert rules["gcp"]["sustained_use_tiers"]["n2"] == [1.0, 0.8678, 0.7356, 0.6034]
    assert [r["confirmed"] for r in rules.values()] == [True, False, True]
    assert all(r["source"] for r in rules.values())
    table = CliRunner().invoke(catalog_group, ["show", "--billing"])
    assert "azure: the billing rule is not confirmed" in table.stderr + table.stdout
