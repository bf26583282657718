"""The optimizer against hand-computed prices on a small catalog, then on the shipped one."""

from __future__ import annotations

import math
from typing import Any

import pytest

import unicompute as uc
from unicompute.catalog import Catalog, Pricing, load_catalog
from unicompute.workloads.optimizer import Need, cheapest, cheapest_per_cloud, rank

SOURCES = {"page": {"date": "2025-01-01", "text": "https://example.test/prices"},
           "est": {"date": "2025-01-01", "text": "estimate: test", "estimate": True}}


def cloud(sizes: dict[str, list[Any]], prices: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"date": "2025-01-01", "source": "https://example.test/prices", "sources": SOURCES,
            "regions": {r: {"od": "page", "spot": "est", "commit": "page"} for r in prices},
            "sizes": sizes, "prices": prices,
            "functions": {"service": "f", "per_million_requests": 0.2, "per_gb_second": 1e-5,
                          "source": "https://example.test/f"}}


SMALL = Catalog({
    "aws": cloud({"a.small": [2, 4.0, 0, None, "a", "x86_64"],
                  "a.big": [4, 16.0, 0, None, "a", "x86_64"],
                  "g.gpu": [4, 16.0, 1, "T4", "g", "x86_64"]},
                 {"r1": {"a.small": {"od": 0.10, "spot": 0.03},
                         "a.big": {"od": 0.30, "spot": 0.05},
                         "g.gpu": {"od": 0.50}},
                  "r2": {"a.small": {"od": 0.12, "spot": 0.02}}}),
    "azure": cloud({"Standard_S2": [2, 4.0, 0, None, "S", "x86_64"],
                    "Standard_P2": [2, 8.0, 0, None, "P", "arm64"]},
                   {"east": {"Standard_S2": {"od": 0.09}, "Standard_P2": {"od": 0.08}}}),
    "gcp": cloud({"n2-standard-2": [2, 8.0, 0, None, "n2", "x86_64"],
                  "e2-medium": [2, 4.0, 0, None, "e2", "x86_64"]},
                 {"us": {"n2-standard-2": {"od": 0.097, "spot": 0.025, "c1": 0.061},
                         "e2-medium": {"od": 0.0335, "c1": None}}}),
})


def test_on_demand_for_a_month_picks_the_truly_cheapest_with_billing_rules() -> None:
    need = Need(vcpus=2, memory_gib=4, count=2)
    ranked = rank(need, hours=730, catalog=SMALL)
    best = ranked[0]
    assert (best.offer.provider, best.offer.size, best.pricing) == ("gcp", "e2-medium",
                                                                     Pricing.ON_DEMAND)
    assert best.hourly == pytest.approx(2 * 0.0335)
    assert best.total == pytest.approx(2 * 0.0335 * 730)
    # n2-standard-2 for a whole month gets the sustained-use discount: each quarter of the
    # month at 100/86.78/73.56/60.34% of $0.097/h, for two VMs
    n2 = next(c for c in ranked if c.offer.size == "n2-standard-2")
    assert n2.total == pytest.approx(2 * 0.097 * 182.5 * (1 + 0.8678 + 0.7356 + 0.6034))
    assert n2.hourly == pytest.approx(2 * 0.097)
    # ordering by total; the arm64 P2 ($0.08) beats S2 ($0.09); GPU size qualifies too
    totals = [c.total for c in ranked]
    assert totals == sorted(totals)
    order = [c.offer.size for c in ranked]
    assert order.index("Standard_P2") < order.index("Standard_S2")
    assert "cheapest of 8 candidates" in best.reason


def test_the_60_second_minimum_decides_a_short_run() -> None:
    """30 s on AWS bills 60 s; on Azure 300 s. Azure's $0.08/h costs more than AWS's
    $0.10/h for a 30-second job, though it is cheaper per hour."""
    need = Need(vcpus=2, memory_gib=4)
    ranked = rank(need, clouds=("aws", "azure"), hours=30 / 3600, catalog=SMALL)
    best = ranked[0]
    assert (best.offer.provider, best.offer.size, best.offer.region) == ("aws", "a.small", "r1")
    assert best.total == pytest.approx(0.10 * 60 / 3600)
    p2 = next(c for c in ranked if c.offer.size == "Standard_P2")
    assert p2.total == pytest.approx(0.08 * 300 / 3600)
    assert p2.hourly < best.hourly


def test_spot_prefer_always_never() -> None:
    prefer = rank(Need(vcpus=2, memory_gib=4, spot="prefer"), hours=1, catalog=SMALL)
    assert (prefer[0].offer.region, prefer[0].pricing) == ("r2", Pricing.SPOT)
    assert prefer[0].total == pytest.approx(0.02) and prefer[0].estimated
    # sizes without a spot price stay in, on demand, saying why
    s2 = next(c for c in prefer if c.offer.size == "Standard_S2")
    assert s2.pricing is Pricing.ON_DEMAND and "no spot price" in s2.reason
    always = rank(Need(vcpus=2, memory_gib=4, spot="always"), hours=1, catalog=SMALL)
    assert {c.pricing for c in always} == {Pricing.SPOT}
    assert "Standard_S2" not in {c.offer.size for c in always}
    never = rank(Need(vcpus=2, memory_gib=4), hours=1, catalog=SMALL)
    assert {c.pricing for c in never} == {Pricing.ON_DEMAND}


def test_explicit_sizes_gpus_arch_regions_and_commitments() -> None:
    named = rank(Need(sizes={"aws": "a.big"}, vcpus=2, memory_gib=4), clouds=("aws",),
                 hours=1, catalog=SMALL)
    assert [c.offer.size for c in named] == ["a.big"]
    gpu = cheapest(Need(gpus=1), hours=1, catalog=SMALL)
    assert (gpu.offer.size, gpu.total) == ("g.gpu", pytest.approx(0.50))
    arm = cheapest(Need(vcpus=2, arch="arm64"), hours=1, catalog=SMALL)
    assert arm.offer.size == "Standard_P2"
    only_r2 = rank(Need(vcpus=2), clouds=("aws",), regions={"aws": ["r2"]}, hours=1,
                   catalog=SMALL)
    assert {c.offer.region for c in only_r2} == {"r2"}
    committed = rank(Need(vcpus=2, memory_gib=8), clouds=("gcp",), hours=730,
                     commitment=Pricing.COMMIT_1Y, catalog=SMALL)
    assert committed[0].pricing is Pricing.COMMIT_1Y
    assert committed[0].total == pytest.approx(0.061 * 730)
    fallback = rank(Need(vcpus=2, memory_gib=4), clouds=("azure",), hours=1,
                    commitment=Pricing.COMMIT_3Y, catalog=SMALL)
    assert fallback[0].pricing is Pricing.ON_DEMAND and "no commit-3y price" in fallback[0].reason
    per_cloud = cheapest_per_cloud(rank(Need(vcpus=2), hours=1, catalog=SMALL))
    assert {k: v.offer.size for k, v in per_cloud.items()} == {
        "aws": "a.small", "azure": "Standard_P2", "gcp": "e2-medium"}


def test_ties_are_broken_deterministically() -> None:
    tied = Catalog({"aws": cloud({"x.a": [2, 4.0, 0, None, "x", "x86_64"],
                                  "x.b": [2, 4.0, 0, None, "x", "x86_64"]},
                                 {"r2": {"x.b": {"od": 0.1}, "x.a": {"od": 0.1}},
                                  "r1": {"x.b": {"od": 0.1}}})})
    order = [(c.offer.region, c.offer.size) for c in rank(Need(), clouds=("aws",), catalog=tied)]
    assert order == [("r1", "x.b"), ("r2", "x.a"), ("r2", "x.b")]


def test_nothing_fits_and_bad_input() -> None:
    with pytest.raises(uc.NotFound, match="64 vCPU"):
        cheapest(Need(vcpus=64), catalog=SMALL)
    for kwargs, field in (({"vcpus": -1}, "vcpus"), ({"count": 0}, "count"),
                          ({"spot": "maybe"}, "spot"), ({"arch": "sparc"}, "arch")):
        with pytest.raises(uc.InvalidRequest) as caught:
            Need(**kwargs)  # type: ignore[arg-type]
        assert caught.value.field == field
    with pytest.raises(uc.InvalidRequest) as caught:
        rank(Need(), clouds=("ibm",), catalog=SMALL)
    assert caught.value.field == "clouds"
    with pytest.raises(uc.InvalidRequest, match=r"no prices for region.*r9") as caught:
        rank(Need(), regions={"aws": ["r1", "r9"]}, catalog=SMALL)
    assert caught.value.field == "regions"
    with pytest.raises(uc.InvalidRequest) as caught:
        rank(Need(), hours=-1, catalog=SMALL)
    assert caught.value.field == "hours"
    with pytest.raises(uc.InvalidRequest) as caught:
        rank(Need(), commitment=Pricing.SPOT, catalog=SMALL)
    assert caught.value.field == "commitment"


def test_on_the_shipped_catalog_the_choice_matches_a_hand_search() -> None:
    catalog = load_catalog()
    need = Need(vcpus=2, memory_gib=8, count=3)
    best = cheapest(need, regions={"aws": ["us-east-1"], "azure": ["eastus"],
                                   "gcp": ["us-central1"]}, hours=100, catalog=catalog)
    fits = [o for p, r in (("aws", "us-east-1"), ("azure", "eastus"), ("gcp", "us-central1"))
            for o in catalog.offers(p, r)
            if o.vcpus >= 2 and o.memory_gib >= 8 and o.on_demand_hourly is not None]
    by_hand = min(fits, key=lambda o: o.on_demand_hourly or 0)
    assert best.offer == by_hand
    assert best.total == pytest.approx(3 * 100 * (by_hand.on_demand_hourly or 0))


def test_bad_hours_resources_and_misspelt_clouds_in_sizes_are_refused() -> None:
    for hours in (math.nan, math.inf):
        with pytest.raises(uc.InvalidRequest) as caught:
            rank(Need(), hours=hours, catalog=SMALL)
        assert caught.value.field == "hours"
    with pytest.raises(uc.InvalidRequest) as caught:
        Need(vcpus=math.nan)
    assert caught.value.field == "vcpus"
    # a misspelt cloud would silently fall back to the vCPU/memory minimums
    with pytest.raises(uc.InvalidRequest, match="amazon") as caught:
        rank(Need(sizes={"amazon": "a.big"}, vcpus=2), hours=1, catalog=SMALL)
    assert caught.value.field == "sizes"


def test_an_unpriced_price_is_never_taken_as_free() -> None:
    """od unknown, spot known: never -> left out; prefer/always -> at the spot price."""
    spot_only = Catalog({"aws": cloud({"s.a": [2, 4.0, 0, None, "s", "x86_64"],
                                       "s.b": [2, 4.0, 0, None, "s", "x86_64"]},
                                      {"r1": {"s.a": {"od": None, "spot": 0.01},
                                              "s.b": {"od": 0.2}}})})
    never = rank(Need(vcpus=2), clouds=("aws",), hours=1, catalog=spot_only)
    assert [(c.offer.size, c.total) for c in never] == [("s.b", pytest.approx(0.2))]
    prefer = rank(Need(vcpus=2, spot="prefer"), clouds=("aws",), hours=1, catalog=spot_only)
    assert [(c.offer.size, c.pricing) for c in prefer] == [("s.a", Pricing.SPOT),
                                                           ("s.b", Pricing.ON_DEMAND)]
    always = rank(Need(vcpus=2, spot="always"), clouds=("aws",), hours=1, catalog=spot_only)
    assert [c.offer.size for c in always] == ["s.a"]


def test_spot_on_a_short_run_pays_each_clouds_minimum() -> None:
    """20 s of spot: AWS r2 bills 60 s at $0.02/h x 3 VMs; a GCE n2 spot 60 s at $0.025/h."""
    ranked = rank(Need(vcpus=2, memory_gib=4, spot="always", count=3), hours=20 / 3600,
                  catalog=SMALL)
    by_size = {(c.offer.size, c.offer.region): c for c in ranked}
    assert by_size[("a.small", "r2")].total == pytest.approx(3 * 0.02 * 60 / 3600)
    assert by_size[("n2-standard-2", "us")].total == pytest.approx(3 * 0.025 * 60 / 3600)
    assert ranked[0].offer.region == "r2" and ranked[0].hourly == pytest.approx(3 * 0.02)


def test_a_named_size_on_one_cloud_and_minimums_on_the_others() -> None:
    need = Need(sizes={"aws": "a.big"}, vcpus=2, memory_gib=8, gpus=0)
    ranked = rank(need, clouds=("aws", "gcp"), hours=10, catalog=SMALL)
    assert {(c.offer.provider, c.offer.size) for c in ranked} == {("aws", "a.big"),
                                                                  ("gcp", "n2-standard-2")}
    # n2-standard-2 for 10 h: no sustained use yet (under a quarter of a month)
    assert ranked[0].offer.size == "n2-standard-2" and ranked[0].total == pytest.approx(0.97)
    assert "named size for aws" in ranked[1].reason
    gpu = rank(Need(gpus=1), hours=1, catalog=SMALL)
    assert [c.offer.size for c in gpu] == ["g.gpu"]


def test_equal_totals_on_different_clouds_are_ordered_by_cloud_then_region() -> None:
    same = {"x": [2, 4.0, 0, None, "x", "x86_64"]}
    tied = Catalog({"gcp": cloud(same, {"b": {"x": {"od": 0.1}}, "a": {"x": {"od": 0.1}}}),
                    "aws": cloud(same, {"z": {"x": {"od": 0.1}}})})
    for _ in range(3):
        order = [(c.offer.provider, c.offer.region)
                 for c in rank(Need(), clouds=("gcp", "aws"), catalog=tied)]
        assert order == [("aws", "z"), ("gcp", "a"), ("gcp", "b")]


def test_the_reason_labels_the_runner_ups_total_and_hourly_price() -> None:
    best, second = rank(Need(vcpus=2, memory_gib=4), clouds=("aws",), regions={"aws": ["r1"]},
                        hours=730, catalog=SMALL)[:2]
    # r1: a.small 0.10/h (73.00 over 730 h), then a.big 0.30/h (219.00), then g.gpu 0.50/h
    assert (best.offer.size, second.offer.size) == ("a.small", "a.big")
    assert best.reason.endswith("cheapest of 3 candidates over 730 h (next: aws r1 a.big "
                                "on-demand at $219.0000 total, $0.3000/h)")


def test_an_empty_region_list_is_refused_not_read_as_every_region() -> None:
    with pytest.raises(uc.InvalidRequest) as caught:
        rank(Need(), regions={"aws": []}, catalog=SMALL)
    assert caught.value.field == "regions" and "'aws'" in str(caught.value)
