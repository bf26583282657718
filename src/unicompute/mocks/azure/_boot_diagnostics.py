"""Boot diagnostics: ``POST .../virtualMachines/{vm}/retrieveBootDiagnosticsData`` and the
read-only SAS blob URLs it answers, with the VM's serial console log.

The VM must have ``diagnosticsProfile.bootDiagnostics.enabled`` (409 ``OperationNotAllowed``
otherwise). The URLs are managed boot-diagnostics blobs
(``https://md-{id}.z{nn}.blob.storage.azure.net/{container}/{vm}.{vmId}.serialconsole.log?{sas}``);
``sasUriExpirationTimeInMinutes`` (1-1440, default 120) bounds them on the fake's clock, after
which the blob answers 403 ``AuthenticationFailed``, as Storage does. :class:`BootBlobs` serves
them (the Azure fake routes ``BOOT_BLOB_HOSTS`` to it, in-process and served). The console text
comes from :attr:`BootDiagnosticsHandlers.consoles` (a plain boot log unless the metadata plane
recorded the VM's boot and user-data output there).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlencode

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import json_response
from ..metadata._console import ConsoleLog, console_of
from . import _errors as errors
from ._base import ArmBase
from ._disks import VM

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

#: The managed-storage blob hosts boot diagnostics link to.
BOOT_BLOB_DOMAIN = ".blob.storage.azure.net"
BOOT_BLOB_HOSTS = f"https://md-*{BOOT_BLOB_DOMAIN}"


_VMS = ("/subscriptions/<subscription>/resourcegroups/<group>/providers/microsoft.compute/"
        "virtualmachines")
#: A 1x1 24-bit BMP: what the console screenshot of a headless Linux VM amounts to here.
_BMP = (b"BM:\x00\x00\x00\x00\x00\x00\x006\x00\x00\x00(\x00\x00\x00\x01\x00\x00\x00\x01\x00"
        b"\x00\x00\x01\x00\x18\x00\x00\x00\x00\x00\x04\x00\x00\x00\x13\x0b\x00\x00\x13\x0b\x00"
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")


class BootDiagnosticsHandlers(ArmBase):
    """Endpoint (and fault) name: ``vm_retrieve_boot_diagnostics``."""

    rules: ClassVar[list[Rule]] = [
        Rule(f"{_VMS}/<name>/retrievebootdiagnosticsdata", methods=["POST"],
             endpoint="vm_retrieve_boot_diagnostics"),
    ]

    @property
    def consoles(self) -> ConsoleLog:
        """Serial console text per ``vmId``."""
        return console_of(self, "azure")

    @property
    def boot_sas(self) -> dict[str, tuple[str, str, float]]:
        """Issued SAS signatures: ``sig`` → (VM resource id, blob kind, expiry on the clock)."""
        found = self.__dict__.get("_boot_sas")
        if found is None:
            found = self.__dict__["_boot_sas"] = {}
        return found

    def vm_retrieve_boot_diagnostics(self, request: Request, subscription: str, group: str,
                                     name: str) -> Response:
        vm = self.find(VM, subscription, group, name)
        raw = request.args.get("sasUriExpirationTimeInMinutes", "120")
        if not raw.isdigit() or not 1 <= int(raw) <= 1440:
            raise errors.invalid_parameter(
                "sasUriExpirationTimeInMinutes", "The value of parameter "
                "sasUriExpirationTimeInMinutes is invalid. It must be between 1 and 1440.")
        boot = ((vm.props.get("diagnosticsProfile") or {}).get("bootDiagnostics") or {})
        if not boot.get("enabled"):
            raise errors.not_allowed(
                f"Boot diagnostics is not enabled for the virtual machine '{vm.name}'. Enable "
                "boot diagnostics and retry the operation.")
        expiry = self.clock.time() + int(raw) * 60
        return json_response({
            "consoleScreenshotBlobUri": self._blob_url(vm, "screenshot.bmp", expiry),
            "serialConsoleLogBlobUri": self._blob_url(vm, "serialconsole.log", expiry)})

    def _blob_url(self, vm: Any, kind: str, expiry: float) -> str:
        vm_id = vm.state["vm_id"]
        digest = hashlib.sha256(vm.id.casefold().encode()).hexdigest()
        host = f"md-{digest[:12]}.z{int(digest[12:14], 16) % 50 + 1:02d}{BOOT_BLOB_DOMAIN}"
        container = f"bootdiagnostics-{vm.name.lower()[:9]}-{vm_id}"
        sig = secrets.token_urlsafe(32)
        self.boot_sas[sig] = (vm.id, kind, expiry)
        until = (self.clock.start + timedelta(seconds=expiry)).strftime("%Y-%m-%dT%H:%M:%SZ")
        query = urlencode({"sv": "2021-08-06", "se": until, "sr": "b", "sp": "r", "sig": sig})
        return f"https://{host}/{container}/{vm.name}.{vm_id}.{kind}?{query}"

    def boot_blob(self, sig: str, path: str) -> tuple[int, bytes, str]:
        """(status, body, content type) of a GET of a boot-diagnostics blob."""
        issued = self.boot_sas.get(sig)
        if issued is None or self.clock.time() >= issued[2]:
            return 403, _storage_error(
                "AuthenticationFailed", "Server failed to authenticate the request. Make sure "
                "the value of Authorization header is formed correctly including the "
                "signature."), "application/xml"
        with self.lock:
            vm = self.stores[VM].get(issued[0])
            if vm is None or not path.endswith("." + issued[1]):
                return 404, _storage_error("BlobNotFound", "The specified blob does not "
                                           "exist."), "application/xml"
            if issued[1] == "screenshot.bmp":
                return 200, _BMP, "image/bmp"
            computer = (vm.props.get("osProfile") or {}).get("computerName") or vm.name
            text = self.consoles.text(vm.state["vm_id"], computer)
        return 200, text.encode(), "text/plain"


def _storage_error(code: str, message: str) -> bytes:
    return (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code>'
            f"<Message>{message}</Message></Error>").encode()


class BootBlobs:
    """WSGI app of the boot-diagnostics blob hosts of one ARM fake (GET/HEAD only)."""

    def __init__(self, arm: BootDiagnosticsHandlers) -> None:
        self.arm = arm

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse,
                 ) -> Iterable[bytes]:
        request = Request(environ, populate_request=False)
        if request.method not in ("GET", "HEAD"):
            response = Response(_storage_error("UnsupportedHttpVerb", "The resource doesn't "
                                               "support specified Http Verb."), 405,
                                content_type="application/xml")
        else:
            status, body, kind = self.arm.boot_blob(request.args.get("sig", ""), request.path)
            response = Response(body, status, content_type=kind)
            if status == 200:
                response.headers["x-ms-blob-type"] = "BlockBlob"
                response.headers["x-ms-version"] = "2021-08-06"
            else:
                response.headers["x-ms-error-code"] = _code(body)
        return response(environ, start_response)


def _code(body: bytes) -> str:
    return body.split(b"<Code>", 1)[1].split(b"</Code>", 1)[0].decode()

