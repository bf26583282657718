"""Opening the GCP provider: settings, credentials, limits; and Options. No API calls."""

from __future__ import annotations

import subprocess
import sys

import pytest

import unicompute
from unicompute import _errors as errors
from unicompute.catalog import load_catalog
from unicompute.providers.gcp import LIMITS, Options, open_provider
from unicompute.providers.gcp.sizes import prices as price_list

FAKE_ENDPOINT = "http://127.0.0.1:9"


def test_importing_unicompute_or_the_package_imports_no_google_sdk() -> None:
    code = ("import sys, unicompute, unicompute.providers.gcp; "
            "print(any(m.startswith('google') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_open_with_an_http_endpoint_needs_only_a_project() -> None:
    drivers = open_provider("europe-west1", {"endpoint_url": FAKE_ENDPOINT, "project": "my-proj-1",
                                             "poll_interval": "0"})
    try:
        assert (drivers.provider, drivers.region) == ("gcp", "europe-west1")
        assert drivers.options_type is Options
    finally:
        drivers.close()


@pytest.mark.parametrize(
    ("region", "config", "field"),
    [
        ("us-central1", {"colour": "blue"}, "colour"),
        ("us-central1", {"project": ""}, "project"),
        ("us-central1", {"endpoint_url": "ftp://x"}, "endpoint_url"),
        ("us-central1", {"endpoint_url": "http://user:secret@127.0.0.1:1"}, "endpoint_url"),
        ("us-central1", {"zone": "us-central1"}, "zone"),
        ("us-central1", {"zone": "europe-west1-b", "endpoint_url": FAKE_ENDPOINT,
                         "project": "my-proj-1"}, "zone"),
        ("us-central1", {"poll_interval": -1}, "poll_interval"),
        ("Central US", {"endpoint_url": FAKE_ENDPOINT, "project": "my-proj-1"}, "region"),
        ("us-central1", {"endpoint_url": FAKE_ENDPOINT, "project": "Not_A_Project"}, "project"),
    ],
)
def test_bad_settings_are_rejected_naming_the_field(
    region: str, config: dict[str, object], field: str
) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        open_provider(region, config)
    assert caught.value.field == field
    assert "secret" not in str(caught.value)


def test_no_credentials_is_unauthenticated_with_the_fix(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/key.json")
    with pytest.raises(errors.Unauthenticated) as caught:
        unicompute.connect("gcp", region="us-central1", project="my-proj-1")
    assert "application-default login" in caught.value.message


def test_no_project_is_unauthenticated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    with pytest.raises(errors.Unauthenticated, match="project"):
        open_provider("us-central1", {"endpoint_url": FAKE_ENDPOINT})


def test_limits_are_gce_rules() -> None:
    assert LIMITS.names.check("web-1") is None
    for bad in ("Web", "1web", "web-", "web_1", "a" * 64):
        assert LIMITS.names.check(bad) is not None
    assert LIMITS.names.check("a" * 63) is None
    assert LIMITS.max_user_data_bytes == 256 * 1024


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"network": ""}, "options.network"),
        ({"subnetwork": ""}, "options.subnetwork"),
        ({"disk_type": "hyperdisk-extreme"}, "options.disk_type"),
        ({"external_ip": "yes"}, "options.external_ip"),
        ({"spot_termination_action": "HIBERNATE"}, "options.spot_termination_action"),
    ],
)
def test_bad_options_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        Options(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_price_snapshot_is_dated_and_covers_two_regions() -> None:
    snapshot = price_list().data
    assert snapshot["date"] and "cloud.google.com" in str(snapshot["source"])
    for region in ("us-central1", "europe-west1"):
        prices = price_list().region(region)
        assert prices["e2-micro"] < prices["e2-standard-2"] < prices["n2-standard-4"]
    # Europe costs more than Iowa for the same type.
    europe, iowa = price_list().region("europe-west1"), price_list().region("us-central1")
    assert europe["n2-standard-2"] > iowa["n2-standard-2"]
    assert price_list().region("mars-north1") == {}


def test_the_snapshot_is_dated_by_its_prices_not_by_their_check() -> None:
    """``date`` is when the prices were (the compilation they agree with was generated), the
    check has its own date, and sizes name the prices' date."""
    snapshot = price_list().data
    checked = snapshot["checked"]
    assert isinstance(checked, dict)
    date = str(snapshot["date"])
    assert date < str(checked["date"])
    assert any(f"generated {date}" in source for source in checked["against"])
    assert price_list().source == f"GCE on-demand price snapshot of {date}"


def test_derived_prices_are_their_familys_rates_times_the_type() -> None:
    """Every price not listed per type in ``per_type`` is vCPUs x rate + GiB x rate, as the
    snapshot says (a hand-entry slip would show here)."""
    snapshot = price_list().data
    rates = snapshot["rates"]
    per_type = snapshot["per_type"]
    assert isinstance(rates, dict) and isinstance(per_type, dict)
    gib_per_vcpu = {"standard": 4.0, "highmem": 8.0, "highcpu": 1.0}
    for region in ("us-central1", "europe-west1"):
        prices = price_list().region(region)
        assert set(per_type[region]) <= set(prices)
        for name, price in prices.items():
            if name in per_type[region]:
                continue
            family, kind, count = name.split("-")
            vcpus = int(count)
            ratio = {"c3": {**gib_per_vcpu, "highcpu": 2.0},
                     "n1": {"standard": 3.75, "highmem": 6.5, "highcpu": 0.9}}.get(
                         family, gib_per_vcpu)[kind]
            vcpu_rate, gib_rate = rates[region][family]
            # the type's real memory where it is not the family ratio (n2-highmem-128: 864 GiB)
            gib = min(vcpus * ratio, load_catalog().offer("gcp", region, name).memory_gib)
            assert price == round(vcpus * vcpu_rate + gib * gib_rate, 6), name
