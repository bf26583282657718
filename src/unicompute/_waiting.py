"""Polling until a condition holds, with backoff, an overall deadline and injectable time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ._errors import InvalidRequest, Timeout

T = TypeVar("T")

#: Attempts of a :meth:`Poller.every` wait whose interval is zero, unless the caller says.
ZERO_DELAY_ATTEMPTS = 40


@dataclass(frozen=True, kw_only=True)
class Poller:
    """How to poll: first ``interval`` seconds, multiplied by ``backoff`` up to ``max_interval``.

    ``clock`` and ``sleep`` are injectable so that tests (and the fakes' clock) control time.
    ``max_attempts``, when set, also ends a wait after that many attempts, whatever the clock
    says (for a zero ``interval`` against a fake that answers at once, where no time passes).
    """

    interval: float = 1.0
    backoff: float = 1.5
    max_interval: float = 15.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    max_attempts: int | None = None

    @classmethod
    def every(
        cls,
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        zero_delay_attempts: int = ZERO_DELAY_ATTEMPTS,
    ) -> Poller:
        """The schedule of a provider's waits from its ``poll_interval`` setting: ``interval``
        seconds between polls, no backoff, on ``clock`` and ``sleep``.

        With a zero ``interval`` (a fake that answers at once, where no time need pass) a wait
        also ends after ``zero_delay_attempts`` attempts, so that one against a clock that
        does not move still ends.
        """
        return cls(
            interval=interval,
            backoff=1.0,
            max_interval=interval,
            clock=clock,
            sleep=sleep,
            max_attempts=None if interval > 0 else zero_delay_attempts,
        )

    def until(
        self,
        fetch: Callable[[], T],
        done: Callable[[T], bool],
        *,
        timeout: float,
        what: str,
        check: Callable[[T], None] = lambda _: None,
        timed_out: Callable[[T], BaseException] | None = None,
    ) -> T:
        """Call ``fetch`` until ``done(result)``; return that result.

        ``check`` sees every result that is not done and raises to stop waiting early (a state
        the target can no longer be reached from). Once ``timeout`` seconds have passed (or
        ``max_attempts`` were made) raises ``timed_out(last result)`` if given, else
        :class:`~unicompute.Timeout` naming ``what``.
        """
        schedule = _Schedule(self, timeout)
        while True:
            result = fetch()
            if done(result):
                return result
            check(result)
            if schedule.spent():
                if timed_out is not None:
                    raise timed_out(result)
                raise Timeout(f"gave up waiting for {what} after {timeout:g} s")
            schedule.pause()

    def retry(
        self, call: Callable[[], T], *, retry_on: Callable[[Exception], bool], timeout: float
    ) -> T:
        """``call()``, repeated on this schedule while it raises an exception ``retry_on``
        accepts (a call that fails only until an earlier change settles); other exceptions
        propagate at once. Once ``timeout`` seconds have passed (or ``max_attempts`` were made)
        the last exception propagates."""
        schedule = _Schedule(self, timeout)
        while True:
            try:
                return call()
            except Exception as exc:
                if not retry_on(exc) or schedule.spent():
                    raise
            schedule.pause()


class _Schedule:
    """The attempts of one wait on a :class:`Poller`'s schedule, ``timeout`` seconds long."""

    def __init__(self, poller: Poller, timeout: float) -> None:
        if timeout < 0:
            raise ValueError("timeout must be >= 0")
        self._poller = poller
        self._deadline = poller.clock() + timeout
        self._pause = poller.interval
        self._attempts = 0
        self._remaining = timeout

    def spent(self) -> bool:
        """Count one unsuccessful attempt; whether the wait is now over."""
        self._attempts += 1
        limit = self._poller.max_attempts
        if limit is not None and self._attempts >= limit:
            return True
        self._remaining = self._deadline - self._poller.clock()
        return self._remaining <= 0

    def pause(self) -> None:
        """Sleep until the next attempt (never past the deadline)."""
        self._poller.sleep(min(self._pause, self._remaining))
        self._pause = min(self._pause * self._poller.backoff, self._poller.max_interval)


DEFAULT_POLLER = Poller()


def check_timeout(timeout: object) -> float:
    """``timeout`` if it is a number of seconds >= 0; else ``InvalidRequest`` naming it."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
        raise InvalidRequest("must be a number of seconds >= 0", field="timeout")
    return float(timeout)
