"""The machine-type catalog of a zone, priced from the GCP snapshot of :mod:`unicompute.catalog`.

GCE's API has no prices. The catalog holds public on-demand Linux prices (USD per hour) per
region; a machine type it does not price gets ``hourly_price=None`` (unknown), and
``price_source`` says when a price is an estimate. GCE bills per second with a one-minute
minimum (:mod:`unicompute.catalog.billing`).
"""

from __future__ import annotations

import re

from google.api_core import exceptions as core
from google.cloud import compute_v1

from ..._errors import NotFound
from ..._models import Size
from ..._prices import PriceSnapshot, load_prices
from . import convert
from ._clients import Context
from .convert import PROVIDER

_NAME = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")


def prices() -> PriceSnapshot:
    """The dated snapshot of GCE's public on-demand Linux prices (the catalog's: besides the
    common fields, ``date_basis`` says what ``date`` is — the generation date of the data the
    figures come from — ``checked`` what they were checked against and when, ``per_type`` the
    prices listed per machine type, ``rates`` the per-vCPU and per-GiB rates the others are
    derived from)."""
    return load_prices(__name__.rpartition(".")[0], "GCE on-demand")


def list_sizes(ctx: Context, zone: str) -> list[Size]:
    """Every machine type of ``zone`` (all pages), sorted by name."""
    snapshot = prices()
    by_type = snapshot.region(ctx.region)
    request = compute_v1.ListMachineTypesRequest(project=ctx.project, zone=zone)
    found = ctx.clients.machine_types.list(request=request, **ctx.rpc)
    return sorted((convert.size(item, by_type.get(item.name),
                                snapshot.source_of(ctx.region, item.name))
                   for item in found), key=lambda s: s.name)


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
            snapshot = prices()
            return convert.size(item, snapshot.region(ctx.region).get(name),
                                snapshot.source_of(ctx.region, name)), zone
    raise NotFound(f"no machine type {name!r} in {ctx.region}", provider=PROVIDER,
                   operation="vms.size", resource=name)
