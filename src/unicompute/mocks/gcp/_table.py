"""One collection of GCE resources in one scope (a zone's instances, a project's firewalls).

Built on the kernel :class:`~unicompute.mocks._kernel.Store` (O(1) get by name) with the two
orders GCE lists in: by name (the default) and ``creationTimestamp desc``. Page tokens name the
position after the last item returned, so they stay valid while resources come and go.
"""

from __future__ import annotations

import base64
import bisect
import json
from collections.abc import Callable, Iterator
from typing import Any

from .._kernel import Store

Resource = dict[str, Any]


class Table:
    """Resources (wire-shaped dicts, changed in place) by name."""

    def __init__(self) -> None:
        self._store: Store[Resource] = Store()
        self._created: dict[str, int] = {}
        self._next = 0
        self._by_name: list[str] | None = None

    def __len__(self) -> int:
        return len(self._store)

    def __contains__(self, name: str) -> bool:
        return name in self._store

    def get(self, name: str) -> Resource | None:
        return self._store.get(name)

    def add(self, resource: Resource) -> None:
        name = resource["name"]
        self._store.put(name, resource)
        self._next += 1
        self._created[name] = self._next
        self._by_name = None

    def remove(self, name: str) -> Resource | None:
        found = self._store.pop(name)
        if found is not None:
            self._created.pop(name, None)
            self._by_name = None
        return found

    def values(self) -> list[Resource]:
        return self._store.values()

    def names(self) -> list[str]:
        """Every name, sorted (cached until the next add or remove)."""
        if self._by_name is None:
            self._by_name = sorted(self._created)
        return self._by_name

    def ordered(self, order: str, after: Any = None) -> Iterator[tuple[Any, Resource]]:
        """``(position, resource)`` in ``order`` (``"name"`` or ``"created"``, newest first),
        starting after ``position`` ``after``."""
        if order == "name":
            names = self.names()
            start = 0 if after is None else bisect.bisect_right(names, str(after))
            for name in names[start:]:
                resource = self._store.get(name)
                if resource is not None:
                    yield name, resource
            return
        newest_first = sorted(self._created.items(), key=lambda entry: -entry[1])
        for name, seq in newest_first:
            if after is not None and seq >= int(after):
                continue
            resource = self._store.get(name)
            if resource is not None:
                yield seq, resource

    def clear(self) -> None:
        self._store.clear()
        self._created.clear()
        self._by_name = None


def page(entries: Iterator[tuple[Any, Resource]], limit: int,
         where: Callable[[Resource], bool] | None) -> tuple[list[Resource], Any, bool]:
    """Up to ``limit`` matching resources, the position of the last one, and whether more
    match after it. Stops reading ``entries`` at the first match past the page."""
    found: list[Resource] = []
    last: Any = None
    for position, resource in entries:
        if where is not None and not where(resource):
            continue
        if len(found) == limit:
            return found, last, True
        found.append(resource)
        last = position
    return found, last, False


def encode_token(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any]:
    """The state a token was made from; ``ValueError`` for one this fake did not make."""
    try:
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError):
        raise ValueError("malformed page token") from None
    if not isinstance(state, dict):
        raise ValueError("malformed page token")
    return state
