"""Azure IMDS for one VM of the ARM fake, read live from its store.

Every request needs ``Metadata: true`` and no ``X-Forwarded-For`` (400 otherwise) and, except
``/metadata/versions``, an ``api-version`` the endpoint knows (400 with ``newest-versions``
otherwise). ``/metadata/instance`` (and any sub-path) answers JSON by default; ``format=text``
is for leaves only (400 on a directory), a leaf in JSON is a JSON value. The body follows the
documented 2021-02-01+ shape: ``compute`` (``resourceId``, ``vmId``, ``vmSize``, ``zone``,
``tags``/``tagsList``, ``userData`` base64 — ``customData`` is always empty in IMDS, as Azure
has it — ...) and ``network.interface[*].ipv4``. ``/metadata/scheduledevents`` lists a
``Preempt`` event while an interruption is due (POST acknowledges it);
``/metadata/identity/oauth2/token`` issues a bearer token (what azure-identity's
``ManagedIdentityCredential`` asks for) for one of the VM's managed identities, as ARM shows
them in the VM's ``identity``: ``client_id``, ``object_id`` (principal id) or ``msi_res_id``
(a user-assigned identity's resource id) chooses one; without them the system-assigned
identity, else the only user-assigned one. A VM without a (matching) identity gets IMDS's 400
``invalid_request`` ``Identity not found``; several user-assigned ones and no choice its 400
``Multiple user assigned identities exist, ...``. More than one of the three parameters is
refused with 400 ``invalid_request`` too (the wording is the fake's).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Callable
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from .._kernel.clock import FakeClock
from ._http import MetadataApp, as_json, text

#: api-versions of ``/metadata/instance`` (newest last).
INSTANCE_VERSIONS = (
    "2017-03-01", "2017-04-02", "2017-08-01", "2017-10-01", "2017-12-01", "2018-02-01",
    "2018-04-02", "2018-10-01", "2019-02-01", "2019-03-11", "2019-04-30", "2019-06-01",
    "2019-06-04", "2019-08-01", "2019-08-15", "2019-11-01", "2020-06-01", "2020-07-15",
    "2020-09-01", "2020-10-01", "2020-12-01", "2021-01-01", "2021-02-01", "2021-03-01",
    "2021-05-01", "2021-08-01", "2021-10-01", "2021-11-01", "2021-11-15", "2021-12-13",
    "2022-02-01", "2022-03-01", "2022-05-01", "2022-07-01", "2022-08-01", "2022-09-01",
    "2022-11-01", "2023-07-01", "2023-11-15")
EVENT_VERSIONS = ("2017-03-01", "2017-08-01", "2017-11-01", "2019-01-01", "2019-08-01",
                  "2020-07-01")
TOKEN_VERSIONS = ("2018-02-01", "2019-08-01")
_AKA = " For more information refer to aka.ms/azureimds"


def _bad(message: str, versions: tuple[str, ...] | None = None) -> Response:
    body: dict[str, Any] = {"error": f"Bad request. {message}"}
    if versions is not None:
        body["newest-versions"] = list(reversed(versions[-3:]))
    return as_json(body, 400)


def _invalid(description: str) -> Response:
    return as_json({"error": "invalid_request", "error_description": description}, 400)


_SELECTORS = ("client_id", "object_id", "msi_res_id")


def _choose_identity(identity: dict[str, Any] | None, args: Any) -> str | Response:
    """The client id of the identity a token request selects in the VM's ARM ``identity``
    (``None``: the VM has none), or IMDS's 400."""
    from ..azure._vms import system_client_id

    identity = identity or {}
    # (client id, principal id, resource id or "" for the system-assigned identity)
    known: list[tuple[str, str, str]] = []
    if identity.get("principalId"):
        principal = str(identity["principalId"])
        known.append((system_client_id(principal), principal, ""))
    users = identity.get("userAssignedIdentities") or {}
    known.extend((str(ids["clientId"]), str(ids["principalId"]), str(rid))
                 for rid, ids in users.items())
    given = [(index, str(args[name])) for index, name in enumerate(_SELECTORS)
             if args.get(name)]
    if len(given) > 1:
        return _invalid("Only one of client_id, object_id and msi_res_id may be specified.")
    if given:
        [(index, wanted)] = given
        matches = [entry for entry in known
                   if entry[index] and entry[index].casefold() == wanted.casefold()]
    elif known and not known[0][2]:
        matches = known[:1]
    elif len(known) > 1:
        return _invalid("Multiple user assigned identities exist, please specify the clientId "
                        "/ resourceId of the identity in the token request")
    else:
        matches = known
    if not matches:
        return _invalid("Identity not found")
    return matches[0][0]


def http_date(when: datetime) -> str:
    return format_datetime(when, usegmt=True)


class AzureImds(MetadataApp):
    """IMDS of the VM with ARM id ``resource_id`` in ``arm`` (the fake's ``ArmApp``);
    ``interruption()`` gives the pending ``Preempt`` event or ``None``."""

    def __init__(self, arm: Any, resource_id: str, clock: FakeClock, *,
                 interruption: Callable[[], dict[str, Any] | None] = lambda: None) -> None:
        self.arm = arm
        self.resource_id = resource_id
        self.clock = clock
        self.interruption = interruption
        self.incarnation = 1
        self._document: list[dict[str, Any]] = []
        self._acknowledged: set[str] = set()
        self._lock = threading.Lock()

    # -- reading the store -----------------------------------------------------------------
    def vm(self) -> Any:
        from ..azure._disks import VM

        with self.arm.lock:
            return self.arm.lookup(VM, self.resource_id)

    def instance(self, vm: Any, version: str) -> dict[str, Any]:
        from ..azure._network_common import NIC, PIP

        props = vm.props
        storage = props.get("storageProfile", {})
        image = storage.get("imageReference") or {}
        os_disk = storage.get("osDisk", {})
        os_profile = props.get("osProfile") or {}
        linux = os_profile.get("linuxConfiguration") or {}
        tags: dict[str, str] = vm.body.get("tags") or {}
        zones = vm.body.get("zones") or []
        rid = vm.id
        compute: dict[str, Any] = {
            "azEnvironment": "AzurePublicCloud", "customData": "",
            "evictionPolicy": props.get("evictionPolicy", ""),
            "isHostCompatibilityLayerVm": "false", "licenseType": props.get("licenseType", ""),
            "location": vm.body["location"], "name": vm.name, "offer": image.get("offer", ""),
            "osProfile": {"adminUsername": os_profile.get("adminUsername", ""),
                          "computerName": os_profile.get("computerName", ""),
                          "disablePasswordAuthentication": str(
                              bool(linux.get("disablePasswordAuthentication"))).lower()},
            "osType": os_disk.get("osType", "Linux"), "placementGroupId": "",
            "plan": {"name": "", "product": "", "publisher": ""},
            "platformFaultDomain": "0", "platformUpdateDomain": "0",
            "priority": props.get("priority", ""), "provider": "Microsoft.Compute",
            "publicKeys": [{"keyData": k.get("keyData", ""), "path": k.get("path", "")}
                           for k in (linux.get("ssh") or {}).get("publicKeys", [])],
            "publisher": image.get("publisher", ""),
            "resourceGroupName": vm.group, "resourceId": rid,
            "securityProfile": {"secureBootEnabled": "false", "virtualTpmEnabled": "false"},
            "sku": image.get("sku", ""),
            "storageProfile": {
                "dataDisks": [{"caching": d.get("caching", "None"), "createOption":
                               d.get("createOption", ""), "diskSizeGB": str(d.get("diskSizeGB")),
                               "lun": str(d.get("lun")), "managedDisk": {
                                   "id": d["managedDisk"]["id"], "storageAccountType":
                                   d["managedDisk"]["storageAccountType"]}, "name": d["name"]}
                              for d in storage.get("dataDisks", [])],
                "imageReference": {"id": "", "offer": image.get("offer", ""),
                                   "publisher": image.get("publisher", ""),
                                   "sku": image.get("sku", ""),
                                   "version": image.get("exactVersion", image.get("version", ""))},
                "osDisk": {"caching": os_disk.get("caching", ""),
                           "createOption": os_disk.get("createOption", ""),
                           "diskSizeGB": str(os_disk.get("diskSizeGB", "")),
                           "managedDisk": dict(os_disk.get("managedDisk", {})),
                           "name": os_disk.get("name", ""), "osType": os_disk.get("osType", "")},
                "resourceDisk": {"size": "0"}},
            "subscriptionId": rid.split("/")[2],
            "tags": ";".join(f"{k}:{v}" for k, v in tags.items()),
            "tagsList": [{"name": k, "value": v} for k, v in tags.items()],
            "userData": vm.secrets.get("userData", ""),
            "version": image.get("exactVersion", ""), "vmId": vm.state["vm_id"],
            "vmScaleSetName": "", "vmSize": props["hardwareProfile"]["vmSize"],
            "zone": zones[0] if zones else "",
        }
        if version < "2021-01-01":
            compute.pop("userData")
        if version < "2019-06-04":
            compute.pop("tagsList")
        interfaces = []
        for ref in props.get("networkProfile", {}).get("networkInterfaces", []):
            nic = self.arm.lookup(NIC, ref["id"])
            if nic is None:
                continue
            addresses, subnets = [], []
            for config in nic.props.get("ipConfigurations", []):
                cprops = config["properties"]
                public = ""
                pip_ref = cprops.get("publicIPAddress")
                pip = self.arm.lookup(PIP, pip_ref["id"]) if pip_ref else None
                if pip is not None:
                    public = pip.props.get("ipAddress", "")
                addresses.append({"privateIpAddress": cprops["privateIPAddress"],
                                  "publicIpAddress": public})
                held = nic.state.get("ips", {}).get(str(config["name"]).casefold())
                prefix = held[0].props.get("addressPrefix", "") if held else ""
                if prefix and "/" in prefix:
                    address, _, bits = prefix.partition("/")
                    subnets.append({"address": address, "prefix": bits})
            interfaces.append({"ipv4": {"ipAddress": addresses, "subnet": subnets},
                               "ipv6": {"ipAddress": []},
                               "macAddress": str(nic.state.get("mac", "")).replace("-", "")})
        return {"compute": compute, "network": {"interface": interfaces}}

    # -- WSGI ------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        if request.headers.get("Metadata", "").lower() != "true":
            return _bad("Required metadata header not specified")
        if "X-Forwarded-For" in request.headers:
            return _bad("Request contains X-Forwarded-For header.")
        path = request.path.rstrip("/")
        if path == "/metadata/versions":
            return as_json({"apiVersions": list(INSTANCE_VERSIONS)})
        if path == "/metadata/instance" or path.startswith("/metadata/instance/"):
            return self._instance(request, path)
        if path == "/metadata/scheduledevents":
            return self._events(request)
        if path == "/metadata/identity/oauth2/token":
            return self._token(request)
        return as_json({"error": "Not found"}, 404)

    @staticmethod
    def _version(request: Request, known: tuple[str, ...]) -> Response | str:
        version = request.args.get("api-version")
        if not version:
            return _bad("api-version was not specified in the request." + _AKA, known)
        if version not in known:
            return _bad("api-version is invalid or was not specified in the request." + _AKA,
                        known)
        return version

    def _instance(self, request: Request, path: str) -> Response:
        if request.method != "GET":
            return as_json({"error": "Method not allowed"}, 405)
        version = self._version(request, INSTANCE_VERSIONS)
        if isinstance(version, Response):
            return version
        fmt = request.args.get("format", "json")
        if fmt not in ("json", "text"):
            return _bad(f"Query parameter 'format' has an invalid value: {fmt}.")
        vm = self.vm()
        if vm is None:
            return as_json({"error": "Not found"}, 404)
        with self.arm.lock:
            node: Any = self.instance(vm, version)
        for part in [p for p in path[len("/metadata/instance"):].split("/") if p]:
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                return as_json({"error": "Not found"}, 404)
        if fmt == "text":
            if isinstance(node, (dict, list)):
                return _bad("Query parameter 'format=text' is only valid for leaf nodes.")
            return text(str(node))
        return as_json(node)

    def _events(self, request: Request) -> Response:
        version = self._version(request, EVENT_VERSIONS)
        if isinstance(version, Response):
            return version
        if request.method == "POST":
            try:
                body = json.loads(request.get_data() or b"{}")
                starts = [str(item["EventId"]) for item in body.get("StartRequests", [])]
            except (ValueError, TypeError, KeyError, AttributeError):
                return _bad("The request body is not a valid StartRequests document.")
            with self._lock:
                self._acknowledged.update(starts)
            return Response(status=200)
        if request.method != "GET":
            return as_json({"error": "Method not allowed"}, 405)
        events = []
        event = self.interruption()
        with self._lock:
            if event is not None:
                event = dict(event)
                if event["EventId"] in self._acknowledged:
                    event["EventStatus"] = "Started"
                events.append(event)
            # The incarnation counts changes of the document: it only grows.
            if events != self._document:
                self._document = events
                self.incarnation += 1
            return as_json({"DocumentIncarnation": self.incarnation, "Events": events})

    def _token(self, request: Request) -> Response:
        version = self._version(request, TOKEN_VERSIONS)
        if isinstance(version, Response):
            return version
        resource = request.args.get("resource")
        if not resource:
            return as_json({"error": "invalid_request",
                            "error_description": "Required audience parameter not specified"},
                           400)
        vm = self.vm()
        chosen = _choose_identity(vm.body.get("identity") if vm is not None else None,
                                  request.args)
        if isinstance(chosen, Response):
            return chosen
        now = int(self.clock.now().timestamp())
        return as_json({
            "access_token": "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.imds."
            + secrets.token_urlsafe(24),
            "client_id": chosen, "expires_in": "86399",
            "expires_on": str(now + 86399), "ext_expires_in": "86399",
            "not_before": str(now), "resource": resource, "token_type": "Bearer"})
