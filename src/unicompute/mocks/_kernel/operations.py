"""Long-running operations: finished at once (the default) or stepped along by polls and time.

An emulator starts an operation with a ``finish`` callback that applies the final state (a VM
becomes ``running``) and may return a :class:`~.faults.Fault` to fail it. In ``instant`` mode the
callback runs before the first response, so SDKs never sleep. In ``stepped`` mode the operation
stays in progress until the clock has moved ``step_seconds`` past its start or it has been
polled ``polls_to_finish`` times, whichever comes first, so clients' polling code really runs.

``keep_finished`` (default: unlimited) bounds how many finished operations are remembered: past
it, the oldest finished ones are forgotten (``get`` answers ``None``, as a cloud answers an
operation id it no longer knows), so a long-lived fake does not grow without end.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .clock import FakeClock
from .faults import Fault
from .ids import IdFactory
from .store import Store

Mode = Literal["instant", "stepped"]
Status = Literal["running", "succeeded", "failed"]


@dataclass
class Operation:
    """One tracked operation; ``data`` is the emulator's own (target link, kind, user...)."""

    id: str
    started: float
    status: Status = "running"
    error: Fault | None = None
    finished: float | None = None
    polls: int = 0
    data: dict[str, Any] = field(default_factory=dict)
    _finish: Callable[[], Fault | None] | None = field(default=None, repr=False)

    @property
    def done(self) -> bool:
        return self.status != "running"


class Operations:
    """The operations of one emulator. ``mode`` may be switched at any time (new operations)."""

    def __init__(self, clock: FakeClock, ids: IdFactory, *, mode: Mode = "instant",
                 step_seconds: float = 1.0, polls_to_finish: int = 2,
                 keep_finished: int | None = None) -> None:
        if keep_finished is not None and keep_finished < 1:
            raise ValueError("keep_finished must be >= 1 (or None: keep all)")
        self.clock = clock
        self.ids = ids
        self.mode: Mode = mode
        self.step_seconds = step_seconds
        self.polls_to_finish = polls_to_finish
        self.keep_finished = keep_finished
        self._store: Store[Operation] = Store()
        self._finished: deque[str] = deque()
        self._lock = threading.RLock()

    def start(self, finish: Callable[[], Fault | None] | None = None, *,
              data: dict[str, Any] | None = None, op_id: str | None = None) -> Operation:
        """Begin an operation; in instant mode it is already done when this returns."""
        op = Operation(id=op_id or self.ids.uuid(), started=self.clock.time(),
                       data=dict(data or {}), _finish=finish)
        self._store.put(op.id, op)
        if self.mode == "instant":
            self._complete(op)
        return op

    def get(self, op_id: str) -> Operation | None:
        """The operation, after moving it along as one poll does; ``None`` if unknown."""
        op = self._store.get(op_id)
        if op is None:
            return None
        with self._lock:
            if not op.done:
                op.polls += 1
                elapsed = self.clock.time() - op.started
                if op.polls >= self.polls_to_finish or elapsed >= self.step_seconds:
                    self._complete(op)
        return op

    def peek(self, op_id: str) -> Operation | None:
        """The operation without counting a poll."""
        return self._store.get(op_id)

    def all(self) -> list[Operation]:
        return self._store.values()

    def finish_all(self) -> None:
        """Complete every operation still running (tests: 'let everything settle')."""
        for op in self._store.values():
            with self._lock:
                if not op.done:
                    self._complete(op)

    def clear(self) -> None:
        with self._lock:
            self._store.clear()
            self._finished.clear()

    def _complete(self, op: Operation) -> None:
        fault = op._finish() if op._finish is not None else None
        op.finished = self.clock.time()
        op.error = fault
        op.status = "failed" if fault is not None else "succeeded"
        if self.keep_finished is not None:
            with self._lock:
                self._finished.append(op.id)
                while len(self._finished) > self.keep_finished:
                    self._store.pop(self._finished.popleft())
