"""Microsoft.Network: virtual networks and subnets, public IPs, NICs, NSGs and their rules.

Subnets live in their VNet's ``state["subnets"]`` and rules in their NSG's ``state["rules"]``
(name, case-folded → :class:`Resource`), as children do in ARM. Every change gives the resource
a new weak etag. Addresses: Azure keeps the first four and the last address of every subnet;
dynamic private IPs are the lowest free ones after that, static ones must be free and inside.
"""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import HttpError, json_response
from . import _errors as errors
from ._base import JSON, Resource
from ._groups import RG, SUB, GroupHandlers
from ._ids import parse_id

NS = f"{RG}/providers/microsoft.network"
#: Subscription-wide collections (``…/providers/Microsoft.Network/{type}`` with no group).
SUB_NS = f"{SUB}/providers/microsoft.network"
VNET = "Microsoft.Network/virtualNetworks"
PIP = "Microsoft.Network/publicIPAddresses"
NIC = "Microsoft.Network/networkInterfaces"
NSG = "Microsoft.Network/networkSecurityGroups"
NAMESPACE = "Microsoft.Network"

_PROTOCOLS = {p.lower(): p for p in ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*")}
_DEFAULT_RULES = (
    ("AllowVnetInBound", 65000, "Inbound", "Allow", "VirtualNetwork", "VirtualNetwork"),
    ("AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow", "AzureLoadBalancer", "*"),
    ("DenyAllInBound", 65500, "Inbound", "Deny", "*", "*"),
    ("AllowVnetOutBound", 65000, "Outbound", "Allow", "VirtualNetwork", "VirtualNetwork"),
    ("AllowInternetOutBound", 65001, "Outbound", "Allow", "*", "Internet"),
    ("DenyAllOutBound", 65500, "Outbound", "Deny", "*", "*"),
)


def _child_rules(path: str, name: str, collection: str, child: str) -> list[Rule]:
    base = f"{NS}/{path}/<name>"
    return [
        Rule(f"{NS}/{path}", methods=["GET"], endpoint=f"{name}_list"),
        Rule(base, methods=["PUT"], endpoint=f"{name}_put"),
        Rule(base, methods=["GET"], endpoint=f"{name}_get"),
        Rule(base, methods=["DELETE"], endpoint=f"{name}_delete"),
        Rule(f"{base}/{collection}", methods=["GET"], endpoint=f"{child}_list"),
        Rule(f"{base}/{collection}/<child>", methods=["PUT"], endpoint=f"{child}_put"),
        Rule(f"{base}/{collection}/<child>", methods=["GET"], endpoint=f"{child}_get"),
        Rule(f"{base}/{collection}/<child>", methods=["DELETE"], endpoint=f"{child}_delete"),
    ]


class NetworkHandlers(GroupHandlers):
    """Handlers for Microsoft.Network; endpoint (and fault) names such as ``vnet_put``,
    ``subnet_get``, ``public_ip_delete``, ``nic_put``, ``nsg_list``, ``rule_put``.

    Each top-level type also lists per subscription (``vnet_list_all``, ``nsg_list_all``,
    ``public_ip_list_all``, ``nic_list_all``): the same items as the per-group list, of every
    group, paged the same way."""

    rules: ClassVar[list[Rule]] = [
        *_child_rules("virtualnetworks", "vnet", "subnets", "subnet"),
        *_child_rules("networksecuritygroups", "nsg", "securityrules", "rule"),
        Rule(f"{NS}/publicipaddresses", methods=["GET"], endpoint="public_ip_list"),
        Rule(f"{NS}/publicipaddresses/<name>", methods=["PUT"], endpoint="public_ip_put"),
        Rule(f"{NS}/publicipaddresses/<name>", methods=["GET"], endpoint="public_ip_get"),
        Rule(f"{NS}/publicipaddresses/<name>", methods=["DELETE"], endpoint="public_ip_delete"),
        Rule(f"{NS}/networkinterfaces", methods=["GET"], endpoint="nic_list"),
        Rule(f"{NS}/networkinterfaces/<name>", methods=["PUT"], endpoint="nic_put"),
        Rule(f"{NS}/networkinterfaces/<name>", methods=["GET"], endpoint="nic_get"),
        Rule(f"{NS}/networkinterfaces/<name>", methods=["DELETE"], endpoint="nic_delete"),
        Rule(f"{SUB_NS}/virtualnetworks", methods=["GET"], endpoint="vnet_list_all"),
        Rule(f"{SUB_NS}/networksecuritygroups", methods=["GET"], endpoint="nsg_list_all"),
        Rule(f"{SUB_NS}/publicipaddresses", methods=["GET"], endpoint="public_ip_list_all"),
        Rule(f"{SUB_NS}/networkinterfaces", methods=["GET"], endpoint="nic_list_all"),
    ]

    # -- shared ----------------------------------------------------------------------------
    def _envelope(self, rid: str, name: str, kind: str, location: str,
                  tags: dict[str, str]) -> JSON:
        body: JSON = {"name": name, "id": rid, "etag": self.new_etag(), "type": kind,
                      "location": location}
        if tags:
            body["tags"] = tags
        return body

    def _net_put(self, request: Request, res: Resource, created: bool) -> Response:
        """Store ``res`` as Updating, finish it as Succeeded (now, or when the op is done)."""
        self.stores[res.body["type"]].put(res.id, res)
        res.props["provisioningState"] = "Updating"

        def finish() -> None:
            res.props["provisioningState"] = "Succeeded"

        op = self.start_op(finish)
        return self.put_response(request, op, created, NAMESPACE, res.body["location"],
                                 lambda: self.render_network(res))

    def _net_delete(self, request: Request, kind: str, subscription: str, group: str,
                    name: str) -> Response:
        rg = self.group(subscription, group)
        res = self.stores[kind].get(self.rid(subscription, rg, kind, name))
        if res is None:
            return Response(status=204)
        self.check_deletable(kind, res)
        res.props["provisioningState"] = "Deleting"
        op = self.start_op(lambda: self.drop(kind, res))
        return self.accepted(request, op, NAMESPACE, res.body["location"])

    def render_network(self, res: Resource) -> JSON:
        kind = res.body["type"]
        if kind == VNET:
            return self.render_vnet(res)
        if kind == NSG:
            return self.render_nsg(res)
        if kind == NIC:
            return self.render_nic(res)
        return res.body

    def check_deletable(self, kind: str, res: Resource) -> None:
        """Raise what Microsoft.Network answers when ``res`` is still in use."""
        if kind == VNET:
            for subnet in res.state["subnets"].values():
                _check_subnet_free(subnet)
        elif kind == PIP and res.state.get("ipconfig"):
            raise errors.bad_request(
                "PublicIPAddressCannotBeDeleted",
                f"Public IP address {res.id} can not be deleted since it is still allocated to "
                f"resource {res.state['ipconfig']}. In order to delete the public IP, "
                "disassociate/detach the Public IP address from the resource.  To learn how to "
                "do this, see aka.ms/deletepublicip.")
        elif kind == NIC and res.state.get("vm"):
            raise errors.bad_request(
                "NicInUse",
                f"Network Interface {res.id} is used by existing resource {res.state['vm']}. In "
                "order to delete the network interface, it must be dissociated from the "
                "resource. To learn more, see aka.ms/deletenic.")
        elif kind == NSG and res.state["users"]:
            users = ", ".join(sorted(res.state["users"].values()))
            raise errors.bad_request(
                "InUseNetworkSecurityGroupCannotBeDeleted",
                f"Network security group {res.id} cannot be deleted because it is in use by the "
                f"following resources: {users}. In order to delete the Network security group, "
                "remove the association with the resource(s). To learn how to do this, see "
                "aka.ms/deletensg.")

    def drop(self, kind: str, res: Resource) -> None:
        if kind == NIC:
            self._release_nic(res)
        elif kind == VNET:
            for subnet in res.state["subnets"].values():
                self._set_nsg_user(subnet, None)
        super().drop(kind, res)

    # -- virtual networks and subnets ---------------------------------------------------------
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

    def _set_nsg_user(self, holder: Resource, nsg_id: str | None) -> None:
        """Record that ``holder`` (a subnet or NIC) now uses ``nsg_id`` (or none)."""
        previous = holder.state.get("nsg_attached")
        if previous is not None:
            nsg = self.lookup(NSG, previous)
            if nsg is not None:
                nsg.state["users"].pop(holder.id.casefold(), None)
        if nsg_id is not None:
            nsg = self.lookup(NSG, nsg_id)
            if nsg is not None:
                nsg.state["users"][holder.id.casefold()] = holder.id
        holder.state["nsg_attached"] = nsg_id

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

    # -- public IP addresses ---------------------------------------------------------------------
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

    # -- network interfaces ----------------------------------------------------------------------
    def render_nic(self, nic: Resource) -> JSON:
        return nic.body

    def nic_put(self, request: Request, subscription: str, group: str, name: str) -> Response:
        rg = self.group(subscription, group)
        body = self.json_body(request)
        existing = self.stores[NIC].get(self.rid(subscription, rg, NIC, name))
        self.check_preconditions(request, existing)
        res = self.build_nic(subscription, rg, name, body, existing)
        return self._net_put(request, res, existing is None)

    def build_nic(self, subscription: str, rg: Resource, name: str, body: JSON,
                  existing: Resource | None) -> Resource:
        """Validate ``body``, then allocate its addresses; the NIC is not stored yet."""
        rid = existing.id if existing else self.rid(subscription, rg, NIC, name)
        location = self.location_of(body, NIC)
        self.check_location(existing, location)
        tags = self.tags_of(body)
        props = body.get("properties") or {}
        raw_configs = props.get("ipConfigurations") or []
        if not raw_configs:
            raise errors.bad_request(
                "InvalidRequestFormat",
                f"Network interface {rid} must have at least one IP configuration.",
                target="properties.ipConfigurations")
        nsg_id = None
        if props.get("networkSecurityGroup") is not None:
            nsg_id = self.ref_id(props["networkSecurityGroup"], "properties.networkSecurityGroup")
            nsg = self.lookup(NSG, nsg_id)
            if nsg is None:
                raise errors.invalid_reference(nsg_id, rid)
            nsg_id = nsg.id
        old_ips: dict[str, tuple[Resource, str]] = existing.state["ips"] if existing else {}
        plans = [self._plan_ipconfig(rid, location, raw, index, old_ips)
                 for index, raw in enumerate(raw_configs)]
        names = [p["name"].casefold() for p in plans]
        if len(set(names)) != len(names):
            raise errors.invalid_parameter("properties.ipConfigurations.name",
                                           "IP configuration names must be unique.")
        wanted: dict[tuple[int, int], str] = {}
        for plan in plans:  # two static configs asking for one address
            if plan["address"] is not None:
                key = (id(plan["subnet"]), int(plan["address"]))
                if key in wanted:
                    raise _ip_in_use(plan["id"], str(plan["address"]), wanted[key])
                wanted[key] = plan["id"]
        # All checks passed: release what this NIC held, then allocate.
        if existing is not None:
            self._release_nic(existing)
        ips: dict[str, tuple[Resource, str]] = {}
        configs: list[JSON] = []
        for plan in plans:
            subnet: Resource = plan["subnet"]
            address = plan["address"] or _allocate(subnet, rid)
            subnet.state["used"][int(address)] = plan["id"]
            subnet.state["ipconfigs"][plan["id"].casefold()] = plan["id"]
            ips[plan["name"].casefold()] = (subnet, str(address))
            cprops: JSON = {"provisioningState": "Succeeded", "privateIPAddress": str(address),
                            "privateIPAllocationMethod": plan["method"],
                            "subnet": {"id": subnet.id}, "primary": plan["primary"],
                            "privateIPAddressVersion": "IPv4"}
            pip: Resource | None = plan["pip"]
            if pip is not None:
                cprops["publicIPAddress"] = {"id": pip.id}
                pip.state["ipconfig"] = plan["id"]
                pip.props["ipConfiguration"] = {"id": plan["id"]}
            configs.append({"name": plan["name"], "id": plan["id"], "etag": "",
                            "type": "Microsoft.Network/networkInterfaces/ipConfigurations",
                            "properties": cprops})
        res = existing or Resource(id=rid, name=name, group=rg.name, body={})
        guid = existing.props["resourceGuid"] if existing else self.ids.uuid()
        res.body = self._envelope(rid, name, NIC, location, tags)
        for config in configs:
            config["etag"] = res.body["etag"]
        res.body["properties"] = {
            "resourceGuid": guid,
            "ipConfigurations": configs,
            "dnsSettings": {"dnsServers": [], "appliedDnsServers": []},
            "enableAcceleratedNetworking": bool(props.get("enableAcceleratedNetworking", False)),
            "enableIPForwarding": bool(props.get("enableIPForwarding", False)),
            "disableTcpStateTracking": False, "hostedWorkloads": [], "tapConfigurations": [],
            "nicType": "Standard", "vnetEncryptionSupported": False,
            "auxiliaryMode": "None", "auxiliarySku": "None"}
        if nsg_id is not None:
            res.body["properties"]["networkSecurityGroup"] = {"id": nsg_id}
        self._set_nsg_user(res, nsg_id)
        res.state["ips"] = ips
        res.state["pips"] = [p["pip"].id for p in plans if p["pip"] is not None]
        if res.state.get("vm"):
            res.body["properties"]["virtualMachine"] = {"id": res.state["vm"]}
            res.body["properties"]["primary"] = True
            res.body["properties"]["macAddress"] = res.state["mac"]
        return res

    def _plan_ipconfig(self, nic_id: str, location: str, raw: Any, index: int,
                       old_ips: dict[str, tuple[Resource, str]]) -> JSON:
        """Validate one ipConfiguration; return what to allocate (nothing changed yet)."""
        if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
            raise errors.invalid_parameter("properties.ipConfigurations.name",
                                           "Every IP configuration needs a name.")
        name = raw["name"]
        cid = f"{nic_id}/ipConfigurations/{name}"
        props = raw.get("properties") or {}
        subnet_id = self.ref_id(props.get("subnet"), "properties.ipConfigurations.subnet")
        subnet = self.subnet_by_id(subnet_id)
        if subnet is None:
            raise errors.invalid_reference(subnet_id, nic_id)
        vnet = self.lookup(VNET, subnet.id[: subnet.id.lower().rindex("/subnets/")])
        if vnet is None or vnet.body["location"] != location:
            raise errors.invalid_reference(subnet_id, nic_id)
        method = (props.get("privateIPAllocationMethod") or "Dynamic").capitalize()
        if method not in ("Dynamic", "Static"):
            raise errors.invalid_parameter("properties.ipConfigurations.privateIPAllocationMethod",
                                           f"Allocation method '{method}' is not valid.")
        network: ipaddress.IPv4Network = subnet.state["network"]
        address: ipaddress.IPv4Address | None = None
        old = old_ips.get(name.casefold())
        if method == "Static" or props.get("privateIPAddress"):
            try:
                address = ipaddress.IPv4Address(str(props.get("privateIPAddress")))
            except ValueError:
                raise errors.bad_request(
                    "InvalidRequestFormat",
                    f"IP configuration {cid} has an invalid private IP address "
                    f"'{props.get('privateIPAddress')}'.") from None
            if address not in network:
                raise errors.bad_request(
                    "PrivateIPAddressNotInSubnet",
                    f"IP configuration {cid} is referencing private IP address {address} which "
                    f"is not in the subnet {subnet.id}.")
            if int(address) - int(network.network_address) < 4 or \
                    address == network.broadcast_address:
                raise errors.bad_request(
                    "PrivateIPAddressIsReserved",
                    f"IP configuration {cid} is using the private IP address {address} which is "
                    f"reserved by Azure in subnet {subnet.id}.")
            holder = subnet.state["used"].get(int(address))
            if holder is not None and holder.casefold() != cid.casefold():
                raise _ip_in_use(cid, str(address), holder)
        elif old is not None and old[0] is subnet:
            address = ipaddress.IPv4Address(old[1])
        pip: Resource | None = None
        if props.get("publicIPAddress") is not None:
            pip_id = self.ref_id(props["publicIPAddress"],
                                 "properties.ipConfigurations.publicIPAddress")
            pip = self.lookup(PIP, pip_id)
            if pip is None or pip.body["location"] != location:
                raise errors.invalid_reference(pip_id, nic_id)
            holder = pip.state.get("ipconfig")
            if holder and holder.casefold() != cid.casefold():
                raise errors.bad_request(
                    "PublicIPAddressInUse",
                    f"Resource {pip.id} is referenced by resource {holder}, and cannot be used "
                    f"by {cid}.")
        primary = bool(props.get("primary", index == 0))
        return {"name": name, "id": cid, "subnet": subnet, "address": address,
                "method": method, "pip": pip, "primary": primary}

    def _release_nic(self, nic: Resource) -> None:
        """Free the NIC's private addresses, public IPs and NSG use."""
        for subnet, address in nic.state.get("ips", {}).values():
            subnet.state["used"].pop(int(ipaddress.IPv4Address(address)), None)
            prefix = f"{nic.id}/ipconfigurations/".casefold()
            for key in [k for k in subnet.state["ipconfigs"] if k.startswith(prefix)]:
                del subnet.state["ipconfigs"][key]
        for pip_id in nic.state.get("pips", []):
            pip = self.lookup(PIP, pip_id)
            if pip is not None:
                pip.state.pop("ipconfig", None)
                pip.props.pop("ipConfiguration", None)
                if pip.props.get("publicIPAllocationMethod") == "Dynamic":
                    pip.props.pop("ipAddress", None)
        nic.state["ips"] = {}
        nic.state["pips"] = []
        self._set_nsg_user(nic, None)

    def nic_get(self, request: Request, subscription: str, group: str, name: str) -> Response:
        return json_response(self.find(NIC, subscription, group, name).body)

    def nic_list(self, request: Request, subscription: str, group: str) -> Response:
        rg = self.group(subscription, group)
        return self.page(request, self.stores[NIC], self.in_group(rg), lambda r: r.body)

    def nic_list_all(self, request: Request, subscription: str) -> Response:
        self.check_subscription(subscription)
        return self.page(request, self.stores[NIC], None, self.render_nic)

    def nic_delete(self, request: Request, subscription: str, group: str,
                   name: str) -> Response:
        return self._net_delete(request, NIC, subscription, group, name)

    # -- network security groups and rules -------------------------------------------------------
    def render_nsg(self, nsg: Resource) -> JSON:
        body = dict(nsg.body)
        props = dict(nsg.props)
        props["securityRules"] = [r.body for r in nsg.state["rules"].values()]
        users = list(nsg.state["users"].values())
        nics = [{"id": u} for u in users if "/networkinterfaces/" in u.lower()]
        subnets = [{"id": u} for u in users if "/subnets/" in u.lower()]
        if nics:
            props["networkInterfaces"] = nics
        if subnets:
            props["subnets"] = subnets
        body["properties"] = props
        return body

    def nsg_put(self, request: Request, subscription: str, group: str, name: str) -> Response:
        rg = self.group(subscription, group)
        body = self.json_body(request)
        rid = self.rid(subscription, rg, NSG, name)
        existing = self.stores[NSG].get(rid)
        self.check_preconditions(request, existing)
        location = self.location_of(body, NSG)
        self.check_location(existing, location)
        tags = self.tags_of(body)
        props = body.get("properties") or {}
        rules: dict[str, Resource] = {}
        for raw in props.get("securityRules") or []:
            rule_name = raw.get("name") if isinstance(raw, dict) else None
            if not isinstance(rule_name, str) or not rule_name:
                raise errors.invalid_parameter("properties.securityRules.name",
                                               "Every security rule needs a name.")
            rule = self._rule(f"{rid}/securityRules/{rule_name}", rule_name,
                              raw.get("properties") or {})
            _check_rule_conflicts(rule, rules.values())
            rules[rule_name.casefold()] = rule
        res = existing or Resource(id=rid, name=name, group=rg.name, body={},
                                   state={"users": {}})
        guid = existing.props["resourceGuid"] if existing else self.ids.uuid()
        res.body = self._envelope(rid, name, NSG, location, tags)
        res.body["properties"] = {
            "resourceGuid": guid,
            "defaultSecurityRules": [_default_rule(rid, *spec, res.body["etag"])
                                     for spec in _DEFAULT_RULES]}
        res.state["rules"] = rules
        return self._net_put(request, res, existing is None)

    def _rule(self, rule_id: str, name: str, props: JSON) -> Resource:
        """A validated security rule (not stored yet)."""
        protocol = _PROTOCOLS.get(str(props.get("protocol", "")).lower())
        if protocol is None:
            raise errors.bad_request(
                "SecurityRuleInvalidProtocol",
                f"Security rule {name} has invalid Protocol. Value provided: "
                f"{props.get('protocol')}. Allowed values: Tcp, Udp, Icmp, Esp, Ah, *.")
        access = str(props.get("access", "")).capitalize()
        direction = str(props.get("direction", "")).capitalize()
        if access not in ("Allow", "Deny"):
            raise errors.bad_request("SecurityRuleInvalidAccess",
                                     f"Security rule {name} has invalid Access. Value provided: "
                                     f"{props.get('access')}. Allowed values: Allow, Deny.")
        if direction not in ("Inbound", "Outbound"):
            raise errors.bad_request(
                "SecurityRuleInvalidDirection",
                f"Security rule {name} has invalid Direction. Value provided: "
                f"{props.get('direction')}. Allowed values: Inbound, Outbound.")
        priority = props.get("priority")
        if not isinstance(priority, int) or isinstance(priority, bool) or \
                not 100 <= priority <= 4096:
            raise errors.bad_request(
                "SecurityRuleInvalidPriority",
                f"Security rule has invalid Priority. Value provided: {priority} Allowed range "
                "100-4096.")
        out: JSON = {"provisioningState": "Succeeded", "protocol": protocol}
        for single, plural in (("sourcePortRange", "sourcePortRanges"),
                               ("destinationPortRange", "destinationPortRanges")):
            values = _listish(props, single, plural)
            for value in values:
                _check_port_range(value)
            if not values:
                raise errors.bad_request(
                    "InvalidRequestFormat",
                    f"Security rule {name} needs {single} or {plural}.")
            _put_listish(out, single, plural, values)
        for single, plural in (("sourceAddressPrefix", "sourceAddressPrefixes"),
                               ("destinationAddressPrefix", "destinationAddressPrefixes")):
            values = _listish(props, single, plural)
            if not values:
                raise errors.bad_request("InvalidRequestFormat",
                                         f"Security rule {name} needs {single} or {plural}.")
            _put_listish(out, single, plural, values)
        out.update(access=access, priority=priority, direction=direction)
        if isinstance(props.get("description"), str):
            out["description"] = props["description"]
        body: JSON = {"name": name, "id": rule_id, "etag": self.new_etag(),
                      "type": "Microsoft.Network/networkSecurityGroups/securityRules",
                      "properties": out}
        return Resource(id=rule_id, name=name, group="", body=body)

    def nsg_get(self, request: Request, subscription: str, group: str, name: str) -> Response:
        return json_response(self.render_nsg(self.find(NSG, subscription, group, name)))

    def nsg_list(self, request: Request, subscription: str, group: str) -> Response:
        rg = self.group(subscription, group)
        return self.page(request, self.stores[NSG], self.in_group(rg), self.render_nsg)

    def nsg_list_all(self, request: Request, subscription: str) -> Response:
        self.check_subscription(subscription)
        return self.page(request, self.stores[NSG], None, self.render_nsg)

    def nsg_delete(self, request: Request, subscription: str, group: str,
                   name: str) -> Response:
        return self._net_delete(request, NSG, subscription, group, name)

    def rule_put(self, request: Request, subscription: str, group: str, name: str,
                 child: str) -> Response:
        nsg = self.find(NSG, subscription, group, name)
        body = self.json_body(request)
        old = nsg.state["rules"].get(child.casefold())
        self.check_preconditions(request, old)
        rule = self._rule(f"{nsg.id}/securityRules/{child}", child, body.get("properties") or {})
        _check_rule_conflicts(rule, [r for k, r in nsg.state["rules"].items()
                                     if k != child.casefold()])
        nsg.state["rules"][child.casefold()] = rule
        nsg.body["etag"] = self.new_etag()
        rule.props["provisioningState"] = "Updating"

        def finish() -> None:
            rule.props["provisioningState"] = "Succeeded"

        op = self.start_op(finish)
        return self.put_response(request, op, old is None, NAMESPACE, nsg.body["location"],
                                 lambda: rule.body)

    def rule_get(self, request: Request, subscription: str, group: str, name: str,
                 child: str) -> Response:
        nsg = self.find(NSG, subscription, group, name)
        rule = nsg.state["rules"].get(child.casefold())
        if rule is None:
            raise errors.resource_not_found(f"{NSG}/{name}/securityRules", child, group)
        return json_response(rule.body)

    def rule_list(self, request: Request, subscription: str, group: str,
                  name: str) -> Response:
        nsg = self.find(NSG, subscription, group, name)
        return json_response({"value": [r.body for r in nsg.state["rules"].values()]})

    def rule_delete(self, request: Request, subscription: str, group: str, name: str,
                    child: str) -> Response:
        nsg = self.find(NSG, subscription, group, name)
        if child.casefold() not in nsg.state["rules"]:
            return Response(status=204)

        def finish() -> None:
            nsg.state["rules"].pop(child.casefold(), None)
            nsg.body["etag"] = self.new_etag()

        op = self.start_op(finish)
        return self.accepted(request, op, NAMESPACE, nsg.body["location"])

    # -- for Microsoft.Compute -------------------------------------------------------------------
    def attach_nic(self, nic: Resource, vm_id: str) -> None:
        nic.state["vm"] = vm_id
        nic.state.setdefault("mac", _mac(self.ids.hex(6)))
        nic.props["virtualMachine"] = {"id": vm_id}
        nic.props["primary"] = True
        nic.props["macAddress"] = nic.state["mac"]

    def detach_nic(self, nic: Resource) -> None:
        nic.state.pop("vm", None)
        for key in ("virtualMachine", "primary", "macAddress"):
            nic.props.pop(key, None)


# -- helpers --------------------------------------------------------------------------------------
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


def _allocate(subnet: Resource, nic_id: str) -> ipaddress.IPv4Address:
    """The lowest free address after Azure's four reserved ones (not yet marked used)."""
    network: ipaddress.IPv4Network = subnet.state["network"]
    used: dict[int, str] = subnet.state["used"]
    first = int(network.network_address) + 4
    last = int(network.broadcast_address) - 1
    start = max(first, subnet.state.get("cursor", first))
    for candidate in (*range(start, last + 1), *range(first, start)):
        if candidate not in used:
            subnet.state["cursor"] = candidate + 1
            return ipaddress.IPv4Address(candidate)
    raise errors.bad_request(
        "SubnetIsFull",
        f"Subnet {subnet.id} with address prefix {network} does not have enough capacity for "
        "1 IP addresses.")


def _ip_in_use(config_id: str, address: str, holder: str) -> HttpError:
    return errors.bad_request(
        "PrivateIPAddressInUse",
        f"IP configuration {config_id} is using the private IP address {address} which is "
        f"already allocated to resource {holder}.")


def _listish(props: JSON, single: str, plural: str) -> list[str]:
    values: list[str] = []
    if isinstance(props.get(single), str) and props[single]:
        values.append(props[single])
    if isinstance(props.get(plural), list):
        values.extend(str(v) for v in props[plural])
    return values


def _put_listish(out: JSON, single: str, plural: str, values: list[str]) -> None:
    if len(values) == 1:
        out[single] = values[0]
        out[plural] = []
    else:
        out[plural] = values


def _check_port_range(value: str) -> None:
    if value == "*":
        return
    low, _, high = value.partition("-")
    try:
        ok = all(0 <= int(v) <= 65535 for v in (low, high or low)) and int(low) <= int(high or low)
    except ValueError:
        ok = False
    if not ok:
        raise errors.bad_request(
            "SecurityRuleInvalidPortRange",
            f"Security rule has invalid Port range. Value provided: {value}. Value should be an "
            "integer OR integer range with '-' delimiter. Valid range 0-65535.")


def _check_rule_conflicts(rule: Resource, others: Any) -> None:
    for other in others:
        if (other.props["priority"], other.props["direction"]) == (
                rule.props["priority"], rule.props["direction"]):
            raise errors.bad_request(
                "SecurityRuleConflict",
                f"Security rule {rule.name} conflicts with rule {other.name}. Rules cannot have "
                "the same Priority and Direction. To learn more, see aka.ms/nsgrules.")


def _default_rule(nsg_id: str, name: str, priority: int, direction: str, access: str,
                  source: str, destination: str, etag: str) -> JSON:
    return {"name": name, "id": f"{nsg_id}/defaultSecurityRules/{name}", "etag": etag,
            "type": "Microsoft.Network/networkSecurityGroups/defaultSecurityRules",
            "properties": {
                "provisioningState": "Succeeded",
                "description": f"Default rule {name}", "protocol": "*",
                "sourcePortRange": "*", "destinationPortRange": "*",
                "sourceAddressPrefix": source, "destinationAddressPrefix": destination,
                "access": access, "priority": priority, "direction": direction,
                "sourcePortRanges": [], "destinationPortRanges": [],
                "sourceAddressPrefixes": [], "destinationAddressPrefixes": []}}


def _mac(hex12: str) -> str:
    """A MAC in Azure's OUI 00-22-48, printed as ARM prints it."""
    tail = hex12[-6:].upper()
    return "00-22-48-" + "-".join(tail[i:i + 2] for i in range(0, 6, 2))
