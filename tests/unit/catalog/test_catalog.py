"""The shipped catalog: dated, sourced, complete for the contract's regions, fast to load."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import unicompute as uc
from unicompute.catalog import FunctionPrices, Pricing, load_catalog

REGIONS = {
    "aws": {"us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1"},
    "azure": {"eastus", "eastus2", "westus2", "westeurope", "northeurope", "southeastasia"},
    "gcp": {"us-central1", "us-east1", "us-west1", "europe-west1", "europe-west4",
            "asia-southeast1"},
}


@pytest.fixture(autouse=True)
def _no_refreshed_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNICOMPUTE_CACHE_DIR", str(tmp_path))


def test_every_cloud_is_dated_and_sourced_and_covers_the_six_regions() -> None:
    catalog = load_catalog()
    assert catalog.providers() == ("aws", "azure", "gcp")
    for provider, regions in REGIONS.items():
        assert catalog.date(provider)[:2] == "20" and len(catalog.date(provider)) == 10
        assert catalog.source(provider).startswith("https://")
        assert catalog.origin(provider) == "snapshot"
        assert set(catalog.regions(provider)) == regions
        for region in regions:
            priced = [o for o in catalog.offers(provider, region) if o.on_demand_hourly]
            assert len(priced) >= 50, (provider, region)


def test_an_offer_has_its_resources_prices_and_sources() -> None:
    catalog = load_catalog()
    micro = catalog.offer("aws", "us-east-1", "t3.micro")
    assert (micro.vcpus, micro.memory_gib, micro.gpus, micro.family, micro.arch) == (
        2, 1.0, 0, "t3", "x86_64")
    assert micro.on_demand_hourly == 0.0104
    source = micro.source(Pricing.ON_DEMAND)
    assert source is not None and source.date == "2024-10-01" and not source.estimate
    g4 = catalog.offer("aws", "us-east-1", "g4dn.xlarge")
    assert (g4.gpus, g4.gpu_model) == (1, "NVIDIA T4")
    e2 = catalog.offer("gcp", "us-central1", "e2-standard-2")
    assert e2.on_demand_hourly == 0.067006
    assert e2.spot_hourly is not None and e2.spot_hourly < e2.on_demand_hourly
    a100 = catalog.offer("azure", "eastus", "Standard_NC24ads_A100_v4")
    assert (a100.gpus, a100.vcpus, a100.memory_gib) == (1, 24, 220.0)


def test_a_missing_size_is_not_found_naming_it() -> None:
    with pytest.raises(uc.NotFound, match="e2-standard-3"):
        load_catalog().offer("gcp", "us-central1", "e2-standard-3")
    assert load_catalog().offers("aws", "mars-1") == []


def test_derived_prices_say_they_are_estimates() -> None:
    """AWS spot prices are estimates (no offline source), and say how they were derived;
    Azure has no offline spot source: unknown, not made up."""
    catalog = load_catalog()
    micro = catalog.offer("aws", "us-east-1", "t3.micro")
    assert micro.is_estimate(Pricing.SPOT) and Pricing.SPOT in micro.estimates
    spot = micro.source(Pricing.SPOT)
    assert spot is not None and spot.text.startswith("estimate:")
    assert micro.spot_hourly == pytest.approx(0.0104 * 0.30)
    assert not micro.is_estimate(Pricing.ON_DEMAND)
    assert all(o.spot_hourly is None for o in catalog.offers("azure"))
    # westeurope D-series v5: Libcloud has no figure; the eastus price scaled, marked.
    d2 = catalog.offer("azure", "westeurope", "Standard_D2s_v5")
    assert d2.is_estimate(Pricing.ON_DEMAND)
    assert d2.on_demand_hourly is not None and d2.on_demand_hourly > 0.096


def test_every_estimate_in_the_files_is_marked_and_every_price_has_a_source() -> None:
    catalog = load_catalog()
    for provider in catalog.providers():
        for offer in catalog.offers(provider):
            for pricing in Pricing:
                if offer.hourly(pricing) is not None:
                    source = offer.source(pricing)
                    assert source is not None, (offer, pricing)
                    assert source.estimate == source.text.startswith("estimate:"), source.key
                    assert offer.hourly(pricing) > 0  # type: ignore[operator]


def test_no_source_claims_prices_the_snapshot_does_not_have() -> None:
    """A region's source for a kind of price must back at least one price of that kind there
    (the GCP file once named Libcloud commitment rates that Libcloud does not have)."""
    from unicompute.catalog._load import shipped

    keys = {"od": ("od",), "spot": ("spot",), "commit": ("c1", "c3")}
    for provider in ("aws", "azure", "gcp"):
        data = shipped(provider)
        for region, kinds in data["regions"].items():
            for kind, source in kinds.items():
                assert source in data["sources"], (provider, region, source)
                if source.startswith("none-"):  # names the absence: "no offline source ..."
                    assert data["sources"][source]["text"].startswith("no "), source
                    continue
                entries = data["prices"][region].values()
                assert any(e.get(k) is not None for e in entries for k in keys[kind]), (
                    f"{provider} {region}: source {source!r} for {kind} prices, but none there")


def test_unknown_prices_are_none_not_zero() -> None:
    catalog = load_catalog()
    unpriced = [o for o in catalog.offers("gcp", "us-east1") if o.family == "a2"]
    assert unpriced and all(o.on_demand_hourly is None for o in unpriced)


def test_load_is_cached_and_fast_in_a_fresh_process() -> None:
    assert load_catalog() is load_catalog()
    code = ("import time, unicompute; t = time.perf_counter(); "
            "from unicompute.catalog import load_catalog; c = load_catalog(); "
            "c.offers('aws'); print((time.perf_counter() - t) * 1000)")
    took = float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                                text=True).stdout)
    assert took < 100, f"cold load took {took:.1f} ms"


def test_function_prices_per_million() -> None:
    catalog = load_catalog()
    aws = catalog.functions("aws")
    # 1M x 128 MB x 100 ms = 12,500 GB-s x 0.0000166667 + 0.20
    assert aws.cost_per_million(128, 100) == pytest.approx(0.20 + 12_500 * 0.0000166667)
    gcp = catalog.functions("gcp")
    # 2nd gen (Cloud Run): 256 MiB gets 0.167 vCPU; 150 ms bills as 200 ms: 0.40/M requests
    # + 50,000 GiB-s x 2.5e-6 + 0.167 x 200,000 vCPU-s x 2.4e-5
    assert "2nd gen" in gcp.service and gcp.per_ghz_second is None
    assert gcp.cost_per_million(256, 150) == pytest.approx(0.40 + 0.125 + 0.8016)
    # 300 MiB is not a tier: it gets the 512 MiB tier's 0.333 vCPU; 1 GiB x 1 s: 0.583 vCPU
    assert gcp.cost_per_million(300, 100) == pytest.approx(
        0.40 + 300 / 1024 * 100_000 * 2.5e-6 + 0.333 * 100_000 * 2.4e-5)
    assert gcp.cost_per_million(1024, 1000) == pytest.approx(
        0.40 + 1_000_000 * 2.5e-6 + 0.583 * 1_000_000 * 2.4e-5)
    assert gcp.free_tier["vcpu_seconds"] == 180_000 and gcp.free_tier["gib_seconds"] == 360_000
    assert aws.free_tier["requests"] == 1_000_000


def test_azure_function_prices_are_flex_consumption_on_demand() -> None:
    azure = load_catalog().functions("azure")
    assert "Flex Consumption" in azure.service
    # 256 MB runs on the 512 MB instance, which is billed; 100 ms bills as the 1,000 ms
    # minimum: 0.5 GB x 1 s x 1M = 500,000 GB-s x $0.000026 + $0.40
    assert azure.cost_per_million(256, 100) == pytest.approx(0.40 + 13.00)
    assert azure.cost_per_million(512, 1000) == pytest.approx(0.40 + 13.00)
    # 600 MB runs on 2,048 MB; 1,050 ms rounds up to 1,100 ms: 2,200,000 GB-s
    assert azure.cost_per_million(600, 1050) == pytest.approx(0.40 + 57.20)
    # 4,096 MB x 2 s: 8,000,000 GB-s
    assert azure.cost_per_million(4096, 2000) == pytest.approx(0.40 + 208.00)
    assert azure.free_tier["requests"] == 250_000 and azure.free_tier["gb_seconds"] == 100_000


def test_azure_functions_are_billed_on_the_instance_size_the_provider_deploys() -> None:
    from unicompute.providers.azure.functions_limits import FUNCTION_LIMITS, instance_memory_mb

    azure = load_catalog().functions("azure")
    for memory_mb in range(FUNCTION_LIMITS.min_memory_mb, FUNCTION_LIMITS.max_memory_mb + 1):
        assert azure.billed_memory_mb(memory_mb) == instance_memory_mb(memory_mb), memory_mb


def test_billed_memory_is_the_functions_own_without_instance_sizes() -> None:
    plain = FunctionPrices(provider="x", service="x", per_million_requests=0.0,
                           per_gb_second=1.0, free_tier={}, billing="", source="")
    assert plain.billed_memory_mb(300) == 300
    sized = replace(plain, instance_memory_mb=(2048, 512))
    assert [sized.billed_memory_mb(mb) for mb in (1, 512, 513, 2048)] == [512, 512, 2048, 2048]
    # Beyond every instance size: its own memory, never a smaller one's
    assert sized.billed_memory_mb(3000) == 3000
    # 1M x 1 s at 513 MB billed as 2,048 MB: 2,000,000 GB-s
    assert sized.cost_per_million(513, 1000) == pytest.approx(2_000_000)
