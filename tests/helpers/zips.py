"""In-memory zip packages for the fakes' function tests."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping


def zip_of(files: Mapping[str, str]) -> bytes:
    """A zip archive holding ``files`` (name → text), in order."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()
