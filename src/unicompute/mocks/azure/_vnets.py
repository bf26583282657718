"""Microsoft.Network virtual networks and their subnets.

Addresses: Azure keeps the first four and the last address of every subnet; the NICs that use
a subnet (``_nics``) take theirs from its ``state["used"]``.
"""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import json_response
from . import _errors as errors
from ._base import JSON, Resource
from ._ids import parse_id
from ._network_common import NAMESPACE, NSG, SUB_NS, VNET, child_rules
from ._nsgs import NsgHandlers


class VnetHandlers(NsgHandlers):
    """Endpoint (and fault) names ``vnet_put``, ``vnet_get``, ``vnet_list``,
    ``vnet_list_all``, ``vnet_delete`` and ``subnet_put``, ``subnet_get``, ``subnet_list``,
    ``subnet_delete``. Subnets may name an NSG, hence the base."""

    rules: ClassVar[list[Rule]] = [
        *child_rules("virtualnetworks", "vnet", "subnets", "subnet"),
        Rule(f"{SUB_NS}/virtualnetworks", methods=["GET"], endpoint="vnet_list_all"),
    ]

    def render_network(self, res: Resource) -> JSON:
        if res.body["type"] == VNET:
            return self.render_vnet(res)
        return super().render_network(res)

    def check_deletable(self, kind: str, res: Resource) -> None:
        if kind == VNET:
            for subnet in res.state["subnets"].values():
                _check_subnet_free(subnet)
        super().check_deletable(kind, res)

    def drop(self, kind: str, res: Resource) -> None:
        if kind == VNET:
            for subnet in res.state["subnets"].values():
                self._set_nsg_user(subnet, None)
        super().drop(kind, res)

    def render_vnet(self, vnet: Resource) -> JSON:
        body = dict(vnet.body)
        props = dict(vnet.props)
        props["subnets"] = [self.render_subnet(s) for s in vnet.state["subnets"].values()]
        body["properties"] = props
        return body

    @staticmethod
    def render_subnet(subnet: Resource) -> JSON:
        ipconfigs = subnet.state["ipconfigs"]
        if not ipconfigs:
            return subnet.body
        body = dict(subnet.body)
        body["properties"] = dict(subnet.props,
                                  ipConfigurations=[{"id": i} for i in ipconfigs.values()])
        return body

    def vnet_put(self, request: Request, subscription: str, group: str, name: str) -> Response:
        rg = self.group(subscription, group)
        body = self.json_body(request)
        existing = self.stores[VNET].get(self.rid(subscription, rg, VNET, name))
        self.check_preconditions(request, existing)
        res = self.build_vnet(subscription, rg, name, body, existing)
        return self._net_put(request, res, existing is None)

    def build_vnet(self, subscription: str, rg: Resource, name: str, body: JSON,
                   existing: Resource | None) -> Resource:
        """Validate ``body`` and apply it to ``existing`` or a new VNet (not stored yet)."""
        rid = existing.id if existing else self.rid(subscription, rg, VNET, name)
        location = self.location_of(body, VNET)
        self.check_location(existing, location)
        tags = self.tags_of(body)
        props = body.get("properties") or {}
        space = [_cidr(p, rid) for p in _prefixes(props.get("addressSpace"), rid)]
        old = existing.state["subnets"] if existing else {}
        subnets: dict[str, Resource] = {}
        for raw in props.get("subnets") or []:
            sub_name = raw.get("name") if isinstance(raw, dict) else None
            if not isinstance(sub_name, str) or not sub_name:
                raise errors.invalid_parameter("properties.subnets.name",
                                               "Every subnet needs a name.")
            subnets[sub_name.casefold()] = self._subnet(
                f"{rid}/subnets/{sub_name}", sub_name, raw.get("properties") or {}, name, space,
                list(subnets.values()), old.get(sub_name.casefold()))
        for key, subnet in old.items():
            if key not in subnets:
                _check_subnet_free(subnet)
        for key, subnet in old.items():
            if key not in subnets:
                self._set_nsg_user(subnet, None)
        for key, subnet in subnets.items():
            if key in old:
                subnet.state["nsg_attached"] = old[key].state.get("nsg_attached")
            self._set_nsg_user(subnet, subnet.state["nsg"])
        res = existing or Resource(id=rid, name=name, group=rg.name, body={})
        guid = existing.props["resourceGuid"] if existing else self.ids.uuid()
        res.body = self._envelope(rid, name, VNET, location, tags)
        res.body["properties"] = {
            "addressSpace": {"addressPrefixes": [str(n) for n in space]},
            "resourceGuid": guid,
            "virtualNetworkPeerings": [], "enableDdosProtection": False,
            "privateEndpointVNetPolicies": "Disabled"}
        res.state["subnets"] = subnets
        res.state["space"] = space
        return res

    def _subnet(self, sid: str, name: str, props: JSON, vnet_name: str,
                space: list[ipaddress.IPv4Network], siblings: list[Resource],
                old: Resource | None) -> Resource:
        """A validated subnet record (not yet stored); ``old`` keeps its allocations."""
        raw = props.get("addressPrefix")
        if raw is None and props.get("addressPrefixes"):
            raw = props["addressPrefixes"][0]
        if not isinstance(raw, str):
            raise errors.bad_request("InvalidRequestFormat",
                                     f"Subnet {name} must have an addressPrefix.",
                                     target="properties.addressPrefix")
        network = _cidr(raw, sid)
        if not any(network.subnet_of(space_net) for space_net in space):
            raise errors.bad_request(
                "NetcfgSubnetRangeOutsideVnet",
                f"Subnet '{name}' is not valid because its IP address range is outside the IP "
                f"address range of virtual network '{vnet_name}'.")
        for other in siblings:
            if network.overlaps(other.state["network"]):
                raise errors.bad_request(
                    "NetcfgSubnetRangesOverlap",
                    f"Subnet '{name}' is not valid in virtual network '{vnet_name}' because its "
                    f"IP address range overlaps with that of an existing subnet '{other.name}'.")
        if network.num_addresses < 8:
            raise errors.bad_request(
                "NetcfgInvalidSubnet",
                f"Subnet '{name}' is not valid in virtual network '{vnet_name}'.")
        if old is not None and old.state["ipconfigs"] and network != old.state["network"]:
            raise errors.bad_request(
                "InUseSubnetCannotBeUpdated",
                f"Subnet {name} is in use and cannot be updated: its address prefix cannot "
                "change while IP configurations use it.")
        nsg_id = None
        if props.get("networkSecurityGroup") is not None:
            nsg_id = self.ref_id(props["networkSecurityGroup"],
                                 "properties.networkSecurityGroup")
            nsg = self.lookup(NSG, nsg_id)
            if nsg is None:
                raise errors.invalid_reference(nsg_id, sid)
            nsg_id = nsg.id
        body: JSON = {"name": name, "id": sid, "etag": self.new_etag(),
                      "type": "Microsoft.Network/virtualNetworks/subnets",
                      "properties": {"provisioningState": "Succeeded",
                                     "addressPrefix": str(network), "delegations": [],
                                     "privateEndpointNetworkPolicies": "Disabled",
                                     "privateLinkServiceNetworkPolicies": "Enabled"}}
        if nsg_id is not None:
            body["properties"]["networkSecurityGroup"] = {"id": nsg_id}
        state: JSON = {"network": network, "nsg": nsg_id,
                       "used": old.state["used"] if old else {},
                       "ipconfigs": old.state["ipconfigs"] if old else {}}
        return Resource(id=sid, name=old.name if old else name, group="", body=body,
                        state=state)

    def vnet_get(self, request: Request, subscription: str, group: str, name: str) -> Response:
        return json_response(self.render_vnet(self.find(VNET, subscription, group, name)))

    def vnet_list(self, request: Request, subscription: str, group: str) -> Response:
        rg = self.group(subscription, group)
        return self.page(request, self.stores[VNET], self.in_group(rg), self.render_vnet)

    def vnet_list_all(self, request: Request, subscription: str) -> Response:
        self.check_subscription(subscription)
        return self.page(request, self.stores[VNET], None, self.render_vnet)

    def vnet_delete(self, request: Request, subscription: str, group: str,
                    name: str) -> Response:
        return self._net_delete(request, VNET, subscription, group, name)

    def _subnet_of(self, subscription: str, group: str, name: str,
                   child: str) -> tuple[Resource, Resource]:
        vnet = self.find(VNET, subscription, group, name)
        subnet = vnet.state["subnets"].get(child.casefold())
        if subnet is None:
            raise errors.resource_not_found(f"{VNET}/{name}/subnets", child, group)
        return vnet, subnet

    def subnet_get(self, request: Request, subscription: str, group: str, name: str,
                   child: str) -> Response:
        return json_response(self.render_subnet(
            self._subnet_of(subscription, group, name, child)[1]))

    def subnet_list(self, request: Request, subscription: str, group: str,
                    name: str) -> Response:
        vnet = self.find(VNET, subscription, group, name)
        return json_response({"value": [self.render_subnet(s)
                                        for s in vnet.state["subnets"].values()]})

    def subnet_put(self, request: Request, subscription: str, group: str, name: str,
                   child: str) -> Response:
        vnet = self.find(VNET, subscription, group, name)
        body = self.json_body(request)
        old = vnet.state["subnets"].get(child.casefold())
        self.check_preconditions(request, old)
        siblings = [s for k, s in vnet.state["subnets"].items() if k != child.casefold()]
        subnet = self._subnet(f"{vnet.id}/subnets/{child}", child, body.get("properties") or {},
                              vnet.name, vnet.state["space"], siblings, old)
        if old is not None:
            subnet.state["nsg_attached"] = old.state.get("nsg_attached")
        self._set_nsg_user(subnet, subnet.state["nsg"])
        vnet.state["subnets"][child.casefold()] = subnet
        vnet.body["etag"] = self.new_etag()
        subnet.props["provisioningState"] = "Updating"

        def finish() -> None:
            subnet.props["provisioningState"] = "Succeeded"

        op = self.start_op(finish)
        return self.put_response(request, op, old is None, NAMESPACE, vnet.body["location"],
                                 lambda: self.render_subnet(subnet))

    def subnet_delete(self, request: Request, subscription: str, group: str, name: str,
                      child: str) -> Response:
        vnet = self.find(VNET, subscription, group, name)
        subnet = vnet.state["subnets"].get(child.casefold())
        if subnet is None:
            return Response(status=204)
        _check_subnet_free(subnet)

        def finish() -> None:
            self._set_nsg_user(subnet, None)
            vnet.state["subnets"].pop(child.casefold(), None)
            vnet.body["etag"] = self.new_etag()

        op = self.start_op(finish)
        return self.accepted(request, op, NAMESPACE, vnet.body["location"])

    def subnet_by_id(self, sid: str) -> Resource | None:
        parts = parse_id(sid)
        if parts.get("type", "").lower() != "virtualnetworks/subnets":
            return None
        vnet_id = sid[: sid.lower().rindex("/subnets/")]
        vnet = self.lookup(VNET, vnet_id)
        if vnet is None:
            return None
        subnet: Resource | None = vnet.state["subnets"].get(parts["subnets"].casefold())
        return subnet


def _prefixes(space: Any, rid: str) -> list[str]:
    prefixes = space.get("addressPrefixes") if isinstance(space, dict) else None
    if not isinstance(prefixes, list) or not prefixes or not all(
            isinstance(p, str) for p in prefixes):
        raise errors.bad_request(
            "InvalidRequestFormat",
            f"Virtual network {rid} must have at least one address prefix in "
            "properties.addressSpace.addressPrefixes.",
            target="properties.addressSpace.addressPrefixes")
    return prefixes


def _cidr(prefix: str, rid: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(prefix, strict=True)
    except ValueError:
        pass
    try:
        network = ipaddress.IPv4Network(prefix, strict=False)
    except ValueError:
        raise errors.bad_request(
            "InvalidAddressPrefixFormat",
            f"Address prefix {prefix} of resource {rid} is not formatted correctly. It should "
            "follow CIDR notation, for example 10.0.0.0/24.") from None
    raise errors.bad_request(
        "InvalidCIDRNotation",
        f"The address prefix {prefix} in resource {rid} has an invalid CIDR notation. For the "
        f"given prefix length, the address prefix should be {network}.")


def _check_subnet_free(subnet: Resource) -> None:
    if subnet.state["ipconfigs"]:
        user = next(iter(subnet.state["ipconfigs"].values()))
        raise errors.bad_request(
            "InUseSubnetCannotBeDeleted",
            f"Subnet {subnet.name} is in use by {user} and cannot be deleted. In order to "
            "delete the subnet, delete all the resources within the subnet. See "
            "aka.ms/deletesubnet.")
