"""Billing rules against hand-computed numbers."""

from __future__ import annotations

import pytest

import unicompute as uc
from unicompute.catalog import Offer, PriceUnknown, Pricing, cost_of
from unicompute.catalog.billing import RULES, sustained_use_factor


def offer(provider: str = "aws", family: str = "t3", od: float | None = 0.36,
          spot: float | None = 0.108, c1: float | None = None) -> Offer:
    return Offer(provider=provider, region="r", size=f"{family}.x", vcpus=2, memory_gib=8,
                 gpus=0, gpu_model=None, family=family, arch="x86_64", on_demand_hourly=od,
                 spot_hourly=spot, commit_1y_hourly=c1)


def test_aws_bills_per_second_with_a_60_second_minimum() -> None:
    o = offer()  # $0.36/h = $0.0001 per second
    assert cost_of(o, 1) == pytest.approx(60 * 0.0001)
    assert cost_of(o, 59.2) == pytest.approx(60 * 0.0001)
    assert cost_of(o, 61.5) == pytest.approx(62 * 0.0001)
    assert cost_of(o, 3600, count=3) == pytest.approx(3 * 0.36)
    assert cost_of(o, 0) == 0


def test_spot_is_billed_like_on_demand_at_the_spot_price() -> None:
    o = offer()  # spot $0.108/h = $0.00003/s
    assert cost_of(o, 10, Pricing.SPOT) == pytest.approx(60 * 0.00003)
    assert cost_of(o, 7200, Pricing.SPOT, count=2) == pytest.approx(2 * 2 * 0.108)


def test_azure_has_a_five_minute_minimum_and_gce_one_minute() -> None:
    assert cost_of(offer("azure"), 90) == pytest.approx(300 * 0.0001)
    assert cost_of(offer("azure"), 301) == pytest.approx(301 * 0.0001)
    assert cost_of(offer("gcp", "e2"), 30) == pytest.approx(60 * 0.0001)
    assert all(rule.source for rule in RULES.values())


def test_the_azure_rule_is_marked_unconfirmed_and_says_what_is_known() -> None:
    """No first-party statement of Azure's minimum was found: the rule says so, and names
    Microsoft's own per-minute answer beside the 2025 notice it models."""
    azure = RULES["azure"]
    assert not azure.confirmed and azure.source.startswith("UNCONFIRMED")
    assert "per full minute" in azure.source and "2259765" in azure.source
    assert RULES["aws"].confirmed and RULES["gcp"].confirmed


def test_gce_sustained_use_discounts_by_family() -> None:
    month = 730 * 3600
    quarter_cost = 0.1 * 182.5  # $0.1/h for a quarter of a 730-hour month
    # n1 (30% family): quarters at 100/80/60/40% -> a full month pays 70%, half a month 90%
    assert sustained_use_factor("n1", 730) == pytest.approx(0.70)
    assert sustained_use_factor("n1", 365) == pytest.approx(0.90)
    # n2 (20% family): Google's incremental rates 100/86.78/73.56/60.34%
    n2 = offer("gcp", "n2", od=0.1)
    assert cost_of(n2, month) == pytest.approx(quarter_cost * 3.2068)  # 58.5241
    assert cost_of(n2, month / 2) == pytest.approx(quarter_cost * 1.8678)  # 34.08735
    assert cost_of(n2, month * 3 / 4) == pytest.approx(quarter_cost * 2.6034)  # 47.51205
    # under a quarter of a month: no discount; e2 never
    assert cost_of(n2, 100 * 3600) == pytest.approx(10.0)
    assert cost_of(offer("gcp", "e2", od=0.1), month) == pytest.approx(73.0)
    # spot gets none
    assert cost_of(offer("gcp", "n2", spot=0.05), month, Pricing.SPOT) == pytest.approx(36.5)
    # two months: both at the full-month rate; a month and 10 h: the 10 h start a new month
    assert cost_of(n2, 2 * month) == pytest.approx(2 * 58.5241)
    assert cost_of(n2, month + 10 * 3600) == pytest.approx(58.5241 + 1.0)


def test_commitments_bill_every_hour_of_the_period() -> None:
    o = offer("gcp", "n2", c1=0.063)
    assert cost_of(o, 30, Pricing.COMMIT_1Y) == pytest.approx(0.063 * 30 / 3600)
    assert cost_of(o, 730 * 3600, Pricing.COMMIT_1Y, count=2) == pytest.approx(2 * 730 * 0.063)


def test_unknown_prices_and_bad_input_are_refused() -> None:
    with pytest.raises(PriceUnknown, match="commit-3y"):
        cost_of(offer(), 60, Pricing.COMMIT_3Y)
    with pytest.raises(PriceUnknown):
        cost_of(offer(spot=None), 60, Pricing.SPOT)
    with pytest.raises(uc.InvalidRequest) as caught:
        cost_of(offer(), -1)
    assert caught.value.field == "seconds"
    with pytest.raises(uc.InvalidRequest) as caught:
        cost_of(offer(), 1, count=-2)
    assert caught.value.field == "count"
