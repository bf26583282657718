"""The data plane of the fake's function apps, one WSGI app dispatching on the ``Host``:

* ``{app}.scm.azurewebsites.net`` (Kudu): ``POST /api/publish`` (Flex One Deploy) and
  ``POST /api/zipdeploy[?isAsync=true]`` with the zip as body → 202 and ``Location:
  /api/deployments/latest`` (``zipdeploy`` without ``isAsync``: 200 when done);
  ``GET /api/deployments/latest`` and ``/api/deployments/{id}`` → ``{"id", "status"
  (4 success, 3 failed), "status_text", "complete", "end_time", ...}``. Auth: ``Bearer <any
  token>`` (as ARM) or Basic with the publishing credentials; else 401.
* ``{app}.azurewebsites.net`` (the function host): ``/{routePrefix}/{route}`` runs the HTTP
  function whose route (``{param}`` and ``{*rest}`` placeholders) and methods match; auth level
  ``FUNCTION`` wants the function's key, a host function key or the master key in
  ``x-functions-key`` or ``?code=``, ``ADMIN`` the master key, else 401 with no body; a function
  that raises answers 500, one that runs past the 230 s cap (or its timeout) 502 (500).
  ``POST /admin/functions/{fn}`` with the master key and ``{"input": "..."}`` → 202 and runs
  the function in the background (a queue function gets ``input`` as its message, an HTTP one
  as a POST body).
* ``api.applicationinsights.io``: ``GET /v1/apps/{AppId}/query?query=<KQL>`` — the two KQL
  forms AZ-PROV sends (see ``/tmp/briefs/azure-logs.md``), answered from the apps' log lines.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from werkzeug.wrappers import Request, Response

from .._kernel.app import read_body
from ._base import Resource
from ._function_host_apps import HTTP_CAP_S, FunctionApps

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from ._app import ArmApp

INSIGHTS_HOST = "api.applicationinsights.io"
#: The hosts :meth:`AzureFake.routes` sends here.
ROUTES = ("https://*.scm.azurewebsites.net", "https://*.azurewebsites.net",
          f"https://{INSIGHTS_HOST}")
_KQL = re.compile(
    r"traces \| where cloud_RoleName == '(?P<app>[^']*)'"
    r"(?: and timestamp >= datetime\((?P<since>[^)]*)\))?"
    r" \| top (?P<limit>\d+) by timestamp desc \| project timestamp, message")


def _empty(status: int) -> Response:
    return Response(b"", status=status)


class FunctionHost:
    """WSGI app of the SCM sites, the function hosts and the App Insights query API."""

    def __init__(self, arm: ArmApp, apps: FunctionApps) -> None:
        self.arm = arm
        self.apps = apps

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse,
                 ) -> Iterable[bytes]:
        request = Request(environ)
        host = (request.host or "").split(":", 1)[0].lower()
        if host == INSIGHTS_HOST:
            response = self._insights(request)
        else:
            with self.arm.lock:
                site = self.arm.site_by_host(host)
            if site is None:
                response = _empty(404)
            elif ".scm." in host:
                response = self._scm(request, site)
            else:
                response = self._host(request, site)
        return response(environ, start_response)

    # -- Kudu ---------------------------------------------------------------------------------
    def _scm_authorized(self, request: Request, site: Resource) -> bool:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            return bool(value.strip())
        if scheme.lower() == "basic":
            try:
                user, _, password = base64.b64decode(value).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
            return user == f"${site.name}" and password == site.secrets.get("publishing")
        return False

    def _scm(self, request: Request, site: Resource) -> Response:
        if not self._scm_authorized(request, site):
            return Response(b"", status=401, headers={"WWW-Authenticate": 'Basic realm="site"'})
        path = request.path.rstrip("/").lower()
        if request.method == "POST" and path in ("/api/publish", "/api/zipdeploy"):
            return self._deploy(request, site, publish=path == "/api/publish")
        deployments: list[dict[str, Any]] = site.state.setdefault("deployments", [])
        if request.method == "GET" and path == "/api/deployments":
            return _json(list(reversed(deployments)))
        if request.method == "GET" and path.startswith("/api/deployments/"):
            wanted = request.path.rstrip("/").rsplit("/", 1)[1]
            found = deployments[-1] if wanted == "latest" and deployments else next(
                (d for d in deployments if d["id"] == wanted), None)
            return _json(found) if found else _empty(404)
        return _empty(404)

    def _deploy(self, request: Request, site: Resource, *, publish: bool) -> Response:
        package = read_body(request)
        deployment_id = uuid.uuid4().hex
        scm = f"https://{site.name.lower()}.scm.azurewebsites.net"
        started = self.arm.clock.iso()
        record: dict[str, Any] = {
            "id": deployment_id, "status": 1, "status_text": "Building and Deploying",
            "author_email": "N/A", "author": "N/A",
            "deployer": "OneDeploy" if publish else "ZipDeploy",
            "message": "OneDeploy" if publish else "Created via a push deployment",
            "progress": "", "received_time": started, "start_time": started,
            "end_time": None, "last_success_end_time": None, "complete": False,
            "active": False, "is_temp": False, "is_readonly": True,
            "url": f"{scm}/api/deployments/{deployment_id}",
            "log_url": f"{scm}/api/deployments/{deployment_id}/log",
            "site_name": site.name}
        deployments: list[dict[str, Any]] = site.state.setdefault("deployments", [])
        deployments.append(record)
        ok, note = self.apps.deploy(site, package)
        ended = self.arm.clock.iso()
        for old in deployments:
            old["active"] = False
        record.update({"status": 4 if ok else 3, "status_text": "" if ok else note,
                       "progress": note, "end_time": ended, "complete": True, "active": ok})
        if ok:
            record["last_success_end_time"] = ended
        is_async = publish or request.args.get("isAsync", "").lower() == "true"
        if not is_async:
            return _empty(200 if ok else 400)
        return Response(b"", status=202, headers={
            "Location": f"{scm}/api/deployments/latest?deployer="
                        f"{record['deployer']}&time={quote(started)}",
            "Retry-After": "1"})

    # -- the function host ------------------------------------------------------------------------
    def _keys_of(self, request: Request) -> str:
        return request.headers.get("x-functions-key") or request.args.get("code") or ""

    def _host(self, request: Request, site: Resource) -> Response:
        if site.props.get("state") != "Running":
            return Response(b"Error 403 - This web app is stopped.", status=403,
                            content_type="text/html")
        parts = request.path.strip("/").split("/")
        functions: dict[str, Any] = site.state.get("functions", {})
        if len(parts) == 3 and parts[0] == "admin" and parts[1] == "functions":
            return self._admin(request, site, parts[2], functions)
        for name, info in functions.items():
            if info["trigger"] != "httpTrigger":
                continue
            params = _match(info["prefix"], info["route"], request.path)
            if params is None:
                continue
            if info["methods"] and request.method not in info["methods"]:
                continue
            if not self._allowed(request, site, name, info["auth"]):
                return _empty(401)
            return self._run_http(request, site, name, params)
        return _empty(404)

    def _allowed(self, request: Request, site: Resource, function: str, level: str) -> bool:
        if level == "ANONYMOUS":
            return True
        key = self._keys_of(request)
        if not key:
            return False
        master = site.secrets.get("master")
        if level == "ADMIN":
            return key == master
        with self.arm.lock:
            own = self.arm.function_key(site, function)
        return key in (master, site.secrets.get("host_default"), own)

    def _run_http(self, request: Request, site: Resource, function: str,
                  params: dict[str, str]) -> Response:
        body = read_body(request)
        envelope = {"trigger": "http", "request": {
            "method": request.method, "url": request.url,
            "headers": {k: v for k, v in request.headers.items()},
            "params": {k: v for k, v in request.args.items()}, "route_params": params,
            "body_b64": base64.b64encode(body).decode()}}
        result = self.apps.run(site, function, envelope, reason="This function was "
                               "programmatically called via the host APIs.")
        if not result.ok:
            timed_out = result.error_type == "Sandbox.Timedout"
            capped = timed_out and self.apps.timeout_s(site) > HTTP_CAP_S
            return _empty(502 if capped else 500)
        answer = json.loads(result.payload)
        response = Response(base64.b64decode(answer["body_b64"]), status=answer["status"])
        response.headers.remove("Content-Type")
        for name, value in answer["headers"].items():
            response.headers[name] = str(value)
        return response

    def _admin(self, request: Request, site: Resource, function: str,
               functions: dict[str, Any]) -> Response:
        if request.method != "POST":
            return _empty(405)
        if self._keys_of(request) != site.secrets.get("master"):
            return _empty(401)
        name = next((n for n in functions if n.lower() == function.lower()), None)
        if name is None:
            return _empty(404)
        try:
            given = json.loads(read_body(request) or b"{}")
        except ValueError:
            return _empty(400)
        value = given.get("input") if isinstance(given, dict) else None
        text = value if isinstance(value, str) else ("" if value is None else json.dumps(value))
        info = functions[name]
        envelope: dict[str, Any]
        if info["trigger"] == "queueTrigger":
            now = self.arm.clock.iso()
            envelope = {"trigger": "queue", "message": {
                "id": str(uuid.uuid4()), "body_b64": base64.b64encode(text.encode()).decode(),
                "dequeue_count": 1, "insertion_time": now, "expiration_time": None,
                "next_visible_time": None, "pop_receipt": None}}
        elif info["trigger"] == "timerTrigger":
            envelope = {"trigger": "timer", "timer": {"past_due": False}}
        else:
            envelope = {"trigger": "http", "request": {
                "method": "POST", "url": f"https://{request.host}/admin/functions/{name}",
                "headers": {"content-type": "application/json"}, "params": {},
                "route_params": {}, "body_b64": base64.b64encode(text.encode()).decode()}}
        self.apps.run_background(site, name, envelope, reason="This function was "
                                 "programmatically called via the host APIs.")
        return _empty(202)

    # -- Application Insights query API ----------------------------------------------------------
    def _insights(self, request: Request) -> Response:
        parts = request.path.strip("/").split("/")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _json({"error": {"code": "AuthorizationRequiredError", "message":
                                    "Valid authentication was not provided"}}, 401)
        if len(parts) != 4 or parts[:2] != ["v1", "apps"] or parts[3] != "query":
            return _json({"error": {"code": "PathNotFoundError",
                                    "message": "The requested path does not exist"}}, 404)
        with self.arm.lock:
            component = self.arm.component_by_app_id(parts[2])
        if component is None:
            return _json({"error": {"code": "PathNotFoundError", "message":
                                    f"The requested application '{parts[2]}' was not "
                                    "found"}}, 404)
        found = _KQL.fullmatch(request.args.get("query", "").strip())
        if found is None:
            return _json({"error": {"code": "BadArgumentError", "message":
                                    "The request had some invalid properties"}}, 400)
        app_id = str(component.props["AppId"]).lower()
        try:
            since = _instant(found.group("since")) if found.group("since") else None
        except ValueError:
            return _json({"error": {"code": "BadArgumentError", "message":
                                    "The request had some invalid properties"}}, 400)
        lines = [line for line in self.apps.logs(found.group("app"))
                 if line.app_id == app_id and (since is None or _instant(line.time) >= since)]
        rows = [[_kusto_time(line.time), line.message]
                for line in reversed(lines)][:int(found["limit"])]
        return _json({"tables": [{"name": "PrimaryResult", "columns": [
            {"name": "timestamp", "type": "datetime"}, {"name": "message", "type": "string"}],
            "rows": rows}]})


def _instant(text: str) -> datetime:
    """An ISO 8601 time (``Z`` or an offset; naive is UTC) as an aware datetime."""
    when = datetime.fromisoformat(text.strip())
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _kusto_time(text: str) -> str:
    """A time as the query API prints a ``datetime``: seven fraction digits and ``Z``."""
    return _instant(text).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def _match(prefix: str, route: str, path: str) -> dict[str, str] | None:
    """The route parameters if ``path`` is ``/{prefix}/{route}``; ``None`` otherwise."""
    template = [p for p in f"{prefix}/{route}".split("/") if p]
    parts = [p for p in path.split("/") if p]
    params: dict[str, str] = {}
    for index, piece in enumerate(template):
        if piece.startswith("{*") and piece.endswith("}"):
            params[piece[2:-1].split(":")[0]] = "/".join(parts[index:])
            return params
        if index >= len(parts):
            if piece.startswith("{") and piece.endswith("?}"):
                continue
            return None
        if piece.startswith("{") and piece.endswith("}"):
            params[piece[1:-1].rstrip("?").split(":")[0]] = parts[index]
        elif piece.lower() != parts[index].lower():
            return None
    return params if len(parts) == len(template) else None
