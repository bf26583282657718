"""A clock the emulators read instead of the wall clock, so tests decide when time passes."""

from __future__ import annotations

import threading
import time as _time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

#: The instant a new clock shows, unless told otherwise: fixed, so runs are repeatable.
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class FakeClock:
    """Monotonic fake time in seconds since :attr:`start`; only :meth:`advance` moves it.

    Listeners registered with :meth:`on_advance` run after every advance (emulators use them to
    fire schedules and finish timed transitions). Thread-safe.
    """

    def __init__(self, start: datetime = EPOCH) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.start = start
        self._seconds = 0.0
        self._lock = threading.Lock()
        self._listeners: list[Callable[[float], None]] = []

    def time(self) -> float:
        """Seconds elapsed on this clock."""
        with self._lock:
            return self._seconds + self._real_seconds()

    def _real_seconds(self) -> float:
        """Real seconds this clock follows on top of :meth:`advance` (none here)."""
        return 0.0

    def now(self) -> datetime:
        """The current fake instant, UTC."""
        return self.start + timedelta(seconds=self.time())

    def iso(self) -> str:
        """:meth:`now` as RFC 3339 with microseconds and a ``Z``... as ARM/GCE print it."""
        return self.now().isoformat().replace("+00:00", "Z")

    def advance(self, seconds: float) -> float:
        """Move time forward by ``seconds`` (>= 0) and notify listeners; returns the new time."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        with self._lock:
            self._seconds += seconds
            now = self._seconds + self._real_seconds()
            listeners = list(self._listeners)
        for listener in listeners:
            listener(now)
        return now

    def on_advance(self, listener: Callable[[float], None]) -> None:
        """Call ``listener(new_time)`` after each :meth:`advance`."""
        with self._lock:
            self._listeners.append(listener)


class WallClock(FakeClock):
    """A :class:`FakeClock` that also moves with real time, from the wall-clock instant it was
    made: for fakes served to other processes (``unicompute --mock`` commands), whose
    resources must carry the times they were really made at, as a cloud's do.

    :meth:`advance` still steps it forward and notifies listeners; real time passing notifies
    no one (timed work still completes when polled or on :meth:`advance`).
    """

    def __init__(self, start: datetime | None = None, *,
                 monotonic: Callable[[], float] = _time.monotonic) -> None:
        super().__init__(datetime.now(UTC) if start is None else start)
        self._monotonic = monotonic
        self._origin = monotonic()

    def _real_seconds(self) -> float:
        return self._monotonic() - self._origin
