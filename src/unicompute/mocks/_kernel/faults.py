"""Fault injection for emulators: fail the next calls of an operation, throttle, add latency.

An emulator asks :meth:`Faults.check` with the operation's name before running it; a returned
:class:`Fault` is answered as that cloud answers such an error. Operation names are the
emulator's own (documented on each fake), matched exactly or with ``*`` wildcards.
"""

from __future__ import annotations

import fnmatch
import random
import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True, kw_only=True)
class Fault:
    """An error to answer instead of running the operation."""

    status: int
    code: str
    message: str


@dataclass
class _Rule:
    pattern: str
    fault: Fault
    remaining: int | None  # None: until cleared
    probability: float = 1.0


@dataclass
class Faults:
    """The faults armed on one emulator. Thread-safe; :meth:`clear` disarms everything."""

    seed: int = 0
    _rules: list[_Rule] = field(default_factory=list)
    _latency: dict[str, float] = field(default_factory=dict)
    _calls: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def fail_next(self, operation: str, *, status: int, code: str, message: str = "injected",
                  times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` fail with ``status``/``code``."""
        if times < 1:
            raise ValueError("times must be >= 1")
        self._add(_Rule(operation, Fault(status=status, code=code, message=message), times))

    def throttle(self, operation: str = "*", *, times: int = 1, status: int = 429,
                 code: str = "TooManyRequests", message: str = "Rate limit exceeded") -> None:
        """The next ``times`` calls of ``operation`` are answered as throttled."""
        self.fail_next(operation, status=status, code=code, message=message, times=times)

    def error_rate(self, operation: str, rate: float, *, status: int = 500,
                   code: str = "InternalServerError", message: str = "injected") -> None:
        """Each call of ``operation`` fails with probability ``rate`` (seeded, repeatable)."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        self._add(_Rule(operation, Fault(status=status, code=code, message=message), None, rate))

    def latency(self, operation: str, seconds: float) -> None:
        """Every call of ``operation`` waits ``seconds`` of real time first."""
        with self._lock:
            self._latency[operation] = seconds

    def calls(self, operation: str) -> int:
        """How many calls of ``operation`` (exact name) the emulator has seen."""
        with self._lock:
            return self._calls.get(operation, 0)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._latency.clear()
            self._calls.clear()

    def check(self, operation: str) -> Fault | None:
        """Count the call; sleep any latency armed for it; return the fault to answer, if any."""
        delay = 0.0
        chosen: Fault | None = None
        with self._lock:
            self._calls[operation] = self._calls.get(operation, 0) + 1
            for pattern, seconds in self._latency.items():
                if fnmatch.fnmatchcase(operation, pattern):
                    delay = max(delay, seconds)
            for rule in self._rules:
                if not fnmatch.fnmatchcase(operation, rule.pattern):
                    continue
                if rule.probability < 1.0 and self._random.random() >= rule.probability:
                    continue
                chosen = rule.fault
                if rule.remaining is not None:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                break
        if delay:
            time.sleep(delay)
        return chosen

    def _add(self, rule: _Rule) -> None:
        with self._lock:
            self._rules.append(rule)
