"""Shared parts of the Microsoft.Network handlers (``_vnets``, ``_public_ips``, ``_nics``,
``_nsgs``): type names, route prefixes, and the base mixin's envelope, PUT and DELETE flow.

Subnets live in their VNet's ``state["subnets"]`` and rules in their NSG's ``state["rules"]``
(name, case-folded → :class:`Resource`), as children do in ARM. Every change gives the resource
a new weak etag. Each top-level type also lists per subscription (``vnet_list_all``,
``nsg_list_all``, ``public_ip_list_all``, ``nic_list_all``): the same items as the per-group list,
of every group, paged the same way. Each type's mixin extends ``render_network``,
``check_deletable`` and ``drop`` for its own type (cooperatively, via ``super()``).
"""

from __future__ import annotations

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from ._base import JSON, Resource
from ._groups import RG, SUB, GroupHandlers

NS = f"{RG}/providers/microsoft.network"
#: Subscription-wide collections (``…/providers/Microsoft.Network/{type}`` with no group).
SUB_NS = f"{SUB}/providers/microsoft.network"
VNET = "Microsoft.Network/virtualNetworks"
PIP = "Microsoft.Network/publicIPAddresses"
NIC = "Microsoft.Network/networkInterfaces"
NSG = "Microsoft.Network/networkSecurityGroups"
NAMESPACE = "Microsoft.Network"


def child_rules(path: str, name: str, collection: str, child: str) -> list[Rule]:
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


class NetworkBase(GroupHandlers):
    """What every Microsoft.Network mixin shares; no endpoints of its own."""

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
        """The body ARM shows for ``res``; mixins whose type adds children extend this."""
        return res.body

    def check_deletable(self, kind: str, res: Resource) -> None:
        """Raise what Microsoft.Network answers when ``res`` is still in use; each type's
        mixin checks its own type."""
