"""A clock that only moves when slept on, for tests of waits (``Poller(clock=, sleep=)``)."""

from __future__ import annotations

from unicompute._waiting import Poller


class FakeTime:
    """A clock that only moves when slept on; records every sleep. ``start`` is its first
    reading."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def poller(self, **settings: float | int | None) -> Poller:
        """A poller on this clock with ``settings`` (``interval``, ``timeout``...)."""
        return Poller(clock=self.clock, sleep=self.sleep, **settings)  # type: ignore[arg-type]
