"""An in-memory table of one kind of resource: O(1) get, stable order, resumable paging."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


def _identity(key: str) -> str:
    return key


def casefold(key: str) -> str:
    """Key normalizer for services whose names are case-insensitive (ARM)."""
    return key.casefold()


class Store(Generic[T]):
    """Resources by key, in insertion order.

    ``normalize`` maps a key to its identity (``casefold`` for ARM, where ``VM1`` and ``vm1`` are
    one resource); the key as first given is kept by callers in the resource itself. Replacing a
    value keeps its place in the order. :meth:`page` hands out opaque tokens that stay valid while
    other resources are added or removed, as real list APIs' tokens do.
    """

    def __init__(self, normalize: Callable[[str], str] = _identity) -> None:
        self._normalize = normalize
        self._items: dict[str, tuple[int, T]] = {}
        self._next_seq = 0
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: str) -> bool:
        return self._normalize(key) in self._items

    def get(self, key: str) -> T | None:
        entry = self._items.get(self._normalize(key))
        return None if entry is None else entry[1]

    def put(self, key: str, value: T) -> bool:
        """Insert or replace; True when the key is new."""
        norm = self._normalize(key)
        with self._lock:
            entry = self._items.get(norm)
            if entry is not None:
                self._items[norm] = (entry[0], value)
                return False
            self._next_seq += 1
            self._items[norm] = (self._next_seq, value)
            return True

    def pop(self, key: str) -> T | None:
        with self._lock:
            entry = self._items.pop(self._normalize(key), None)
        return None if entry is None else entry[1]

    def values(self) -> list[T]:
        """A snapshot of every value, in insertion order."""
        with self._lock:
            return [value for _, value in self._items.values()]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def page(
        self,
        limit: int,
        token: str | None = None,
        where: Callable[[T], bool] | None = None,
    ) -> tuple[list[T], str | None]:
        """Up to ``limit`` values matching ``where``, after the position ``token`` names.

        Returns the values and the token of the next page (``None`` on the last page). Raises
        ``ValueError`` for a token this store did not make, so emulators can answer 400.
        """
        after = _decode(token) if token else 0
        found: list[T] = []
        last_seq = 0
        for seq, value in self._snapshot():
            if seq <= after or (where is not None and not where(value)):
                continue
            if len(found) == limit:
                return found, _encode(last_seq)
            found.append(value)
            last_seq = seq
        return found, None

    def _snapshot(self) -> Iterator[tuple[int, T]]:
        with self._lock:
            items = list(self._items.values())
        return iter(items)


_TOKEN_PREFIX = "p1."


def _encode(seq: int) -> str:
    return f"{_TOKEN_PREFIX}{seq:x}"


def _decode(token: str) -> int:
    if not token.startswith(_TOKEN_PREFIX):
        raise ValueError("malformed page token")
    try:
        return int(token[len(_TOKEN_PREFIX):], 16)
    except ValueError:
        raise ValueError("malformed page token") from None
