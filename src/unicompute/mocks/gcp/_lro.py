"""The kernel's operations with what GCE adds: ``wait`` and callbacks released once done.

``zoneOperations.wait`` (and the region and global ones) holds the request until the operation
is ``DONE`` or :data:`WAIT_SECONDS` have passed. In stepped mode the fake cannot block, so
:meth:`GceOperations.wait` counts as one poll and, if the operation would finish within
:attr:`GceOperations.wait_seconds` of fake time (it started ``step_seconds`` ago or less than
``wait_seconds`` before that), finishes it at once — as if the wait had blocked until then. The
fake clock itself does not move (it is the test's to move), so ``endTime`` is the time of the
call. An operation due later than the window stays ``RUNNING``, as real ``wait`` returns one
after two minutes.
"""

from __future__ import annotations

from .._kernel import Operation, Operations

#: How long GCE's ``operations.wait`` blocks at most, in seconds.
WAIT_SECONDS = 120.0


class GceOperations(Operations):
    """:class:`~unicompute.mocks._kernel.Operations` plus :meth:`wait`; a finished operation
    drops its ``finish`` callback and ``on_poll`` hook, so the closures (and what they hold)
    are freed instead of living as long as the operation record."""

    #: The fake time a ``wait`` call covers (GCE: two minutes).
    wait_seconds: float = WAIT_SECONDS

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
        super()._complete(op)
        op._finish = None
        op.data.pop("on_poll", None)
