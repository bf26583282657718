"""The VM size catalog of a location (``locations/{loc}/vmSizes``), priced from the Azure
snapshot of :mod:`unicompute.catalog`.

``vmSizes`` gives cores and memory only: the arch comes from the size name (``p`` among the
feature letters means arm64) and GPU counts from :data:`GPUS`. A size the snapshot does not price
gets ``hourly_price=None`` (unknown); ``price_source`` says when a price is an estimate.
"""

from __future__ import annotations

from typing import Any

from ..._models import Size
from ..._prices import PriceSnapshot, load_prices
from . import convert

#: Whole GPUs per size, from Microsoft Learn's N-series size pages. Sizes that get a fraction of
#: a GPU (NVadsA10 v5 below NV36ads: 1/6, 1/3, 1/2 of an A10) count 0 whole GPUs.
GPUS: dict[str, int] = {
    "Standard_NC4as_T4_v3": 1,
    "Standard_NC8as_T4_v3": 1,
    "Standard_NC16as_T4_v3": 1,
    "Standard_NC64as_T4_v3": 4,
    "Standard_NV36ads_A10_v5": 1,
    "Standard_NV72ads_A10_v5": 2,
    "Standard_NC24ads_A100_v4": 1,
    "Standard_NC48ads_A100_v4": 2,
    "Standard_NC96ads_A100_v4": 4,
    "Standard_NC6s_v3": 1,
    "Standard_NC12s_v3": 2,
    "Standard_NC24s_v3": 4,
    "Standard_ND96asr_v4": 8,
    "Standard_ND96amsr_A100_v4": 8,
}


def prices() -> PriceSnapshot:
    """The dated snapshot of Azure's public Linux pay-as-you-go prices (from the catalog)."""
    return load_prices(__name__.rpartition(".")[0], "Azure pay-as-you-go")


def to_sizes(items: list[Any], region: str) -> list[Size]:
    """``vmSizes`` items as sizes, sorted by name."""
    snapshot = prices()
    by_name = snapshot.region(region)
    result = [convert.size(item, by_name.get(str(item.name)), GPUS.get(str(item.name), 0),
                           snapshot.source_of(region, str(item.name)))
              for item in items]
    return sorted(result, key=lambda s: s.name)
