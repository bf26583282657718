"""Microsoft.Network network security groups and their security rules.

An NSG records who uses it (``state["users"]``: subnets and NICs, kept by ``_set_nsg_user``),
shown as its ``subnets`` and ``networkInterfaces`` and refusing its deletion.
"""

from __future__ import annotations

from typing import Any, ClassVar

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import json_response
from . import _errors as errors
from ._base import JSON, Resource
from ._network_common import NAMESPACE, NSG, SUB_NS, NetworkBase, child_rules

_PROTOCOLS = {p.lower(): p for p in ("Tcp", "Udp", "Icmp", "Esp", "Ah", "*")}
_DEFAULT_RULES = (
    ("AllowVnetInBound", 65000, "Inbound", "Allow", "VirtualNetwork", "VirtualNetwork"),
    ("AllowAzureLoadBalancerInBound", 65001, "Inbound", "Allow", "AzureLoadBalancer", "*"),
    ("DenyAllInBound", 65500, "Inbound", "Deny", "*", "*"),
    ("AllowVnetOutBound", 65000, "Outbound", "Allow", "VirtualNetwork", "VirtualNetwork"),
    ("AllowInternetOutBound", 65001, "Outbound", "Allow", "*", "Internet"),
    ("DenyAllOutBound", 65500, "Outbound", "Deny", "*", "*"),
)


class NsgHandlers(NetworkBase):
    """Endpoint (and fault) names ``nsg_put``, ``nsg_get``, ``nsg_list``, ``nsg_list_all``,
    ``nsg_delete`` and ``rule_put``, ``rule_get``, ``rule_list``, ``rule_delete``."""

    rules: ClassVar[list[Rule]] = [
        *child_rules("networksecuritygroups", "nsg", "securityrules", "rule"),
        Rule(f"{SUB_NS}/networksecuritygroups", methods=["GET"], endpoint="nsg_list_all"),
    ]

    def render_network(self, res: Resource) -> JSON:
        if res.body["type"] == NSG:
            return self.render_nsg(res)
        return super().render_network(res)

    def check_deletable(self, kind: str, res: Resource) -> None:
        if kind == NSG and res.state["users"]:
            users = ", ".join(sorted(res.state["users"].values()))
            raise errors.bad_request(
                "InUseNetworkSecurityGroupCannotBeDeleted",
                f"Network security group {res.id} cannot be deleted because it is in use by the "
                f"following resources: {users}. In order to delete the Network security group, "
                "remove the association with the resource(s). To learn how to do this, see "
                "aka.ms/deletensg.")
        super().check_deletable(kind, res)

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
