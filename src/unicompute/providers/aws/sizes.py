"""The instance-type catalog, priced from the AWS snapshot of :mod:`unicompute.catalog`.

The catalog holds public Linux on-demand USD prices per region; a type it does not price gets
``hourly_price=None`` (unknown). ``price_source`` names the price's date (and says when it is an
estimate).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from ..._errors import NotFound
from ..._models import Size
from ..._prices import PriceSnapshot, load_prices
from . import convert
from .convert import PROVIDER

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client


def prices() -> PriceSnapshot:
    """The dated snapshot of AWS's public Linux on-demand prices (from the catalog)."""
    return load_prices(__name__.rpartition(".")[0], "AWS on-demand")


def list_sizes(client: EC2Client, region: str) -> list[Size]:
    """Every instance type of the region (all pages), sorted by name."""
    snapshot = prices()
    by_type = snapshot.region(region)
    sizes: list[Size] = []
    for page in client.get_paginator("describe_instance_types").paginate():
        sizes.extend(
            convert.size(item, by_type.get(item["InstanceType"]),
                         snapshot.source_of(region, item["InstanceType"]))
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
    snapshot = prices()
    return convert.size(found[0], snapshot.region(region).get(name),
                        snapshot.source_of(region, name))
