"""Identifiers that look like the real ones and repeat from run to run."""

from __future__ import annotations

import random
import threading
import uuid


class IdFactory:
    """Deterministic ids from a seed: the same sequence of calls gives the same ids."""

    def __init__(self, seed: int = 0) -> None:
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._counter = 0

    def hex(self, length: int = 17) -> str:
        """``length`` lowercase hex digits."""
        with self._lock:
            return f"{self._random.getrandbits(4 * length):0{length}x}"

    def number(self, digits: int = 19) -> str:
        """A decimal string of exactly ``digits`` digits (GCE ids are int64 printed as strings)."""
        with self._lock:
            low = 10 ** (digits - 1)
            return str(self._random.randrange(low, 10 * low))

    def uuid(self) -> str:
        """A version-4 UUID string."""
        with self._lock:
            return str(uuid.UUID(int=self._random.getrandbits(128), version=4))

    def sequence(self) -> int:
        """1, 2, 3, ... (for names such as ``operation-1``)."""
        with self._lock:
            self._counter += 1
            return self._counter
