"""Portable SSH key pairs (``cloud.keys``)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from ._context import CloudContext
from ._errors import InvalidRequest
from ._launch_checks import check_id
from ._models import KeyPair
from .driver import Capability, KeyDriver

_KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
_KEY_TYPES = frozenset(
    {
        "ssh-rsa",
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
    }
)


def check_public_key(public_key: object) -> str:
    """``public_key`` stripped, if it is an OpenSSH public key line; else ``InvalidRequest``.

    The key body must decode as base64 and name the same key type as its prefix.
    """
    if not isinstance(public_key, str):
        raise InvalidRequest("must be an OpenSSH public key (str)", field="public_key")
    parts = public_key.strip().split()
    if len(parts) < 2 or parts[0] not in _KEY_TYPES:
        raise InvalidRequest(
            f"must start with one of {', '.join(sorted(_KEY_TYPES))}", field="public_key"
        )
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except binascii.Error as exc:
        raise InvalidRequest("key body is not base64", field="public_key") from exc
    if len(blob) < 4 or blob[4 : 4 + int.from_bytes(blob[:4], "big")] != parts[0].encode():
        raise InvalidRequest("key body does not match its type", field="public_key")
    return " ".join(parts[:3])


def public_key_fingerprint(public_key: str) -> str:
    """OpenSSH's ``SHA256:<base64, unpadded>`` fingerprint (``ssh-keygen -l``) of a public key
    line already accepted by :func:`check_public_key`."""
    blob = base64.b64decode(public_key.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


class Keys:
    """Import, list and delete the SSH key pairs VMs can be launched with."""

    def __init__(self, ctx: CloudContext) -> None:
        self._ctx = ctx

    def _driver(self, operation: str) -> KeyDriver:
        self._ctx.require(Capability.KEYS, operation)
        assert self._ctx.drivers.keys is not None
        return self._ctx.drivers.keys

    def import_key(self, name: str, public_key: str) -> KeyPair:
        """Register an OpenSSH public key as ``name``; ``AlreadyExists`` if the name is taken."""
        if not isinstance(name, str) or not _KEY_NAME.fullmatch(name):
            raise InvalidRequest(
                "1-255 letters, digits, '.', '_' or '-', starting with a letter or digit",
                field="name",
            )
        key = check_public_key(public_key)
        driver = self._driver("keys.import")
        return self._ctx.call("keys.import", lambda: driver.import_key(name, key), resource=name)

    def list(self) -> list[KeyPair]:
        driver = self._driver("keys.list")
        return self._ctx.call("keys.list", driver.list_keys, idempotent=True)

    def delete(self, name: str) -> None:
        """Delete key pair ``name``; ``NotFound`` if there is none."""
        check_id(name, "name")
        driver = self._driver("keys.delete")
        self._ctx.call("keys.delete", lambda: driver.delete_key(name), resource=name)
