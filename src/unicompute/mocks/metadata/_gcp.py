"""The GCE metadata server for one instance of the Compute Engine fake, read live from it.

Every request needs ``Metadata-Flavor: Google`` (403 otherwise, and with ``X-Forwarded-For``)
and every answer carries it, with an ``ETag``. Paths are kebab-case
(``instance/machine-type``); ``?recursive=true`` answers a directory as JSON with camelCase keys
(user attribute names kept); ``alt=json|text`` picks the format (text lists a directory, its
sub-directories with ``/``); a directory asked without its ``/`` is a 301 to it.
``wait_for_change=true`` waits (polling the store, up to ``timeout_sec`` seconds of real time)
for the value to differ from ``last_etag`` (at once if it already does) or, without
``last_etag``, from the value when the request came.
``instance/service-accounts/<account>/token`` issues an access token the Compute fake accepts
(what google-auth's ``compute_engine.Credentials`` asks for); instances without service
accounts have none (404), as on GCE. ``instance/preempted`` is ``TRUE`` once an interruption
was triggered.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Request, Response

from ._http import MetadataApp, text

_FLAVOR = {"Metadata-Flavor": "Google", "Server": "Metadata Server for VM"}
_ERROR = ("<!DOCTYPE html>\n<html lang=en>\n  <meta charset=utf-8>\n  <title>Error {code} "
          "({reason})!!1</title>\n  <p><b>{code}.</b> <ins>That's an error.</ins>\n  <p>{text}"
          "  <ins>That's all we know.</ins>\n")
#: The longest ``timeout_sec`` a hanging GET waits here (real seconds; tests keep it short).
MAX_WAIT = 30.0


def _error(code: int, reason: str, message: str) -> Response:
    return text(_ERROR.format(code=code, reason=reason, text=message), code, _FLAVOR,
                content_type="text/html; charset=UTF-8")


def _camel(key: str) -> str:
    head, *rest = key.split("-")
    return head + "".join(part.title() for part in rest)


def to_json(node: Any, *, raw_keys: bool = False) -> Any:
    """The recursive JSON form: camelCase keys except under ``attributes``."""
    if isinstance(node, dict):
        return {(k if raw_keys else _camel(k)): to_json(v, raw_keys=k == "attributes")
                for k, v in node.items()}
    if isinstance(node, list):
        return [to_json(v) for v in node]
    return node


def _bool(value: bool) -> str:
    return "TRUE" if value else "FALSE"


class GcpMetadata(MetadataApp):
    """The metadata server of instance ``name`` in ``zone`` of ``project`` in ``compute`` (the
    fake's ``ComputeApp``); ``tokens`` is the fake's set of accepted access tokens;
    ``preempted()`` says whether an interruption was triggered."""

    def __init__(self, compute: Any, project: str, zone: str, name: str, tokens: set[str], *,
                 preempted: Callable[[], bool] = lambda: False) -> None:
        self.compute = compute
        self.project = project
        self.zone = zone
        self.name = name
        self.tokens = tokens
        self.preempted = preempted

    def instance(self) -> Any:
        state = self.compute.projects.get(self.project)
        table = state.instances.get(self.zone) if state is not None else None
        return table.get(self.name) if table is not None else None

    def tree(self, found: Any) -> dict[str, Any]:
        state = self.compute.project(self.project)
        number = state.number
        items = {i["key"]: i.get("value", "") for i in found["metadata"].get("items", [])}
        common = {i["key"]: i.get("value", "") for i in state.common_metadata.get("items", [])}
        scheduling = found.get("scheduling", {})
        accounts: dict[str, Any] = {}
        for account in found.get("serviceAccounts", []):
            email = account["email"]
            if email == "default":
                email = f"{number}-compute@developer.gserviceaccount.com"
            entry = {"aliases": ["default"], "email": email, "scopes": list(account["scopes"])}
            accounts["default"] = entry
            accounts[email] = entry
        nics = []
        for nic in found["networkInterfaces"]:
            entry = {"access-configs": [
                {"external-ip": c.get("natIP", ""), "type": c.get("type", "ONE_TO_ONE_NAT")}
                for c in nic.get("accessConfigs", [])],
                "dns-servers": ["169.254.169.254"], "gateway": "", "ip": nic.get("networkIP", ""),
                "mac": _mac(str(found["id"]), nic.get("name", "nic0")), "mtu": 1460,
                "network": f"projects/{number}/networks/{nic['network'].rsplit('/', 1)[-1]}"}
            nics.append(entry)
        machine = found["machineType"].rsplit("/", 1)[-1]
        preempted = self.preempted()
        return {
            "instance": {
                "attributes": items, "cpu-platform": found.get("cpuPlatform", ""),
                "description": found.get("description", ""),
                "disks": [{"device-name": d.get("deviceName", ""), "index": d.get("index", i),
                           "interface": d.get("interface", "SCSI"), "mode": d.get("mode",
                                                                                  "READ_WRITE"),
                           "type": d.get("type", "PERSISTENT")}
                          for i, d in enumerate(found.get("disks", []))],
                "hostname": found.get("hostname")
                or f"{found['name']}.{self.zone}.c.{self.project}.internal",
                "id": int(found["id"]), "image": self._image(found),
                "machine-type": f"projects/{number}/machineTypes/{machine}",
                "maintenance-event": "NONE", "name": found["name"],
                "network-interfaces": nics, "preempted": _bool(preempted),
                "scheduling": {
                    "automatic-restart": _bool(bool(scheduling.get("automaticRestart", True))),
                    "on-host-maintenance": scheduling.get("onHostMaintenance", "MIGRATE"),
                    "preemptible": _bool(bool(scheduling.get("preemptible", False))),
                    "provisioning-model": scheduling.get("provisioningModel", "STANDARD")},
                "service-accounts": accounts,
                "tags": list(found.get("tags", {}).get("items", [])),
                "zone": f"projects/{number}/zones/{self.zone}"},
            "project": {"attributes": common, "numeric-project-id": int(number),
                        "project-id": self.project},
        }

    def _image(self, found: Any) -> str:
        state = self.compute.project(self.project)
        disks = state.disks.get(self.zone)
        for entry in found.get("disks", []):
            if entry.get("boot"):
                disk = disks.get(entry["source"].rsplit("/", 1)[-1]) if disks else None
                image = (disk or {}).get("sourceImage", "")
                return str(image).split("/compute/v1/", 1)[-1]
        return ""

    # -- WSGI ------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        path = request.path
        if request.headers.get("Metadata-Flavor") != "Google" \
                or "X-Forwarded-For" in request.headers:
            return _error(403, "Forbidden", f"Your client does not have permission to get URL "
                          f"<code>{path}</code> from this server. Missing Metadata-Flavor:Google "
                          "header.")
        if request.method not in ("GET", "HEAD"):
            return _error(405, "Method Not Allowed", "The request method is not allowed.")
        if path == "/":
            return text("computeMetadata/\n", headers=_FLAVOR, content_type="application/text")
        if path.rstrip("/") == "/computeMetadata":
            return text("v1/\n", headers=_FLAVOR, content_type="application/text")
        prefix = "/computeMetadata/v1"
        if not (path == prefix or path.startswith(prefix + "/")):
            return self._not_found(path)
        rest = path[len(prefix):]
        parts = [p for p in rest.split("/") if p]
        if len(parts) == 4 and parts[:2] == ["instance", "service-accounts"] \
                and parts[3] in ("token", "identity"):
            return self._token(request, parts[2], parts[3])
        if request.args.get("wait_for_change", "").lower() != "true":
            return self._read(request, path, parts)
        raw = request.args.get("timeout_sec") or str(MAX_WAIT)
        try:
            wait = min(float(raw), MAX_WAIT)
        except ValueError:
            return _error(400, "Bad Request", f"Invalid value for timeout_sec: {raw}")
        deadline = time.monotonic() + wait
        response = self._read(request, path, parts)
        # Without last_etag, wait for a change from the value as it is now.
        last = request.args.get("last_etag") or response.headers.get("ETag")
        while response.status_code == 200 and response.headers.get("ETag") == last \
                and time.monotonic() < deadline:
            time.sleep(0.005)
            response = self._read(request, path, parts)
        return response

    def _read(self, request: Request, path: str, parts: list[str]) -> Response:
        with self.compute.lock:
            found = self.instance()
            if found is None:
                return self._not_found(path)
            node: Any = self.tree(found)
        for part in parts:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node) \
                    and isinstance(node[int(part)], dict):
                node = node[int(part)]
            else:
                return self._not_found(path)
        recursive = request.args.get("recursive", "").lower() == "true"
        directory = isinstance(node, dict) or (
            isinstance(node, list) and any(isinstance(v, dict) for v in node))
        alt = request.args.get("alt", "json" if recursive and directory else "text")
        if alt not in ("json", "text"):
            return _error(400, "Bad Request", f"Invalid value for alt: {alt}")
        if directory and not recursive and not path.endswith("/"):
            return Response(status=301, headers={**_FLAVOR, "Location": path + "/"})
        if directory and not recursive:
            entries = node.items() if isinstance(node, dict) else enumerate(node)
            listing = "".join(f"{k}/\n" if isinstance(v, (dict, list)) and (
                isinstance(v, dict) or any(isinstance(x, dict) for x in v)) else f"{k}\n"
                for k, v in entries)
            body = json.dumps(listing.split()) if alt == "json" else listing
        elif alt == "json":
            body = json.dumps(to_json(node, raw_keys=parts[-1:] == ["attributes"]))
        elif isinstance(node, list):
            body = "\n".join(str(v) for v in node) + ("\n" if node else "")
        elif isinstance(node, dict):
            body = "\n".join(f"{k} {v}" for k, v in node.items())
        else:
            body = str(node)
        etag = hashlib.sha256(body.encode()).hexdigest()[:16]
        return text(body, headers={**_FLAVOR, "ETag": etag},
                    content_type="application/json" if alt == "json" else "application/text")

    def _token(self, request: Request, account: str, kind: str) -> Response:
        with self.compute.lock:
            found = self.instance()
            accounts = self.tree(found)["instance"]["service-accounts"] if found else {}
        if account not in accounts:
            return self._not_found(request.path)
        if kind == "identity":
            audience = request.args.get("audience")
            if not audience:
                return _error(400, "Bad Request", "non-empty audience parameter required")
            return text(_jwt(accounts[account]["email"], audience), headers=_FLAVOR)
        token = "ya29.c." + secrets.token_urlsafe(48)
        self.tokens.add(token)
        return text(json.dumps({"access_token": token, "expires_in": 3599,
                                "token_type": "Bearer"}),
                    headers=_FLAVOR, content_type="application/json")

    @staticmethod
    def _not_found(path: str) -> Response:
        return _error(404, "Not Found", f"The requested URL <code>{path}</code> was not found "
                      "on this server.")


def _mac(instance_id: str, nic: str) -> str:
    digest = hashlib.sha256(f"{instance_id}/{nic}".encode()).hexdigest()
    return "42:01:" + ":".join(digest[i:i + 2] for i in range(0, 8, 2))


def _jwt(email: str, audience: str) -> str:
    import base64

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return ".".join((part({"alg": "RS256", "typ": "JWT"}),
                     part({"aud": audience, "email": email, "iss": "https://accounts.google.com"}),
                     "c2lnbmF0dXJl"))
