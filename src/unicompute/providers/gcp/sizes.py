"""The machine-type catalog of a zone, priced from the dated snapshot in ``prices.json``.

GCE's API has no prices. ``prices.json`` holds hand-entered public on-demand Linux prices (USD per
hour) for a few regions; a machine type it does not list gets ``hourly_price=None`` (unknown),
never an estimate. GCE bills per second with a one-minute minimum.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

from google.api_core import exceptions as core
from google.cloud import compute_v1

from ..._errors import NotFound
from ..._models import Size
from . import convert
from ._clients import Context
from .convert import PROVIDER

_NAME = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")


@cache
def price_snapshot() -> dict[str, object]:
    """The parsed ``prices.json``: ``date`` (of the prices themselves: the generation date of
    the data the figures come from, explained in ``date_basis``), ``source``, ``checked`` (what
    the figures were checked against, and when), ``currency``, ``billing``, ``method``,
    ``per_type`` (the prices listed per machine type), ``rates`` (per-vCPU and per-GiB hourly
    rates by family) and ``regions`` (hourly price by machine type)."""
    text = (
        resources.files(__name__.rpartition(".")[0])
        .joinpath("prices.json")
        .read_text(encoding="utf-8")
    )
    data: dict[str, object] = json.loads(text)
    return data


def price_source() -> str:
    """How :class:`Size` describes these prices: a snapshot, dated by when the prices were
    (``date``), not by when they were checked; not live data."""
    return f"GCE on-demand price snapshot of {price_snapshot().get('date')}"


def region_prices(region: str) -> dict[str, float]:
    """Hourly USD on-demand prices of ``region`` by machine type (empty if not in the
    snapshot)."""
    regions = price_snapshot().get("regions")
    prices = regions.get(region, {}) if isinstance(regions, dict) else {}
    return {str(name): float(price) for name, price in prices.items()}


def list_sizes(ctx: Context, zone: str) -> list[Size]:
    """Every machine type of ``zone`` (all pages), sorted by name."""
    prices = region_prices(ctx.region)
    request = compute_v1.ListMachineTypesRequest(project=ctx.project, zone=zone)
    found = ctx.clients.machine_types.list(request=request, **ctx.rpc)
    return sorted((convert.size(item, prices.get(item.name), price_source()) for item in found),
                  key=lambda s: s.name)


def get_size(ctx: Context, zones: list[str], name: str) -> tuple[Size, str]:
    """Machine type ``name`` with its price and the first of ``zones`` that offers it (one call
    when the first zone does); ``NotFound`` if none does, without a call for a name GCE could
    not have."""
    if _NAME.fullmatch(name):
        for zone in zones:
            try:
                item = ctx.clients.machine_types.get(project=ctx.project, zone=zone,
                                                     machine_type=name, **ctx.rpc)
            except core.NotFound:
                continue
            return convert.size(item, region_prices(ctx.region).get(name), price_source()), zone
    raise NotFound(f"no machine type {name!r} in {ctx.region}", provider=PROVIDER,
                   operation="vms.size", resource=name)
