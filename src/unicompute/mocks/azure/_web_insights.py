"""Where function apps log: Log Analytics workspaces (``Microsoft.OperationalInsights/
workspaces``) and Application Insights components (``Microsoft.Insights/components``), as the
generic ARM resources client (``resources.*_by_id``) creates, reads and deletes them.

A component's ``properties`` carry ``AppId``, ``InstrumentationKey`` and ``ConnectionString``;
an app whose ``APPLICATIONINSIGHTS_CONNECTION_STRING`` names the component's ``ApplicationId``
sends its log lines there, and ``GET https://api.applicationinsights.io/v1/apps/{AppId}/query``
(served by ``_function_host``) reads them back.
"""

from __future__ import annotations

from typing import Any, ClassVar

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import Store, json_response
from .._kernel.store import casefold
from ._base import JSON, Resource
from ._groups import RG
from ._web_sites import SiteHandlers

WORKSPACE = "Microsoft.OperationalInsights/workspaces"
COMPONENT = "Microsoft.Insights/components"
_PATHS = {WORKSPACE: f"{RG}/providers/microsoft.operationalinsights/workspaces",
          COMPONENT: f"{RG}/providers/microsoft.insights/components"}


class InsightsHandlers(SiteHandlers):
    """Endpoint (and fault) names ``workspace_put``/``_get``/``_delete``,
    ``component_put``/``_get``/``_delete``."""

    rules: ClassVar[list[Rule]] = [
        Rule(f"{_PATHS[kind]}/<name>", methods=[method], endpoint=f"{prefix}_{verb}")
        for kind, prefix in ((WORKSPACE, "workspace"), (COMPONENT, "component"))
        for method, verb in (("PUT", "put"), ("GET", "get"), ("DELETE", "delete"))
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.stores.setdefault(WORKSPACE, Store(casefold))
        self.stores.setdefault(COMPONENT, Store(casefold))

    def _put(self, kind: str, request: Request, subscription: str, group: str, name: str,
             properties: JSON) -> Response:
        rg = self.group(subscription, group)
        body = self.json_body(request)
        rid = self.rid(subscription, rg, kind, name)
        existing = self.stores[kind].get(rid)
        location = self.location_of(body, kind)
        self.check_location(existing, location)
        tags = self.tags_of(body)
        given = body.get("properties") or {}
        props = dict(existing.props) if existing else {}
        props.update(given)
        props.update(properties if existing is None else {})
        props["provisioningState"] = "Succeeded"
        out: JSON = {"id": rid, "name": name, "type": kind, "location": location,
                     "properties": props}
        if body.get("kind"):
            out["kind"] = body["kind"]
        if tags:
            out["tags"] = tags
        res = existing or Resource(id=rid, name=name, group=rg.name, body={})
        res.body = out
        self.stores[kind].put(rid, res)
        return json_response(out, status=200 if existing else 201)

    def workspace_put(self, request: Request, subscription: str, group: str,
                      name: str) -> Response:
        return self._put(WORKSPACE, request, subscription, group, name, {
            "customerId": self.ids.uuid(), "createdDate": self.clock.iso()})

    def component_put(self, request: Request, subscription: str, group: str,
                      name: str) -> Response:
        app_id, key = self.ids.uuid(), self.ids.uuid()
        location = str(self.json_body(request).get("location") or "").replace(" ", "")
        return self._put(COMPONENT, request, subscription, group, name, {
            "AppId": app_id, "ApplicationId": name, "InstrumentationKey": key,
            "ConnectionString": f"InstrumentationKey={key};IngestionEndpoint=https://"
                                f"{location.lower()}-0.in.applicationinsights.azure.com/;"
                                f"ApplicationId={app_id}",
            "CreationDate": self.clock.iso(), "TenantId": subscription})

    def workspace_get(self, request: Request, subscription: str, group: str,
                      name: str) -> Response:
        return json_response(self.find(WORKSPACE, subscription, group, name).body)

    def component_get(self, request: Request, subscription: str, group: str,
                      name: str) -> Response:
        return json_response(self.find(COMPONENT, subscription, group, name).body)

    def _delete(self, kind: str, subscription: str, group: str, name: str) -> Response:
        rg = self.group(subscription, group)
        res = self.stores[kind].get(self.rid(subscription, rg, kind, name))
        if res is None:
            return Response(status=204)
        self.drop(kind, res)
        return Response(status=200)

    def workspace_delete(self, request: Request, subscription: str, group: str,
                         name: str) -> Response:
        return self._delete(WORKSPACE, subscription, group, name)

    def component_delete(self, request: Request, subscription: str, group: str,
                         name: str) -> Response:
        return self._delete(COMPONENT, subscription, group, name)

    def component_by_app_id(self, app_id: str) -> Resource | None:
        for res in self.stores[COMPONENT].values():
            if str(res.props.get("AppId", "")).lower() == app_id.lower():
                return res
        return None

    def delete_group_contents(self, rg: Resource) -> None:
        match = self.in_group(rg)
        super().delete_group_contents(rg)
        for kind in (COMPONENT, WORKSPACE):
            for res in [r for r in self.stores[kind].values() if match(r)]:
                self.drop(kind, res)
