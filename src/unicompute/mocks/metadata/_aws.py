"""AWS IMDS (v1 and v2) for one EC2 instance of the moto-backed fake, read live from moto.

* ``PUT /latest/api/token`` needs ``X-aws-ec2-metadata-token-ttl-seconds`` between 1 and 21600
  (400 otherwise; 403 with ``X-Forwarded-For``, as EC2 refuses proxied token requests) and
  answers a token that expires on the fake's clock.
* Every GET with ``X-aws-ec2-metadata-token`` needs a live token (401 otherwise); without the
  header it is an IMDSv1 request, refused with 401 while tokens are required (the default, as
  ``HttpTokens=required``), answered when ``tokens="optional"`` and the instance's own
  ``HttpTokens`` is not ``required``. An instance with ``HttpEndpoint=disabled`` answers every
  request 403, as EC2 does with IMDS turned off.
* ``/latest/meta-data/`` (directories list their entries, sub-directories with a ``/``),
  ``/latest/user-data`` (404 without user data), ``/latest/dynamic/instance-identity/document``.
  ``tags/instance/*`` only when the instance has ``InstanceMetadataTags=enabled``;
  ``iam/security-credentials/<role>`` when it has an instance profile (botocore's
  ``InstanceMetadataFetcher`` reads it); ``spot/instance-action`` while an interruption is due.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from werkzeug.wrappers import Request, Response

from .._kernel.clock import FakeClock
from ._http import MetadataApp, text

MAX_TTL = 21600
_TTL = "X-aws-ec2-metadata-token-ttl-seconds"
_TOKEN = "X-aws-ec2-metadata-token"
_PAGE = ('<?xml version="1.0" encoding="iso-8859-1"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML '
         '1.0 Transitional//EN"\n\t"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
         '<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">\n <head>\n'
         "  <title>{status}</title>\n </head>\n <body>\n  <h1>{status}</h1>\n </body>\n"
         "</html>\n")
_STATUS = {400: "400 - Bad Request", 401: "401 - Unauthorized", 403: "403 - Forbidden",
           404: "404 - Not Found", 405: "405 - Method Not Allowed"}

Tree = dict[str, Any]


def error(status: int) -> Response:
    return text(_PAGE.format(status=_STATUS[status]), status, content_type="text/html")


def find_instance(instance_id: str) -> Any:
    """The moto ``Instance`` with this id in any account and region moto has loaded, or
    ``None``."""
    from moto.ec2.models import ec2_backends

    for account in list(dict.values(ec2_backends)):
        for backend in list(dict.values(account)):
            found = backend.get_instance_by_id(instance_id)
            if found is not None:
                return found
    return None


def user_data(instance: Any) -> bytes | None:
    """The instance's decoded user data (moto keeps it base64-encoded), or ``None``."""
    data = instance.user_data
    if isinstance(data, list):
        data = data[0] if data else None
    if not data:
        return None
    if hasattr(data, "as_bytes"):
        return base64.b64decode(data.as_bytes())
    return data if isinstance(data, bytes) else str(data).encode()


def _iso(clock: FakeClock, ahead: float = 0.0) -> str:
    return (clock.now() + timedelta(seconds=ahead)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _role(instance: Any) -> tuple[str, Any] | None:
    association = instance.ec2_backend.iam_instance_profile_associations.get(instance.id)
    if association is None:
        return None
    profile = association.iam_instance_profile
    roles = getattr(profile, "roles", [])
    return (roles[0].name if roles else profile.name), profile


class AwsImds(MetadataApp):
    """IMDS of instance ``instance_id``; ``interruption()`` gives the pending spot
    ``instance-action`` body or ``None``."""

    def __init__(self, instance_id: str, clock: FakeClock, *, tokens: str = "required",
                 interruption: Callable[[], dict[str, str] | None] = lambda: None) -> None:
        if tokens not in ("required", "optional"):
            raise ValueError("tokens must be 'required' or 'optional'")
        self.instance_id = instance_id
        self.clock = clock
        self.tokens_required = tokens == "required"
        self.interruption = interruption
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    # -- tokens ----------------------------------------------------------------------------
    def _issue(self, request: Request) -> Response:
        if "X-Forwarded-For" in request.headers:
            return error(403)
        raw = request.headers.get(_TTL, "")
        if not raw.strip().isdigit() or not 1 <= int(raw) <= MAX_TTL:
            return error(400)
        ttl = int(raw)
        token = secrets.token_urlsafe(40)
        with self._lock:
            self._tokens[token] = self.clock.time() + ttl
        return text(token, headers={_TTL: str(ttl)})

    def _authorized(self, request: Request, *, required: bool = False) -> bool:
        """Whether a GET may be answered: it has a live token, or none while tokens are
        optional both here (:attr:`tokens_required`) and on the instance (``required``)."""
        token = request.headers.get(_TOKEN)
        if token is None:
            return not (self.tokens_required or required)
        with self._lock:
            expiry = self._tokens.get(token)
        return expiry is not None and self.clock.time() < expiry

    # -- the tree --------------------------------------------------------------------------
    def meta_data(self, instance: Any) -> Tree:
        placement = instance.placement.zone or f"{instance.region_name}a"
        tree: Tree = {
            "ami-id": instance.image_id,
            "ami-launch-index": str(instance.ami_launch_index),
            "ami-manifest-path": "(unknown)",
            "block-device-mapping": {"ami": "/dev/xvda", "root": instance.root_device_name},
            "events": {"maintenance": {"history": "[]", "scheduled": "[]"}},
            "hostname": instance.private_dns_name,
            "instance-action": "none",
            "instance-id": instance.id,
            "instance-life-cycle": "spot" if instance.lifecycle == "spot" else "on-demand",
            "instance-type": instance.instance_type,
            "local-hostname": instance.private_dns_name,
            "local-ipv4": instance.private_ip or "",
            "mac": _mac(instance),
            "placement": {"availability-zone": placement, "region": instance.region_name},
            "reservation-id": _reservation(instance),
            "security-groups": "\n".join(g.name for g in instance.security_groups) or "default",
            "services": {"domain": "amazonaws.com", "partition": "aws"},
        }
        if instance.public_ip:
            tree["public-ipv4"] = instance.public_ip
            tree["public-hostname"] = instance.public_dns_name
        if instance.metadata_options.instance_metadata_tags == "enabled":
            tags = {t["key"]: t["value"] for t in instance.get_tags()}
            tree["tags"] = {"instance": tags}
        notice = self.interruption()
        if notice is not None:
            tree["spot"] = {"instance-action": json.dumps(notice, separators=(",", ":")),
                            "termination-time": notice["time"]}
        role = _role(instance)
        if role is not None:
            name, profile = role
            tree["iam"] = {
                "info": json.dumps({"Code": "Success", "LastUpdated": _iso(self.clock),
                                    "InstanceProfileArn": profile.arn,
                                    "InstanceProfileId": profile.id}, indent=2),
                "security-credentials": {name: self._credentials(instance.id, name)}}
        return tree

    def _credentials(self, instance_id: str, role: str) -> str:
        seed = hashlib.sha256(f"{instance_id}/{role}/{int(self.clock.time() // 3600)}".encode())
        digest = seed.hexdigest().upper()
        return json.dumps({
            "Code": "Success", "LastUpdated": _iso(self.clock), "Type": "AWS-HMAC",
            "AccessKeyId": "ASIA" + digest[:16], "SecretAccessKey": digest[16:56],
            "Token": "IQoJb3JpZ2luX2VjE" + digest, "Expiration": _iso(self.clock, 6 * 3600),
        }, indent=2)

    def identity_document(self, instance: Any) -> str:
        return json.dumps({
            "accountId": instance.owner_id, "architecture": instance.architecture,
            "availabilityZone": instance.placement.zone, "billingProducts": None,
            "devpayProductCodes": None, "marketplaceProductCodes": None,
            "imageId": instance.image_id, "instanceId": instance.id,
            "instanceType": instance.instance_type, "kernelId": None,
            "pendingTime": str(instance.launch_time), "privateIp": instance.private_ip,
            "ramdiskId": None, "region": instance.region_name, "version": "2017-09-30",
        }, indent=2)

    # -- WSGI ------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        path = request.path
        instance = find_instance(self.instance_id)
        if instance is not None and instance.metadata_options.http_endpoint == "disabled":
            return error(403)  # the instance's IMDS is turned off
        if path == "/latest/api/token":
            return self._issue(request) if request.method == "PUT" else error(405)
        if request.method not in ("GET", "HEAD"):
            return error(405)
        required = instance is not None and instance.metadata_options.http_tokens == "required"
        if not self._authorized(request, required=required):
            return error(401)
        if instance is None or instance.state == "terminated":
            return error(404)
        if path in ("/", ""):
            return text("latest")
        if path in ("/latest", "/latest/"):
            return text("dynamic\nmeta-data\nuser-data")
        if path == "/latest/user-data":
            data = user_data(instance)
            if data is None:
                return error(404)
            return Response(data, content_type="application/octet-stream")
        if path.rstrip("/") in ("/latest/dynamic", "/latest/dynamic/instance-identity"):
            return text("instance-identity/" if path.rstrip("/").endswith("dynamic")
                        else "document")
        if path == "/latest/dynamic/instance-identity/document":
            return text(self.identity_document(instance))
        if path == "/latest/meta-data" or path.startswith("/latest/meta-data/"):
            return _walk(self.meta_data(instance), path[len("/latest/meta-data"):])
        return error(404)


def _walk(tree: Tree, rest: str) -> Response:
    node: Any = tree
    for part in [p for p in rest.split("/") if p]:
        if not isinstance(node, dict) or part not in node:
            return error(404)
        node = node[part]
    if isinstance(node, dict):
        return text("\n".join(f"{k}/" if isinstance(v, dict) else k for k, v in node.items()))
    return text(str(node))


def _mac(instance: Any) -> str:
    """The primary network interface's MAC, as ``DescribeNetworkInterfaces`` reports it."""
    primary = instance.nics.get(0)
    if primary is not None:
        return str(primary.mac_address)
    digest = hashlib.sha256(instance.id.encode()).hexdigest()
    return "0e:" + ":".join(digest[i:i + 2] for i in range(0, 10, 2))


def _reservation(instance: Any) -> str:
    for reservation in instance.ec2_backend.reservations.values():
        if instance in reservation.instances:
            return str(reservation.id)
    return ""
