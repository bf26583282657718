"""Checks GCE applies to request bodies before it creates anything."""

from __future__ import annotations

import re
from typing import Any

from .._kernel import HttpError
from ._errors import invalid, invalid_field
from ._links import NAME_PATTERN, NAME_RE

_LABEL_KEY = re.compile(r"[\w\-]{1,63}", re.ASCII)
_LABEL_VALUE = re.compile(r"[\w\-]{0,63}", re.ASCII)
_METADATA_KEY = re.compile(r"[a-zA-Z0-9\-_]{1,128}")
#: GCE's metadata limits: 256 KiB per value, 512 KiB for all keys and values together.
MAX_METADATA_VALUE = 256 * 1024
MAX_METADATA_TOTAL = 512 * 1024
MAX_LABELS = 64


def check_name(name: Any, field: str = "resource.name") -> str:
    """``name`` if it is an RFC 1035 name of at most 63 characters; else GCE's 400."""
    if not isinstance(name, str) or NAME_RE.fullmatch(name) is None:
        raise invalid_field(field, name if isinstance(name, str) else "",
                            f"Must be a match of regex '{NAME_PATTERN}'")
    return name


def check_labels(labels: Any, field: str = "labels") -> dict[str, str]:
    """``labels`` if GCE accepts them (lower-case keys and values, at most 64)."""
    if labels is None:
        return {}
    if not isinstance(labels, dict):
        raise invalid_field(field, labels, "Labels must be a map.")
    if len(labels) > MAX_LABELS:
        raise invalid_field(field, "", f"Labels must have at most {MAX_LABELS} entries.")
    for key, value in labels.items():
        if not (_LABEL_KEY.fullmatch(key) and key[0].isalpha() and key == key.lower()):
            raise invalid_field(field, "", f"Label key '{key}' violates format constraints. The "
                                "key must start with a lowercase character, can only contain "
                                "lowercase letters, numeric characters, underscores and "
                                "dashes. The key can be at most 63 characters long.")
        if not (isinstance(value, str) and _LABEL_VALUE.fullmatch(value)
                and value == value.lower()):
            raise invalid_field(field, "", f"Label value '{value}' violates format constraints. "
                                "The value can only contain lowercase letters, numeric "
                                "characters, underscores and dashes. The value can be at most "
                                "63 characters long.")
    return dict(labels)


def check_metadata_items(items: Any, field: str = "resource.metadata") -> list[dict[str, str]]:
    """The metadata ``items`` if GCE accepts them: valid unique keys, values within limits."""
    if items is None:
        return []
    if not isinstance(items, list):
        raise invalid_field(field, "", "Metadata items must be a list.")
    seen: set[str] = set()
    total = 0
    cleaned: list[dict[str, str]] = []
    for item in items:
        key = item.get("key") if isinstance(item, dict) else None
        value = item.get("value", "") if isinstance(item, dict) else None
        if not isinstance(key, str) or _METADATA_KEY.fullmatch(key) is None:
            raise invalid_field(field, "", f"Metadata key '{key}' is invalid. Keys must "
                                "match the regular expression [a-zA-Z0-9-_]{1,128}.")
        if key in seen:
            raise invalid_field(field, "", f"Metadata has duplicate keys: '{key}'.")
        if not isinstance(value, str):
            raise invalid_field(field, "", f"Metadata value for key '{key}' must be a string.")
        size = len(value.encode())
        if size > MAX_METADATA_VALUE:
            raise invalid_field(field, "", f"Metadata value for key '{key}' is too large: "
                                f"{size} bytes; the limit is {MAX_METADATA_VALUE} bytes.")
        total += size + len(key.encode())
        seen.add(key)
        cleaned.append({"key": key, "value": value})
    if total > MAX_METADATA_TOTAL:
        raise invalid_field(field, "", f"Metadata is too large: {total} bytes; the limit is "
                            f"{MAX_METADATA_TOTAL} bytes.")
    return cleaned


def check_tags(items: Any) -> list[str]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise invalid("Invalid value for field 'resource.tags.items': tags must be a list.")
    for tag in items:
        check_name(tag, "resource.tags.items")
    return list(dict.fromkeys(items))


def int_field(value: Any, field: str) -> int:
    """An int64 field (sent as a JSON string or number)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise invalid_field(field, value, "Must be an integer.") from None


__all__ = ["HttpError", "check_labels", "check_metadata_items", "check_name", "check_tags",
           "int_field"]
