"""The providers' view of the catalog's on-demand prices (:mod:`unicompute.catalog`).

Providers whose SDK has no prices (AWS, Azure, GCP) price their sizes from the one dated
snapshot per cloud the catalog holds (or its refreshed copy). A :class:`PriceSnapshot` is that
cloud's on-demand prices by region, plus the file's top-level metadata (``date``, ``source``,
``currency`` and anything else it records). :meth:`PriceSnapshot.source_of` is what
:attr:`~unicompute.Size.price_source` says: dated list prices, not live ones, and whether a
price is an estimate.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .catalog import Catalog, Offer, Pricing, load_catalog

_NOT_METADATA = frozenset({"sizes", "prices", "regions", "sources", "functions"})


@dataclass(frozen=True)
class PriceSnapshot:
    """One cloud's on-demand prices; ``kind`` says which prices they are (``"AWS on-demand"``).

    ``data`` holds the snapshot's metadata and ``regions`` (region → size → USD per hour, priced
    sizes only).
    """

    kind: str
    data: Mapping[str, Any]
    offers: Mapping[str, Mapping[str, Offer]] = field(default_factory=dict, repr=False)

    @property
    def date(self) -> str:
        return str(self.data.get("date"))

    @property
    def source(self) -> str:
        """How :class:`~unicompute.Size` describes the snapshot's main prices."""
        return f"{self.kind} price snapshot of {self.date}"

    def region(self, region: str) -> dict[str, float]:
        """Hourly prices of ``region`` by size name (empty if the snapshot lacks the region)."""
        regions = self.data.get("regions")
        prices = regions.get(region, {}) if isinstance(regions, Mapping) else {}
        return {str(name): float(price) for name, price in prices.items()}

    def source_of(self, region: str, size: str) -> str | None:
        """What :attr:`~unicompute.Size.price_source` says for ``size`` in ``region``: the date
        of the price's own source, and ``(estimate)`` when it is derived; ``None`` when the
        snapshot has no price for it."""
        offer = self.offers.get(region, {}).get(size)
        if offer is None or offer.on_demand_hourly is None:
            return None
        found = offer.source(Pricing.ON_DEMAND)
        date = found.date if found is not None else self.date
        estimate = " (estimate)" if found is not None and found.estimate else ""
        return f"{self.kind} price snapshot of {date}{estimate}"


_LOCK = threading.Lock()
_MEMO: dict[tuple[str, str], tuple[Catalog, PriceSnapshot]] = {}


def load_prices(package: str, kind: str) -> PriceSnapshot:
    """The on-demand prices of the provider package ``package`` (its last name is the cloud:
    ``unicompute.providers.aws``), from the current catalog; built once per catalog read."""
    provider = package.rpartition(".")[2]
    catalog = load_catalog()
    with _LOCK:
        memo = _MEMO.get((package, kind))
        if memo is not None and memo[0] is catalog:
            return memo[1]
        snapshot = _snapshot(catalog, provider, kind)
        _MEMO[(package, kind)] = (catalog, snapshot)
        return snapshot


def _snapshot(catalog: Catalog, provider: str, kind: str) -> PriceSnapshot:
    offers: dict[str, dict[str, Offer]] = {}
    prices: dict[str, dict[str, float]] = {}
    for region in catalog.regions(provider):
        in_region = {offer.size: offer for offer in catalog.offers(provider, region)}
        offers[region] = in_region
        prices[region] = {name: offer.on_demand_hourly for name, offer in in_region.items()
                          if offer.on_demand_hourly is not None}
    data = {key: value for key, value in catalog.raw(provider).items()
            if key not in _NOT_METADATA}
    data["regions"] = prices
    return PriceSnapshot(kind=kind, data=data, offers=offers)
