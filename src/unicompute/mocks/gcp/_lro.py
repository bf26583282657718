"""The kernel's operations with what GCE adds: ``wait`` and callbacks released once done.

``zoneOperations.wait`` (and the region and global ones) holds the request until the operation
is ``DONE`` or :data:`WAIT_SECONDS` have passed. In stepped mode the fake cannot block, so
:meth:`GceOperations.wait` counts as one poll and, if the operation would finish within
:attr:`GceOperations.wait_seconds` of fake time (it started ``step_seconds`` ago or less than
``wait_seconds`` before that), finishes it at once — as if the wait had blocked until then. The
fake clock itself does not move (it is the test's to move), so ``endTime`` is the time of the
call. An operation due later than the window stays ``RUNNING``, as real ``wait`` returns one
after two minutes.

Finished operations are remembered up to :data:`KEEP_FINISHED` (the kernel's
``keep_finished``); an older one is forgotten, and ``on_forget`` is told its id so the emulator
drops it from its listings too: GCE then answers its id as an unknown one (404 ``notFound``).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import islice

from .._kernel import FakeClock, IdFactory, Operation, Operations

#: How long GCE's ``operations.wait`` blocks at most, in seconds.
WAIT_SECONDS = 120.0
#: Finished operations the fake remembers (older ones answer 404, as expired ones do).
KEEP_FINISHED = 10_000


class GceOperations(Operations):
    """:class:`~unicompute.mocks._kernel.Operations` plus :meth:`wait`; a finished operation
    drops its ``finish`` callback and ``on_poll`` hook, so the closures (and what they hold)
    are freed instead of living as long as the operation record."""

    #: The fake time a ``wait`` call covers (GCE: two minutes).
    wait_seconds: float = WAIT_SECONDS

    def __init__(self, clock: FakeClock, ids: IdFactory, *,
                 keep_finished: int | None = KEEP_FINISHED,
                 on_forget: Callable[[str], None] | None = None) -> None:
        super().__init__(clock, ids, keep_finished=keep_finished)
        self._on_forget = on_forget

    def forget(self, op_id: str) -> Operation | None:
        """Drop operation ``op_id`` (``operations.delete``); the operation, or ``None``."""
        with self._lock:
            op = self._store.pop(op_id)
            if op is not None and op.done and op_id in self._finished:
                self._finished.remove(op_id)
        return op

    def wait(self, op_id: str) -> Operation | None:
        """The operation after a ``wait`` call (see the module docstring); ``None`` if
        unknown."""
        op = self.get(op_id)
        if op is None or op.done:
            return op
        with self._lock:
            due = op.started + self.step_seconds
            if not op.done and due <= self.clock.time() + self.wait_seconds:
                self._complete(op)
        return op

    def _complete(self, op: Operation) -> None:
        with self._lock:
            excess = 0 if self.keep_finished is None else \
                len(self._finished) + 1 - self.keep_finished
            evicted = list(islice(self._finished, max(0, excess)))
            super()._complete(op)
        op._finish = None
        op.data.pop("on_poll", None)
        if self._on_forget is not None:
            for op_id in evicted:
                self._on_forget(op_id)
