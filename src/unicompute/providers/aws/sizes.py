"""The instance-type catalog, priced from the dated snapshot shipped in ``prices.json``.

``prices.json`` holds public Linux on-demand USD prices per region; a type it does not list gets
``hourly_price=None`` (unknown), never an estimate.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from ..._errors import NotFound
from ..._models import Size
from . import convert
from .convert import PROVIDER

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


@cache
def price_snapshot() -> dict[str, object]:
    """The parsed ``prices.json``: ``date``, ``source``, ``currency`` and ``regions``."""
    text = (
        resources.files(__name__.rpartition(".")[0])
        .joinpath("prices.json")
        .read_text(encoding="utf-8")
    )
    data: dict[str, object] = json.loads(text)
    return data


def price_source() -> str:
    """How :class:`Size` describes these prices: the snapshot's date, not live data."""
    return f"AWS on-demand price snapshot of {price_snapshot().get('date')}"


def region_prices(region: str) -> dict[str, float]:
    """Hourly USD on-demand prices of ``region`` by instance type (empty if not in the snapshot)."""
    regions = price_snapshot().get("regions")
    prices = regions.get(region, {}) if isinstance(regions, dict) else {}
    return {str(name): float(price) for name, price in prices.items()}


def list_sizes(client: EC2Client, region: str) -> list[Size]:
    """Every instance type of the region (all pages), sorted by name."""
    prices = region_prices(region)
    sizes: list[Size] = []
    for page in client.get_paginator("describe_instance_types").paginate():
        sizes.extend(
            convert.size(item, prices.get(item["InstanceType"]), price_source())
            for item in page["InstanceTypes"]
        )
    return sorted(sizes, key=lambda s: s.name)


def get_size(client: EC2Client, region: str, name: str) -> Size:
    """Instance type ``name`` with its price, in one call; ``NotFound`` if EC2 has no such type."""
    missing = NotFound(f"no instance type {name!r} in {region}", provider=PROVIDER,
                       operation="vms.size", resource=name)
    try:
        found = client.describe_instance_types(InstanceTypes=[name])["InstanceTypes"]  # type: ignore[list-item]
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "InvalidInstanceType":
            missing.original = exc
            raise missing from exc
        raise
    if not found:
        raise missing
    return convert.size(found[0], region_prices(region).get(name), price_source())
