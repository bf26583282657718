"""Price snapshots shipped with providers whose SDK has no prices (``prices.json`` files).

A snapshot is a JSON object with at least ``date`` (when the prices were current), ``source``
(where they were read), ``currency`` and ``regions`` (region → size name → hourly price). It is
what :attr:`~unicompute.Size.price_source` names: dated list prices, not live ones.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class PriceSnapshot:
    """One provider's snapshot; ``kind`` says which prices they are (``"AWS on-demand"``)."""

    kind: str
    data: Mapping[str, Any]

    @property
    def date(self) -> str:
        return str(self.data.get("date"))

    @property
    def source(self) -> str:
        """How :class:`~unicompute.Size` describes these prices (``price_source``)."""
        return f"{self.kind} price snapshot of {self.date}"

    def region(self, region: str) -> dict[str, float]:
        """Hourly prices of ``region`` by size name (empty if the snapshot lacks the region)."""
        regions = self.data.get("regions")
        prices = regions.get(region, {}) if isinstance(regions, Mapping) else {}
        return {str(name): float(price) for name, price in prices.items()}


@cache
def load_prices(package: str, kind: str) -> PriceSnapshot:
    """The ``prices.json`` of ``package``, parsed once per process."""
    text = resources.files(package).joinpath("prices.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return PriceSnapshot(kind=kind, data=data)
