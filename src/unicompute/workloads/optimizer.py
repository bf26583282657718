"""Where a group of VMs costs least: candidates from the catalog, priced with the billing rules.

:func:`rank` lists every (cloud, region, size, pricing) that meets a :class:`Need`, cheapest
first; :func:`cheapest` is its first. Prices come from :mod:`unicompute.catalog` only; offers
without the needed price are left out (an unknown price is never taken as free).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from .._errors import InvalidRequest, NotFound
from ..catalog import Catalog, Offer, Pricing, cost_of, load_catalog

SpotChoice = Literal["prefer", "always", "never"]
_SPOT_CHOICES = ("prefer", "always", "never")
_COMMITMENTS = (Pricing.COMMIT_1Y, Pricing.COMMIT_3Y)


@dataclass(frozen=True)
class Need:
    """What one VM group needs: at least ``vcpus``, ``memory_gib`` and ``gpus`` per VM (or an
    explicit size per cloud in ``sizes``, which then wins on that cloud), ``count`` VMs, an
    ``arch`` (``None``: any) and whether to buy spot: ``"always"`` (spot only), ``"prefer"``
    (spot where the cloud has a spot price for the size, else on-demand) or ``"never"``."""

    vcpus: float = 0
    memory_gib: float = 0
    gpus: int = 0
    sizes: Mapping[str, str] = field(default_factory=dict)
    spot: SpotChoice = "never"
    count: int = 1
    arch: str | None = None

    def __post_init__(self) -> None:
        for name in ("vcpus", "memory_gib", "gpus"):
            if not _finite_and_not_negative(getattr(self, name)):
                raise InvalidRequest("must be a finite number, 0 or more", field=name)
        if self.count < 1:
            raise InvalidRequest("must be 1 or more", field="count")
        if self.spot not in _SPOT_CHOICES:
            raise InvalidRequest(f"must be one of {', '.join(_SPOT_CHOICES)}",
                                 field="spot")
        if self.arch not in (None, "x86_64", "arm64"):
            raise InvalidRequest("must be x86_64 or arm64", field="arch")

    def fits(self, offer: Offer) -> bool:
        """Whether ``offer`` meets the need (the explicit size, if one is named for its cloud)."""
        named = self.sizes.get(offer.provider)
        if named is not None:
            return offer.size == named
        return (offer.vcpus >= self.vcpus and offer.memory_gib >= self.memory_gib
                and offer.gpus >= self.gpus and (self.arch is None or offer.arch == self.arch))


@dataclass(frozen=True)
class Candidate:
    """One way to run the group: ``offer`` bought as ``pricing``; ``hourly`` is USD per hour for
    the whole group, ``total`` USD for the hours asked (billing rules applied), ``reason`` why
    it qualifies and how it is priced (and, on the first of a ranking, what it beat)."""

    offer: Offer
    pricing: Pricing
    hourly: float
    total: float
    reason: str

    @property
    def estimated(self) -> bool:
        """Whether the price used is an estimate (see the offer's source)."""
        return self.offer.is_estimate(self.pricing)


def rank(need: Need, clouds: Sequence[str] = ("aws", "azure", "gcp"),
         regions: Mapping[str, Sequence[str]] | None = None, hours: float = 730.0,
         commitment: Pricing | None = None, catalog: Catalog | None = None) -> list[Candidate]:
    """Every candidate for ``need`` on ``clouds`` (in ``regions[cloud]``, else every region the
    catalog prices), sorted by total cost over ``hours``, then hourly, cloud, region, size.
    The first one's ``reason`` names the runner-up with its total over ``hours`` and its hourly
    price, each labelled.

    ``commitment`` (:attr:`Pricing.COMMIT_1Y` / ``COMMIT_3Y``) prices non-spot candidates at
    their committed rate where the catalog has one, else on-demand (the reason says so).
    ``InvalidRequest`` names ``hours``, ``commitment``, ``clouds``, ``regions`` or ``sizes`` when
    bad (a region the catalog does not price, an empty region list, or a cloud in ``need.sizes``
    it does not know, is refused, never silently ignored).
    """
    if not _finite_and_not_negative(hours):
        raise InvalidRequest("must be a finite number, 0 or more", field="hours")
    if commitment is not None and commitment not in _COMMITMENTS:
        raise InvalidRequest("must be Pricing.COMMIT_1Y or Pricing.COMMIT_3Y",
                             field="commitment")
    catalog = catalog or load_catalog()
    known = catalog.providers()
    for cloud in list(clouds) + list(regions or {}):
        if cloud not in known:
            raise InvalidRequest(f"unknown cloud {cloud!r} (known: {', '.join(known)})",
                                 field="regions" if cloud not in clouds else "clouds")
    unknown_sized = sorted(set(need.sizes) - set(known))
    if unknown_sized:
        raise InvalidRequest(f"names unknown cloud(s) {', '.join(unknown_sized)} (known: "
                             f"{', '.join(known)})", field="sizes")
    for cloud, listed in (regions or {}).items():
        if not listed:
            raise InvalidRequest(f"{cloud!r} lists no region; list at least one or leave the "
                                 "cloud out for every region", field="regions")
        unpriced = [r for r in listed if r not in catalog.regions(cloud)]
        if unpriced:
            raise InvalidRequest(f"the {cloud} catalog has no prices for region(s) "
                                 f"{', '.join(unpriced)} (it has "
                                 f"{', '.join(catalog.regions(cloud))})", field="regions")
    found: list[Candidate] = []
    for cloud in clouds:
        wanted = (regions or {}).get(cloud) or catalog.regions(cloud)
        for region in wanted:
            for offer in catalog.offers(cloud, region):
                if need.fits(offer):
                    candidate = _priced(need, offer, hours, commitment)
                    if candidate is not None:
                        found.append(candidate)
    found.sort(key=lambda c: (round(c.total, 9), round(c.hourly, 9), c.offer.provider,
                              c.offer.region, c.offer.size, c.pricing.value))
    if len(found) > 1:
        first, second = found[0], found[1]
        found[0] = Candidate(first.offer, first.pricing, first.hourly, first.total,
                             f"{first.reason}; cheapest of {len(found)} candidates over "
                             f"{hours:g} h (next: {_where(second)} at ${second.total:.4f} "
                             f"total, ${second.hourly:.4f}/h)")
    return found


def cheapest(need: Need, clouds: Sequence[str] = ("aws", "azure", "gcp"),
             regions: Mapping[str, Sequence[str]] | None = None, hours: float = 730.0,
             commitment: Pricing | None = None, catalog: Catalog | None = None) -> Candidate:
    """The first of :func:`rank`; ``NotFound`` saying what was asked when nothing qualifies."""
    ranked = rank(need, clouds, regions, hours, commitment, catalog)
    if not ranked:
        raise NotFound(f"no priced size meets {_describe(need)} on {', '.join(clouds)}"
                       + (f" in {dict(regions)}" if regions else ""),
                       operation="optimizer.cheapest")
    return ranked[0]


def cheapest_per_cloud(candidates: Iterable[Candidate]) -> dict[str, Candidate]:
    """The first candidate of each cloud in ``candidates`` (which :func:`rank` sorted)."""
    best: dict[str, Candidate] = {}
    for candidate in candidates:
        best.setdefault(candidate.offer.provider, candidate)
    return best


def _priced(need: Need, offer: Offer, hours: float,
            commitment: Pricing | None) -> Candidate | None:
    notes: list[str] = []
    pricing: Pricing | None = None
    if need.spot in ("always", "prefer") and offer.spot_hourly is not None:
        pricing = Pricing.SPOT
    elif need.spot == "always":
        return None
    elif need.spot == "prefer":
        notes.append("no spot price, on-demand")
    if pricing is None and commitment is not None:
        if offer.hourly(commitment) is not None:
            pricing = commitment
        else:
            notes.append(f"no {commitment.value} price, on-demand")
    if pricing is None:
        pricing = Pricing.ON_DEMAND
    hourly = offer.hourly(pricing)
    if hourly is None:
        return None
    total = cost_of(offer, hours * 3600, pricing, need.count)
    fit = (f"named size for {offer.provider}" if offer.provider in need.sizes else
           f"{offer.vcpus} vCPU >= {need.vcpus:g}, {offer.memory_gib:g} GiB >= "
           f"{need.memory_gib:g}" + (f", {offer.gpus} GPU >= {need.gpus}" if need.gpus else ""))
    source = offer.source(pricing)
    priced = f"{pricing.value} ${hourly:g}/h x {need.count}"
    if source is not None and source.estimate:
        priced += " (estimate)"
    return Candidate(offer=offer, pricing=pricing, hourly=hourly * need.count, total=total,
                     reason="; ".join([fit, priced, *notes]))


def _finite_and_not_negative(value: float) -> bool:
    return not math.isnan(value) and not math.isinf(value) and value >= 0


def _where(candidate: Candidate) -> str:
    offer = candidate.offer
    return f"{offer.provider} {offer.region} {offer.size} {candidate.pricing.value}"


def _describe(need: Need) -> str:
    if need.sizes:
        return f"sizes {dict(need.sizes)}"
    return (f"{need.vcpus:g} vCPU, {need.memory_gib:g} GiB, {need.gpus} GPU"
            + (f", {need.arch}" if need.arch else "") + f", spot={need.spot}")
