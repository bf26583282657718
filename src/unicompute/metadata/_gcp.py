"""The Compute Engine metadata server.

Host: ``GCE_METADATA_HOST`` (google-auth's variable; legacy ``GCE_METADATA_ROOT``), else
``GCE_METADATA_IP``, else ``169.254.169.254`` — the IP rather than ``metadata.google.internal``
so that off GCP no DNS lookup delays detection. Requests carry ``Metadata-Flavor: Google`` and an
answer counts only if it carries it too (as google-auth checks).

GCE labels (unicompute's tags) are not in the metadata server, so ``tags`` is ``None`` on GCP:
read them with ``cloud.vms.get(me.instance_id).tags``. (Mirroring them in a metadata item would
cost every ``set_tags`` a second GCE operation, and drift when labels change elsewhere.)
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from ..providers.gcp.convert import (
    IMAGE_METADATA_KEY,
    STARTUP_SCRIPT_KEY,
    WINDOWS_STARTUP_SCRIPT_KEY,
)
from . import _http
from ._records import InstanceIdentity, InterruptionNotice
from ._service import Service

DEFAULT_IP = "169.254.169.254"
INSTANCE_PATH = "/computeMetadata/v1/instance/?recursive=true&alt=json"
PREEMPTED_PATH = "/computeMetadata/v1/instance/preempted"
HEADERS = {"Metadata-Flavor": "Google"}


def endpoint() -> str:
    host = (os.environ.get("GCE_METADATA_HOST") or os.environ.get("GCE_METADATA_ROOT")
            or os.environ.get("GCE_METADATA_IP") or DEFAULT_IP)
    return host if "://" in host else f"http://{host}"


def _is_google(reply: _http.Reply) -> bool:
    return reply.header("Metadata-Flavor") == "Google"


class MetadataServer(Service):
    """The metadata server with the recursive instance document read by the probe."""

    provider = "gcp"

    def __init__(self, base: str, instance: Mapping[str, Any], **kwargs: float) -> None:
        super().__init__(base, **kwargs)
        self.instance = instance

    @classmethod
    def probe(cls, timeout: float) -> MetadataServer | None:
        """The server if the recursive ``instance/`` document comes back within ``timeout``
        with ``Metadata-Flavor: Google``, else ``None``."""
        base = endpoint().rstrip("/")
        try:
            reply = _http.request("GET", base + INSTANCE_PATH, HEADERS, timeout)
        except _http.Unreachable:
            return None
        if reply.status != 200 or not _is_google(reply):
            return None
        try:
            document = json.loads(reply.body)
        except ValueError:
            return None
        if not isinstance(document, dict) or "zone" not in document:
            return None
        return cls(base, document)

    def identity(self) -> InstanceIdentity:
        op, path = "metadata.current", INSTANCE_PATH
        doc = self.instance
        name = str(self.field(doc, "name", path, op))
        zone = _last(str(self.field(doc, "zone", path, op)))
        attributes = doc.get("attributes") or {}
        if not isinstance(attributes, dict):
            raise self.error("attributes is not an object", path, op)
        private_ip, public_ip = _addresses(doc.get("networkInterfaces"))
        scheduling = doc.get("scheduling") or {}
        script = attributes.get(STARTUP_SCRIPT_KEY, attributes.get(WINDOWS_STARTUP_SCRIPT_KEY))
        return InstanceIdentity(
            provider=self.provider,
            instance_id=f"{zone}/{name}",
            native_id=str(self.field(doc, "id", path, op)),
            name=name,
            region=zone.rsplit("-", 1)[0],
            zone=zone,
            size=_last(str(self.field(doc, "machineType", path, op))),
            image=str(attributes.get(IMAGE_METADATA_KEY) or doc.get("image") or ""),
            private_ip=private_ip,
            public_ip=public_ip,
            tags=None,
            spot=(str(scheduling.get("preemptible", "")).upper() == "TRUE"
                  or str(scheduling.get("provisioningModel", "")).upper() == "SPOT"),
            user_data=None if script is None else str(script).encode("utf-8"),
        )

    def interruption(self) -> InterruptionNotice | None:
        """``instance/preempted`` is ``TRUE`` once GCE preempts the VM (it stops ~30 s later;
        GCE's default action for preemptible and spot VMs is to stop them, ``terminate`` when
        the instance document says ``instanceTerminationAction: DELETE``)."""
        op = "metadata.interruption_notice"
        reply = self.call("GET", PREEMPTED_PATH, HEADERS, op)
        if reply.status != 200 or not _is_google(reply):
            raise self.unexpected(reply, PREEMPTED_PATH, op)
        value = reply.text().strip().upper()
        if value not in ("TRUE", "FALSE"):
            raise self.error(f"instance/preempted is {value!r}, not TRUE or FALSE",
                             PREEMPTED_PATH, op)
        if value == "FALSE":
            return None
        scheduling = self.instance.get("scheduling") or {}
        deletes = str(scheduling.get("instanceTerminationAction", "")).upper() == "DELETE"
        return InterruptionNotice(provider=self.provider,
                                  action="terminate" if deletes else "stop", not_before=None,
                                  raw=value)


def _last(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _addresses(interfaces: object) -> tuple[str | None, str | None]:
    """The first interface's internal IP and first external (NAT) IP."""
    if not isinstance(interfaces, list) or not interfaces or not isinstance(interfaces[0], dict):
        return None, None
    nic = interfaces[0]
    external = [c.get("externalIp") for c in nic.get("accessConfigs") or []
                if isinstance(c, dict) and c.get("externalIp")]
    return str(nic.get("ip") or "") or None, (str(external[0]) if external else None)
