"""SSH public keys as ``Microsoft.Compute/sshPublicKeys`` resources in the resource group: the
:class:`~unicompute.driver.KeyDriver`.

A VM launched with ``key_name`` gets the key's material in ``osProfile.linuxConfiguration.ssh``
(ARM keeps no reference to the key resource, so the name is recorded in the VM's
``unicompute:key`` tag). Azure takes RSA (2048 bits or more) and Ed25519 keys; a malformed key
is rejected before any call. Fingerprints are OpenSSH's ``SHA256:`` form, computed locally.
"""

from __future__ import annotations

from azure.mgmt.compute import models

from ... import _ssh as ssh
from ..._errors import InvalidRequest
from ..._models import KeyPair
from ..._ssh import PublicKey
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
        key = parse_public_key(public_key)
        ctx = self._ctx
        ctx.ensure_group()
        created = ctx.compute.ssh_public_keys.create(
            ctx.resource_group, name,
            models.SshPublicKeyResource({"location": ctx.region, "tags": managed_tags({}),
                                         "properties": {"publicKey": public_key.strip()}}),
            headers=IF_NONE_MATCH,
        )
        return convert.key_pair(created, key.fingerprint)

    def list_keys(self) -> list[KeyPair]:
        ctx = self._ctx
        found = ignore_missing(lambda: list(
            ctx.compute.ssh_public_keys.list_by_resource_group(ctx.resource_group)))
        result = []
        for item in found or []:
            try:
                fingerprint = parse_public_key(str(item.public_key or "")).fingerprint
            except InvalidRequest:
                fingerprint = ""
            result.append(convert.key_pair(item, fingerprint))
        return sorted(result, key=lambda k: k.name)

    def delete_key(self, name: str) -> None:
        """``NOT_FOUND`` if there is no key ``name`` (ARM's DELETE of nothing succeeds)."""
        ctx = self._ctx
        keys = ctx.compute.ssh_public_keys
        if ignore_missing(lambda: keys.get(ctx.resource_group, name)) is None:
            raise not_found("SSH key", name)
        keys.delete(ctx.resource_group, name)


def parse_public_key(public_key: str) -> PublicKey:
    """The key of an OpenSSH public key line; ``InvalidRequest`` naming ``public_key`` unless
    it is a well-formed RSA (≥ 2048 bits) or Ed25519 key, the types Azure takes."""
    try:
        key = ssh.parse_public_key(public_key)
    except ValueError as exc:
        raise InvalidRequest(str(exc), field="public_key") from None
    if key.type not in KEY_TYPES:
        raise InvalidRequest(f"must be an OpenSSH public key of type {' or '.join(KEY_TYPES)}",
                             field="public_key")
    if key.type == "ssh-rsa" and (key.rsa_bits or 0) < MIN_RSA_BITS:
        raise InvalidRequest(f"RSA keys must have at least {MIN_RSA_BITS} bits",
                             field="public_key")
    return key
