"""OpenSSH public key lines (``type base64 [comment]``): parsed once, for every cloud and fake."""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass

#: Key types unicompute accepts anywhere (a cloud may accept fewer).
KEY_TYPES = frozenset({
    "ssh-rsa",
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
})


@dataclass(frozen=True)
class PublicKey:
    """A parsed key line. ``fields`` are the length-prefixed strings of the key blob (the
    first is the type again; for ``ssh-rsa`` then exponent and modulus, for ``ssh-ed25519``
    the 32-byte key)."""

    type: str
    blob: bytes
    fields: tuple[bytes, ...]
    comment: str

    @property
    def line(self) -> str:
        """The key as one line: type, base64 and comment (if any)."""
        body = f"{self.type} {base64.b64encode(self.blob).decode()}"
        return f"{body} {self.comment}" if self.comment else body

    @property
    def fingerprint(self) -> str:
        """OpenSSH's ``SHA256:<base64, unpadded>`` fingerprint, as ``ssh-keygen -l`` prints."""
        digest = base64.b64encode(hashlib.sha256(self.blob).digest()).decode().rstrip("=")
        return f"SHA256:{digest}"

    @property
    def rsa_bits(self) -> int | None:
        """The modulus size of an RSA key; ``None`` for other types."""
        if self.type != "ssh-rsa" or len(self.fields) != 3:
            return None
        return int.from_bytes(self.fields[2], "big").bit_length()

    def well_formed(self) -> bool:
        """Whether the blob has the shape its type needs (RSA: exponent and modulus;
        Ed25519: 32 bytes; ECDSA: curve name and point)."""
        if self.type == "ssh-rsa":
            return len(self.fields) == 3
        if self.type == "ssh-ed25519":
            return len(self.fields) == 2 and len(self.fields[1]) == 32
        return len(self.fields) == 3


def parse_public_key(text: object) -> PublicKey:
    """``text`` as a :class:`PublicKey`; ``ValueError`` saying what is wrong otherwise (the
    type is not one of :data:`KEY_TYPES`, the body is not base64 of an SSH key blob, or the
    blob names another type or has the wrong shape)."""
    if not isinstance(text, str):
        raise ValueError("must be an OpenSSH public key line (str)")
    parts = text.strip().split(maxsplit=2)
    if len(parts) < 2 or parts[0] not in KEY_TYPES:
        raise ValueError(f"must start with one of {', '.join(sorted(KEY_TYPES))}")
    try:
        blob = base64.b64decode(parts[1], validate=True)
        fields = _ssh_strings(blob)
    except (binascii.Error, ValueError, struct.error):
        raise ValueError("the key body is not base64 of an SSH key") from None
    key = PublicKey(type=parts[0], blob=blob, fields=tuple(fields),
                    comment=parts[2] if len(parts) > 2 else "")
    if not fields or fields[0] != parts[0].encode() or not key.well_formed():
        raise ValueError("the key body does not match its type")
    return key


def _ssh_strings(blob: bytes) -> list[bytes]:
    """The length-prefixed strings of an SSH wire-format blob."""
    fields: list[bytes] = []
    offset = 0
    while offset < len(blob):
        (length,) = struct.unpack(">I", blob[offset:offset + 4])
        offset += 4
        if offset + length > len(blob):
            raise ValueError("truncated SSH string")
        fields.append(blob[offset:offset + length])
        offset += length
    return fields
