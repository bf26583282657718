"""Microsoft.Network public IP addresses.

A public IP names the NIC IP configuration that holds it (``state["ipconfig"]``, set by
``_nics``); Dynamic ones have an address only while held.
"""

from __future__ import annotations

from typing import ClassVar

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import json_response
from . import _errors as errors
from ._base import Resource
from ._network_common import NS, PIP, SUB_NS, NetworkBase


class PublicIpHandlers(NetworkBase):
    """Endpoint (and fault) names ``public_ip_put``, ``public_ip_get``, ``public_ip_list``,
    ``public_ip_list_all``, ``public_ip_delete``."""

    rules: ClassVar[list[Rule]] = [
        Rule(f"{NS}/publicipaddresses", methods=["GET"], endpoint="public_ip_list"),
        Rule(f"{NS}/publicipaddresses/<name>", methods=["PUT"], endpoint="public_ip_put"),
        Rule(f"{NS}/publicipaddresses/<name>", methods=["GET"], endpoint="public_ip_get"),
        Rule(f"{NS}/publicipaddresses/<name>", methods=["DELETE"], endpoint="public_ip_delete"),
        Rule(f"{SUB_NS}/publicipaddresses", methods=["GET"], endpoint="public_ip_list_all"),
    ]

    def check_deletable(self, kind: str, res: Resource) -> None:
        if kind == PIP and res.state.get("ipconfig"):
            raise errors.bad_request(
                "PublicIPAddressCannotBeDeleted",
                f"Public IP address {res.id} can not be deleted since it is still allocated to "
                f"resource {res.state['ipconfig']}. In order to delete the public IP, "
                "disassociate/detach the Public IP address from the resource.  To learn how to "
                "do this, see aka.ms/deletepublicip.")
        super().check_deletable(kind, res)

    def public_ip_put(self, request: Request, subscription: str, group: str,
                      name: str) -> Response:
        rg = self.group(subscription, group)
        body = self.json_body(request)
        rid = self.rid(subscription, rg, PIP, name)
        existing = self.stores[PIP].get(rid)
        self.check_preconditions(request, existing)
        location = self.location_of(body, PIP)
        self.check_location(existing, location)
        tags = self.tags_of(body)
        props = body.get("properties") or {}
        sku = (body.get("sku") or {}).get("name") or "Standard"
        if sku.lower() not in ("basic", "standard"):
            raise errors.invalid_parameter("sku.name", f"Public IP address SKU '{sku}' is not "
                                           "supported. Supported values: Basic, Standard.")
        sku = "Standard" if sku.lower() == "standard" else "Basic"
        method = props.get("publicIPAllocationMethod") or ("Static" if sku == "Standard"
                                                           else "Dynamic")
        if method.lower() not in ("static", "dynamic"):
            raise errors.invalid_parameter("properties.publicIPAllocationMethod",
                                           f"Allocation method '{method}' is not valid.")
        method = method.capitalize()
        if sku == "Standard" and method == "Dynamic":
            raise errors.bad_request(
                "StandardSkuPublicIPAddressesMustBeStatic",
                f"Standard sku publicIp {rid} must have AllocationMethod set to Static.")
        version = props.get("publicIPAddressVersion") or "IPv4"
        if version not in ("IPv4", "IPv6"):
            raise errors.invalid_parameter("properties.publicIPAddressVersion",
                                           f"IP address version '{version}' is not valid.")
        res = existing or Resource(id=rid, name=name, group=rg.name, body={})
        address = existing.props.get("ipAddress") if existing else None
        if method == "Static" and address is None:
            address = self._next_public_ip()
        if method == "Dynamic" and not res.state.get("ipconfig"):
            address = None
        guid = existing.props["resourceGuid"] if existing else self.ids.uuid()
        res.body = self._envelope(rid, name, PIP, location, tags)
        res.body["sku"] = {"name": sku, "tier": "Regional"}
        if isinstance(body.get("zones"), list):
            res.body["zones"] = [str(z) for z in body["zones"]]
        res.body["properties"] = {
            "resourceGuid": guid,
            "publicIPAddressVersion": version, "publicIPAllocationMethod": method,
            "idleTimeoutInMinutes": int(props.get("idleTimeoutInMinutes") or 4), "ipTags": []}
        if address is not None:
            res.body["properties"]["ipAddress"] = address
        if isinstance(props.get("dnsSettings"), dict) and props["dnsSettings"].get(
                "domainNameLabel"):
            label = str(props["dnsSettings"]["domainNameLabel"])
            res.body["properties"]["dnsSettings"] = {
                "domainNameLabel": label, "fqdn": f"{label}.{location}.cloudapp.azure.com"}
        if res.state.get("ipconfig"):
            res.body["properties"]["ipConfiguration"] = {"id": res.state["ipconfig"]}
        return self._net_put(request, res, existing is None)

    def _next_public_ip(self) -> str:
        self._public_ip_counter += 1
        n = self._public_ip_counter
        return f"20.{(n >> 16) % 256}.{(n >> 8) % 256}.{n % 256}"

    def public_ip_get(self, request: Request, subscription: str, group: str,
                      name: str) -> Response:
        return json_response(self.find(PIP, subscription, group, name).body)

    def public_ip_list(self, request: Request, subscription: str, group: str) -> Response:
        rg = self.group(subscription, group)
        return self.page(request, self.stores[PIP], self.in_group(rg), lambda r: r.body)

    def public_ip_list_all(self, request: Request, subscription: str) -> Response:
        self.check_subscription(subscription)
        return self.page(request, self.stores[PIP], None, lambda r: r.body)

    def public_ip_delete(self, request: Request, subscription: str, group: str,
                         name: str) -> Response:
        return self._net_delete(request, PIP, subscription, group, name)
