"""Placement: the whole workload priced per cloud and region from a small hand-made catalog,
so every expected figure below is computed by hand from the prices in it."""

from __future__ import annotations

from typing import Any

import pytest

import unicompute as uc
from unicompute.catalog import Catalog, Pricing
from unicompute.workloads import parse
from unicompute.workloads.placement import place


def _cloud(sizes: dict[str, list[Any]], prices: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {"date": "2026-01-01", "source": "hand-made test prices", "sizes": sizes,
            "prices": prices, "regions": {region: {} for region in prices},
            "functions": {"service": "x", "per_million_requests": 0.2, "per_gb_second": 1e-5,
                          "source": "test"}}


CATALOG = Catalog({
    "aws": _cloud({"a.small": [2, 4, 0, None, "a", "x86_64"],
                   "a.big": [4, 16, 0, None, "a", "x86_64"]},
                  {"us-east-1": {"a.small": {"od": 0.05, "spot": 0.02}, "a.big": {"od": 0.20}},
                   "us-west-2": {"a.small": {"od": 0.04}, "a.big": {"od": 0.30}}}),
    "azure": _cloud({"z.small": [2, 4, 0, None, "z", "x86_64"],
                     "z.big": [4, 16, 0, None, "z", "x86_64"]},
                    {"eastus": {"z.small": {"od": 0.03}, "z.big": {"od": 0.25, "spot": 0.05}}}),
    "gcp": _cloud({"g.small": [2, 4, 0, None, "e2", "x86_64"],
                   "g.gpu": [8, 32, 1, "T4", "n1", "x86_64"]},
                  {"us-central1": {"g.small": {"od": 0.01}, "g.gpu": {"od": 0.90}}}),
})

SHOP = """\
name: shop
vms:
  - {name: web, count: 2, vcpus: 2, memory_gib: 4}
  - {name: worker, vcpus: 4, memory_gib: 16, spot: prefer}
placement:
  regions: {aws: [us-east-1, us-west-2], azure: [eastus], gcp: [us-central1]}
"""


def test_cheapest_prices_the_whole_workload_per_cloud_and_region() -> None:
    plan = place(parse(SHOP), cloud="cheapest", hours=10, catalog=CATALOG)
    # aws us-east-1: web 2 x 0.05 + worker a.big (no spot price: on-demand) 0.20 = 0.30/h;
    # us-west-2: 2 x 0.04 + 0.30 = 0.38/h. azure eastus: 2 x 0.03 + z.big spot 0.05 = 0.11/h,
    # the cheapest. gcp: only g.gpu (8 vCPUs, 32 GiB) fits the worker: 2 x 0.01 + 0.90.
    assert [(c.provider, c.region, round(c.hourly, 6)) for c in plan.options] == [
        ("azure", "eastus", 0.11), ("aws", "us-east-1", 0.30), ("gcp", "us-central1", 0.92)]
    (chosen,) = plan.chosen
    assert (chosen.provider, chosen.region) == ("azure", "eastus")
    assert [(g.size, g.spot) for g in chosen.groups] == [("z.small", False), ("z.big", True)]
    assert [(c.region, round(c.hourly, 6)) for c in plan.regional if c.provider == "aws"] == [
        ("us-east-1", 0.30), ("us-west-2", 0.38)]
    # 10 hours on-demand/spot, per-second billing: total = hourly x 10.
    assert plan.total == pytest.approx(1.1) and plan.hourly == pytest.approx(0.11)
    resolved = chosen.resolved(plan.workload)
    assert [dict(g.size) for g in resolved.groups] == [{"azure": "z.small"}, {"azure": "z.big"}]
    assert [g.spot for g in resolved.groups] == [False, True]


def test_all_places_on_every_cloud_and_fails_if_one_cannot_hold_it() -> None:
    text = SHOP.replace("vcpus: 4, memory_gib: 16", "vcpus: 2, memory_gib: 4")
    plan = place(parse(text), cloud="all", catalog=CATALOG)
    assert sorted(plan.providers) == ["aws", "azure", "gcp"]
    # aws: us-east-1 2 x 0.05 + worker spot 0.02 = 0.12, us-west-2 3 x 0.04 = 0.12 (a tie:
    # the first listed wins); azure 3 x 0.03; gcp 3 x 0.01.
    assert [c.region for c in plan.chosen if c.provider == "aws"] == ["us-east-1"]
    assert plan.hourly == pytest.approx(0.12 + 0.09 + 0.03)
    with pytest.raises(uc.InvalidRequest) as info:
        place(parse(SHOP.replace("memory_gib: 16", "memory_gib: 20")), cloud="all",
              catalog=CATALOG)
    assert info.value.field == "placement" and "of aws, azure has" in str(info.value)


def test_a_named_cloud_keeps_its_cheapest_region_and_explicit_sizes() -> None:
    plan = place(parse(SHOP), cloud="aws", catalog=CATALOG)
    (chosen,) = plan.chosen
    assert chosen.region == "us-east-1"
    text = SHOP.replace("{name: web, count: 2,", "{name: web, count: 2, size: {aws: a.big},")
    chosen = place(parse(text), cloud="aws", catalog=CATALOG).chosen[0]
    assert chosen.groups[0].size == "a.big" and chosen.hourly == pytest.approx(0.6)


def test_spot_always_and_gpus() -> None:
    text = "name: g\nvms:\n  - {name: t, gpus: 1}\n"
    chosen = place(parse(text), cloud="gcp", catalog=CATALOG).chosen[0]
    assert chosen.groups[0].size == "g.gpu"
    spot_only = "name: s\nvms:\n  - {name: w, vcpus: 2, spot: true}\n"
    chosen = place(parse(spot_only), cloud="aws", catalog=CATALOG).chosen[0]
    assert (chosen.groups[0].size, chosen.groups[0].spot, chosen.hourly) == ("a.small", True,
                                                                             0.02)


@pytest.mark.parametrize(
    ("text", "cloud", "field", "words"),
    [
        ("name: w\nvms:\n  - {name: a, gpus: 1}\n", "aws", "vms[0]", "gpus >= 1"),
        ("name: w\nvms:\n  - {name: a, size: {aws: a.huge}}\n", "aws", "vms[0].size.aws",
         "'a.huge'"),
        ("name: w\nvms:\n  - {name: a, vcpus: 1}\nplacement: {regions: {aws: [mars-1]}}\n",
         "aws", "placement.regions.aws", "mars-1"),
        ("name: w\nvms:\n  - {name: a, vcpus: 2, count: 11}\nplacement: {max_hourly_cost: 0.1}\n",
         "cheapest", "placement.max_hourly_cost", "more than $0.1000/h"),
        ("name: w\nvms:\n  - {name: a, vcpus: 64}\n", "cheapest", "placement", "no region"),
    ],
)
def test_refusals_name_the_key(text: str, cloud: str, field: str, words: str) -> None:
    with pytest.raises(uc.InvalidRequest) as info:
        place(parse(text), cloud=cloud, catalog=CATALOG)
    assert info.value.field == field and words in str(info.value)


def test_command_line_cloud_overrides_the_file_and_region_needs_one_cloud() -> None:
    text = SHOP + "  cloud: aws\n"
    assert place(parse(text), catalog=CATALOG).providers == ("aws",)
    assert place(parse(text), cloud="azure", catalog=CATALOG).providers == ("azure",)
    assert place(parse(text), cloud="aws", region="us-west-2",
                 catalog=CATALOG).chosen[0].region == "us-west-2"
    with pytest.raises(uc.InvalidRequest) as info:
        place(parse(text), cloud="all", region="us-west-2", catalog=CATALOG)
    assert info.value.field == "region"


def test_the_shipped_catalog_places_the_shop_example() -> None:
    from pathlib import Path

    from unicompute.workloads import load

    workload = load(Path(__file__).parents[3] / "examples" / "shop.yaml")
    plan = place(workload, cloud="cheapest")
    assert plan.chosen[0] == plan.options[0]
    assert all(plan.chosen[0].hourly <= option.hourly for option in plan.options)
    assert len(plan.options) == 3


def test_a_commitment_prices_at_the_committed_rate_and_says_where_it_fell_back() -> None:
    catalog = Catalog({
        "aws": _cloud({"a.small": [2, 4, 0, None, "a", "x86_64"],
                       "a.big": [4, 16, 0, None, "a", "x86_64"]},
                      {"us-east-1": {"a.small": {"od": 0.05, "c1": 0.03},
                                     "a.big": {"od": 0.20, "spot": 0.08}}}),
    })
    text = SHOP.replace("placement:\n  regions: {aws: [us-east-1, us-west-2], azure: [eastus], "
                        "gcp: [us-central1]}\n", "")
    plan = place(parse(text), cloud="aws", hours=10, commitment=Pricing.COMMIT_1Y,
                 catalog=catalog)
    (chosen,) = plan.chosen
    web, worker = chosen.groups
    # web: 2 x 0.03 committed; worker: spot preferred and priced (0.08), so no fallback.
    assert (web.candidate.pricing.value, worker.candidate.pricing.value) == (
        "commit-1y", "spot")
    assert plan.hourly == pytest.approx(2 * 0.03 + 0.08)
    assert not plan.fell_back(web) and not plan.fell_back(worker)
    three = place(parse(text), cloud="aws", hours=10,
                  commitment=Pricing.COMMIT_3Y, catalog=catalog)
    web3 = three.chosen[0].groups[0]
    assert web3.candidate.pricing.value == "on-demand" and three.fell_back(web3)
    assert "no commit-3y price, on-demand" in web3.candidate.reason
    assert three.hourly == pytest.approx(2 * 0.05 + 0.08)
    assert not place(parse(text), cloud="aws", catalog=catalog).fell_back(web3)


def _by_total_catalog() -> Catalog:
    """AWS has the lowest hourly price; GCE's N1 in us-east1 costs more per hour than its E2
    in us-central1 and than AWS, but gets up to 30 % sustained use over a month."""
    return Catalog({
        "aws": _cloud({"a.small": [2, 4, 0, None, "a", "x86_64"]},
                      {"us-east-1": {"a.small": {"od": 0.10}}}),
        "azure": _cloud({"z.small": [2, 4, 0, None, "z", "x86_64"]},
                        {"eastus": {"z.small": {"od": 0.08}}}),
        "gcp": _cloud({"e2-standard-2": [2, 8, 0, None, "e2", "x86_64"],
                       "n1-standard-2": [2, 7.5, 0, None, "n1", "x86_64"]},
                      {"us-central1": {"e2-standard-2": {"od": 0.11}},
                       "us-east1": {"n1-standard-2": {"od": 0.12}}}),
    })


ONE = """\
name: one
vms:
  - {name: app, vcpus: 2, memory_gib: 4}
placement:
  regions: {aws: [us-east-1], azure: [eastus], gcp: [us-central1, us-east1]}
"""


def test_cheapest_is_the_least_total_over_the_hours_with_sustained_use() -> None:
    catalog = _by_total_catalog()
    plan = place(parse(ONE), cloud="cheapest", hours=730, catalog=catalog)
    # 730 h: aws 0.10 x 730 = 73.00; azure 0.08 x 730 = 58.40; gcp us-central1 E2 (no
    # sustained use) 0.11 x 730 = 80.30; gcp us-east1 N1: each quarter (182.5 h) at
    # 100/80/60/40 % of 0.12 = 0.12 x 182.5 x 2.8 = 61.32.
    assert [(c.provider, c.region, round(c.total, 6)) for c in plan.options] == [
        ("azure", "eastus", 58.4), ("gcp", "us-east1", 61.32), ("aws", "us-east-1", 73.0)]
    assert [(c.region, round(c.total, 6)) for c in plan.regional if c.provider == "gcp"] == [
        ("us-east1", 61.32), ("us-central1", 80.3)]
    without_azure = ONE.replace("azure: [eastus], ", "")
    plan = place(parse(without_azure), cloud="all", hours=730, catalog=catalog)
    # by hourly, us-central1's 0.11 would have won over us-east1's 0.12
    assert [c.region for c in plan.chosen if c.provider == "gcp"] == ["us-east1"]
    # and GCE (61.32 in total, 0.12/h) now ranks before AWS (73.00, 0.10/h)
    assert [c.provider for c in plan.options][:2] == ["azure", "gcp"]


def test_a_short_run_pays_each_clouds_minimum_when_choosing_the_cloud() -> None:
    catalog = _by_total_catalog()
    plan = place(parse(ONE), cloud="cheapest", hours=30 / 3600, catalog=catalog)
    # 30 s: AWS bills 60 s at 0.10/h = 0.0016667; Azure 300 s at 0.08/h = 0.0066667 (the
    # lower hourly price); GCE 60 s at 0.11/h = 0.0018333 (no sustained use for a minute:
    # N1's first quarter is at 100 %, so 0.12/h x 60 s = 0.002).
    assert [(c.provider, round(c.total, 7)) for c in plan.options] == [
        ("aws", round(0.10 * 60 / 3600, 7)), ("gcp", round(0.11 * 60 / 3600, 7)),
        ("azure", round(0.08 * 300 / 3600, 7))]
    assert plan.chosen[0].provider == "aws"


def test_max_hourly_cost_still_caps_the_hourly_price() -> None:
    catalog = _by_total_catalog()
    text = ONE.replace("azure: [eastus], ", "") + "  max_hourly_cost: 0.12\n"
    plan = place(parse(text), cloud="gcp", hours=730, catalog=catalog)
    assert plan.hourly == pytest.approx(0.12) and plan.chosen[0].region == "us-east1"
    with pytest.raises(uc.InvalidRequest) as info:
        place(parse(text.replace("0.12", "0.119")), cloud="gcp", hours=730, catalog=catalog)
    assert info.value.field == "placement.max_hourly_cost"


def test_no_region_is_refused_not_read_as_every_region() -> None:
    from dataclasses import replace

    from unicompute.workloads.spec import Placement as FilePlacement

    workload = parse(ONE)
    empty = replace(workload, placement=FilePlacement(regions={"gcp": ()}))
    with pytest.raises(uc.InvalidRequest) as info:
        place(empty, cloud="gcp", catalog=_by_total_catalog())
    assert info.value.field == "placement.regions.gcp"
    other = Catalog({"other": _cloud({"o.small": [2, 4, 0, None, "o", "x86_64"]},
                                     {"o-1": {"o.small": {"od": 0.01}}})})
    with pytest.raises(uc.InvalidRequest) as info:
        place(parse(ONE.replace("placement:\n  regions: {aws: [us-east-1], azure: [eastus], "
                                "gcp: [us-central1, us-east1]}\n", "")),
              cloud="other", catalog=other)
    assert info.value.field == "placement.regions.other" and "no default region" in str(
        info.value)


def test_a_size_for_a_cloud_the_catalog_lacks_names_the_groups_size() -> None:
    aws_only = Catalog({"aws": _cloud({"a.small": [2, 4, 0, None, "a", "x86_64"]},
                                      {"us-east-1": {"a.small": {"od": 0.05}}})})
    text = ("name: w\nvms:\n  - {name: a, vcpus: 1}\n"
            "  - {name: b, size: {aws: a.small, azure: z.small}}\n")
    with pytest.raises(uc.InvalidRequest) as info:
        place(parse(text), cloud="aws", catalog=aws_only)
    assert info.value.field == "vms[1].size" and "azure" in str(info.value)
