"""SSH key pairs through a Libcloud driver (``Capability.KEYS`` when it implements import, list
and delete)."""

from __future__ import annotations

from typing import Any

from ..._errors import AlreadyExists, NotFound
from ..._models import KeyPair
from . import convert
from ._context import Context


class LibcloudKeys:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def import_key(self, name: str, public_key: str) -> KeyPair:
        """``ALREADY_EXISTS`` if ``name`` is taken, checked first: not every Libcloud driver
        refuses a duplicate name itself."""
        if any(key.name == name for key in self._ctx.driver.list_key_pairs()):
            raise AlreadyExists(f"key pair {name!r} exists", provider=self._ctx.provider,
                                resource=name)
        return convert.key_pair(self._ctx.driver.import_key_pair_from_string(name, public_key))

    def list_keys(self) -> list[KeyPair]:
        return [convert.key_pair(raw) for raw in self._ctx.driver.list_key_pairs()]

    def delete_key(self, name: str) -> None:
        self._ctx.driver.delete_key_pair(self._find(name))

    def _find(self, name: str) -> Any:
        # Listed, not get_key_pair: Libcloud's EC2 driver sends KeyName without the .1 EC2
        # documents, and drivers differ in what a missing key raises.
        for key in self._ctx.driver.list_key_pairs():
            if key.name == name:
                return key
        raise NotFound(f"key pair {name!r} does not exist", provider=self._ctx.provider,
                       resource=name)
