"""Libcloud's ``NodeSize.price`` as ``Size.hourly_price``: its 0.0 means "no price known"."""

from __future__ import annotations

import pytest

from unicompute.providers.libcloud import convert


@pytest.mark.parametrize(("price", "hourly"), [
    (0.0416, 0.0416), ("0.0104", 0.0104), (0.0, None), (0, None), (None, None), ("", None),
    ("n/a", None),
])
def test_a_zero_or_missing_price_is_unknown(price: object, hourly: float | None) -> None:
    from libcloud.compute.base import NodeSize

    raw = NodeSize(id="t3.medium", name="t3.medium", ram=4096, disk=0, bandwidth=None,
                   price=price, driver=None, extra={"cpu": 2})  # type: ignore[arg-type]
    size = convert.size(raw, provider="libcloud:ec2")
    assert size.hourly_price == hourly
    assert (size.price_source is None) == (hourly is None)

