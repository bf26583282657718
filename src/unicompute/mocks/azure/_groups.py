"""Resource groups (``Microsoft.Resources``) and the operation-status endpoints."""

from __future__ import annotations

from typing import ClassVar

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import json_response
from . import _errors as errors
from ._base import JSON, KINDS, ArmBase, Resource
from ._catalog import REGIONS
from ._filters import group_filter
from ._ids import group_id

SUB = "/subscriptions/<subscription>"
RG = f"{SUB}/resourcegroups/<group>"
#: Deleting a group removes its resources in this order (dependents first).
DELETE_ORDER = (
    "Microsoft.Compute/virtualMachines",
    "Microsoft.Network/networkInterfaces",
    "Microsoft.Network/publicIPAddresses",
    "Microsoft.Network/networkSecurityGroups",
    "Microsoft.Network/virtualNetworks",
    "Microsoft.Compute/snapshots",
    "Microsoft.Compute/disks",
    "Microsoft.Compute/sshPublicKeys",
)
assert set(DELETE_ORDER) == set(KINDS)


class GroupHandlers(ArmBase):
    """``/subscriptions/{s}/resourcegroups[/{name}]`` and LRO status URLs."""

    rules: ClassVar[list[Rule]] = [
        Rule(f"{SUB}/locations", methods=["GET"], endpoint="locations_list"),
        Rule(f"{SUB}/resourcegroups", methods=["GET"], endpoint="group_list"),
        Rule(RG, methods=["PUT"], endpoint="group_put"),
        Rule(RG, methods=["GET"], endpoint="group_get"),
        Rule(RG, methods=["DELETE"], endpoint="group_delete"),
        Rule(f"{SUB}/providers/<namespace>/locations/<location>/operations/<op_id>",
             methods=["GET"], endpoint="operation_status"),
        Rule(f"{SUB}/providers/<namespace>/locations/<location>/operationresults/<op_id>",
             methods=["GET"], endpoint="operation_result"),
    ]

    def locations_list(self, request: Request, subscription: str) -> Response:
        """``GET /subscriptions/{s}/locations``: the regions, with zone mappings where the
        region has availability zones."""
        self.check_subscription(subscription)
        value: list[JSON] = []
        for name, (display, group, zoned) in REGIONS.items():
            item: JSON = {
                "id": f"/subscriptions/{subscription}/locations/{name}", "type": "Region",
                "name": name, "displayName": display,
                "regionalDisplayName": f"({group}) {display}",
                "metadata": {"regionType": "Physical", "regionCategory": "Recommended",
                             "geographyGroup": group}}
            if zoned:
                item["availabilityZoneMappings"] = [
                    {"logicalZone": z, "physicalZone": f"{name}-az{z}"} for z in ("1", "2", "3")]
            value.append(item)
        return json_response({"value": value})

    def render_group(self, group: Resource) -> JSON:
        return group.body

    def group_put(self, request: Request, subscription: str, group: str) -> Response:
        self.check_subscription(subscription)
        body = self.json_body(request)
        _check_group_name(group)
        location = self.location_of(body, "Microsoft.Resources/resourceGroups")
        tags = self.tags_of(body)
        existing = self.groups.get(group)
        self.check_preconditions(request, existing)
        if existing is not None:
            if existing.body["location"] != location:
                raise errors.bad_request(
                    "InvalidResourceGroupLocation",
                    f"Invalid resource group location '{body['location']}'. The Resource group "
                    f"already exists in location '{existing.body['location']}'.")
            if tags or "tags" in body:
                existing.body["tags"] = tags
            return json_response(existing.body, status=200)
        res = Resource(id=group_id(subscription, group), name=group, group=group, body={
            "id": group_id(subscription, group), "name": group,
            "type": "Microsoft.Resources/resourceGroups", "location": location,
            "properties": {"provisioningState": "Succeeded"}})
        if tags:
            res.body["tags"] = tags
        if isinstance(body.get("managedBy"), str):
            res.body["managedBy"] = body["managedBy"]
        self.groups.put(group, res)
        return json_response(res.body, status=201)

    def group_get(self, request: Request, subscription: str, group: str) -> Response:
        """GET the group; HEAD (werkzeug routes it here) answers 204 or 404 with no body."""
        if request.method == "HEAD":
            self.check_subscription(subscription)
            return Response(status=204 if group in self.groups else 404)
        return json_response(self.group(subscription, group).body)

    def group_list(self, request: Request, subscription: str) -> Response:
        """``$filter`` by tag name (and value) as ARM accepts it (see :mod:`._filters`)."""
        self.check_subscription(subscription)
        keep = group_filter(request.args.get("$filter"))
        return self.page(request, self.groups, keep, self.render_group)

    def group_delete(self, request: Request, subscription: str, group: str) -> Response:
        rg = self.group(subscription, group)
        rg.props["provisioningState"] = "Deleting"

        def finish() -> None:
            self.delete_group_contents(rg)
            self.groups.pop(rg.name)

        op = self.start_op(finish)
        return self.accepted(request, op, "Microsoft.Resources", str(rg.body["location"]))

    def delete_group_contents(self, rg: Resource) -> None:
        """Remove every resource of ``rg``, dependents first, releasing references to them."""
        match = self.in_group(rg)
        for kind in DELETE_ORDER:
            for res in [r for r in self.stores[kind].values() if match(r)]:
                self.drop(kind, res)

    def drop(self, kind: str, res: Resource) -> None:
        """Remove ``res`` from its store. Mixins extend this (cooperatively, via ``super()``)
        to release what the resource held: IP addresses, disk attachments, back-references."""
        self.stores[kind].pop(res.id)

    def operation_status(self, request: Request, subscription: str, namespace: str,
                         location: str, op_id: str) -> Response:
        return super().operation_status(request, subscription, namespace, location, op_id)

    def operation_result(self, request: Request, subscription: str, namespace: str,
                         location: str, op_id: str) -> Response:
        return super().operation_result(request, subscription, namespace, location, op_id)


def _check_group_name(name: str) -> None:
    """ARM's rule: 1-90 of letters, digits, ``_ ( ) - .``; not ending in a period."""
    ok = 0 < len(name) <= 90 and not name.endswith(".") and all(
        ch.isalnum() or ch in "_()-." for ch in name)
    if not ok:
        raise errors.invalid_parameter(
            "resourceGroupName",
            f"Resource group name '{name}' is invalid. It can contain letters, digits, "
            "underscores, parentheses, hyphens and periods (not at the end), up to 90 "
            "characters.")
