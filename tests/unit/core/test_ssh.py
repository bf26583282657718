"""OpenSSH public key lines, as every provider and fake reads them."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest

from unicompute._ssh import parse_public_key

ED25519 = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGbOUXPPn2D3dkzqbpHwpEXkR1xNuAFrZoDrNRLTsr6R "
           "someone@host")


def _blob(*fields: bytes) -> str:
    return base64.b64encode(b"".join(len(f).to_bytes(4, "big") + f for f in fields)).decode()


def test_a_key_line_parses_with_its_comment_and_shape() -> None:
    key = parse_public_key("  " + ED25519 + "\n")
    assert (key.type, key.comment, key.rsa_bits) == ("ssh-ed25519", "someone@host", None)
    assert key.line == ED25519
    rsa = parse_public_key("ssh-rsa " + _blob(b"ssh-rsa", b"\x01\x00\x01", b"\x00" + b"\xff" * 256))
    assert rsa.rsa_bits == 2048


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen to compare")
def test_fingerprint_is_what_ssh_keygen_prints(tmp_path: Path) -> None:
    key_file = tmp_path / "k.pub"
    key_file.write_text(ED25519 + "\n")
    printed = subprocess.run(["ssh-keygen", "-l", "-f", str(key_file)], capture_output=True,
                             text=True, check=True).stdout.split()[1]
    assert parse_public_key(ED25519).fingerprint == printed


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "",
        "ssh-dss AAAA",                                      # not a type we take
        "ssh-rsa not-base64!!",
        "ssh-rsa " + ED25519.split()[1],                     # the blob names another type
        "ssh-ed25519 " + _blob(b"ssh-ed25519", b"short"),    # not 32 bytes
        "ssh-rsa " + base64.b64encode(b"\x00\x00\x00\x09ssh").decode(),  # truncated
    ],
)
def test_malformed_lines_are_refused_saying_why(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_public_key(bad)
