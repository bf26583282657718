"""SSH public keys as ``Microsoft.Compute/sshPublicKeys`` resources in the resource group: the
:class:`~unicompute.driver.KeyDriver`.

A VM launched with ``key_name`` gets the key's material in ``osProfile.linuxConfiguration.ssh``
(ARM keeps no reference to the key resource, so the name is recorded in the VM's
``unicompute:key`` tag). Azure takes RSA (2048 bits or more) and Ed25519 keys; a malformed key
is rejected before any call. Fingerprints are OpenSSH's ``SHA256:`` form, computed locally.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct

from azure.mgmt.compute import models

from ..._errors import InvalidRequest
from ..._models import KeyPair
from . import convert
from ._context import IF_NONE_MATCH, Context, ignore_missing, not_found
from .convert import managed_tags

KEY_TYPES = ("ssh-rsa", "ssh-ed25519")
MIN_RSA_BITS = 2048


class AzureKeys:
    """SSH public key resources of one resource group."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def import_key(self, name: str, public_key: str) -> KeyPair:
        """Create key ``name``; ``ALREADY_EXISTS`` if the group has one (``If-None-Match``)."""
        blob = parse_public_key(public_key)
        ctx = self._ctx
        ctx.ensure_group()
        created = ctx.compute.ssh_public_keys.create(
            ctx.resource_group, name,
            models.SshPublicKeyResource({"location": ctx.region, "tags": managed_tags({}),
                                         "properties": {"publicKey": public_key.strip()}}),
            headers=IF_NONE_MATCH,
        )
        return convert.key_pair(created, fingerprint(blob))

    def list_keys(self) -> list[KeyPair]:
        ctx = self._ctx
        found = ignore_missing(lambda: list(
            ctx.compute.ssh_public_keys.list_by_resource_group(ctx.resource_group)))
        result = []
        for item in found or []:
            try:
                blob = parse_public_key(str(item.public_key or ""))
            except InvalidRequest:
                blob = b""
            result.append(convert.key_pair(item, fingerprint(blob) if blob else ""))
        return sorted(result, key=lambda k: k.name)

    def delete_key(self, name: str) -> None:
        """``NOT_FOUND`` if there is no key ``name`` (ARM's DELETE of nothing succeeds)."""
        ctx = self._ctx
        keys = ctx.compute.ssh_public_keys
        if ignore_missing(lambda: keys.get(ctx.resource_group, name)) is None:
            raise not_found("SSH key", name)
        keys.delete(ctx.resource_group, name)


def parse_public_key(public_key: str) -> bytes:
    """The key blob of an OpenSSH public key line (``type base64 [comment]``); ``InvalidRequest``
    naming ``public_key`` unless it is a well-formed RSA (≥ 2048 bits) or Ed25519 key."""
    parts = public_key.strip().split()
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        raise InvalidRequest(f"must be an OpenSSH public key of type {' or '.join(KEY_TYPES)}",
                             field="public_key")
    try:
        blob = base64.b64decode(parts[1], validate=True)
        fields = _ssh_strings(blob)
    except (binascii.Error, ValueError, struct.error):
        raise InvalidRequest("the key data is not valid base64 of an SSH key",
                             field="public_key") from None
    if not fields or fields[0].decode(errors="replace") != parts[0]:
        raise InvalidRequest("the key data does not match its type", field="public_key")
    if parts[0] == "ssh-rsa":
        modulus = fields[2] if len(fields) > 2 else b""
        bits = int.from_bytes(modulus, "big").bit_length()
        if bits < MIN_RSA_BITS:
            raise InvalidRequest(f"RSA keys must have at least {MIN_RSA_BITS} bits",
                                 field="public_key")
    elif len(fields) != 2 or len(fields[1]) != 32:
        raise InvalidRequest("an Ed25519 key holds 32 bytes", field="public_key")
    return blob


def fingerprint(blob: bytes) -> str:
    """OpenSSH's ``SHA256:<base64, unpadded>`` fingerprint of a key blob."""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
    return f"SHA256:{digest}"


def _ssh_strings(blob: bytes) -> list[bytes]:
    """The length-prefixed strings of an SSH wire-format blob."""
    fields: list[bytes] = []
    offset = 0
    while offset < len(blob):
        (length,) = struct.unpack(">I", blob[offset:offset + 4])
        offset += 4
        if offset + length > len(blob):
            raise ValueError("truncated")
        fields.append(blob[offset:offset + length])
        offset += length
    return fields
