"""``catalog refresh`` offline: small responses in each source's format, served by a fake HTTP
layer; the refreshed copy is then what ``load_catalog`` uses, dated and sourced.

The responses in ``responses/`` are hand-written in the documented formats (AWS Price List
offer file, spot.js, Azure Retail Prices pages with ``NextPageLink``, Cloud Billing ``skus``
pages with ``nextPageToken``), not captured from the network.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.parse
from collections.abc import Mapping
from pathlib import Path

import pytest

import unicompute as uc
from unicompute.catalog import Pricing, load_catalog
from unicompute.catalog.refresh import RefreshFailed, refresh

RESPONSES = Path(__file__).parent / "responses"
DAY = dt.date(2026, 11, 26)


class FakeHttp:
    """Answers known URLs from ``responses/``; records every request (URL and headers)."""

    def __init__(self, routes: Mapping[str, str]) -> None:
        self.routes = dict(routes)
        self.calls: list[tuple[str, dict[str, str]]] = []

    def __call__(self, url: str, headers: Mapping[str, str]) -> bytes:
        self.calls.append((url, dict(headers)))
        for prefix, name in self.routes.items():
            if url.startswith(prefix):
                return (RESPONSES / name).read_bytes()
        raise RefreshFailed(f"could not fetch {url}: no network")


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("UNICOMPUTE_CACHE_DIR", str(tmp_path))
    return tmp_path / "catalog"


def test_aws_on_demand_reserved_and_spot_from_the_price_list_and_spot_js(cache: Path) -> None:
    http = FakeHttp({
        "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/current/us-east-1/":
            "aws_offer_us-east-1.json",
        "https://spot-price.s3.amazonaws.com/spot.js": "aws_spot.js",
    })
    path = refresh("aws", regions=["us-east-1"], http_get=http, today=DAY)
    assert path == cache / "aws.json"
    catalog = load_catalog()
    assert catalog.origin("aws") == str(path) and catalog.date("aws") == "2026-11-26"
    micro = catalog.offer("aws", "us-east-1", "t3.micro")
    # Linux shared "Used" only: not the Windows SKU, not the capacity-reservation one
    assert micro.on_demand_hourly == 0.0105 and micro.spot_hourly == 0.0031
    assert not micro.is_estimate(Pricing.SPOT)
    source = micro.source(Pricing.ON_DEMAND)
    assert source is not None and source.date == "2026-11-26" and "fetched" in source.text
    m5 = catalog.offer("aws", "us-east-1", "m5.large")
    # standard No Upfront only (the All Upfront term's $0/h is not a price)
    assert (m5.commit_1y_hourly, m5.commit_3y_hourly, m5.spot_hourly) == (0.06, 0.041, 0.0402)
    # what the sources lacked keeps the snapshot's figure and source
    g4 = catalog.offer("aws", "us-east-1", "g4dn.xlarge")
    assert g4.on_demand_hourly == 0.526 and g4.is_estimate(Pricing.SPOT)
    # the legacy spot.js region name maps to eu-west-1, which was not asked for
    assert catalog.offer("aws", "eu-west-1", "t3.micro").is_estimate(Pricing.SPOT)
    # providers price from the refreshed copy, naming its date
    from unicompute.providers.aws.sizes import prices
    assert prices().region("us-east-1")["t3.micro"] == 0.0105
    assert prices().source_of("us-east-1", "t3.micro") == (
        "AWS on-demand price snapshot of 2026-11-26")


def test_azure_follows_next_page_link_and_reads_spot_and_reservations(cache: Path) -> None:
    http = FakeHttp({
        "https://prices.azure.com/api/retail/prices?%24filter": "azure_eastus_page1.json",
        "https://prices.azure.com:443/api/retail/prices?": "azure_eastus_page2.json"})
    refresh("azure", regions=["eastus"], http_get=http, today=DAY)
    assert len(http.calls) == 2
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(http.calls[0][0]).query)
    assert query["$filter"] == ["serviceName eq 'Virtual Machines' and armRegionName eq "
                                "'eastus' and currencyCode eq 'USD'"]
    catalog = load_catalog()
    d2 = catalog.offer("azure", "eastus", "Standard_D2s_v5")
    assert (d2.on_demand_hourly, d2.spot_hourly) == (0.096, 0.0192)  # not the Windows meter
    assert d2.commit_1y_hourly == pytest.approx(526 / 8760, abs=1e-6)
    assert d2.commit_3y_hourly == pytest.approx(1025 / 26280, abs=1e-6)
    assert catalog.offer("azure", "eastus", "Standard_B1s").on_demand_hourly == 0.0099
    assert catalog.date("azure") == "2026-11-26"


def test_gcp_needs_a_key_and_multiplies_rates_by_the_type(cache: Path) -> None:
    http = FakeHttp({"https://cloudbilling.googleapis.com/v1/services/6F81-5844-456A/skus?":
                     "gcp_skus_page1.json"})
    with pytest.raises(uc.InvalidRequest) as caught:
        refresh("gcp", http_get=http)
    assert caught.value.field == "api_key" and http.calls == []

    pages = iter(["gcp_skus_page1.json", "gcp_skus_page2.json"])

    def two_pages(url: str, headers: Mapping[str, str]) -> bytes:
        http.calls.append((url, dict(headers)))
        return (RESPONSES / next(pages)).read_bytes()

    refresh("gcp", regions=["us-central1", "us-east1"], http_get=two_pages, api_key="k-123",
            today=DAY)
    second = urllib.parse.parse_qs(urllib.parse.urlsplit(http.calls[1][0]).query)
    assert second["pageToken"] == ["page-2"] and second["key"] == ["k-123"]
    catalog = load_catalog()
    e2 = catalog.offer("gcp", "us-east1", "e2-standard-2")
    assert e2.on_demand_hourly == round(2 * 0.02181159 + 8 * 0.00292353, 6)
    assert not e2.is_estimate(Pricing.ON_DEMAND)  # was an estimate in the snapshot
    micro = catalog.offer("gcp", "us-central1", "e2-micro")
    assert micro.on_demand_hourly == round(0.25 * 0.02181159 + 1 * 0.00292353, 6)
    n2 = catalog.offer("gcp", "us-central1", "n2-standard-4")
    assert n2.on_demand_hourly == round(4 * 0.031611 + 16 * 0.004237, 6)  # not the custom SKU
    assert n2.commit_1y_hourly == round(4 * 0.019915 + 16 * 0.002669, 6)
    # a spot core rate without a spot RAM rate gives no new spot price: the snapshot's stays
    snapshot_spot = json.loads((Path(uc.__file__).parent / "catalog" / "gcp.json").read_text())[
        "prices"]["us-central1"]["e2-standard-2"]["spot"]
    assert catalog.offer("gcp", "us-central1", "e2-standard-2").spot_hourly == snapshot_spot


def test_no_network_is_a_clear_error_and_the_snapshot_stays_in_use(cache: Path) -> None:
    def offline(url: str, headers: Mapping[str, str]) -> bytes:
        raise RefreshFailed(f"could not fetch {url}: [Errno -3] Temporary failure in name "
                            "resolution; the catalog in use is unchanged")

    before = load_catalog()
    with pytest.raises(RefreshFailed, match="could not fetch"):
        refresh("azure", http_get=offline)
    assert not (cache / "azure.json").exists()
    assert load_catalog() is before and before.origin("azure") == "snapshot"


def test_the_default_http_layer_fails_clearly_and_hides_the_key(cache: Path) -> None:
    from unicompute.catalog import refresh as module

    with pytest.raises(RefreshFailed) as caught:
        module.urllib_get("http://127.0.0.1:9/skus?key=secret-key&pageSize=1", {})
    assert "secret-key" not in str(caught.value) and "key=***" in str(caught.value)


def test_bad_answers_and_bad_arguments_leave_nothing_behind(cache: Path) -> None:
    with pytest.raises(RefreshFailed, match="not JSON"):
        refresh("azure", regions=["eastus"], http_get=lambda url, headers: b"<html>",
                today=DAY)
    with pytest.raises(RefreshFailed, match="no price for any catalog size"):
        refresh("azure", regions=["eastus"],
                http_get=lambda url, headers: b'{"Items": [], "NextPageLink": null}')
    for kwargs, field in (({"cloud": "ibm"}, "cloud"),
                          ({"cloud": "aws", "regions": ["mars-1"]}, "regions")):
        with pytest.raises(uc.InvalidRequest) as caught:
            refresh(**kwargs)  # type: ignore[arg-type]
        assert caught.value.field == field
    assert not cache.exists() or list(cache.iterdir()) == []


def test_an_older_or_broken_refreshed_copy_is_ignored(cache: Path) -> None:
    cache.mkdir(parents=True)
    (cache / "aws.json").write_text('{"date": "1999-01-01"}')
    assert load_catalog(cache).origin("aws") == "snapshot"
    (cache / "gcp.json").write_text("not json")
    from unicompute.catalog import forget_loaded
    forget_loaded()
    assert load_catalog().origin("gcp") == "snapshot"


def test_refreshing_another_region_keeps_the_first(cache: Path) -> None:
    first = FakeHttp({"https://prices.azure.com/api/retail/prices?%24filter":
                      "azure_eastus_page1.json",
                      "https://prices.azure.com:443/": "azure_eastus_page2.json"})
    refresh("azure", regions=["eastus"], http_get=first, today=DAY)
    refresh("azure", regions=["westus2"], today=DAY,
            http_get=lambda url, headers: json.dumps({"Items": [{
                "armSkuName": "Standard_B1s", "productName": "Virtual Machines BS Series",
                "skuName": "B1s", "unitOfMeasure": "1 Hour", "type": "Consumption",
                "retailPrice": 0.0111, "currencyCode": "USD"}], "NextPageLink": None}).encode())
    catalog = load_catalog()
    assert catalog.offer("azure", "westus2", "Standard_B1s").on_demand_hourly == 0.0111
    assert catalog.offer("azure", "eastus", "Standard_D2s_v5").spot_hourly == 0.0192
