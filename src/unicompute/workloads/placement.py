"""Where a workload goes: the clouds, regions and sizes, chosen by price before anything is made.

:func:`place` asks the optimizer (:func:`unicompute.workloads.optimizer.rank`) for every group's
candidates on each cloud considered, then prices the WHOLE workload per cloud and region (its
parts talk to each other, so they stay together): for each region allowed, the cheapest
candidate of every group, summed. ``cheapest`` keeps the one cloud and region where that sum is
least; ``all`` keeps the best region of every cloud; a named cloud keeps its best region. The
result lists what was considered, so a plan can show why. Nothing is created or even opened.

"Cheapest" and "best" mean the least TOTAL over the plan's hours with the billing rules applied
(minimum billed time of short runs, GCE sustained use over long ones), as the optimizer ranks
each group; hourly prices only break ties. ``max_hourly_cost`` caps the hourly price.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Literal

from .. import InvalidRequest
from ..catalog import Catalog, Pricing, load_catalog
from .optimizer import Candidate, Need, rank
from .spec import ALL_CLOUDS, CATALOG_CLOUDS, CHEAPEST, VMGroup, Workload, located

#: The region used for a cloud when neither the file nor ``--region`` names one: each
#: provider's own default (see ``unicompute.connect``).
DEFAULT_REGIONS: Mapping[str, str] = MappingProxyType(
    {"aws": "us-east-1", "azure": "eastus", "gcp": "us-central1"})
#: Hours a plan projects its cost over unless told otherwise: a month of 730 hours.
DEFAULT_HOURS = 730.0


@dataclass(frozen=True, kw_only=True)
class GroupChoice:
    """One group in one cloud and region: the candidate chosen (the cheapest there) and how
    many were considered."""

    group: VMGroup
    candidate: Candidate
    considered: int

    @property
    def size(self) -> str:
        return self.candidate.offer.size

    @property
    def spot(self) -> bool:
        return self.candidate.pricing is Pricing.SPOT


@dataclass(frozen=True, kw_only=True)
class CloudChoice:
    """The whole workload in one cloud and region: a choice per group and what it all costs
    per hour and over the plan's hours (billing rules applied)."""

    provider: str
    region: str
    groups: tuple[GroupChoice, ...]

    @property
    def hourly(self) -> float:
        return sum(choice.candidate.hourly for choice in self.groups)

    @property
    def total(self) -> float:
        return sum(choice.candidate.total for choice in self.groups)

    def resolved(self, workload: Workload) -> Workload:
        """``workload`` with each group's size for this cloud fixed to the chosen one and
        ``spot`` decided, ready for :func:`unicompute.workloads.plan` on this cloud."""
        groups = tuple(
            replace(choice.group, size=MappingProxyType({self.provider: choice.size}),
                    spot=choice.spot)
            for choice in self.groups
        )
        return replace(workload, groups=groups)


@dataclass(frozen=True, kw_only=True)
class Placement:
    """The outcome of :func:`place`. ``mode`` is a provider name, ``"cheapest"`` or ``"all"``;
    ``options`` holds the best region of every cloud considered (cheapest first) and
    ``regional`` every cloud-and-region that could hold the whole workload; ``chosen`` is what
    will be launched. ``candidates[(cloud, group)]`` is the optimizer's ranking for that group on
    that cloud (its allowed regions). ``hours`` is what ``total`` covers."""

    workload: Workload
    mode: str
    hours: float
    options: tuple[CloudChoice, ...]
    regional: tuple[CloudChoice, ...]
    chosen: tuple[CloudChoice, ...]
    candidates: Mapping[tuple[str, str], tuple[Candidate, ...]]
    catalog: Catalog
    commitment: Pricing | None = None

    def fell_back(self, choice: GroupChoice) -> bool:
        """Whether a commitment was asked for but ``choice`` is priced on demand (the catalog
        has no committed price for its size; spot, where chosen, is no fallback)."""
        return (self.commitment is not None
                and choice.candidate.pricing is Pricing.ON_DEMAND)

    @property
    def hourly(self) -> float:
        """USD per hour of everything chosen, all clouds together."""
        return sum(choice.hourly for choice in self.chosen)

    @property
    def total(self) -> float:
        """USD over :attr:`hours` of everything chosen, billing rules applied."""
        return sum(choice.total for choice in self.chosen)

    @property
    def providers(self) -> tuple[str, ...]:
        return tuple(choice.provider for choice in self.chosen)


def clouds_for(mode: str) -> tuple[str, ...]:
    """The clouds a placement mode considers."""
    return CATALOG_CLOUDS if mode in (CHEAPEST, ALL_CLOUDS) else (mode,)


def regions_for(workload: Workload, provider: str, region: str | None = None) -> tuple[str, ...]:
    """The regions allowed for ``provider``: the file's ``placement.regions``, else the
    provider's default region. ``region`` (``--region``) narrows them to that one: it must be
    among the file's regions for ``provider`` when the file lists some (else ``InvalidRequest``
    naming ``region``: the command line may not place a workload where its file forbids), and
    replaces the default region when it lists none. Never empty (an empty tuple would read as
    "every region" to the optimizer): ``InvalidRequest`` naming ``placement.regions.<provider>``
    when the file lists none or the provider has no default."""
    listed = workload.placement.regions.get(provider)
    if region is not None:
        if listed is not None and region not in listed:
            raise InvalidRequest(
                f"--region {region!r} is not among placement.regions.{provider} "
                f"({', '.join(listed)}) of the workload file; name one of those, or change the "
                "file", field="region")
        return (region,)
    if listed is not None:
        if not listed:
            raise InvalidRequest(f"placement.regions.{provider} must list at least one region",
                                 field=f"placement.regions.{provider}")
        return tuple(listed)
    if provider not in DEFAULT_REGIONS:
        raise InvalidRequest(f"{provider} has no default region; list its regions in "
                             f"placement.regions.{provider}",
                             field=f"placement.regions.{provider}")
    return (DEFAULT_REGIONS[provider],)


def need_of(group: VMGroup) -> Need:
    """What the optimizer is asked for one group."""
    spot: Literal["always", "never", "prefer"] = (
        "always" if group.spot is True else "never" if group.spot is False else "prefer")
    return Need(vcpus=group.vcpus or 0, memory_gib=group.memory_gib or 0, gpus=group.gpus or 0,
                sizes=dict(group.size), spot=spot, count=group.count)


def place(
    workload: Workload,
    *,
    cloud: str | None = None,
    region: str | None = None,
    hours: float = DEFAULT_HOURS,
    commitment: Pricing | None = None,
    catalog: Catalog | None = None,
) -> Placement:
    """Choose where ``workload`` goes. ``cloud`` (the command line's ``--cloud``) overrides
    ``placement.cloud``; neither means ``aws``. ``region`` (``--region``) goes with one named
    cloud only and narrows its regions to that one (:func:`regions_for`: it must be among the
    file's regions for that cloud when the file lists some). ``commitment``
    (``Pricing.COMMIT_1Y`` or ``COMMIT_3Y``) prices groups that are not spot at the committed
    rate where the catalog has one, else on demand (:meth:`Placement.fell_back`).

    Raises :class:`~unicompute.InvalidRequest` before anything is opened: naming ``vms[i]`` (or
    ``vms[i].size.<cloud>``) when a group fits no priced size on a named cloud, ``placement``
    when no cloud and region can hold the whole workload, and ``placement.max_hourly_cost``
    when the choice costs more per hour than allowed. An error naming a key of the workload
    file is a :class:`~unicompute.workloads.WorkloadError` at that key's line
    (:meth:`Workload.locate`).
    """
    with located(workload):
        return _place(workload, cloud=cloud, region=region, hours=hours, commitment=commitment,
                      catalog=catalog)


def _place(workload: Workload, *, cloud: str | None, region: str | None, hours: float,
           commitment: Pricing | None, catalog: Catalog | None) -> Placement:
    mode = cloud or workload.placement.cloud or "aws"
    if region is not None and mode in (CHEAPEST, ALL_CLOUDS):
        raise InvalidRequest(f"--region goes with one cloud, not {mode!r}; list regions per "
                             "cloud in placement.regions", field="region")
    catalog = catalog or load_catalog()
    known = set(catalog.providers())
    clouds = clouds_for(mode)
    for name in clouds:
        if name not in known:
            raise InvalidRequest(f"the price catalog has no cloud {name!r} (it has "
                                 f"{', '.join(sorted(known))})", field="placement.cloud")
    candidates: dict[tuple[str, str], tuple[Candidate, ...]] = {}
    regional: list[CloudChoice] = []
    options: list[CloudChoice] = []
    for name in clouds:
        allowed = regions_for(workload, name, region)
        _check_regions(catalog, name, allowed)
        per_group: list[dict[str, tuple[Candidate, int]]] = []
        for index, group in enumerate(workload.groups):
            ranked = _ranked(group, index, name, allowed, hours, commitment, catalog)
            candidates[(name, group.name)] = ranked
            if not ranked and mode not in (CHEAPEST, ALL_CLOUDS):
                raise _no_candidate(group, index, name, allowed)
            per_group.append(_best_per_region(ranked))
        in_cloud = [
            CloudChoice(provider=name, region=where, groups=tuple(
                GroupChoice(group=group, candidate=best[where][0], considered=best[where][1])
                for group, best in zip(workload.groups, per_group, strict=True)))
            for where in allowed
            if all(where in best for best in per_group)
        ]
        in_cloud.sort(key=lambda c: (*_cost_key(c), allowed.index(c.region)))
        regional.extend(in_cloud)
        if in_cloud:
            options.append(in_cloud[0])
    options.sort(key=lambda c: (*_cost_key(c), c.provider))
    if not options or (mode == ALL_CLOUDS and len(options) < len(clouds)):
        missing = [name for name in clouds if name not in {o.provider for o in options}]
        raise InvalidRequest(f"no region of {', '.join(missing)} has a priced size for every "
                             "VM group; check the groups' sizes and placement.regions",
                             field="placement")
    chosen = tuple(options) if mode == ALL_CLOUDS else (options[0],)
    result = Placement(workload=workload, mode=mode, hours=hours, options=tuple(options),
                       regional=tuple(regional), chosen=chosen,
                       candidates=MappingProxyType(candidates), catalog=catalog,
                       commitment=commitment)
    cap = workload.placement.max_hourly_cost
    if cap is not None and result.hourly > cap + 1e-9:
        raise InvalidRequest(
            f"the plan costs ${result.hourly:.4f}/h on {', '.join(result.providers)}, more than "
            f"${cap:.4f}/h; nothing was created", field="placement.max_hourly_cost")
    return result


def _cost_key(choice: CloudChoice) -> tuple[float, float]:
    """What orders choices: the total over the plan's hours (billing rules applied, as
    :func:`rank` orders each group's candidates), then the hourly price."""
    return round(choice.total, 9), round(choice.hourly, 9)


def _ranked(group: VMGroup, index: int, provider: str, allowed: Sequence[str], hours: float,
            commitment: Pricing | None, catalog: Catalog) -> tuple[Candidate, ...]:
    """:func:`rank` for one group on one cloud, its refusal of the group's sizes reported
    against the file's key (``vms[i].size``)."""
    try:
        return tuple(rank(need_of(group), clouds=(provider,), regions={provider: list(allowed)},
                          hours=hours, commitment=commitment, catalog=catalog))
    except InvalidRequest as exc:
        if exc.field != "sizes":
            raise
        raise InvalidRequest(exc.reason, field=f"vms[{index}].size") from None


def _check_regions(catalog: Catalog, provider: str, allowed: Sequence[str]) -> None:
    priced = catalog.regions(provider)
    unknown = [r for r in allowed if r not in priced]
    if unknown:
        raise InvalidRequest(
            f"the {provider} price catalog has no region {', '.join(map(repr, unknown))} "
            f"(it prices {', '.join(priced)})", field=f"placement.regions.{provider}")


def _best_per_region(ranked: Sequence[Candidate]) -> dict[str, tuple[Candidate, int]]:
    """The first (cheapest) candidate of each region, with how many the region had."""
    best: dict[str, tuple[Candidate, int]] = {}
    for candidate in ranked:
        where = candidate.offer.region
        first, count = best.get(where, (candidate, 0))
        best[where] = (first, count + 1)
    return best


def _no_candidate(group: VMGroup, index: int, cloud: str, regions: Sequence[str]
                  ) -> InvalidRequest:
    explicit = group.size_for(cloud)
    where = f"{cloud} {', '.join(regions)}"
    if explicit is not None:
        return InvalidRequest(f"no priced size {explicit!r} in {where}",
                              field=f"vms[{index}].size.{cloud}")
    wanted = ", ".join(f"{key} >= {value}" for key, value in
                       (("vcpus", group.vcpus), ("memory_gib", group.memory_gib),
                        ("gpus", group.gpus)) if value)
    spot = " as spot" if group.spot is True else ""
    return InvalidRequest(f"no priced size with {wanted or 'any resources'}{spot} in {where}",
                          field=f"vms[{index}]")

