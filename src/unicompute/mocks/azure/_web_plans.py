"""Microsoft.Web App Service plans (``serverfarms``): create/update by PUT, get, lists, delete.

The function-app plans are what matters: Flex Consumption (``FC1``/``FlexConsumption``, Linux
only: ``properties.reserved`` must be true) and Consumption (``Y1``/``Dynamic``); the other
common tiers (``B1``, ``S1``, ``P1v3``, ``EP1``...) are accepted and stored. Microsoft.Web
shows the location by its display name (``"East US"``). A plan that still hosts sites cannot be
deleted (409, Microsoft.Web's format); deleting a missing plan answers 204.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import HttpError, Store, json_response
from .._kernel.store import casefold
from . import _web_errors as web
from ._base import JSON, Resource
from ._catalog import REGIONS
from ._groups import RG, SUB
from ._storage import StorageHandlers

PLAN = "Microsoft.Web/serverfarms"
SITE = "Microsoft.Web/sites"
PLANS = f"{RG}/providers/microsoft.web/serverfarms"
#: SKU name → (tier, family) of the plans the fake knows.
PLAN_SKUS: dict[str, tuple[str, str]] = {
    "FC1": ("FlexConsumption", "FC"), "Y1": ("Dynamic", "Y"),
    "EP1": ("ElasticPremium", "EP"), "EP2": ("ElasticPremium", "EP"),
    "EP3": ("ElasticPremium", "EP"), "B1": ("Basic", "B"), "B2": ("Basic", "B"),
    "S1": ("Standard", "S"), "P1v3": ("PremiumV3", "Pv3"), "P2v3": ("PremiumV3", "Pv3"),
}
_PLAN_NAME = re.compile(r"[A-Za-z0-9-]{1,60}")


def display_location(location: str) -> str:
    """Microsoft.Web's way of showing a location: ``eastus`` → ``East US``."""
    return REGIONS[location][0]


class PlanHandlers(StorageHandlers):
    """Endpoint (and fault) names ``plan_put``, ``plan_get``, ``plan_list``,
    ``plan_list_all``, ``plan_delete``."""

    rules: ClassVar[list[Rule]] = [
        Rule(PLANS, methods=["GET"], endpoint="plan_list"),
        Rule(f"{SUB}/providers/microsoft.web/serverfarms", methods=["GET"],
             endpoint="plan_list_all"),
        Rule(f"{PLANS}/<name>", methods=["PUT"], endpoint="plan_put"),
        Rule(f"{PLANS}/<name>", methods=["GET"], endpoint="plan_get"),
        Rule(f"{PLANS}/<name>", methods=["DELETE"], endpoint="plan_delete"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stores.setdefault(PLAN, Store(casefold))
        self.stores.setdefault(SITE, Store(casefold))

    def error_response(self, error: HttpError) -> Response:
        if isinstance(error, web.WebError):
            return web.render(error)
        return super().error_response(error)

    def plan_put(self, request: Request, subscription: str, group: str, name: str) -> Response:
        rg = self.group(subscription, group)
        body = self.json_body(request)
        if not _PLAN_NAME.fullmatch(name):
            raise web.bad_request(f"The name '{name}' is not a valid App Service plan name.")
        rid = self.rid(subscription, rg, PLAN, name)
        existing = self.stores[PLAN].get(rid)
        location = self.location_of(body, PLAN)
        if existing is not None and existing.state["location"] != location:
            raise web.bad_request(f"Cannot change the location of App Service plan '{name}'.")
        tags = self.tags_of(body)
        sku = body.get("sku") or {}
        sku_name = sku.get("name")
        if sku_name not in PLAN_SKUS:
            raise web.bad_request(f"The pricing tier '{sku_name}' is not allowed in this "
                                  "resource group. Use one of: " + ", ".join(PLAN_SKUS) + ".")
        tier, family = PLAN_SKUS[sku_name]
        props = body.get("properties") or {}
        reserved = bool(props.get("reserved", False))
        if tier == "FlexConsumption" and not reserved:
            raise web.bad_request("Flex Consumption plans must be Linux: set "
                                  "properties.reserved to true.")
        if existing is not None and existing.body["sku"]["tier"] != tier and (
                "FlexConsumption" in (tier, existing.body["sku"]["tier"])):
            raise web.bad_request("A plan cannot be moved to or from Flex Consumption.")
        dynamic = tier in ("FlexConsumption", "Dynamic")
        out: JSON = {
            "id": rid, "name": name, "type": PLAN,
            "kind": body.get("kind") or ("functionapp" if dynamic else "app"),
            "location": display_location(location),
            "sku": {"name": sku_name, "tier": tier, "size": sku_name, "family": family,
                    "capacity": 0 if dynamic else int(sku.get("capacity") or 1)},
            "properties": {
                "status": "Ready", "provisioningState": "Succeeded", "reserved": reserved,
                "numberOfSites": existing.body["properties"]["numberOfSites"] if existing else 0,
                "maximumNumberOfWorkers": 0 if dynamic else 30,
                "geoRegion": display_location(location), "resourceGroup": rg.name,
                "perSiteScaling": bool(props.get("perSiteScaling", False)),
                "elasticScaleEnabled": tier == "ElasticPremium",
                "maximumElasticWorkerCount": int(props.get("maximumElasticWorkerCount") or 1),
                "isSpot": False, "targetWorkerCount": 0, "targetWorkerSizeId": 0,
                "zoneRedundant": bool(props.get("zoneRedundant", False)),
                "hyperV": False, "isXenon": False,
            },
        }
        if tags:
            out["tags"] = tags
        res = existing or Resource(id=rid, name=name, group=rg.name, body={})
        res.body = out
        res.state["location"] = location
        self.stores[PLAN].put(rid, res)
        op = self.start_op(lambda: None, result=out)
        if op.done:
            return json_response(out, status=200)
        return json_response(out, status=202, headers=self.lro_headers(
            request, "Microsoft.Web", location, op))

    def plan_get(self, request: Request, subscription: str, group: str, name: str) -> Response:
        return json_response(self.find(PLAN, subscription, group, name).body)

    def plan_list(self, request: Request, subscription: str, group: str) -> Response:
        rg = self.group(subscription, group)
        return self.page(request, self.stores[PLAN], self.in_group(rg), lambda r: r.body)

    def plan_list_all(self, request: Request, subscription: str) -> Response:
        self.check_subscription(subscription)
        return self.page(request, self.stores[PLAN], None, lambda r: r.body)

    def plan_delete(self, request: Request, subscription: str, group: str,
                    name: str) -> Response:
        rg = self.group(subscription, group)
        res = self.stores[PLAN].get(self.rid(subscription, rg, PLAN, name))
        if res is None:
            return Response(status=204)
        sites = self.sites_on(res)
        if sites:
            raise web.conflict(
                f"Server farm '{res.name}' cannot be deleted because it has web app(s) "
                f"{', '.join(s.name for s in sites)} assigned to it.", extended_code="11001",
                template="Server farm '{0}' cannot be deleted because it has web app(s) {1} "
                "assigned to it.", parameters=(res.name, ", ".join(s.name for s in sites)))
        self.drop(PLAN, res)
        return Response(status=200)

    def sites_on(self, plan: Resource) -> list[Resource]:
        """The sites whose ``serverFarmId`` is ``plan``."""
        key = plan.id.casefold()
        return [s for s in self.stores[SITE].values()
                if str(s.props.get("serverFarmId", "")).casefold() == key]

    def count_sites(self, plan: Resource) -> None:
        plan.body["properties"]["numberOfSites"] = len(self.sites_on(plan))

    def delete_group_contents(self, rg: Resource) -> None:
        """Sites, then plans and storage accounts, then what ARM's older kinds hold."""
        match = self.in_group(rg)
        for kind in (SITE, PLAN, "Microsoft.Storage/storageAccounts"):
            for res in [r for r in self.stores[kind].values() if match(r)]:
                self.drop(kind, res)
        super().delete_group_contents(rg)
