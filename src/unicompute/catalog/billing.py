"""Billing rules: how long a VM is billed for, and what a run costs (:func:`cost_of`).

Each rule names its source. Modelled:

* increments and minimums per cloud (:data:`RULES`), for on-demand and spot alike;
* spot: the offer's spot price, billed like on-demand (AWS and GCE: per second, 1-minute
  minimum; Azure Spot as its pay-as-you-go VMs);
* GCE sustained-use discounts (:data:`SUSTAINED_USE`) on on-demand usage of eligible families:
  each quarter of a month of use is billed at a lower share of the base rate, reaching the
  documented maximum (30% or 20%) for a whole month. Spot and committed usage get none;
* 1- and 3-year commitments: the offer's committed hourly price for every hour of the period
  (a commitment is paid whether the VM runs or not; :func:`cost_of` gives the share of the
  period asked for). Where they come from is the offer's source (per size, never a ratio).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .._errors import InvalidRequest, NotFound
from ._model import Offer, Pricing

#: Hours in the month the sustained-use tiers are measured against (Google bills per calendar
#: month; 730 h is the average month, as its pricing pages use).
MONTH_HOURS = 730.0


@dataclass(frozen=True)
class BillingRule:
    """How a cloud meters VM time: in ``increment_s`` steps after a ``minimum_s`` minimum."""

    provider: str
    increment_s: int
    minimum_s: int
    source: str

    def billed_seconds(self, seconds: float) -> int:
        """The seconds billed for a VM that ran ``seconds`` (0 if it never ran)."""
        if seconds <= 0:
            return 0
        steps = math.ceil(round(seconds, 6) / self.increment_s)
        return max(steps * self.increment_s, self.minimum_s)


RULES: dict[str, BillingRule] = {
    "aws": BillingRule(
        "aws", 1, 60,
        "https://aws.amazon.com/ec2/pricing/ : Linux (and Ubuntu) On-Demand, Spot and Reserved "
        "instances are billed per second with a 60-second minimum"),
    "gcp": BillingRule(
        "gcp", 1, 60,
        "https://cloud.google.com/compute/vm-instance-pricing : all vCPUs, GPUs and GB of memory "
        "are charged a minimum of 1 minute, then in 1-second increments"),
    "azure": BillingRule(
        "azure", 1, 300,
        "per-second billing (https://azure.microsoft.com/pricing/details/virtual-machines/linux/"
        ") with a 5-minute (300 s) minimum for every VM, Spot included, from 2025-06-01, as "
        "Microsoft's notice is quoted at https://learn.microsoft.com/en-us/answers/questions/"
        "2259765 (a Q&A answer, not the pricing page; before that date: no minimum)"),
}

#: GCE families with sustained-use discounts, and the largest monthly discount each gets:
#: https://cloud.google.com/compute/docs/sustained-use-discounts ("Maximum of 20%": N2, N2D,
#: C2; "Maximum of 30%": N1, M1, M2, f1-micro, g1-small). E2, T2A, C3, M3, A2, G2 get none.
SUSTAINED_USE: dict[str, float] = {
    "n2": 0.20, "n2d": 0.20, "c2": 0.20,
    "n1": 0.30, "m1": 0.30, "m2": 0.30, "f1": 0.30, "g1": 0.30,
}


def sustained_use_factor(family: str, hours: float) -> float:
    """The share of the undiscounted price paid for ``hours`` of one VM of ``family`` in a
    month (1.0 for families without sustained-use discounts).

    Each quarter of the month is billed at a lower share: for a 30% family 100%, 80%, 60%,
    40% (Google's documented table); for a 20% family the same four steps scaled to 20%
    (100%, 86.7%, 73.3%, 60%: a linear model of Google's table, which reaches 20% for a full
    month). Beyond a month, every full month gets the full discount.
    """
    maximum = SUSTAINED_USE.get(family)
    if maximum is None or hours <= 0:
        return 1.0
    step = maximum / 1.5  # four quarters average to 1 - maximum: drops 0, s, 2s, 3s
    shares = [1.0, 1.0 - step, 1.0 - 2 * step, 1.0 - 3 * step]
    quarter = MONTH_HOURS / 4
    months, rest = divmod(hours, MONTH_HOURS)
    paid = months * MONTH_HOURS * (1.0 - maximum)
    for share in shares:
        used = min(rest, quarter)
        paid += used * share
        rest -= used
        if rest <= 0:
            break
    return paid / hours


class PriceUnknown(NotFound):
    """The catalog has no price for this offer and pricing (it is never taken as free)."""


def cost_of(offer: Offer, seconds: float, pricing: Pricing = Pricing.ON_DEMAND,
            count: int = 1) -> float:
    """USD for ``count`` VMs of ``offer`` each running ``seconds``, bought as ``pricing``,
    with the cloud's billing rules applied (increment and minimum for on-demand and spot; GCE
    sustained-use discounts on on-demand; commitments priced per hour of the period).

    :class:`PriceUnknown` if the catalog has no such price; ``InvalidRequest`` naming
    ``seconds`` or ``count`` when negative.
    """
    if seconds < 0 or math.isnan(seconds):
        raise InvalidRequest("seconds must be 0 or more", field="seconds")
    if count < 0:
        raise InvalidRequest("count must be 0 or more", field="count")
    hourly = offer.hourly(pricing)
    if hourly is None:
        raise PriceUnknown(f"no {pricing.value} price for {offer.size} in {offer.region} in "
                           f"the {offer.provider} catalog", provider=offer.provider,
                           operation="catalog.cost_of", resource=offer.size)
    if pricing in (Pricing.COMMIT_1Y, Pricing.COMMIT_3Y):
        return count * hourly * seconds / 3600
    rule = RULES.get(offer.provider, BillingRule(offer.provider, 1, 0, "per second"))
    billed = rule.billed_seconds(seconds)
    cost = count * hourly * billed / 3600
    if pricing is Pricing.ON_DEMAND and offer.provider == "gcp":
        cost *= sustained_use_factor(offer.family, billed / 3600)
    return cost
