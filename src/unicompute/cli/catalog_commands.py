"""``unicompute catalog show|refresh``: the sizes and prices plans are made from, and where
they come from.

``show`` lists catalog offers (cheapest on-demand first) or function prices, always with each
cloud's snapshot date, source and which copy is in use (the shipped snapshot or a refreshed
one); estimated prices are marked ``~`` in tables and listed under ``estimates`` in JSON.
``refresh`` downloads newer prices from the clouds' public price lists into the cache directory.
"""

from __future__ import annotations

from typing import Any

import click

import unicompute as uc

from ..catalog import Catalog, Offer, Pricing, cache_dir, load_catalog
from .output import Column, note, show
from .params import json_option

CLOUDS = ("aws", "azure", "gcp")

_PRICES = (("on_demand_hourly", Pricing.ON_DEMAND, "on-demand/h"),
           ("spot_hourly", Pricing.SPOT, "spot/h"),
           ("commit_1y_hourly", Pricing.COMMIT_1Y, "1y/h"),
           ("commit_3y_hourly", Pricing.COMMIT_3Y, "3y/h"))


def _price(key: str) -> Any:
    def fmt(record: object) -> str:
        assert isinstance(record, dict)
        value = record.get(key)
        if value is None:
            return "-"
        mark = "~" if key.removesuffix("_hourly") in record.get("estimates", []) else ""
        return f"{mark}${value:.4f}"
    return fmt


def _offer_record(offer: Offer) -> dict[str, Any]:
    record: dict[str, Any] = {
        "provider": offer.provider, "region": offer.region, "size": offer.size,
        "vcpus": offer.vcpus, "memory_gib": offer.memory_gib, "gpus": offer.gpus,
        "gpu_model": offer.gpu_model, "family": offer.family, "arch": offer.arch,
    }
    sources: dict[str, dict[str, str]] = {}
    estimates: list[str] = []
    for key, pricing, _ in _PRICES:
        record[key] = offer.hourly(pricing)
        source = offer.source(pricing)
        if source is not None:
            sources[key.removesuffix("_hourly")] = {"date": source.date, "source": source.text}
            if source.estimate:
                estimates.append(key.removesuffix("_hourly"))
    record["estimates"] = estimates
    record["sources"] = sources
    return record


def _columns() -> list[Column]:
    columns = [Column("provider", "cloud"), Column("region", "region"), Column("size", "size"),
               Column("vcpus", "vCPUs", "right"), Column("memory_gib", "GiB", "right"),
               Column("gpus", "GPUs", "right"), Column("arch", "arch")]
    columns += [Column(f"_{key}", header, "right") for key, _, header in _PRICES]
    return columns


def _table_row(record: dict[str, Any]) -> dict[str, Any]:
    row = dict(record)
    for key, _, _ in _PRICES:
        row[f"_{key}"] = _price(key)(record)
    return row


def _describe(catalog: Catalog, cloud: str) -> str:
    origin = catalog.origin(cloud)
    copy = "shipped snapshot" if origin == "snapshot" else f"refreshed copy {origin}"
    return (f"{cloud}: prices of {catalog.date(cloud)} ({copy}); source: "
            f"{catalog.source(cloud)}")


@click.group(name="catalog")
def catalog_group() -> None:
    """The size and price catalog plans are made from: show it, refresh it."""


@catalog_group.command(name="show")
@click.option("--cloud", "clouds", type=click.Choice(CLOUDS), multiple=True,
              help="Only this cloud (repeatable); all by default.")
@click.option("--region", "regions", multiple=True, help="Only this region (repeatable).")
@click.option("--vcpus", type=click.FloatRange(min=0), help="At least this many vCPUs.")
@click.option("--memory", "memory_gib", type=click.FloatRange(min=0), metavar="GIB",
              help="At least this much memory.")
@click.option("--gpus", type=click.IntRange(min=0), help="At least this many GPUs.")
@click.option("--family", help="Only this family, e.g. e2.")
@click.option("--arch", type=click.Choice(["x86_64", "arm64"]), help="Only this architecture.")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="Show the N cheapest on demand; 0 shows all.")
@click.option("--functions", is_flag=True, help="Show function prices instead of VM sizes.")
@click.option("--billing", "with_billing", is_flag=True,
              help="Show each cloud's billing rules (increment, minimum, discounts) and sources.")
@click.option("--sources", "with_sources", is_flag=True,
              help="List every source of each cloud's figures (date, estimate or not, how).")
@json_option
def show_command(clouds: tuple[str, ...], regions: tuple[str, ...], vcpus: float | None,
                 memory_gib: float | None, gpus: int | None, family: str | None,
                 arch: str | None, limit: int, functions: bool, with_billing: bool,
                 with_sources: bool, as_json: bool) -> None:
    """List catalog sizes (cheapest on demand first), function prices or sources, with dates.

    Prices marked ~ are estimates (derived, not read from a price list): --sources says how.
    """
    catalog = load_catalog()
    chosen = clouds or CLOUDS
    if with_billing:
        _show_billing(chosen, as_json)
    elif with_sources:
        records = [{"cloud": cloud, "key": s.key, "date": s.date, "estimate": s.estimate,
                    "text": s.text}
                   for cloud in chosen for s in catalog.sources(cloud).values()]
        show(records, [Column("cloud", "cloud"), Column("key", "source"), Column("date", "date"),
                       Column("estimate", "estimate"), Column("text", "what")],
             as_json=as_json)
    elif functions:
        _show_functions(catalog, chosen, as_json)
    else:
        offers = [o for cloud in chosen for o in catalog.offers(cloud)
                  if (not regions or o.region in regions)
                  and o.vcpus >= (vcpus or 0) and o.memory_gib >= (memory_gib or 0)
                  and o.gpus >= (gpus or 0) and (family is None or o.family == family)
                  and (arch is None or o.arch == arch)]
        offers.sort(key=lambda o: (o.on_demand_hourly is None, o.on_demand_hourly or 0,
                                   o.provider, o.region, o.size))
        shown = offers[:limit] if limit else offers
        records = [_offer_record(o) for o in shown]
        if as_json:
            show(records, [], as_json=True)
        else:
            show([_table_row(r) for r in records], _columns(), as_json=False,
                 empty="No size matches.")
            if len(shown) < len(offers):
                note(f"{len(shown)} of {len(offers)} sizes shown; --limit 0 shows all.")
    if not as_json:
        for cloud in chosen:
            note(_describe(catalog, cloud))
        note("~ = estimate (derived, not a listed price); - = unknown. List prices, not live "
             "ones: `unicompute catalog refresh` fetches newer ones.")


def _show_billing(clouds: tuple[str, ...], as_json: bool) -> None:
    from ..catalog.billing import RULES, SUSTAINED_USE, SUSTAINED_USE_TIERS

    records = [{"provider": cloud, "increment_s": RULES[cloud].increment_s,
                "minimum_s": RULES[cloud].minimum_s, "confirmed": RULES[cloud].confirmed,
                "sustained_use": dict(SUSTAINED_USE) if cloud == "gcp" else {},
                "sustained_use_tiers": ({f: list(t) for f, t in SUSTAINED_USE_TIERS.items()}
                                        if cloud == "gcp" else {}),
                "source": RULES[cloud].source} for cloud in clouds]
    show(records, [Column("provider", "cloud"), Column("increment_s", "increment s", "right"),
                   Column("minimum_s", "minimum s", "right"), Column("confirmed", "confirmed"),
                   Column("source", "source")],
         as_json=as_json)
    if as_json:
        return
    for cloud in clouds:
        if not RULES[cloud].confirmed:
            note(f"{cloud}: the billing rule is not confirmed by the cloud's own documentation "
                 "(see its source).")
    if "gcp" in clouds:
        note("GCE sustained-use discounts (on-demand only), share of the base rate paid in each "
             "quarter of a month: " + "; ".join(
                 f"{f} " + "/".join(f"{share * 100:g}%" for share in t)
                 for f, t in SUSTAINED_USE_TIERS.items())
             + ". None for e2, t2a, c3, m3, a2, g2. Spot and commitments: per hour of their "
               "own price, no sustained-use discount.")


def _show_functions(catalog: Catalog, clouds: tuple[str, ...], as_json: bool) -> None:
    records = []
    for cloud in clouds:
        prices = catalog.functions(cloud)
        records.append({
            "provider": cloud, "service": prices.service,
            "per_million_requests": prices.per_million_requests,
            "per_gb_second": prices.per_gb_second, "per_ghz_second": prices.per_ghz_second,
            "per_vcpu_second": prices.per_vcpu_second,
            "free_tier": dict(prices.free_tier), "billing": prices.billing,
            "instance_memory_mb": list(prices.instance_memory_mb),
            "million_128mb_100ms": round(prices.cost_per_million(128, 100), 4),
            "source": prices.source,
        })
    show(records, [Column("provider", "cloud"), Column("service", "service"),
                   Column("per_million_requests", "$/1M req", "right"),
                   Column("per_gb_second", "$/GB-s (GiB-s on GCP)", "right"),
                   Column("per_vcpu_second", "$/vCPU-s", "right"),
                   Column("million_128mb_100ms", "$/1M x 128MB x 100ms", "right"),
                   Column("billing", "billing")], as_json=as_json)
    if not as_json:
        note("Before free tiers (per account and month); on demand only.")


@catalog_group.command(name="refresh")
@click.option("--cloud", "clouds", type=click.Choice(CLOUDS), multiple=True,
              help="Only this cloud (repeatable); all by default.")
@click.option("--region", "regions", multiple=True,
              help="Only this catalog region (repeatable); all of the cloud's by default.")
@click.option("--api-key", envvar="UNICOMPUTE_GCP_API_KEY", show_envvar=True,
              help="API key for GCP's Cloud Billing Catalog API (GCP needs this or --adc).")
@click.option("--adc", is_flag=True,
              help="For GCP, use an OAuth token from Application Default Credentials.")
@click.pass_context
def refresh_command(ctx: click.Context, clouds: tuple[str, ...], regions: tuple[str, ...],
                    api_key: str | None, adc: bool) -> None:
    """Download newer prices from the clouds' public price lists into the cache directory.

    AWS: Price List bulk files (large: hundreds of MB per region) and spot.js; Azure: the Retail
    Prices API; GCP: the Cloud Billing Catalog API (needs --api-key or --adc). Without a
    network this fails clearly and the shipped snapshot stays in use.
    """
    from ..catalog.refresh import refresh

    failed = []
    for cloud in clouds or CLOUDS:
        wanted = [r for r in regions if r in load_catalog().regions(cloud)] or None
        if regions and wanted is None:
            continue
        try:
            token = _adc_token() if adc and cloud == "gcp" else None
            path = refresh(cloud, regions=wanted, api_key=api_key, token=token)
        except uc.UnicomputeError as exc:
            failed.append(cloud)
            click.echo(f"error: {cloud}: {' '.join(str(exc).split())}", err=True)
            continue
        note(f"{cloud}: refreshed -> {path}")
    catalog = load_catalog()
    for cloud in clouds or CLOUDS:
        note(_describe(catalog, cloud))
    note(f"Cache directory: {cache_dir()}")
    if failed:
        ctx.exit(1)


def _adc_token() -> str:
    """An OAuth access token from Application Default Credentials (google-auth, the ``gcp``
    extra), for the Cloud Billing Catalog API."""
    try:
        import google.auth
        import google.auth.exceptions
        from google.auth.transport.requests import Request
    except ImportError as exc:
        raise uc.InvalidRequest("--adc needs google-auth (pip install 'unicompute[gcp]')",
                                field="adc") from exc
    try:
        credentials, _ = google.auth.default(
            scopes=["https://www.googleapis.com/auth/cloud-billing.readonly"])
        credentials.refresh(Request())  # type: ignore[no-untyped-call]
    except google.auth.exceptions.GoogleAuthError as exc:
        raise uc.InvalidRequest(f"no usable Application Default Credentials: {exc}",
                                field="adc") from exc
    return str(credentials.token)
