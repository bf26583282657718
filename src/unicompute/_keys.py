"""Portable SSH key pairs (``cloud.keys``)."""

from __future__ import annotations

import re

from ._context import CloudContext
from ._errors import InvalidRequest
from ._launch_checks import check_id
from ._models import KeyPair
from ._ssh import parse_public_key
from .driver import Capability, KeyDriver

_KEY_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,254}")
def check_public_key(public_key: object) -> str:
    """``public_key`` as one normalised line, if it is a well-formed OpenSSH public key line
    (:func:`unicompute._ssh.parse_public_key`); else ``InvalidRequest`` naming ``public_key``."""
    try:
        return parse_public_key(public_key).line
    except ValueError as exc:
        raise InvalidRequest(str(exc), field="public_key") from None


def public_key_fingerprint(public_key: str) -> str:
    """OpenSSH's ``SHA256:<base64, unpadded>`` fingerprint (``ssh-keygen -l``) of a public key
    line already accepted by :func:`check_public_key`."""
    return parse_public_key(public_key).fingerprint


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
