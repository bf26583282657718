"""``unicompute catalog refresh``: newer prices from the clouds' public price lists.

* AWS: the Price List bulk files, one per region
  (``https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/current/{region}/index.json``:
  On-Demand and Reserved standard 1yr/3yr No Upfront, Linux, shared tenancy; several hundred MB
  per region), and spot prices from ``https://spot-price.s3.amazonaws.com/spot.js`` (the feed
  behind aws.amazon.com/ec2/spot/pricing and ec2instances.info; undocumented by AWS).
* Azure: the Retail Prices API (``https://prices.azure.com/api/retail/prices``, no key), one
  filtered query per region, following ``NextPageLink``: pay-as-you-go, Spot and 1-/3-year
  reservations of Linux VMs.
* GCP: the Cloud Billing Catalog API's Compute Engine SKUs
  (``https://cloudbilling.googleapis.com/v1/services/6F81-5844-456A/skus``), which needs an API key
  (``api_key=``, ``$UNICOMPUTE_GCP_API_KEY``) or an OAuth token (``token=``, e.g. from Application
  Default Credentials); per-vCPU and per-GiB on-demand, preemptible (spot) and 1-/3-year commitment
  rates of the E2, N2, N2D, C3 and T2A families, times each type's vCPUs and GiB.

Only the sizes and regions the catalog already lists are refreshed. The result is the shipped
snapshot with the fetched figures in place (each naming the new source and date; figures the
source lacked keep theirs), written to :func:`~unicompute.catalog.cache_dir` as ``{cloud}.json``;
:func:`~unicompute.catalog.load_catalog` then prefers it. HTTP goes through ``http_get`` (an
injectable ``(url, headers) -> bytes``; the default uses :mod:`urllib`). A failure raises
:class:`RefreshFailed` and leaves the previous files as they were.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from .._errors import InvalidRequest, UnicomputeError
from ._load import PROVIDERS, cache_dir, forget_loaded, refreshed, shipped

HttpGet = Callable[[str, Mapping[str, str]], bytes]

AWS_OFFER_URL = ("https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AmazonEC2/current/"
                 "{region}/index.json")
AWS_SPOT_URL = "https://spot-price.s3.amazonaws.com/spot.js"
AZURE_URL = "https://prices.azure.com/api/retail/prices"
GCP_URL = "https://cloudbilling.googleapis.com/v1/services/6F81-5844-456A/skus"

#: Legacy region names of spot.js (it uses both these and region codes).
_SPOT_REGIONS = {"us-east": "us-east-1", "us-west": "us-west-1", "eu-ireland": "eu-west-1",
                 "apac-sin": "ap-southeast-1", "apac-syd": "ap-southeast-2",
                 "apac-tokyo": "ap-northeast-1"}
#: Shared-core E2 types bill a share of a vCPU and this much memory (GiB).
_E2_SHARED = {"e2-micro": (0.25, 1.0), "e2-small": (0.5, 2.0), "e2-medium": (1.0, 4.0)}
_GCP_FAMILY = re.compile(
    r"^(?:Spot Preemptible |Preemptible )?(E2|N2D AMD|N2|C3|T2A Arm|T2A) Instance (Core|Ram) "
    r"running in |^Commitment v1: (E2|N2D AMD|N2D|N2|C3|T2A) (Cpu|Ram) in ")
_GCP_KINDS = {"OnDemand": "od", "Preemptible": "spot", "Commit1Yr": "c1", "Commit3Yr": "c3"}


class RefreshFailed(UnicomputeError):
    """A price list could not be fetched or read; the catalog in use is unchanged."""


def urllib_get(url: str, headers: Mapping[str, str]) -> bytes:
    """GET ``url`` with ``headers`` (60 s timeout); :class:`RefreshFailed` on any failure."""
    request = urllib.request.Request(url, headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            body: bytes = response.read()
            return body
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise RefreshFailed(f"could not fetch {_redact(url)}: {exc}; the catalog in use is "
                            "unchanged") from None


def refresh(cloud: str, *, regions: Iterable[str] | None = None,
            directory: Path | None = None, http_get: HttpGet | None = None,
            api_key: str | None = None, token: str | None = None,
            today: dt.date | None = None) -> Path:
    """Fetch ``cloud``'s prices for the catalog's sizes in ``regions`` (default: the catalog's)
    and write the refreshed copy; returns its path. ``InvalidRequest`` names ``cloud``,
    ``regions`` or ``api_key`` before any request when they are wrong or missing."""
    if cloud not in PROVIDERS:
        raise InvalidRequest(f"cloud must be one of {', '.join(PROVIDERS)}", field="cloud")
    where = directory or cache_dir()
    previous = refreshed(cloud, where)
    base = shipped(cloud)
    if previous is not None and str(previous["date"]) >= str(base["date"]):
        base = previous  # refreshing one region keeps what an earlier refresh fetched
    data = copy.deepcopy(base)
    wanted = list(regions) if regions is not None else list(data["prices"])
    unknown = [r for r in wanted if r not in data["prices"]]
    if unknown:
        raise InvalidRequest(f"regions not in the {cloud} catalog: {', '.join(unknown)}",
                             field="regions")
    if cloud == "gcp":
        api_key = api_key or os.environ.get("UNICOMPUTE_GCP_API_KEY")
        if not api_key and not token:
            raise InvalidRequest("the Cloud Billing Catalog API needs an API key (--api-key or "
                                 "$UNICOMPUTE_GCP_API_KEY) or an OAuth token", field="api_key")
    get = http_get or urllib_get
    day = (today or dt.date.today()).isoformat()
    if cloud == "aws":
        found = _aws(get, wanted, set(data["sizes"]))
        source = (f"{AWS_OFFER_URL} (On-Demand; Reserved standard No Upfront) and "
                  f"{AWS_SPOT_URL} (spot), fetched {day}")
    elif cloud == "azure":
        found = _azure(get, wanted, set(data["sizes"]))
        source = f"{AZURE_URL} (Linux Consumption, Spot and Reservation prices), fetched {day}"
    else:
        found = _gcp(get, wanted, data["sizes"], api_key, token)
        source = (f"{GCP_URL} (Compute Engine SKUs: per-vCPU and per-GiB rates x each type), "
                  f"fetched {day}")
    _merge(data, found, day, source)
    return _write(cloud, data, where)


# ------------------------------------------------------------------------------- merging


def _merge(data: dict[str, Any], found: Mapping[str, Mapping[str, Mapping[str, float]]],
           day: str, source: str) -> None:
    """Put ``found`` (region → size → price key → USD/h) into ``data``, each figure naming the
    new source; the file is dated ``day`` when anything was found."""
    if not any(sizes for sizes in found.values()):
        raise RefreshFailed("the price list had no price for any catalog size; the catalog "
                            "in use is unchanged")
    key = f"refresh-{day}"
    data["sources"][key] = {"date": day, "estimate": False, "text": source}
    for region, sizes in found.items():
        for size, prices in sizes.items():
            entry = data["prices"][region].setdefault(size, {})
            overrides = entry.setdefault("src", {})
            for price_key, value in prices.items():
                entry[price_key] = round(value, 6)
                overrides[price_key] = key
    data["date"], data["source"] = day, source


def _write(cloud: str, data: Mapping[str, Any], where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    path = where / f"{cloud}.json"
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
    partial.replace(path)
    forget_loaded()
    return path


# ---------------------------------------------------------------------------------- AWS


def _aws(get: HttpGet, regions: list[str],
         sizes: set[str]) -> dict[str, dict[str, dict[str, float]]]:
    found: dict[str, dict[str, dict[str, float]]] = {}
    for region in regions:
        offer = _json(get(AWS_OFFER_URL.format(region=region), {}), "AWS price list")
        found[region] = _aws_offer(offer, sizes)
    spot = _aws_spot(get(AWS_SPOT_URL, {}), sizes)
    for region in regions:
        for size, price in spot.get(region, {}).items():
            found[region].setdefault(size, {})["spot"] = price
    return found


def _aws_offer(offer: Mapping[str, Any], sizes: set[str]) -> dict[str, dict[str, float]]:
    """On-demand and 1/3-year Reserved (standard, No Upfront) Linux shared-tenancy prices."""
    by_sku: dict[str, str] = {}
    for sku, product in offer.get("products", {}).items():
        a = product.get("attributes", {})
        if (a.get("instanceType") in sizes and a.get("operatingSystem") == "Linux"
                and a.get("tenancy") == "Shared" and a.get("preInstalledSw") == "NA"
                and a.get("capacitystatus", "Used") == "Used"
                and a.get("licenseModel", "No License required") == "No License required"):
            by_sku[sku] = a["instanceType"]
    found: dict[str, dict[str, float]] = {}
    terms = offer.get("terms", {})
    for sku, size in by_sku.items():
        for term in terms.get("OnDemand", {}).get(sku, {}).values():
            price = _hourly(term)
            if price is not None:
                found.setdefault(size, {})["od"] = price
        for term in terms.get("Reserved", {}).get(sku, {}).values():
            attrs = term.get("termAttributes", {})
            length = {"1yr": "c1", "3yr": "c3"}.get(attrs.get("LeaseContractLength", ""))
            if (length and attrs.get("OfferingClass") == "standard"
                    and attrs.get("PurchaseOption") == "No Upfront"):
                price = _hourly(term)
                if price is not None:
                    found.setdefault(size, {})[length] = price
    return found


def _hourly(term: Mapping[str, Any]) -> float | None:
    for dimension in term.get("priceDimensions", {}).values():
        if dimension.get("unit") == "Hrs":
            value = float(dimension["pricePerUnit"]["USD"])
            return value if value > 0 else None
    return None


def _aws_spot(body: bytes, sizes: set[str]) -> dict[str, dict[str, float]]:
    """spot.js: ``callback({...config.regions[].instanceTypes[].sizes[]...})``."""
    text = body.decode("utf-8").strip()
    match = re.fullmatch(r"[A-Za-z_$][\w$]*\((.*)\)\s*;?", text, flags=re.DOTALL)
    data = _json((match.group(1) if match else text).encode(), "AWS spot prices")
    found: dict[str, dict[str, float]] = {}
    for region in data.get("config", {}).get("regions", []):
        name = _SPOT_REGIONS.get(region.get("region", ""), region.get("region", ""))
        for group in region.get("instanceTypes", []):
            for size in group.get("sizes", []):
                if size.get("size") not in sizes:
                    continue
                for column in size.get("valueColumns", []):
                    if column.get("name") == "linux":
                        price = _number(column.get("prices", {}).get("USD"))
                        if price is not None:
                            found.setdefault(name, {})[size["size"]] = price
    return found


# -------------------------------------------------------------------------------- Azure


def _azure(get: HttpGet, regions: list[str],
           sizes: set[str]) -> dict[str, dict[str, dict[str, float]]]:
    found: dict[str, dict[str, dict[str, float]]] = {}
    for region in regions:
        query = (f"serviceName eq 'Virtual Machines' and armRegionName eq '{region}' "
                 "and currencyCode eq 'USD'")
        url: str | None = f"{AZURE_URL}?{urllib.parse.urlencode({'$filter': query})}"
        prices: dict[str, dict[str, float]] = {}
        pages = 0
        while url:
            page = _json(get(url, {}), "Azure Retail Prices")
            for item in page.get("Items", []):
                _azure_item(item, sizes, prices)
            url = page.get("NextPageLink") or None
            pages += 1
            if pages > 1000:
                raise RefreshFailed("Azure Retail Prices: more than 1000 pages; stopped")
        found[region] = prices
    return found


def _azure_item(item: Mapping[str, Any], sizes: set[str],
                prices: dict[str, dict[str, float]]) -> None:
    size = item.get("armSkuName")
    if size not in sizes or "Windows" in str(item.get("productName", "")):
        return
    if item.get("unitOfMeasure") != "1 Hour" or item.get("currencyCode", "USD") != "USD":
        return
    sku = str(item.get("skuName", ""))
    price = _number(item.get("retailPrice", item.get("unitPrice")))
    if price is None or "Low Priority" in sku:
        return
    kind = item.get("type")
    if kind == "Consumption":
        prices.setdefault(size, {})["spot" if sku.endswith(" Spot") else "od"] = price
    elif kind == "Reservation":
        hours = {"1 Year": ("c1", 8760.0), "3 Years": ("c3", 26280.0)}.get(
            str(item.get("reservationTerm")))
        if hours:  # a reservation's price is for the whole term
            prices.setdefault(size, {})[hours[0]] = price / hours[1]


# ---------------------------------------------------------------------------------- GCP


def _gcp(get: HttpGet, regions: list[str], sizes: Mapping[str, list[Any]],
         api_key: str | None, token: str | None) -> dict[str, dict[str, dict[str, float]]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    rates: dict[tuple[str, str, str, str], float] = {}  # (region, family, kind, Core|Ram)
    page_token = ""
    pages = 0
    while True:
        params = {"pageSize": "5000", "currencyCode": "USD"}
        if api_key and not token:
            params["key"] = api_key
        if page_token:
            params["pageToken"] = page_token
        page = _json(get(f"{GCP_URL}?{urllib.parse.urlencode(params)}", headers),
                     "Cloud Billing Catalog")
        for sku in page.get("skus", []):
            _gcp_sku(sku, set(regions), rates)
        page_token = str(page.get("nextPageToken") or "")
        pages += 1
        if not page_token or pages > 1000:
            break
    found: dict[str, dict[str, dict[str, float]]] = {r: {} for r in regions}
    for name, (vcpus, memory, _gpus, _model, family, _arch) in sizes.items():
        vcpu_share, gib = _E2_SHARED.get(name, (float(vcpus), float(memory)))
        for region in regions:
            for kind in ("od", "spot", "c1", "c3"):
                core = rates.get((region, family, kind, "Core"))
                ram = rates.get((region, family, kind, "Ram"))
                if core is not None and ram is not None:
                    found[region].setdefault(name, {})[kind] = vcpu_share * core + gib * ram
    return found


def _gcp_sku(sku: Mapping[str, Any], regions: set[str],
             rates: dict[tuple[str, str, str, str], float]) -> None:
    description = str(sku.get("description", ""))
    match = _GCP_FAMILY.match(description)
    category = sku.get("category", {})
    kind = _GCP_KINDS.get(str(category.get("usageType")))
    if match is None or kind is None or category.get("resourceFamily") != "Compute":
        return
    family = (match.group(1) or match.group(3)).split()[0].lower()
    resource = "Core" if (match.group(2) or match.group(4)) in ("Core", "Cpu") else "Ram"
    for info in sku.get("pricingInfo", [])[:1]:
        tiers = info.get("pricingExpression", {}).get("tieredRates", [])
        if not tiers:
            return
        unit = tiers[-1].get("unitPrice", {})
        price = int(unit.get("units", 0) or 0) + int(unit.get("nanos", 0) or 0) / 1e9
        for region in sku.get("serviceRegions", []):
            if region in regions and price > 0:
                rates[(region, family, kind, resource)] = price


# ------------------------------------------------------------------------------ helpers


def _json(body: bytes, what: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as exc:
        raise RefreshFailed(f"{what}: not JSON ({exc}); the catalog in use is unchanged") from None


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _redact(url: str) -> str:
    return re.sub(r"([?&]key=)[^&]+", r"\1***", url)
