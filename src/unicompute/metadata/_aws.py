"""EC2's Instance Metadata Service, version 2 only (a session token from ``PUT
/latest/api/token``, sent with every read; the client never falls back to v1).

Base URL: ``AWS_EC2_METADATA_SERVICE_ENDPOINT`` (botocore's variable), else
``http://169.254.169.254``. Tags come from ``meta-data/tags/instance``, which EC2 serves only for
instances launched with ``InstanceMetadataTags=enabled`` (unicompute's launches are, when every
tag key is one EC2 allows there); otherwise ``tags`` and ``name`` are ``None``.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from typing import cast

from ..providers.aws.convert import INTERNAL_TAGS
from . import _http
from ._records import Action, InstanceIdentity, InterruptionNotice
from ._service import Service

DEFAULT_ENDPOINT = "http://169.254.169.254"
ENDPOINT_VARIABLE = "AWS_EC2_METADATA_SERVICE_ENDPOINT"
TOKEN_PATH = "/latest/api/token"
#: Lifetime asked for the session token: one client lives as long as one call of the API.
TOKEN_TTL_SECONDS = 300
_ACTIONS: dict[str, Action] = {"terminate": "terminate", "stop": "stop",
                               "hibernate": "hibernate"}


def endpoint() -> str:
    return os.environ.get(ENDPOINT_VARIABLE) or DEFAULT_ENDPOINT


class Imds(Service):
    """IMDSv2 with one session token."""

    provider = "aws"

    def __init__(self, base: str, token: str, **kwargs: float) -> None:
        super().__init__(base, **kwargs)
        self._token = token

    @classmethod
    def probe(cls, timeout: float) -> Imds | None:
        """The service if ``PUT /latest/api/token`` gives a token within ``timeout``, else
        ``None`` (any other answer: not EC2, or IMDS turned off)."""
        base = endpoint().rstrip("/")
        try:
            reply = _http.request("PUT", base + TOKEN_PATH,
                                  {"X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_TTL_SECONDS)},
                                  timeout)
        except _http.Unreachable:
            return None
        token = reply.text().strip()
        if reply.status != 200 or not token or "\n" in token:
            return None
        return cls(base, token)

    def read(self, path: str, operation: str, *, missing_ok: bool = False) -> str | None:
        """``GET /latest/<path>`` with the token; ``None`` for a 404 when ``missing_ok``."""
        full = f"/latest/{path}"
        reply = self.call("GET", full, {"X-aws-ec2-metadata-token": self._token}, operation)
        if reply.status == 404 and missing_ok:
            return None
        if reply.status != 200:
            raise self.unexpected(reply, full, operation)
        return reply.text()

    def need(self, path: str, operation: str) -> str:
        return cast(str, self.read(path, operation)).strip()

    def identity(self) -> InstanceIdentity:
        op = "metadata.current"
        instance_id = self.need("meta-data/instance-id", op)
        zone = self.need("meta-data/placement/availability-zone", op)
        region = self.read("meta-data/placement/region", op, missing_ok=True)
        tags = self._tags(op)
        user_data = self.read_bytes("user-data", op)
        lifecycle = self.read("meta-data/instance-life-cycle", op, missing_ok=True)
        private_ip = self.read("meta-data/local-ipv4", op, missing_ok=True)
        public_ip = self.read("meta-data/public-ipv4", op, missing_ok=True)
        return InstanceIdentity(
            provider=self.provider,
            instance_id=instance_id,
            native_id=instance_id,
            name=None if tags is None else tags.get("Name", ""),
            region=(region or zone[:-1]).strip(),
            zone=zone,
            size=self.need("meta-data/instance-type", op),
            image=self.need("meta-data/ami-id", op),
            private_ip=(private_ip or "").strip() or None,
            public_ip=(public_ip or "").strip() or None,
            tags=None if tags is None else {
                key: value for key, value in tags.items() if key not in INTERNAL_TAGS},
            spot=(lifecycle or "").strip() == "spot",
            user_data=user_data,
        )

    def read_bytes(self, path: str, operation: str) -> bytes | None:
        """``/latest/<path>`` as raw bytes; ``None`` for 404 (user data: none given)."""
        full = f"/latest/{path}"
        reply = self.call("GET", full, {"X-aws-ec2-metadata-token": self._token}, operation)
        if reply.status == 404:
            return None
        if reply.status != 200:
            raise self.unexpected(reply, full, operation)
        return reply.body

    def _tags(self, operation: str) -> dict[str, str] | None:
        """Every instance tag, or ``None`` when EC2 does not expose tags to this instance."""
        keys = self.read("meta-data/tags/instance", operation, missing_ok=True)
        if keys is None:
            return None
        tags: dict[str, str] = {}
        for key in filter(None, keys.split("\n")):
            value = self.read(f"meta-data/tags/instance/{key}", operation, missing_ok=True)
            if value is not None:  # removed between the two reads
                tags[key] = value
        return tags

    def interruption(self) -> InterruptionNotice | None:
        """``spot/instance-action`` (``{"action": ..., "time": ...}``), 404 when none."""
        op = "metadata.interruption_notice"
        text = self.read("meta-data/spot/instance-action", op, missing_ok=True)
        path = "/latest/meta-data/spot/instance-action"
        if text is None:
            return None
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise self.error(f"spot/instance-action is not JSON: {exc}", path, op) from exc
        action = _ACTIONS.get(str(self.field(document, "action", path, op)))
        if action is None:
            raise self.error(f"unknown spot action {document['action']!r}", path, op)
        when = str(self.field(document, "time", path, op))
        try:
            not_before = datetime.fromisoformat(when.replace("Z", "+00:00"))
        except ValueError as exc:
            raise self.error(f"spot/instance-action time {when!r} is not a time", path,
                             op) from exc
        return InterruptionNotice(provider=self.provider, action=action, not_before=not_before,
                                  raw=document)
