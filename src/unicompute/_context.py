"""What every portable service of one open cloud shares: its drivers, the closed-state check, the
single place where native errors are wrapped, and the retry and polling policy."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from ._errors import (
    ClosedError,
    ProviderError,
    Timeout,
    UnicomputeError,
    Unsupported,
)
from ._waiting import DEFAULT_POLLER, Poller, check_timeout
from .driver import Capability, ProviderDrivers

T = TypeVar("T")
_log = logging.getLogger("unicompute")

#: Attempts of an idempotent call whose error is retryable (throttling, capacity, timeouts).
MAX_ATTEMPTS = 4


class CloudContext:
    """The drivers of one provider/region, open until :meth:`close`."""

    def __init__(self, drivers: ProviderDrivers, *, poller: Poller = DEFAULT_POLLER) -> None:
        self.drivers = drivers
        self.poller = poller
        self.closed = False

    @property
    def provider(self) -> str:
        return self.drivers.provider

    @property
    def region(self) -> str:
        return self.drivers.region

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.drivers.close()

    def require(self, capability: Capability, operation: str) -> None:
        """Raise :class:`~unicompute.Unsupported` unless the provider declares ``capability``."""
        self.check_open(operation)
        if capability not in self.drivers.capabilities:
            raise Unsupported(
                f"{self.provider} does not support {capability.value}",
                provider=self.provider,
                operation=operation,
            )

    def check_open(self, operation: str) -> None:
        if self.closed:
            raise ClosedError(
                f"this {self.provider} cloud was closed; open a new one with unicompute.connect()",
                provider=self.provider,
                operation=operation,
            )

    def wrap(self, exc: BaseException, operation: str, resource: str | None) -> UnicomputeError:
        """``exc`` as a :class:`UnicomputeError` (one raised by a driver is kept, with the
        provider, operation and resource it lacked filled in; a native one's notes are kept)."""
        if isinstance(exc, UnicomputeError):
            error = exc
        else:
            error = self.drivers.translate_error(exc, operation) or ProviderError(
                f"{type(exc).__name__}: {exc}", original=exc
            )
            error.original = error.original or exc
            for note in getattr(exc, "__notes__", ()):  # e.g. "delete <x> by hand" from an undo
                error.add_note(note)
        error.provider = error.provider or self.provider
        error.operation = error.operation or operation
        error.resource = error.resource or resource
        return error

    def wait(
        self,
        fetch: Callable[[], T],
        done: Callable[[T], bool],
        *,
        timeout: float,
        operation: str,
        resource: str,
        what: str,
        check: Callable[[T], None] = lambda _: None,
    ) -> T:
        """Poll ``fetch`` until ``done`` (see :meth:`Poller.until`); ``timeout`` is checked first,
        and a :class:`~unicompute.Timeout` names the provider, operation and resource."""
        seconds = check_timeout(timeout)
        try:
            return self.poller.until(fetch, done, timeout=seconds, what=what, check=check)
        except Timeout as exc:
            exc.provider, exc.operation, exc.resource = self.provider, operation, resource
            raise

    def call(
        self,
        operation: str,
        fn: Callable[[], T],
        *,
        resource: str | None = None,
        idempotent: bool = False,
    ) -> T:
        """Run a driver call; wrap what it raises exactly once.

        Idempotent calls (reads) are retried with backoff while the error is retryable.
        """
        self.check_open(operation)

        def attempt() -> T:
            _log.debug("%s %s %s: %s", self.provider, self.region, operation, resource or "-")
            try:
                return fn()
            except Exception as exc:
                error = self.wrap(exc, operation, resource)
                if error is exc:
                    raise
                raise error from exc

        def worth_repeating(exc: Exception) -> bool:
            if not (idempotent and isinstance(exc, UnicomputeError) and exc.retryable):
                return False
            _log.info("%s %s: %s; repeating (at most %d attempts)", self.provider, operation,
                      exc.code.value, MAX_ATTEMPTS)
            return True

        schedule = replace(self.poller, max_attempts=MAX_ATTEMPTS)
        return schedule.retry(attempt, retry_on=worth_repeating, timeout=math.inf)
