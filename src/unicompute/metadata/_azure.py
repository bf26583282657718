"""Azure's Instance Metadata Service (IMDS) and Scheduled Events.

Base URL: ``AZURE_POD_IDENTITY_AUTHORITY_HOST`` (the variable azure-identity reads for the IMDS
base), else ``http://169.254.169.254``. Every request carries ``Metadata: true`` and an
``api-version``, as IMDS requires.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

from ..providers.azure.convert import INTERNAL_TAGS
from . import _http
from ._records import InstanceIdentity, InterruptionNotice
from ._service import Service

DEFAULT_ENDPOINT = "http://169.254.169.254"
ENDPOINT_VARIABLE = "AZURE_POD_IDENTITY_AUTHORITY_HOST"
INSTANCE_PATH = "/metadata/instance?api-version=2021-02-01"
USER_DATA_PATH = "/metadata/instance/compute/userData?api-version=2021-01-01&format=text"
EVENTS_PATH = "/metadata/scheduledevents?api-version=2020-07-01"
HEADERS = {"Metadata": "true"}
#: The first Scheduled Events call of a VM turns the service on and may take this long.
EVENTS_TIMEOUT = 10.0


def endpoint() -> str:
    base = os.environ.get(ENDPOINT_VARIABLE) or DEFAULT_ENDPOINT
    return base if "://" in base else f"http://{base}"


class Imds(Service):
    """IMDS with the instance document read by the probe."""

    provider = "azure"

    def __init__(self, base: str, instance: Mapping[str, Any], **kwargs: float) -> None:
        super().__init__(base, **kwargs)
        self.instance = instance

    @classmethod
    def probe(cls, timeout: float) -> Imds | None:
        """The service if ``/metadata/instance`` answers a JSON document with ``compute`` within
        ``timeout``, else ``None``."""
        base = endpoint().rstrip("/")
        try:
            reply = _http.request("GET", base + INSTANCE_PATH, HEADERS, timeout)
        except _http.Unreachable:
            return None
        if reply.status != 200:
            return None
        service = cls(base, {})
        try:
            document = service.json_of(reply, INSTANCE_PATH, "metadata.current")
        except Exception:
            return None
        if not isinstance(document, dict) or not isinstance(document.get("compute"), dict):
            return None
        return cls(base, document)

    def identity(self) -> InstanceIdentity:
        op, path = "metadata.current", INSTANCE_PATH
        compute = self.field(self.instance, "compute", path, op)
        name = str(self.field(compute, "name", path, op))
        resource_id = compute.get("resourceId") or (
            f"/subscriptions/{self.field(compute, 'subscriptionId', path, op)}"
            f"/resourceGroups/{self.field(compute, 'resourceGroupName', path, op)}"
            f"/providers/Microsoft.Compute/virtualMachines/{name}")
        private_ip, public_ip = _addresses(self.instance.get("network"))
        return InstanceIdentity(
            provider=self.provider,
            instance_id=str(resource_id),
            native_id=str(compute.get("vmId", "")),
            name=name,
            region=str(self.field(compute, "location", path, op)),
            zone=str(compute.get("zone") or "") or None,
            size=str(self.field(compute, "vmSize", path, op)),
            image=_image(compute),
            private_ip=private_ip,
            public_ip=public_ip,
            tags={str(item["name"]): str(item.get("value", ""))
                  for item in compute.get("tagsList") or []
                  if isinstance(item, dict) and "name" in item
                  and item["name"] not in INTERNAL_TAGS},
            spot=str(compute.get("priority", "")).lower() == "spot",
            user_data=self._user_data(),
        )

    def _user_data(self) -> bytes | None:
        """``compute/userData`` (base64 text; empty when none). Azure's ``customData`` is never
        served by IMDS; unicompute launches put the same bytes in ``userData``."""
        op = "metadata.current"
        reply = self.call("GET", USER_DATA_PATH, HEADERS, op)
        if reply.status != 200:
            raise self.unexpected(reply, USER_DATA_PATH, op)
        text = reply.text().strip()
        if not text:
            return None
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise self.error("compute/userData is not base64", USER_DATA_PATH, op) from exc

    def interruption(self) -> InterruptionNotice | None:
        """A ``Preempt`` scheduled event naming this VM (``Scheduled`` or ``Started``)."""
        op = "metadata.interruption_notice"
        compute = self.field(self.instance, "compute", INSTANCE_PATH, op)
        name = str(self.field(compute, "name", INSTANCE_PATH, op))
        previous = self.timeout
        self.timeout = max(previous, EVENTS_TIMEOUT)
        try:
            reply = self.call("GET", EVENTS_PATH, HEADERS, op)
        finally:
            self.timeout = previous
        if reply.status != 200:
            raise self.unexpected(reply, EVENTS_PATH, op)
        document = self.json_of(reply, EVENTS_PATH, op)
        events = self.field(document, "Events", EVENTS_PATH, op)
        if not isinstance(events, list):
            raise self.error("Events is not a list", EVENTS_PATH, op)
        for event in events:
            if (isinstance(event, dict) and event.get("EventType") == "Preempt"
                    and name in (event.get("Resources") or [])
                    and event.get("EventStatus") in ("Scheduled", "Started")):
                when = str(event.get("NotBefore") or "")
                try:
                    not_before = parsedate_to_datetime(when) if when else None
                except (TypeError, ValueError) as exc:
                    raise self.error(f"NotBefore {when!r} is not an HTTP date", EVENTS_PATH,
                                     op) from exc
                policy = str(compute.get("evictionPolicy", "")).lower()
                return InterruptionNotice(
                    provider=self.provider,
                    action="terminate" if policy == "delete" else "stop",
                    not_before=not_before, raw=event)
        return None


def _addresses(network: object) -> tuple[str | None, str | None]:
    """Private and public IPv4 of the first interface's first address."""
    try:
        address = network["interface"][0]["ipv4"]["ipAddress"][0]  # type: ignore[index]
    except (KeyError, IndexError, TypeError):
        return None, None
    return (str(address.get("privateIpAddress") or "") or None,
            str(address.get("publicIpAddress") or "") or None)


def _image(compute: Mapping[str, Any]) -> str:
    """``publisher:offer:sku:version`` as unicompute spells Azure images (the id of a custom
    image); a ``latest`` version is replaced by the version IMDS reports the VM runs."""
    reference = (compute.get("storageProfile") or {}).get("imageReference") or {}
    if reference.get("id"):
        return str(reference["id"])
    version = str(reference.get("version") or "")
    if version.lower() in ("", "latest"):
        version = str(compute.get("version") or version)
    parts = [reference.get("publisher") or compute.get("publisher"),
             reference.get("offer") or compute.get("offer"),
             reference.get("sku") or compute.get("sku"), version]
    return ":".join(str(part or "") for part in parts) if any(parts) else ""
