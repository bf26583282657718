"""The optimizer's refusals read ``field: what is wrong``, naming the field once."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from unicompute import InvalidRequest
from unicompute.catalog import load_catalog
from unicompute.workloads.optimizer import Need, rank


def _rank(**kwargs: Any) -> Callable[[], object]:
    args: dict[str, Any] = {"clouds": ("aws",), "catalog": load_catalog(), **kwargs}
    need = args.pop("need", Need(vcpus=1))
    return lambda: rank(need, **args)


@pytest.mark.parametrize(("make", "field"), [
    (lambda: Need(vcpus=math.inf), "vcpus"),
    (lambda: Need(memory_gib=-1), "memory_gib"),
    (lambda: Need(gpus=-2), "gpus"),
    (lambda: Need(count=0), "count"),
    (lambda: Need(spot="sometimes"), "spot"),  # type: ignore[arg-type]
    (lambda: Need(arch="sparc"), "arch"),
    (_rank(hours=math.nan), "hours"),
    (_rank(commitment="5y"), "commitment"),
    (_rank(need=Need(vcpus=1, sizes={"nimbus": "x1"})), "sizes"),
    (_rank(regions={"aws": []}), "regions"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_each_refusal_names_its_field_once(make: Callable[[], object], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        make()
    assert caught.value.field == field
    text = str(caught.value)
    assert text.startswith(f"{field}: ")
    assert f"{field} " not in caught.value.reason and f"{field}[" not in caught.value.reason, text
