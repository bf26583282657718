"""SSH public keys as project metadata: the :class:`~unicompute.driver.KeyDriver`.

GCE has no key-pair resource. Each imported key is one project metadata item
``unicompute-ssh-key-<name>`` (:data:`KEY_PREFIX`) holding the OpenSSH public key line. It is
deliberately *not* in the project's ``ssh-keys`` item, which the guest agent installs on every
VM of the project: a key reaches only the VMs launched with ``key_name``, which get
``<user>:<key line>`` in their own ``ssh-keys`` metadata (``Options.ssh_user``, default
``unicompute``) and the key's name in ``unicompute-key-name`` (read back as ``VMInfo.key_name``).
Deleting a key does not remove it from VMs already launched with it.

Metadata keys are ``[a-zA-Z0-9-_]{1,128}``, so key names are ``[A-Za-z0-9_-]``, at most
:data:`MAX_NAME_LENGTH` characters (no ``.``); others are refused with ``InvalidRequest``
naming ``name`` before any call. Every change reads the project's metadata and writes it back
with the fingerprint just read; when GCE answers 412 (someone changed the metadata meanwhile)
the metadata is read again and the change retried once. Fingerprints are OpenSSH's
``SHA256:`` form, computed locally.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from google.api_core import exceptions as core
from google.cloud import compute_v1

from ..._errors import AlreadyExists, InvalidRequest, NotFound
from ..._keys import check_public_key, public_key_fingerprint
from ..._models import KeyPair
from . import operations
from ._clients import Context
from .convert import PROVIDER

#: Prefix of the project metadata keys holding imported keys.
KEY_PREFIX = "unicompute-ssh-key-"
#: The longest key name a 128-character metadata key leaves room for.
MAX_NAME_LENGTH = 128 - len(KEY_PREFIX)
_NAME = re.compile(rf"[A-Za-z0-9_-]{{1,{MAX_NAME_LENGTH}}}")


def metadata_key(name: str) -> str:
    """The project metadata key of key ``name``; ``InvalidRequest`` naming ``name`` if GCE
    metadata cannot hold it."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidRequest(
            f"GCE keeps keys in metadata: use 1-{MAX_NAME_LENGTH} letters, digits, '_' or '-'",
            field="name")
    return KEY_PREFIX + name


def _key_pair(name: str, line: str) -> KeyPair:
    try:
        fingerprint = public_key_fingerprint(check_public_key(line))
    except (InvalidRequest, ValueError):  # a value someone else wrote
        fingerprint = ""
    return KeyPair(name=name, fingerprint=fingerprint, id=KEY_PREFIX + name)


def read_metadata(ctx: Context) -> compute_v1.Metadata:
    """The project's common instance metadata (``projects.get``)."""
    found = ctx.clients.projects.get(project=ctx.project, **ctx.rpc)
    metadata: compute_v1.Metadata = found.common_instance_metadata
    return metadata


def key_line(ctx: Context, name: str) -> str | None:
    """The public key line of key ``name``, or ``None`` if there is none (or ``name`` cannot
    be one)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        return None
    wanted = KEY_PREFIX + name
    for item in read_metadata(ctx).items:
        if item.key == wanted:
            return item.value
    return None


class GceKeys:
    """Imported SSH public keys of one project."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def import_key(self, name: str, public_key: str) -> KeyPair:
        """Add key ``name``; ``AlreadyExists`` if the project has one of that name."""
        key = metadata_key(name)
        line = check_public_key(public_key)

        def add(items: dict[str, str]) -> None:
            if key in items:
                raise AlreadyExists(f"key pair {name} already exists", provider=PROVIDER,
                                    resource=name)
            items[key] = line

        self._update(add)
        return _key_pair(name, line)

    def list_keys(self) -> list[KeyPair]:
        found = [_key_pair(item.key[len(KEY_PREFIX):], item.value)
                 for item in read_metadata(self._ctx).items
                 if item.key.startswith(KEY_PREFIX) and len(item.key) > len(KEY_PREFIX)]
        return sorted(found, key=lambda k: k.name)

    def delete_key(self, name: str) -> None:
        """Remove key ``name``; ``NotFound`` if there is none."""
        key = metadata_key(name)

        def remove(items: dict[str, str]) -> None:
            if items.pop(key, None) is None:
                raise NotFound(f"key pair {name} does not exist", provider=PROVIDER,
                               resource=name)

        self._update(remove)

    def _update(self, change: Callable[[dict[str, str]], None]) -> None:
        """Read the metadata, ``change`` its items in place, write them back with the
        fingerprint read and wait; on 412 once more from a fresh read."""
        ctx = self._ctx
        for attempt in (1, 2):
            metadata = read_metadata(ctx)
            items = {item.key: item.value for item in metadata.items}
            change(items)
            body = compute_v1.Metadata(
                fingerprint=metadata.fingerprint,
                items=[compute_v1.Items(key=k, value=v) for k, v in items.items()])
            try:
                op = ctx.clients.projects.set_common_instance_metadata_unary(
                    project=ctx.project, metadata_resource=body, **ctx.rpc)
                operations.wait(ctx, op)
                return
            except core.PreconditionFailed:
                if attempt == 2:
                    raise
