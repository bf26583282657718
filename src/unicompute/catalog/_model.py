"""The catalog's value types: what a size costs where, and where each figure comes from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Pricing(StrEnum):
    """How a VM is bought: on demand, spot (interruptible), or a 1- or 3-year commitment."""

    ON_DEMAND = "on-demand"
    SPOT = "spot"
    COMMIT_1Y = "commit-1y"
    COMMIT_3Y = "commit-3y"


@dataclass(frozen=True)
class Source:
    """Where a group of figures comes from: ``date`` (when the prices were current), ``text``
    (what was read, and how a number was derived) and whether the figures are ``estimate``s."""

    key: str
    date: str
    text: str
    estimate: bool = False


@dataclass(frozen=True)
class Offer:
    """One size in one region of one cloud, with its hourly USD prices (``None`` = unknown:
    never read as free) and the source of each price.

    ``estimates`` names the prices that are derived rather than read (a subset of the
    :class:`Pricing` values); :meth:`source` says how.
    """

    provider: str
    region: str
    size: str
    vcpus: int
    memory_gib: float
    gpus: int
    gpu_model: str | None
    family: str
    arch: str
    on_demand_hourly: float | None
    spot_hourly: float | None
    commit_1y_hourly: float | None = None
    commit_3y_hourly: float | None = None
    sources: Mapping[Pricing, Source] = field(default_factory=dict, compare=False, repr=False)

    def hourly(self, pricing: Pricing) -> float | None:
        """The price per hour of one VM bought as ``pricing`` (``None`` when unknown)."""
        return {
            Pricing.ON_DEMAND: self.on_demand_hourly,
            Pricing.SPOT: self.spot_hourly,
            Pricing.COMMIT_1Y: self.commit_1y_hourly,
            Pricing.COMMIT_3Y: self.commit_3y_hourly,
        }[pricing]

    def source(self, pricing: Pricing) -> Source | None:
        """Where the ``pricing`` price comes from (``None`` when there is no such price)."""
        return self.sources.get(pricing) if self.hourly(pricing) is not None else None

    def is_estimate(self, pricing: Pricing) -> bool:
        """Whether the ``pricing`` price is derived (an estimate), not read from a price list."""
        found = self.source(pricing)
        return found is not None and found.estimate

    @property
    def estimates(self) -> frozenset[Pricing]:
        """The prices of this offer that are estimates."""
        return frozenset(p for p in Pricing if self.is_estimate(p))


@dataclass(frozen=True)
class FunctionPrices:
    """A cloud's serverless-function prices (on demand): per million requests, per GB-second
    (GiB-second where the cloud says so: memory MB / 1024), the monthly free tier, how usage is
    rounded, and the source. Where CPU is billed apart, it is per vCPU-second with the vCPUs
    each memory size gets (GCP's Cloud Run functions, 2nd gen, billed as Cloud Run) or per
    GHz-second with the GHz each memory size gets (a 1st-gen-style price list); a memory size
    between two listed ones gets the next larger one's. Where the cloud bills the memory of the
    instance a function runs on rather than the function's own (Azure's Flex Consumption:
    512, 2,048 or 4,096 MB), ``instance_memory_mb`` lists those sizes and a function is billed
    on the smallest one holding its memory (:meth:`billed_memory_mb`)."""

    provider: str
    service: str
    per_million_requests: float
    per_gb_second: float
    free_tier: Mapping[str, object]
    billing: str
    source: str
    per_ghz_second: float | None = None
    ghz_per_memory_mb: Mapping[int, float] = field(default_factory=dict)
    per_vcpu_second: float | None = None
    vcpu_per_memory_mb: Mapping[int, float] = field(default_factory=dict)
    increment_ms: int = 1
    minimum_ms: int = 0
    instance_memory_mb: tuple[int, ...] = ()

    def billed_memory_mb(self, memory_mb: int) -> int:
        """The memory (MB) a function of ``memory_mb`` is billed on: the smallest of
        ``instance_memory_mb`` holding it, or ``memory_mb`` itself where the cloud bills the
        function's own memory (or it exceeds every instance size)."""
        return next((mb for mb in sorted(self.instance_memory_mb) if mb >= memory_mb),
                    memory_mb)

    def cost_per_million(self, memory_mb: int, duration_ms: float) -> float:
        """USD for one million invocations of ``duration_ms`` each at ``memory_mb``, before the
        free tier (which is per account and month, not per function). The duration is rounded
        up to the cloud's increment and raised to its minimum first; memory is billed as
        :meth:`billed_memory_mb` (CPU, where billed apart, at the function's own size)."""
        steps = -(-duration_ms // self.increment_ms)
        duration_ms = max(float(steps * self.increment_ms), float(self.minimum_ms))
        gb_seconds = self.billed_memory_mb(memory_mb) / 1024 * duration_ms / 1000 * 1_000_000
        seconds = duration_ms / 1000 * 1_000_000
        cost = self.per_million_requests + gb_seconds * self.per_gb_second
        if self.per_ghz_second is not None and self.ghz_per_memory_mb:
            cost += _for_memory(self.ghz_per_memory_mb, memory_mb) * seconds * self.per_ghz_second
        if self.per_vcpu_second is not None and self.vcpu_per_memory_mb:
            cost += (_for_memory(self.vcpu_per_memory_mb, memory_mb) * seconds
                     * self.per_vcpu_second)
        return cost


def _for_memory(table: Mapping[int, float], memory_mb: int) -> float:
    """The value ``table`` gives the smallest listed memory size of at least ``memory_mb``
    (the largest one's beyond the table)."""
    fitting = [mb for mb in sorted(table) if mb >= memory_mb]
    return table[fitting[0] if fitting else max(table)]
