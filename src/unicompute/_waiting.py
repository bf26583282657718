"""Polling until a condition holds, with backoff, an overall deadline and injectable time."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ._errors import InvalidRequest, Timeout

T = TypeVar("T")


@dataclass(frozen=True, kw_only=True)
class Poller:
    """How to poll: first ``interval`` seconds, multiplied by ``backoff`` up to ``max_interval``.

    ``clock`` and ``sleep`` are injectable so that tests (and the fakes' clock) control time.
    """

    interval: float = 1.0
    backoff: float = 1.5
    max_interval: float = 15.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def until(
        self,
        fetch: Callable[[], T],
        done: Callable[[T], bool],
        *,
        timeout: float,
        what: str,
        check: Callable[[T], None] = lambda _: None,
    ) -> T:
        """Call ``fetch`` until ``done(result)``; return that result.

        ``check`` sees every result that is not done and raises to stop waiting early (a state
        the target can no longer be reached from). Raises :class:`~unicompute.Timeout` naming
        ``what`` once ``timeout`` seconds have passed.
        """
        if timeout < 0:
            raise ValueError("timeout must be >= 0")
        deadline = self.clock() + timeout
        pause = self.interval
        while True:
            result = fetch()
            if done(result):
                return result
            check(result)
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise Timeout(f"gave up waiting for {what} after {timeout:g} s")
            self.sleep(min(pause, remaining))
            pause = min(pause * self.backoff, self.max_interval)


DEFAULT_POLLER = Poller()


def check_timeout(timeout: object) -> float:
    """``timeout`` if it is a number of seconds >= 0; else ``InvalidRequest`` naming it."""
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
        raise InvalidRequest("must be a number of seconds >= 0", field="timeout")
    return float(timeout)
