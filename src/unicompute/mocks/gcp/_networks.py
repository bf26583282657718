"""VPC networks (``default`` exists in every project, in auto mode), subnetworks, firewalls."""

from __future__ import annotations

import ipaddress
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import HttpError, json_response
from . import _catalog
from ._base import ComputeBase, ProjectState, Subnet, fingerprint
from ._errors import already_exists, in_use, invalid, invalid_field, not_found
from ._links import link, parse_ref
from ._table import Resource
from ._validate import check_name, int_field

_P = "/compute/v1/projects/<project>"

RULES = [
    Rule(f"{_P}/global/networks", methods=["POST"], endpoint="networks_insert"),
    Rule(f"{_P}/global/networks", methods=["GET"], endpoint="networks_list"),
    Rule(f"{_P}/global/networks/<network>", methods=["GET"], endpoint="networks_get"),
    Rule(f"{_P}/global/networks/<network>", methods=["DELETE"], endpoint="networks_delete"),
    Rule(f"{_P}/regions/<region>/subnetworks", methods=["POST"], endpoint="subnetworks_insert"),
    Rule(f"{_P}/regions/<region>/subnetworks", methods=["GET"], endpoint="subnetworks_list"),
    Rule(f"{_P}/regions/<region>/subnetworks/<subnetwork>", methods=["GET"],
         endpoint="subnetworks_get"),
    Rule(f"{_P}/regions/<region>/subnetworks/<subnetwork>", methods=["DELETE"],
         endpoint="subnetworks_delete"),
    Rule(f"{_P}/global/firewalls", methods=["POST"], endpoint="firewalls_insert"),
    Rule(f"{_P}/global/firewalls", methods=["GET"], endpoint="firewalls_list"),
    Rule(f"{_P}/global/firewalls/<firewall>", methods=["GET"], endpoint="firewalls_get"),
    Rule(f"{_P}/global/firewalls/<firewall>", methods=["PATCH"], endpoint="firewalls_patch"),
    Rule(f"{_P}/global/firewalls/<firewall>", methods=["DELETE"], endpoint="firewalls_delete"),
]

_PROTOCOLS = ("tcp", "udp", "icmp", "esp", "ah", "sctp", "ipip", "all")
#: The firewall rules GCE creates with the ``default`` network.
_DEFAULT_RULES: tuple[tuple[str, str, list[dict[str, Any]], list[str], int], ...] = (
    ("default-allow-icmp", "Allow ICMP from anywhere", [{"IPProtocol": "icmp"}],
     ["0.0.0.0/0"], 65534),
    ("default-allow-internal", "Allow internal traffic on the default network",
     [{"IPProtocol": "tcp", "ports": ["0-65535"]}, {"IPProtocol": "udp", "ports": ["0-65535"]},
      {"IPProtocol": "icmp"}], ["10.128.0.0/9"], 65534),
    ("default-allow-rdp", "Allow RDP from anywhere", [{"IPProtocol": "tcp", "ports": ["3389"]}],
     ["0.0.0.0/0"], 65534),
    ("default-allow-ssh", "Allow SSH from anywhere", [{"IPProtocol": "tcp", "ports": ["22"]}],
     ["0.0.0.0/0"], 65534),
)


class NetworksApi(ComputeBase):
    """Handlers for ``networks``, ``subnetworks`` and ``firewalls``."""

    # -- helpers -----------------------------------------------------------------------------
    def create_default_network(self, state: ProjectState) -> None:
        network = self._network(state.name, "default", True, "Default network for the project")
        state.networks.add(network)
        self._auto_subnets(state, network)
        for name, description, allowed, ranges, priority in _DEFAULT_RULES:
            state.firewalls.add(self._firewall(state.name, {
                "name": name, "description": description, "allowed": allowed,
                "sourceRanges": ranges, "priority": priority}, network["selfLink"]))

    def _network(self, project: str, name: str, auto: bool, description: str) -> Resource:
        identifier = self.new_id()
        network: Resource = {
            "kind": "compute#network", "id": identifier, "creationTimestamp": self.now(),
            "name": name, "selfLink": link(f"projects/{project}/global/networks/{name}"),
            "selfLinkWithId": link(f"projects/{project}/global/networks/{identifier}"),
            "autoCreateSubnetworks": auto, "subnetworks": [],
            "routingConfig": {"routingMode": "REGIONAL"},
            "networkFirewallPolicyEnforcementOrder": "AFTER_CLASSIC_FIREWALL", "mtu": 1460,
        }
        if description:
            network["description"] = description
        return network

    def _auto_subnets(self, state: ProjectState, network: Resource) -> None:
        for region, entry in _catalog.regions().items():
            self._add_subnet(state, region, network, network["name"], entry["autoCidr"])

    def _add_subnet(self, state: ProjectState, region: str, network: Resource, name: str,
                    cidr: str) -> Resource:
        project = state.name
        net = ipaddress.IPv4Network(cidr)
        subnet: Resource = {
            "kind": "compute#subnetwork", "id": self.new_id(), "creationTimestamp": self.now(),
            "name": name, "network": network["selfLink"], "ipCidrRange": cidr,
            "gatewayAddress": str(net.network_address + 1),
            "region": link(f"projects/{project}/regions/{region}"),
            "selfLink": link(f"projects/{project}/regions/{region}/subnetworks/{name}"),
            "privateIpGoogleAccess": False, "fingerprint": fingerprint([name, cidr]),
            "purpose": "PRIVATE", "stackType": "IPV4_ONLY",
        }
        state.zone_table(state.subnetworks, region).add(subnet)
        state.addresses[subnet["selfLink"]] = Subnet(net)
        network["subnetworks"].append(subnet["selfLink"])
        return subnet

    def network_or_404(self, project: str, name: str) -> Resource:
        found = self.project(project).networks.get(name)
        if found is None:
            raise not_found(f"projects/{project}/global/networks/{name}")
        return found

    def resolve_network(self, ref: Any, project: str, field: str) -> Resource:
        parsed = parse_ref(ref, project, "networks") if isinstance(ref, str) else None
        if parsed is None:
            raise invalid_field(field, ref, "Must be a URL to a valid Compute resource of the "
                                "correct type.")
        return self.network_or_404(parsed[0], parsed[2])

    def resolve_subnetwork(self, ref: Any, project: str, field: str) -> Resource:
        parsed = parse_ref(ref, project, "subnetworks", "regions") \
            if isinstance(ref, str) else None
        if parsed is None:
            raise invalid_field(field, ref, "Must be a URL to a valid Compute resource of the "
                                "correct type.")
        owner, region, name = parsed
        state = self.project(owner)
        found = state.subnetworks.get(str(region))
        subnet = found.get(name) if found is not None else None
        if subnet is None:
            raise not_found(f"projects/{owner}/regions/{region}/subnetworks/{name}")
        return subnet

    def subnet_in_region(self, project: str, network: Resource, region: str) -> Resource | None:
        state = self.project(project)
        for subnet in state.zone_table(state.subnetworks, region).values():
            if subnet["network"] == network["selfLink"]:
                return subnet
        return None

    # -- networks ----------------------------------------------------------------------------
    def networks_insert(self, request: Request, project: str) -> Response:
        body = self.json_body(request)
        name = check_name(body.get("name"))
        state = self.writable(project, f"global/networks/{name}", "compute.networks.create")
        path = f"projects/{project}/global/networks/{name}"
        if name in state.networks:
            raise already_exists(path)
        if "IPv4Range" in body:
            raise invalid_field("resource.IPv4Range", body["IPv4Range"],
                                "Legacy networks are no longer supported.")
        auto = body.get("autoCreateSubnetworks")
        if auto is None:
            raise invalid_field("resource.autoCreateSubnetworks", "",
                                "Must be specified: legacy networks are no longer supported.")
        network = self._network(project, name, bool(auto), body.get("description", ""))
        if body.get("mtu") is not None:
            mtu = int_field(body["mtu"], "resource.mtu")
            if not 1300 <= mtu <= 8896:
                raise invalid_field("resource.mtu", mtu, "MTU must be between 1300 and 8896.")
            network["mtu"] = mtu
        if body.get("routingConfig", {}).get("routingMode") in ("GLOBAL", "REGIONAL"):
            network["routingConfig"] = {"routingMode": body["routingConfig"]["routingMode"]}
        state.networks.add(network)
        if auto:
            self._auto_subnets(state, network)

        def undo() -> None:
            for sub_link in network["subnetworks"]:
                region, sub_name = sub_link.split("/regions/")[1].split("/subnetworks/")
                state.zone_table(state.subnetworks, region).remove(sub_name)
                state.addresses.pop(sub_link, None)
            state.networks.remove(name)

        return self.start_operation(project, "global", "insert", path, network["id"],
                                    "networks_insert", undo=undo)

    def networks_get(self, request: Request, project: str, network: str) -> Response:
        return json_response(self.network_or_404(project, network))

    def networks_list(self, request: Request, project: str) -> Response:
        return self.list_response(request, kind="compute#networkList",
                                  scope_path=f"projects/{project}/global/networks",
                                  fields="network",
                                  entries=self.project(project).networks.ordered)

    def networks_delete(self, request: Request, project: str, network: str) -> Response:
        found = self.network_or_404(project, network)
        state = self.project(project)
        path = f"projects/{project}/global/networks/{network}"
        for rule in state.firewalls.values():
            if rule["network"] == found["selfLink"]:
                raise in_use("network", path,
                             f"projects/{project}/global/firewalls/{rule['name']}")
        for sub_link in found["subnetworks"]:
            if state.addresses[sub_link].used:
                raise in_use("network", path, sub_link.split("/compute/v1/")[1])
        if not found["autoCreateSubnetworks"] and found["subnetworks"]:
            raise in_use("network", path, found["subnetworks"][0].split("/compute/v1/")[1])

        def finish() -> None:
            for sub_link in found["subnetworks"]:
                region, sub_name = sub_link.split("/regions/")[1].split("/subnetworks/")
                state.zone_table(state.subnetworks, region).remove(sub_name)
                state.addresses.pop(sub_link, None)
            state.networks.remove(network)

        return self.start_operation(project, "global", "delete", path, found["id"],
                                    "networks_delete", finish=finish)

    # -- subnetworks -------------------------------------------------------------------------
    def subnetwork_or_404(self, project: str, region: str, name: str) -> Resource:
        self.check_region(project, region)
        state = self.project(project)
        found = state.zone_table(state.subnetworks, region).get(name)
        if found is None:
            raise not_found(f"projects/{project}/regions/{region}/subnetworks/{name}")
        return found

    def subnetworks_insert(self, request: Request, project: str, region: str) -> Response:
        self.check_region(project, region)
        body = self.json_body(request)
        name = check_name(body.get("name"))
        state = self.writable(project, f"regions/{region}/subnetworks/{name}",
                              "compute.subnetworks.create")
        path = f"projects/{project}/regions/{region}/subnetworks/{name}"
        if name in state.zone_table(state.subnetworks, region):
            raise already_exists(path)
        network = self.resolve_network(body.get("network"), project, "resource.network")
        if network["autoCreateSubnetworks"]:
            raise bad_auto(network)
        cidr = body.get("ipCidrRange")
        try:
            net = ipaddress.IPv4Network(str(cidr))
        except ValueError:
            raise invalid_field("resource.ipCidrRange", cidr or "",
                                "Must be a valid IPv4 CIDR range.") from None
        if net.prefixlen > 29:
            raise invalid_field("resource.ipCidrRange", cidr,
                                "The prefix length must be at most /29.")
        for table in state.subnetworks.values():
            for other in table.values():
                if other["network"] == network["selfLink"] and \
                        net.overlaps(ipaddress.IPv4Network(other["ipCidrRange"])):
                    raise invalid(f"Invalid IPCidrRange: {cidr} conflicts with existing "
                                  f"subnetwork '{other['name']}' in region "
                                  f"'{other['region'].rsplit('/', 1)[-1]}'.")
        subnet = self._add_subnet(state, region, network, name, str(net))
        if body.get("description"):
            subnet["description"] = body["description"]
        if body.get("privateIpGoogleAccess"):
            subnet["privateIpGoogleAccess"] = True

        def undo() -> None:
            state.zone_table(state.subnetworks, region).remove(name)
            state.addresses.pop(subnet["selfLink"], None)
            network["subnetworks"].remove(subnet["selfLink"])

        return self.start_operation(project, f"regions/{region}", "insert", path, subnet["id"],
                                    "subnetworks_insert", undo=undo)

    def subnetworks_get(self, request: Request, project: str, region: str, subnetwork: str,
                        ) -> Response:
        return json_response(self.subnetwork_or_404(project, region, subnetwork))

    def subnetworks_list(self, request: Request, project: str, region: str) -> Response:
        self.check_region(project, region)
        state = self.project(project)
        return self.list_response(
            request, kind="compute#subnetworkList", fields="subnetwork",
            scope_path=f"projects/{project}/regions/{region}/subnetworks",
            entries=state.zone_table(state.subnetworks, region).ordered)

    def subnetworks_delete(self, request: Request, project: str, region: str, subnetwork: str,
                           ) -> Response:
        found = self.subnetwork_or_404(project, region, subnetwork)
        state = self.project(project)
        path = f"projects/{project}/regions/{region}/subnetworks/{subnetwork}"
        network = self.network_or_404(project, found["network"].rsplit("/", 1)[-1])
        if network["autoCreateSubnetworks"]:
            raise bad_auto(network)
        if state.addresses[found["selfLink"]].used:
            raise in_use("subnetwork", path, "an instance")

        def finish() -> None:
            state.zone_table(state.subnetworks, region).remove(subnetwork)
            state.addresses.pop(found["selfLink"], None)
            network["subnetworks"].remove(found["selfLink"])

        return self.start_operation(project, f"regions/{region}", "delete", path, found["id"],
                                    "subnetworks_delete", finish=finish)

    # -- firewalls ---------------------------------------------------------------------------
    def _firewall(self, project: str, body: dict[str, Any], network_link: str) -> Resource:
        name = body["name"]
        rule: Resource = {
            "kind": "compute#firewall", "id": self.new_id(), "creationTimestamp": self.now(),
            "name": name, "description": body.get("description", ""), "network": network_link,
            "priority": 1000, "sourceRanges": [], "direction": "INGRESS",
            "logConfig": {"enable": False}, "disabled": False,
            "selfLink": link(f"projects/{project}/global/firewalls/{name}"),
        }
        self._apply_firewall(rule, body)
        return rule

    def _apply_firewall(self, rule: Resource, body: dict[str, Any]) -> None:
        """Check ``body``'s rule fields and write them into ``rule`` (insert and patch)."""
        for key in ("allowed", "denied"):
            if key not in body:
                continue
            entries = body[key]
            if not isinstance(entries, list):
                raise invalid_field(f"resource.{key}", entries, "Must be a list.")
            for index, entry in enumerate(entries):
                protocol = str(entry.get("IPProtocol", "")).lower()
                if protocol not in _PROTOCOLS and not protocol.isdigit():
                    raise invalid_field(f"resource.{key}[{index}].IPProtocol",
                                        entry.get("IPProtocol", ""),
                                        "Must be one of [tcp, udp, icmp, esp, ah, sctp, ipip, "
                                        "all] or an IP protocol number between 0 and 255.")
                if entry.get("ports") and protocol not in ("tcp", "udp", "sctp", "all"):
                    raise invalid_field(f"resource.{key}[{index}].ports", entry["ports"],
                                        "Ports may only be specified for tcp, udp or sctp.")
                for port in entry.get("ports", []):
                    bounds = str(port).split("-")
                    if len(bounds) > 2 or not all(b.isdigit() and 0 <= int(b) <= 65535
                                                  for b in bounds):
                        raise invalid_field(f"resource.{key}[{index}].ports", port,
                                            "Must be a port or a port range within 0-65535.")
            rule[key] = [dict(entry) for entry in entries]
        if rule.get("allowed") and rule.get("denied"):
            raise invalid("Invalid value for field 'resource': exactly one of 'allowed' or "
                          "'denied' must be specified.")
        if not rule.get("allowed") and not rule.get("denied"):
            raise invalid_field("resource.allowed", "",
                                "Exactly one of 'allowed' or 'denied' must be specified.")
        for key in ("sourceRanges", "destinationRanges"):
            if key in body:
                for cidr in body[key]:
                    try:
                        ipaddress.ip_network(cidr, strict=False)
                    except ValueError:
                        raise invalid_field(f"resource.{key}", cidr,
                                            "Must be a valid CIDR range.") from None
                rule[key] = list(body[key])
        for key in ("sourceTags", "targetTags"):
            if key in body:
                for tag in body[key]:
                    check_name(tag, f"resource.{key}")
                rule[key] = list(body[key])
        for key in ("sourceServiceAccounts", "targetServiceAccounts"):
            if key in body:
                rule[key] = list(body[key])
        if "priority" in body:
            priority = int_field(body["priority"], "resource.priority")
            if not 0 <= priority <= 65535:
                raise invalid_field("resource.priority", priority,
                                    "Must be between 0 and 65535.")
            rule["priority"] = priority
        if "direction" in body:
            if body["direction"] not in ("INGRESS", "EGRESS"):
                raise invalid_field("resource.direction", body["direction"],
                                    "Must be INGRESS or EGRESS.")
            rule["direction"] = body["direction"]
        for key in ("description", "disabled"):
            if key in body:
                rule[key] = body[key]
        if "logConfig" in body:
            rule["logConfig"] = {"enable": bool(body["logConfig"].get("enable"))}
        if rule["direction"] == "INGRESS" and not (rule.get("sourceRanges") or
                                                   rule.get("sourceTags") or
                                                   rule.get("sourceServiceAccounts")):
            rule["sourceRanges"] = ["0.0.0.0/0"]
        if rule["direction"] == "EGRESS" and not rule.get("destinationRanges"):
            rule["destinationRanges"] = ["0.0.0.0/0"]
        if not rule.get("sourceRanges"):
            rule.pop("sourceRanges", None)

    def firewall_or_404(self, project: str, name: str) -> Resource:
        found = self.project(project).firewalls.get(name)
        if found is None:
            raise not_found(f"projects/{project}/global/firewalls/{name}")
        return found

    def firewalls_insert(self, request: Request, project: str) -> Response:
        body = self.json_body(request)
        name = check_name(body.get("name"))
        state = self.writable(project, f"global/firewalls/{name}", "compute.firewalls.create")
        path = f"projects/{project}/global/firewalls/{name}"
        if name in state.firewalls:
            raise already_exists(path)
        network_ref = body.get("network") or "global/networks/default"
        network = self.resolve_network(network_ref, project, "resource.network")
        rule = self._firewall(project, body, network["selfLink"])
        state.firewalls.add(rule)

        def undo() -> None:
            state.firewalls.remove(name)

        return self.start_operation(project, "global", "insert", path, rule["id"],
                                    "firewalls_insert", undo=undo)

    def firewalls_get(self, request: Request, project: str, firewall: str) -> Response:
        return json_response(self.firewall_or_404(project, firewall))

    def firewalls_list(self, request: Request, project: str) -> Response:
        return self.list_response(request, kind="compute#firewallList",
                                  scope_path=f"projects/{project}/global/firewalls",
                                  fields="firewall",
                                  entries=self.project(project).firewalls.ordered)

    def firewalls_patch(self, request: Request, project: str, firewall: str) -> Response:
        found = self.firewall_or_404(project, firewall)
        body = self.json_body(request)
        if "name" in body and body["name"] != firewall:
            raise invalid_field("resource.name", body["name"],
                                "The name of a firewall rule cannot be changed.")
        if "network" in body and body["network"] and \
                self.resolve_network(body["network"], project, "resource.network")[
                    "selfLink"] != found["network"]:
            raise invalid_field("resource.network", body["network"],
                                "The network of a firewall rule cannot be changed.")
        updated = dict(found)
        if "allowed" in body:
            updated.pop("denied", None)
        if "denied" in body:
            updated.pop("allowed", None)
        if "sourceRanges" in body or "sourceTags" in body:
            updated.pop("sourceRanges", None)
        self._apply_firewall(updated, body)
        found.clear()
        found.update(updated)
        path = f"projects/{project}/global/firewalls/{firewall}"
        return self.start_operation(project, "global", "patch", path, found["id"],
                                    "firewalls_patch")

    def firewalls_delete(self, request: Request, project: str, firewall: str) -> Response:
        found = self.firewall_or_404(project, firewall)
        state = self.project(project)
        path = f"projects/{project}/global/firewalls/{firewall}"

        def finish() -> None:
            state.firewalls.remove(firewall)

        return self.start_operation(project, "global", "delete", path, found["id"],
                                    "firewalls_delete", finish=finish)


def bad_auto(network: Resource) -> HttpError:
    return invalid(f"Invalid resource usage: 'Subnetworks cannot be added to or removed from "
                   f"auto mode network '{network['name']}'.'")
