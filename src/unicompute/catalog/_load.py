"""Reading the catalog: the snapshot shipped in the package, or a newer refreshed copy.

Each cloud has one JSON file (``aws.json``, ``azure.json``, ``gcp.json``) holding ``date`` and
``source`` (of its main on-demand prices), ``sources`` (every source by key, with its own date and
whether its figures are estimates), ``regions`` (per region, the source key of each kind of
price), ``sizes`` (name → [vCPUs, memory GiB, GPUs, GPU model, family, arch]), ``prices``
(region → size → ``{"od", "spot", "c1", "c3", "src"}``: USD per hour, ``null`` = unknown,
``src`` overriding the region's source key per price) and ``functions``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import NotFound
from ._model import FunctionPrices, Offer, Pricing, Source

PROVIDERS: tuple[str, ...] = ("aws", "azure", "gcp")

#: Price keys in the files and the pricing each stands for; ``commit`` sources cover c1 and c3.
_KEYS: dict[str, tuple[Pricing, str]] = {
    "od": (Pricing.ON_DEMAND, "od"),
    "spot": (Pricing.SPOT, "spot"),
    "c1": (Pricing.COMMIT_1Y, "commit"),
    "c3": (Pricing.COMMIT_3Y, "commit"),
}


def cache_dir() -> Path:
    """Where ``catalog refresh`` writes: ``$UNICOMPUTE_CACHE_DIR`` (its ``catalog/``
    subdirectory) or ``~/.cache/unicompute/catalog/``."""
    base = os.environ.get("UNICOMPUTE_CACHE_DIR")
    if base:
        return Path(base) / "catalog"
    return Path.home() / ".cache" / "unicompute" / "catalog"


@dataclass(frozen=True)
class _Cloud:
    data: Mapping[str, Any]
    origin: str
    offers: Mapping[str, Mapping[str, Offer]]
    sources: Mapping[str, Source]


class Catalog:
    """Sizes and prices of every cloud, from one dated snapshot per cloud.

    Build it with :func:`load_catalog`. Read-only and safe to share between threads.
    """

    def __init__(self, clouds: Mapping[str, Mapping[str, Any]],
                 origins: Mapping[str, str] | None = None) -> None:
        self._data = dict(clouds)
        self._origins = dict(origins or {})
        self._clouds: dict[str, _Cloud] = {}  # parsed on first use, per cloud
        self._lock = threading.Lock()

    def providers(self) -> tuple[str, ...]:
        """The clouds the catalog covers."""
        return tuple(self._data)

    def _cloud(self, provider: str) -> _Cloud:
        found = self._clouds.get(provider)
        if found is not None:
            return found
        if provider not in self._data:
            raise NotFound(f"the catalog has no cloud {provider!r} (it has "
                           f"{', '.join(self._data)})", provider=provider,
                           operation="catalog", resource=provider)
        with self._lock:
            found = self._clouds.get(provider)
            if found is None:
                found = self._clouds[provider] = _parse(
                    provider, self._data[provider], self._origins.get(provider, "snapshot"))
            return found

    def date(self, provider: str) -> str:
        """When ``provider``'s main on-demand prices were current (ISO date)."""
        return str(self._cloud(provider).data["date"])

    def source(self, provider: str) -> str:
        """Where ``provider``'s main on-demand prices come from."""
        return str(self._cloud(provider).data["source"])

    def origin(self, provider: str) -> str:
        """``"snapshot"`` (shipped in the package) or the path of the refreshed copy used."""
        return self._cloud(provider).origin

    def note(self, provider: str) -> str:
        """What the snapshot holds and which of its figures are estimates, in words."""
        return str(self._cloud(provider).data.get("note", ""))

    def sources(self, provider: str) -> dict[str, Source]:
        """Every source of ``provider``'s figures by key."""
        return dict(self._cloud(provider).sources)

    def regions(self, provider: str) -> list[str]:
        """The regions the catalog prices for ``provider``."""
        return list(self._cloud(provider).offers)

    def raw(self, provider: str) -> Mapping[str, Any]:
        """The parsed file of ``provider`` as it was read (for its top-level metadata)."""
        return self._cloud(provider).data

    def offers(self, provider: str, region: str | None = None) -> list[Offer]:
        """Every size of ``provider`` in ``region`` (all regions when ``None``), by region then
        size name; an unknown region has none."""
        by_region = self._cloud(provider).offers
        chosen = by_region if region is None else {region: by_region.get(region, {})}
        return [offer for offers in chosen.values() for offer in offers.values()]

    def offer(self, provider: str, region: str, size: str) -> Offer:
        """Size ``size`` in ``region``; :class:`~unicompute.NotFound` naming the size if the
        catalog does not list it there."""
        found = self._cloud(provider).offers.get(region, {}).get(size)
        if found is None:
            raise NotFound(f"the {provider} catalog has no size {size!r} in {region!r}",
                           provider=provider, operation="catalog.offer", resource=size)
        return found

    def functions(self, provider: str) -> FunctionPrices:
        """``provider``'s serverless-function prices."""
        raw = self._cloud(provider).data["functions"]
        return FunctionPrices(
            provider=provider, service=str(raw["service"]),
            per_million_requests=float(raw["per_million_requests"]),
            per_gb_second=float(raw["per_gb_second"]),
            free_tier=dict(raw.get("free_tier", {})), billing=str(raw.get("billing", "")),
            source=str(raw["source"]),
            per_ghz_second=(None if raw.get("per_ghz_second") is None
                            else float(raw["per_ghz_second"])),
            ghz_per_memory_mb={int(k): float(v)
                               for k, v in raw.get("ghz_per_memory_mb", {}).items()},
            per_vcpu_second=(None if raw.get("per_vcpu_second") is None
                             else float(raw["per_vcpu_second"])),
            vcpu_per_memory_mb={int(k): float(v)
                                for k, v in raw.get("vcpu_per_memory_mb", {}).items()},
            increment_ms=int(raw.get("increment_ms", 1)),
            minimum_ms=int(raw.get("minimum_ms", 0)),
            instance_memory_mb=tuple(int(mb) for mb in raw.get("instance_memory_mb", ())),
        )


def _parse(provider: str, data: Mapping[str, Any], origin: str) -> _Cloud:
    sources = {key: Source(key=key, date=str(item["date"]), text=str(item["text"]),
                           estimate=bool(item.get("estimate", False)))
               for key, item in data.get("sources", {}).items()}
    sizes: Mapping[str, list[Any]] = data["sizes"]
    offers: dict[str, dict[str, Offer]] = {}
    for region, entries in data["prices"].items():
        defaults: Mapping[str, str] = data["regions"].get(region, {})
        in_region: dict[str, Offer] = {}
        for name, entry in entries.items():
            vcpus, memory, gpus, gpu_model, family, arch = sizes[name]
            overrides: Mapping[str, str] = entry.get("src", {})
            offer_sources: dict[Pricing, Source] = {}
            for key, (pricing, kind) in _KEYS.items():
                source_key = overrides.get(key) or overrides.get(kind) or defaults.get(kind)
                if source_key is not None and source_key in sources:
                    offer_sources[pricing] = sources[source_key]
            in_region[name] = Offer(
                provider=provider, region=region, size=name, vcpus=int(vcpus),
                memory_gib=float(memory), gpus=int(gpus), gpu_model=gpu_model,
                family=str(family), arch=str(arch),
                on_demand_hourly=_price(entry.get("od")), spot_hourly=_price(entry.get("spot")),
                commit_1y_hourly=_price(entry.get("c1")), commit_3y_hourly=_price(entry.get("c3")),
                sources=offer_sources,
            )
        offers[region] = in_region
    return _Cloud(data=data, origin=origin, offers=offers, sources=sources)


def _price(value: Any) -> float | None:
    return None if value is None else float(value)


def shipped(provider: str) -> dict[str, Any]:
    """The snapshot of ``provider`` shipped in the package."""
    text = (Path(__file__).parent / f"{provider}.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def refreshed(provider: str, directory: Path | None = None) -> dict[str, Any] | None:
    """The refreshed copy of ``provider`` in the cache directory, or ``None`` if there is none
    (or it cannot be read: the snapshot is used then)."""
    path = (directory or cache_dir()) / f"{provider}.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    required = {"date", "source", "sizes", "prices", "regions", "functions"}
    return data if isinstance(data, dict) and required <= set(data) else None


_LOCK = threading.Lock()
_LOADED: dict[str, Catalog] = {}


def load_catalog(directory: Path | None = None) -> Catalog:
    """The catalog: per cloud, the newer (by ``date``) of the shipped snapshot and the copy
    ``unicompute catalog refresh`` left in the cache directory (``directory``, default
    :func:`cache_dir`). Read once per process and cache directory;
    :func:`forget_loaded` drops that memo (refresh does)."""
    where = directory or cache_dir()
    key = str(where)
    with _LOCK:
        found = _LOADED.get(key)
        if found is None:
            clouds: dict[str, Mapping[str, Any]] = {}
            origins: dict[str, str] = {}
            for provider in PROVIDERS:
                snapshot = shipped(provider)
                newer = refreshed(provider, where)
                if newer is not None and str(newer["date"]) >= str(snapshot["date"]):
                    clouds[provider], origins[provider] = newer, str(where / f"{provider}.json")
                else:
                    clouds[provider], origins[provider] = snapshot, "snapshot"
            found = _LOADED[key] = Catalog(clouds, origins)
        return found


def forget_loaded() -> None:
    """Forget every catalog read so far; the next :func:`load_catalog` reads the files again."""
    with _LOCK:
        _LOADED.clear()
