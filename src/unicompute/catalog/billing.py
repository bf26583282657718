"""Billing rules: how long a VM is billed for, and what a run costs (:func:`cost_of`).

Each rule names its source. Modelled:

* increments and minimums per cloud (:data:`RULES`), for on-demand and spot alike;
* spot: the offer's spot price, billed like on-demand (AWS and GCE: per second, 1-minute
  minimum; Azure Spot as its pay-as-you-go VMs);
* GCE sustained-use discounts (:data:`SUSTAINED_USE_TIERS`) on on-demand usage of eligible
  families: each quarter of a month of use is billed at Google's lower incremental rate
  (100/80/60/40% or 100/86.78/73.56/60.34% of the base rate). Spot and committed usage get none;
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
    """How a cloud meters VM time: in ``increment_s`` steps after a ``minimum_s`` minimum.

    ``source`` says where the rule comes from; ``confirmed`` is ``False`` when no first-party
    statement of it was found (``source`` then says what is known and why these numbers).
    """

    provider: str
    increment_s: int
    minimum_s: int
    source: str
    confirmed: bool = True

    def billed_seconds(self, seconds: float) -> int:
        """The seconds billed for a VM that ran ``seconds`` (0 if it never ran)."""
        if seconds <= 0:
            return 0
        steps = math.ceil(round(seconds, 6) / self.increment_s)
        return max(steps * self.increment_s, self.minimum_s)


RULES: dict[str, BillingRule] = {
    "aws": BillingRule(
        "aws", 1, 60,
        "https://aws.amazon.com/about-aws/whats-new/2017/10/announcing-amazon-ec2-per-second-"
        "billing/ : Linux instances launched On-Demand, Reserved or Spot are billed in 1-second "
        "increments with a 60-second minimum (not Linux distributions with a separate hourly "
        "charge, e.g. RHEL/SUSE)"),
    "gcp": BillingRule(
        "gcp", 1, 60,
        "https://cloud.google.com/compute/vm-instance-pricing (Billing model): all vCPUs, GPUs "
        "and GB of memory are charged a minimum of 1 minute, then in 1-second increments"),
    "azure": BillingRule(
        "azure", 1, 300,
        "UNCONFIRMED (no first-party statement found). Microsoft's knowledge-center answer "
        "https://azure.microsoft.com/nb-no/resources/knowledge-center/if-my-virtual-machine-"
        "ran-for-6-minutes-and-45/ (undated) says VMs are billed per full minute (6 min 45 s "
        "bills 6 min); a Microsoft notice quoted at https://learn.microsoft.com/en-us/answers/"
        "questions/2259765 (2025-04-21) says that from 2025-06-01 VMs are billed 'even if they "
        "are shut down within 300 seconds' of starting, which that thread's accepted answer (a "
        "community member, not Microsoft) reads as per-second billing with a 5-minute minimum. "
        "Modelled as that reading (per second, 300 s minimum, Spot included): the highest of "
        "the readings, so a short run is never under-estimated",
        confirmed=False),
}

#: GCE families with sustained-use discounts and the documented monthly maximum of each:
#: https://cloud.google.com/compute/docs/sustained-use-discounts ("Maximum of 20%": N2, N2D,
#: C2; "Maximum of 30%": N1, M1, M2, f1-micro, g1-small). Only the listed series get them:
#: E2, T2A, C3, M3, A2, G2 get none.
SUSTAINED_USE: dict[str, float] = {
    "n2": 0.20, "n2d": 0.20, "c2": 0.20,
    "n1": 0.30, "m1": 0.30, "m2": 0.30, "f1": 0.30, "g1": 0.30,
}

#: The share of the base rate each quarter of a month of use is billed at (Google's
#: incremental-rate table on the page above: usage 0-25%, 25-50%, 50-75%, 75-100% of the month).
#: 30% families: 100/80/60/40% (also in Google's own calculator price list of 2017,
#: ``sustained_use_tiers``). 20% families: 100/86.78/73.56/60.34%, which nets 19.83% for a
#: whole month (Google rounds it to "20%"); the stored copies of the page end before that table,
#: so these four figures could not be re-read offline.
SUSTAINED_USE_TIERS: dict[str, tuple[float, float, float, float]] = {
    family: ((1.0, 0.80, 0.60, 0.40) if maximum == 0.30 else (1.0, 0.8678, 0.7356, 0.6034))
    for family, maximum in SUSTAINED_USE.items()
}


def sustained_use_factor(family: str, hours: float) -> float:
    """The share of the undiscounted price paid for ``hours`` of one VM of ``family`` in a
    month (1.0 for families without sustained-use discounts).

    Each quarter of the month (of :data:`MONTH_HOURS`) is billed at its tier of
    :data:`SUSTAINED_USE_TIERS`. Beyond a month, every whole month is billed at the full-month
    rate and the rest as the start of a new month.
    """
    tiers = SUSTAINED_USE_TIERS.get(family)
    if tiers is None or hours <= 0:
        return 1.0
    quarter = MONTH_HOURS / 4
    months, rest = divmod(hours, MONTH_HOURS)
    paid = months * quarter * sum(tiers)
    for share in tiers:
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
