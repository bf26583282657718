"""Microsoft.Network network interfaces.

Dynamic private IPs are the lowest free ones of the subnet after Azure's four reserved
addresses; static ones must be free and inside it. Microsoft.Compute attaches and detaches
NICs through :meth:`NicHandlers.attach_nic` and :meth:`NicHandlers.detach_nic`.
"""

from __future__ import annotations

import ipaddress
from typing import Any, ClassVar

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import HttpError, json_response
from . import _errors as errors
from ._base import JSON, Resource
from ._network_common import NIC, NS, NSG, PIP, SUB_NS, VNET
from ._public_ips import PublicIpHandlers
from ._vnets import VnetHandlers


class NicHandlers(VnetHandlers, PublicIpHandlers):
    """Endpoint (and fault) names ``nic_put``, ``nic_get``, ``nic_list``, ``nic_list_all``,
    ``nic_delete``. A NIC refers to subnets, public IPs and NSGs, so with its bases this
    class is all of Microsoft.Network."""

    rules: ClassVar[list[Rule]] = [
        Rule(f"{NS}/networkinterfaces", methods=["GET"], endpoint="nic_list"),
        Rule(f"{NS}/networkinterfaces/<name>", methods=["PUT"], endpoint="nic_put"),
        Rule(f"{NS}/networkinterfaces/<name>", methods=["GET"], endpoint="nic_get"),
        Rule(f"{NS}/networkinterfaces/<name>", methods=["DELETE"], endpoint="nic_delete"),
        Rule(f"{SUB_NS}/networkinterfaces", methods=["GET"], endpoint="nic_list_all"),
    ]

    def render_network(self, res: Resource) -> JSON:
        if res.body["type"] == NIC:
            return self.render_nic(res)
        return super().render_network(res)

    def check_deletable(self, kind: str, res: Resource) -> None:
        if kind == NIC and res.state.get("vm"):
            raise errors.bad_request(
                "NicInUse",
                f"Network Interface {res.id} is used by existing resource {res.state['vm']}. In "
                "order to delete the network interface, it must be dissociated from the "
                "resource. To learn more, see aka.ms/deletenic.")
        super().check_deletable(kind, res)

    def drop(self, kind: str, res: Resource) -> None:
        if kind == NIC:
            self._release_nic(res)
        super().drop(kind, res)

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


def _mac(hex12: str) -> str:
    """A MAC in Azure's OUI 00-22-48, printed as ARM prints it."""
    tail = hex12[-6:].upper()
    return "00-22-48-" + "-".join(tail[i:i + 2] for i in range(0, 6, 2))
