"""EC2 key pairs: the :class:`~unicompute.driver.KeyDriver`."""

from __future__ import annotations

from ..._errors import NotFound
from ..._models import KeyPair
from . import convert
from ._context import Context, managed_tags, tag_spec
from .convert import PROVIDER


class Ec2Keys:
    """Imported SSH public keys of one region."""

    def __init__(self, ctx: Context) -> None:
        self._client = ctx.client

    def import_key(self, name: str, public_key: str) -> KeyPair:
        """Import ``public_key`` as ``name``, tagged managed; EC2's duplicate error when taken."""
        answer = self._client.import_key_pair(
            KeyName=name,
            PublicKeyMaterial=public_key.encode(),
            TagSpecifications=[tag_spec("key-pair", managed_tags(None, {}))],
        )
        return KeyPair(
            name=answer.get("KeyName", name),
            fingerprint=answer.get("KeyFingerprint", ""),
            id=answer.get("KeyPairId", ""),
        )

    def list_keys(self) -> list[KeyPair]:
        found = self._client.describe_key_pairs()["KeyPairs"]
        return sorted((convert.key_pair(k) for k in found), key=lambda k: k.name)

    def delete_key(self, name: str) -> None:
        """Delete key ``name``; ``NotFound`` if there is none.

        EC2's DeleteKeyPair succeeds for a missing key, so existence is checked first
        (DescribeKeyPairs fails with ``InvalidKeyPair.NotFound``).
        """
        found = self._client.describe_key_pairs(KeyNames=[name])["KeyPairs"]
        if not found:
            raise NotFound(f"key pair {name} does not exist", provider=PROVIDER, resource=name)
        self._client.delete_key_pair(KeyName=name)
