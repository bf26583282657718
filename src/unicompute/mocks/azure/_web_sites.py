"""Microsoft.Web function apps (``sites`` of kind ``functionapp,linux``) and what hangs off one:
app settings, ``config/web``, publishing credentials, host and function keys, the functions the
deployed package defines.

A site PUT is checked completely before anything is stored: a name of 2-60 letters, digits and
hyphens (not at either end), unique in all of Azure (409 ``Conflict``, "Website with given name
... already exists."), an existing ``serverFarmId`` (404 "Cannot find ServerFarm"), and on a
Flex Consumption plan a ``functionAppConfig`` with ``runtime`` and ``deployment.storage``,
none of the app settings Flex refuses (``FUNCTIONS_WORKER_RUNTIME``...), and no other site on
the plan (Flex allows one per plan). ``properties.sku`` is the plan's tier (``FlexConsumption``:
what tools read to pick One Deploy). Secrets (app settings, keys, the publishing password)
are in ``Resource.secrets`` and only returned by the ``list`` POSTs, as ARM does. Deleting a
site drops its empty plan unless ``deleteEmptyServerFarm=false``. ``state["functions"]`` (name
→ trigger bindings) is set by the function host when a package is deployed
(``_function_host``); :attr:`site_listeners` hear every change (deploy, settings, delete) so
the host can restart.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from typing import Any, ClassVar

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import json_response
from . import _errors as errors
from . import _web_errors as web
from ._base import JSON, Resource
from ._groups import RG, SUB
from ._web_plans import PLAN, SITE, PlanHandlers, display_location

SITES = f"{RG}/providers/microsoft.web/sites"
HOST_SUFFIX = "azurewebsites.net"
_SITE_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,58}[A-Za-z0-9])?")
#: App settings a Flex Consumption app may not have (Microsoft.Web refuses the PUT).
FLEX_REFUSED_SETTINGS = ("FUNCTIONS_EXTENSION_VERSION", "FUNCTIONS_WORKER_RUNTIME",
                         "FUNCTIONS_WORKER_RUNTIME_VERSION", "WEBSITE_RUN_FROM_PACKAGE",
                         "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING", "WEBSITE_CONTENTSHARE",
                         "SCM_DO_BUILD_DURING_DEPLOYMENT", "ENABLE_ORYX_BUILD")
FLEX_MEMORY_MB = (512, 2048, 4096)
FLEX_PYTHON = ("3.10", "3.11", "3.12", "3.13")
#: Memory of a Consumption (``Y1``) instance.
CONSUMPTION_MEMORY_MB = 1536


def new_key() -> str:
    """A function key as Azure makes them: 56 URL-safe characters."""
    return secrets.token_urlsafe(42)


class SiteHandlers(PlanHandlers):
    """Endpoint (and fault) names ``site_put``, ``site_patch``, ``site_get``, ``site_list``,
    ``site_list_all``, ``site_delete``, ``site_settings_put``, ``site_settings_list``,
    ``site_config_get``, ``site_config_put``, ``site_publishing_credentials``,
    ``site_host_keys``, ``site_functions``, ``site_function_get``, ``site_function_keys``."""

    rules: ClassVar[list[Rule]] = [
        Rule(SITES, methods=["GET"], endpoint="site_list"),
        Rule(f"{SUB}/providers/microsoft.web/sites", methods=["GET"], endpoint="site_list_all"),
        Rule(f"{SITES}/<name>", methods=["PUT"], endpoint="site_put"),
        Rule(f"{SITES}/<name>", methods=["PATCH"], endpoint="site_patch"),
        Rule(f"{SITES}/<name>", methods=["GET"], endpoint="site_get"),
        Rule(f"{SITES}/<name>", methods=["DELETE"], endpoint="site_delete"),
        Rule(f"{SITES}/<name>/config/<section>", methods=["PUT"], endpoint="site_config_put"),
        Rule(f"{SITES}/<name>/config/<section>", methods=["PATCH"], endpoint="site_config_put"),
        Rule(f"{SITES}/<name>/config/<section>", methods=["GET"], endpoint="site_config_get"),
        Rule(f"{SITES}/<name>/config/<section>/list", methods=["POST"],
             endpoint="site_config_list"),
        Rule(f"{SITES}/<name>/host/<host>/listkeys", methods=["POST"],
             endpoint="site_host_keys"),
        Rule(f"{SITES}/<name>/functions", methods=["GET"], endpoint="site_functions"),
        Rule(f"{SITES}/<name>/functions/<function>", methods=["GET"],
             endpoint="site_function_get"),
        Rule(f"{SITES}/<name>/functions/<function>/listkeys", methods=["POST"],
             endpoint="site_function_keys"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        #: Called with ``(event, site)`` after ``"deleted"`` or ``"settings"`` changes.
        self.site_listeners: list[Callable[[str, Resource], None]] = []

    # -- lookups ------------------------------------------------------------------------------
    def site_by_host(self, host: str) -> Resource | None:
        """The site whose default or SCM host name is ``host`` (any case, port ignored)."""
        name = host.split(":", 1)[0].lower()
        for suffix in (f".scm.{HOST_SUFFIX}", f".{HOST_SUFFIX}"):
            if name.endswith(suffix):
                app = name[:-len(suffix)]
                for site in self.stores[SITE].values():
                    if site.name.lower() == app:
                        return site
        return None

    def _plan_of(self, site: Resource) -> Resource | None:
        return self.stores[PLAN].get(str(site.props.get("serverFarmId", "")))

    def is_flex(self, site: Resource) -> bool:
        plan = self._plan_of(site)
        return plan is not None and plan.body["sku"]["tier"] == "FlexConsumption"

    # -- create / update ------------------------------------------------------------------------
    def site_put(self, request: Request, subscription: str, group: str, name: str) -> Response:
        rg = self.group(subscription, group)
        body = self.json_body(request)
        if not _SITE_NAME.fullmatch(name) or len(name) < 2:
            raise web.bad_request(
                f"The site name '{name}' is invalid. It can contain letters, numbers and "
                "hyphens, 2 to 60 characters, not starting or ending with a hyphen.")
        rid = self.rid(subscription, rg, SITE, name)
        existing = self.stores[SITE].get(rid)
        if existing is None and self.site_by_host(f"{name}.{HOST_SUFFIX}") is not None:
            raise web.conflict(f"Website with given name {name} already exists.",
                               extended_code="54001",
                               template="Website with given name {0} already exists.",
                               parameters=(name,))
        location = self.location_of(body, SITE)
        if existing is not None and existing.state["location"] != location:
            raise errors.location_changed(name, existing.state["location"], location, rg.name)
        tags = self.tags_of(body)
        props = body.get("properties") or {}
        plan = self._plan_for(props, existing)
        site_config = dict(props.get("siteConfig") or {})
        settings = _settings_list(site_config.pop("appSettings", None))
        flex = plan.body["sku"]["tier"] == "FlexConsumption"
        fac = props.get("functionAppConfig")
        if flex:
            fac = fac or (existing.props.get("functionAppConfig") if existing else None)
            _check_flex(fac, settings if settings is not None else {})
            others = [s for s in self.sites_on(plan) if s.id.casefold() != rid.casefold()]
            if others:
                raise web.bad_request(
                    "There is already a site linked to the specified Flex Consumption Plan "
                    f"serverfarm {plan.name}. There can only be one site per Flex Consumption "
                    "serverfarm.")
        res = existing or Resource(id=rid, name=name, group=rg.name, body={})
        if settings is not None or existing is None:
            res.secrets["settings"] = settings or {}
        res.secrets.setdefault("master", new_key())
        res.secrets.setdefault("host_default", new_key())
        res.secrets.setdefault("function_keys", {})
        res.secrets.setdefault("publishing", secrets.token_urlsafe(45))
        res.state["location"] = location
        res.state.setdefault("functions", {})
        config = dict(existing.props.get("siteConfig", {})) if existing else {}
        config.update({k: v for k, v in site_config.items() if v is not None})
        res.body = self._site_body(res, rg, plan, location, kind=str(
            body.get("kind") or "functionapp,linux"), tags=tags, props=props, config=config,
            fac=fac if flex else None)
        self.stores[SITE].put(rid, res)
        self.count_sites(plan)
        old_plan = existing and existing.state.get("plan")
        res.state["plan"] = plan.id
        if old_plan and old_plan != plan.id:
            previous = self.stores[PLAN].get(str(old_plan))
            if previous is not None:
                self.count_sites(previous)
        self._changed("settings", res)
        out = res.body
        op = self.start_op(lambda: None, result=out)
        if op.done:
            return json_response(out, status=200)
        return json_response(out, status=202, headers=self.lro_headers(
            request, "Microsoft.Web", location, op))

    def _plan_for(self, props: JSON, existing: Resource | None) -> Resource:
        farm = props.get("serverFarmId") or (existing.props.get("serverFarmId") if existing
                                             else None)
        if not isinstance(farm, str) or not farm:
            raise web.bad_request("The parameter properties.serverFarmId has an invalid value: "
                                  "a function app needs an App Service plan.")
        plan = self.stores[PLAN].get(farm)
        if plan is None:
            raise web.not_found(f"Cannot find ServerFarm with name {farm.rsplit('/', 1)[-1]}.")
        return plan

    def _site_body(self, res: Resource, rg: Resource, plan: Resource, location: str, *,
                   kind: str, tags: dict[str, str], props: JSON, config: JSON,
                   fac: JSON | None) -> JSON:
        host = f"{res.name.lower()}.{HOST_SUFFIX}"
        scm = f"{res.name.lower()}.scm.{HOST_SUFFIX}"
        old = res.props if res.body else {}
        state = old.get("state", "Running")
        site_config: JSON = {"numberOfWorkers": 1, "alwaysOn": False, "http20Enabled": False,
                             "functionAppScaleLimit": 0 if fac else 200,
                             "minimumElasticInstanceCount": 0, "acrUseManagedIdentityCreds": False,
                             **config}
        out: JSON = {
            "id": res.id, "name": res.name, "type": SITE, "kind": kind,
            "location": display_location(location),
            "properties": {
                "state": state, "hostNames": [host], "repositorySiteName": res.name,
                "usageState": "Normal", "enabled": state == "Running",
                "enabledHostNames": [host, scm], "availabilityState": "Normal",
                "hostNameSslStates": [
                    {"name": host, "sslState": "Disabled", "hostType": "Standard"},
                    {"name": scm, "sslState": "Disabled", "hostType": "Repository"}],
                "serverFarmId": plan.id, "reserved": bool(plan.body["properties"]["reserved"]),
                "sku": plan.body["sku"]["tier"],
                "isXenon": False, "hyperV": False,
                "lastModifiedTimeUtc": self.clock.iso(), "siteConfig": site_config,
                "scmSiteAlsoStopped": False, "clientAffinityEnabled": False,
                "clientCertEnabled": False, "clientCertMode": "Required",
                "hostNamesDisabled": False,
                "customDomainVerificationId": res.secrets.get("verification")
                or self.ids.uuid().replace("-", "").upper(),
                "outboundIpAddresses": "20.0.0.1,20.0.0.2",
                "possibleOutboundIpAddresses": "20.0.0.1,20.0.0.2,20.0.0.3",
                "containerSize": 1536, "dailyMemoryTimeQuota": 0, "resourceGroup": rg.name,
                "defaultHostName": host,
                "httpsOnly": bool(props.get("httpsOnly", old.get("httpsOnly", False))),
                "redundancyMode": "None", "publicNetworkAccess": "Enabled",
                "storageAccountRequired": False, "keyVaultReferenceIdentity": "SystemAssigned",
            },
        }
        if fac:
            out["properties"]["functionAppConfig"] = fac
        if tags:
            out["tags"] = tags
        return out

    def site_patch(self, request: Request, subscription: str, group: str,
                   name: str) -> Response:
        """``web_apps.update``: tags, ``httpsOnly``, ``functionAppConfig``, ``siteConfig``."""
        res = self.find(SITE, subscription, group, name)
        body = self.json_body(request)
        props = body.get("properties") or {}
        if "functionAppConfig" in props and self.is_flex(res):
            fac = _merge(res.props.get("functionAppConfig") or {}, props["functionAppConfig"])
            _check_flex(fac, res.secrets["settings"])
            res.props["functionAppConfig"] = fac
        if "tags" in body:
            tags = self.tags_of(body)
            if tags:
                res.body["tags"] = tags
            else:
                res.body.pop("tags", None)
        if "httpsOnly" in props:
            res.props["httpsOnly"] = bool(props["httpsOnly"])
        site_config = dict(props.get("siteConfig") or {})
        settings = _settings_list(site_config.pop("appSettings", None))
        if settings is not None:
            if self.is_flex(res):
                _check_flex(res.props.get("functionAppConfig"), settings)
            res.secrets["settings"] = settings
        res.props["siteConfig"].update({k: v for k, v in site_config.items() if v is not None})
        res.props["lastModifiedTimeUtc"] = self.clock.iso()
        self._changed("settings", res)
        return json_response(res.body)

    def site_get(self, request: Request, subscription: str, group: str, name: str) -> Response:
        return json_response(self.find(SITE, subscription, group, name).body)

    def site_list(self, request: Request, subscription: str, group: str) -> Response:
        rg = self.group(subscription, group)
        return self.page(request, self.stores[SITE], self.in_group(rg), lambda r: r.body)

    def site_list_all(self, request: Request, subscription: str) -> Response:
        self.check_subscription(subscription)
        return self.page(request, self.stores[SITE], None, lambda r: r.body)

    def site_delete(self, request: Request, subscription: str, group: str,
                    name: str) -> Response:
        rg = self.group(subscription, group)
        res = self.stores[SITE].get(self.rid(subscription, rg, SITE, name))
        if res is None:
            raise errors.resource_not_found(SITE, name, rg.name)
        plan = self._plan_of(res)
        self.drop(SITE, res)
        if plan is not None:
            self.count_sites(plan)
            keep = request.args.get("deleteEmptyServerFarm", "true").lower() == "false"
            if not keep and not self.sites_on(plan):
                self.drop(PLAN, plan)
        return Response(status=200)

    def drop(self, kind: str, res: Resource) -> None:
        super().drop(kind, res)
        if kind == SITE:
            self._changed("deleted", res)

    def _changed(self, event: str, res: Resource) -> None:
        for listener in list(self.site_listeners):
            listener(event, res)

    # -- config ------------------------------------------------------------------------------------
    def _config_doc(self, res: Resource, section: str, properties: JSON) -> JSON:
        return {"id": f"{res.id}/config/{section}", "name": section,
                "type": "Microsoft.Web/sites/config", "properties": properties}

    def site_config_put(self, request: Request, subscription: str, group: str, name: str,
                        section: str) -> Response:
        res = self.find(SITE, subscription, group, name)
        body = self.json_body(request)
        if section.lower() == "appsettings":
            settings = body.get("properties")
            if not isinstance(settings, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in settings.items()):
                raise web.bad_request("The app settings must be an object of string values.")
            if self.is_flex(res):
                _check_flex(res.props.get("functionAppConfig"), settings)
            res.secrets["settings"] = dict(settings)
            self._changed("settings", res)
            return json_response(self._config_doc(res, "appsettings", dict(settings)))
        if section.lower() == "web":
            config = dict(body.get("properties") or {})
            settings = _settings_list(config.pop("appSettings", None))
            if settings is not None:
                res.secrets["settings"] = settings
                self._changed("settings", res)
            res.props["siteConfig"].update({k: v for k, v in config.items() if v is not None})
            return json_response(self._config_doc(res, "web", res.props["siteConfig"]))
        raise errors.invalid_parameter("name", f"The config section '{section}' is not "
                                       "supported by this fake.")

    def site_config_get(self, request: Request, subscription: str, group: str, name: str,
                        section: str) -> Response:
        res = self.find(SITE, subscription, group, name)
        if section.lower() != "web":
            raise web.not_found(f"Cannot find config section '{section}'.")
        return json_response(self._config_doc(res, "web", res.props["siteConfig"]))

    def site_config_list(self, request: Request, subscription: str, group: str, name: str,
                         section: str) -> Response:
        res = self.find(SITE, subscription, group, name)
        if section.lower() == "appsettings":
            return json_response(self._config_doc(res, "appsettings",
                                                  dict(res.secrets["settings"])))
        if section.lower() == "publishingcredentials":
            user = f"${res.name}"
            password = res.secrets["publishing"]
            return json_response({
                "id": f"{res.id}/publishingcredentials/{user}", "name": res.name,
                "type": "Microsoft.Web/sites/publishingcredentials",
                "properties": {
                    "publishingUserName": user, "publishingPassword": password,
                    "scmUri": f"https://{user}:{password}@{res.name.lower()}.scm."
                              f"{HOST_SUFFIX}"}})
        raise web.not_found(f"Cannot find config section '{section}'.")

    # -- keys and functions -------------------------------------------------------------------
    def site_host_keys(self, request: Request, subscription: str, group: str, name: str,
                       host: str) -> Response:
        res = self.find(SITE, subscription, group, name)
        return json_response({"masterKey": res.secrets["master"],
                              "functionKeys": {"default": res.secrets["host_default"]},
                              "systemKeys": {}})

    def function_key(self, res: Resource, function: str) -> str:
        """The ``default`` key of ``function`` (made on first use, as the host does)."""
        keys: dict[str, str] = res.secrets["function_keys"]
        return keys.setdefault(function.lower(), new_key())

    def _function(self, res: Resource, function: str) -> JSON:
        for fn_name, info in res.state["functions"].items():
            if fn_name.lower() == function.lower():
                return self.function_envelope(res, fn_name, info)
        raise web.not_found(f"Error retrieving function '{function}': not found.")

    def function_envelope(self, res: Resource, function: str, info: JSON) -> JSON:
        host = f"https://{res.name.lower()}.{HOST_SUFFIX}"
        scm = f"https://{res.name.lower()}.scm.{HOST_SUFFIX}"
        props: JSON = {
            "function_app_id": res.id,
            "script_root_path_href": f"{scm}/admin/vfs/home/site/wwwroot/",
            "script_href": f"{scm}/admin/vfs/home/site/wwwroot/function_app.py",
            "config_href": None, "test_data_href": None,
            "secrets_file_href": None, "href": f"{scm}/admin/functions/{function}",
            "config": {"name": function, "entryPoint": info.get("entry", function),
                       "scriptFile": "function_app.py", "language": "python",
                       "functionDirectory": "/home/site/wwwroot",
                       "bindings": info["bindings"]},
            "test_data": None, "isDisabled": False, "language": "python",
        }
        route = info.get("route")
        if route is not None:
            props["invoke_url_template"] = f"{host}/{info.get('prefix', 'api')}/{route}".rstrip(
                "/")
        return {"id": f"{res.id}/functions/{function}", "name": f"{res.name}/{function}",
                "type": "Microsoft.Web/sites/functions", "properties": props}

    def site_functions(self, request: Request, subscription: str, group: str,
                       name: str) -> Response:
        res = self.find(SITE, subscription, group, name)
        return json_response({"value": [self.function_envelope(res, fn, info)
                                        for fn, info in res.state["functions"].items()]})

    def site_function_get(self, request: Request, subscription: str, group: str, name: str,
                          function: str) -> Response:
        res = self.find(SITE, subscription, group, name)
        return json_response(self._function(res, function))

    def site_function_keys(self, request: Request, subscription: str, group: str, name: str,
                           function: str) -> Response:
        res = self.find(SITE, subscription, group, name)
        envelope = self._function(res, function)
        fn = envelope["name"].split("/", 1)[1]
        return json_response({"id": f"{res.id}/functions/{fn}/keys", "name": fn,
                              "type": "Microsoft.Web/sites/functions/keys",
                              "properties": {"default": self.function_key(res, fn)}})


def _settings_list(value: Any) -> dict[str, str] | None:
    """``siteConfig.appSettings`` (``[{"name", "value"}]``) as a dict; ``None`` if absent."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(
            isinstance(item, dict) and isinstance(item.get("name"), str) for item in value):
        raise web.bad_request("siteConfig.appSettings must be a list of name/value pairs.")
    return {item["name"]: "" if item.get("value") is None else str(item["value"])
            for item in value}


def _check_flex(fac: Any, settings: dict[str, str]) -> None:
    """What Microsoft.Web requires of a Flex Consumption app."""
    for name in settings:
        if name.upper() in FLEX_REFUSED_SETTINGS:
            raise web.bad_request(
                f"The following app setting (Site.SiteConfig.AppSettings.{name}) for Flex "
                "Consumption sites is invalid. Please remove or rename it before retrying.")
    if not isinstance(fac, dict):
        raise web.bad_request("Site.FunctionAppConfig is required for Flex Consumption sites.")
    runtime = fac.get("runtime") or {}
    if runtime.get("name") != "python" and runtime.get("name") is not None:
        raise web.bad_request(f"Site.FunctionAppConfig.Runtime.Name '{runtime.get('name')}' "
                              "is not supported by this fake (python only).")
    if runtime.get("name") is None or str(runtime.get("version")) not in FLEX_PYTHON:
        raise web.bad_request("Site.FunctionAppConfig.Runtime: name 'python' and a version "
                              f"of {', '.join(FLEX_PYTHON)} are required.")
    storage = ((fac.get("deployment") or {}).get("storage") or {})
    if storage.get("type") != "blobContainer" or not str(storage.get("value", "")).startswith(
            "https://"):
        raise web.bad_request("Site.FunctionAppConfig.Deployment.Storage needs type "
                              "'blobContainer' and the container's URL as value.")
    scale = fac.get("scaleAndConcurrency") or {}
    memory = scale.get("instanceMemoryMB", 2048)
    if memory not in FLEX_MEMORY_MB:
        raise web.bad_request(f"Site.FunctionAppConfig.ScaleAndConcurrency.InstanceMemoryMB "
                              f"{memory} is invalid; allowed values: "
                              f"{', '.join(map(str, FLEX_MEMORY_MB))}.")
    maximum = scale.get("maximumInstanceCount", 100)
    if not isinstance(maximum, int) or not 1 <= maximum <= 1000:
        raise web.bad_request("Site.FunctionAppConfig.ScaleAndConcurrency."
                              "MaximumInstanceCount must be between 1 and 1000.")


def _merge(old: JSON, new: JSON) -> JSON:
    out: JSON = json.loads(json.dumps(old))
    for key, value in new.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        elif value is not None:
            out[key] = value
    return out
