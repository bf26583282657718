"""Fault injection for emulators: fail the next calls of an operation, throttle, add latency.

An emulator asks :meth:`Faults.check` with the operation's name before running it; a returned
:class:`Fault` is answered as that cloud answers such an error. Operation names are the
emulator's own (documented on each fake), matched exactly or with ``*`` wildcards.

Which rule answers a call: the counted rules (:meth:`Faults.fail_next`, :meth:`Faults.throttle`)
in the order they were armed, and only when none matches, the error rate of the most specific
matching pattern (most characters that are not wildcards; ties: the one armed first). Latency
is likewise the most specific matching pattern's.
"""

from __future__ import annotations

import fnmatch
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple


@dataclass(frozen=True, kw_only=True)
class Fault:
    """An error to answer instead of running the operation."""

    status: int
    code: str
    message: str


class Call(NamedTuple):
    """One call the emulator saw (:attr:`Faults.log`): its operation and the parameters the
    emulator passed to :meth:`Faults.check` (empty when it passed none)."""

    operation: str
    params: Mapping[str, Any]


@dataclass
class _Rule:
    pattern: str
    fault: Fault
    remaining: int | None  # None: until cleared
    probability: float = 1.0
    chooser: random.Random | None = None  # None: the Faults' own seeded generator


def _specificity(pattern: str) -> int:
    """How many characters of ``pattern`` are literal (not ``*``, ``?`` or ``[...]``)."""
    return len(pattern) - sum(pattern.count(c) for c in "*?[]")


def _most_specific(patterns: list[str], operation: str) -> str | None:
    best: str | None = None
    for pattern in patterns:  # armed order: the first of equally specific ones wins
        if fnmatch.fnmatchcase(operation, pattern) and (
                best is None or _specificity(pattern) > _specificity(best)):
            best = pattern
    return best


@dataclass
class Faults:
    """The faults armed on one emulator. Thread-safe; :meth:`clear` disarms everything.

    ``log_size`` keeps a log of the last calls with their parameters (:attr:`log`): 0 (the
    default) keeps none, ``None`` keeps every call. ``sleep`` waits out latencies.
    ``throttle`` answers as this cloud throttles: :attr:`throttled` (ARM's 429
    ``TooManyRequests`` unless the emulator says otherwise).
    """

    seed: int = 0
    log_size: int | None = 0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    throttled: Fault = field(default_factory=lambda: Fault(
        status=429, code="TooManyRequests", message="Rate limit exceeded"))
    _rules: list[_Rule] = field(default_factory=list)
    _latency: dict[str, float] = field(default_factory=dict)
    _calls: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        if self.log_size is not None and self.log_size < 0:
            raise ValueError("log_size must be >= 0 or None")
        self._random = random.Random(self.seed)
        self._log: deque[Call] = deque(maxlen=self.log_size)

    def fail_next(self, operation: str, *, status: int, code: str, message: str = "injected",
                  times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` fail with ``status``/``code``."""
        if times < 1:
            raise ValueError("times must be >= 1")
        self._add(_Rule(operation, Fault(status=status, code=code, message=message), times))

    def throttle(self, operation: str = "*", *, times: int = 1) -> None:
        """The next ``times`` calls of ``operation`` are answered as the cloud answers a
        throttled call (:attr:`throttled`)."""
        fault = self.throttled
        self.fail_next(operation, status=fault.status, code=fault.code, message=fault.message,
                       times=times)

    def error_rate(self, operation: str, rate: float, *, status: int = 500,
                   code: str = "InternalServerError", message: str = "injected",
                   seed: int | None = None) -> None:
        """Each call of ``operation`` fails with probability ``rate``, repeatably: drawn from
        a generator seeded with ``seed``, or (``None``) with the Faults' own ``seed``.

        Replaces the rate armed earlier for the same ``operation`` (pattern); ``rate=0``
        removes it.
        """
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be within [0, 1]")
        rule = _Rule(operation, Fault(status=status, code=code, message=message), None, rate,
                     None if seed is None else random.Random(seed))
        with self._lock:
            self._rules[:] = [r for r in self._rules
                              if r.remaining is not None or r.pattern != operation]
            if rate:
                self._rules.append(rule)

    def latency(self, operation: str, seconds: float) -> None:
        """Every call of ``operation`` waits ``seconds`` of real time first; 0 removes it."""
        if not 0.0 <= seconds < float("inf"):
            raise ValueError("seconds must be a finite number >= 0")
        with self._lock:
            if seconds:
                self._latency[operation] = seconds
            else:
                self._latency.pop(operation, None)

    def calls(self, operation: str) -> int:
        """How many calls of ``operation`` (exact name) the emulator has seen."""
        with self._lock:
            return self._calls.get(operation, 0)

    @property
    def log(self) -> list[Call]:
        """The calls seen (the last ``log_size``), oldest first; a copy."""
        with self._lock:
            return list(self._log)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._latency.clear()
            self._calls.clear()
            self._log.clear()

    def record(self, operation: str, params: Mapping[str, Any] | None = None) -> None:
        """Count and log a call that takes no faults."""
        with self._lock:
            self._record(operation, params)

    def check(self, operation: str, params: Mapping[str, Any] | None = None) -> Fault | None:
        """Count (and log, with ``params``) the call; sleep any latency armed for it; return
        the fault to answer, if any."""
        delay = 0.0
        chosen: Fault | None = None
        with self._lock:
            self._record(operation, params)
            pattern = _most_specific(list(self._latency), operation)
            if pattern is not None:
                delay = self._latency[pattern]
            for rule in self._rules:
                if rule.remaining is not None and fnmatch.fnmatchcase(operation, rule.pattern):
                    chosen = rule.fault
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._rules.remove(rule)
                    break
            else:
                rated = [r for r in self._rules if r.remaining is None]
                pattern = _most_specific([r.pattern for r in rated], operation)
                rule_ = next((r for r in rated if r.pattern == pattern), None)
                if rule_ is not None and (rule_.probability >= 1.0 or (
                        rule_.chooser or self._random).random() < rule_.probability):
                    chosen = rule_.fault
        if delay:
            self.sleep(delay)
        return chosen

    def _record(self, operation: str, params: Mapping[str, Any] | None) -> None:
        self._calls[operation] = self._calls.get(operation, 0) + 1
        if self._log.maxlen != 0:
            self._log.append(Call(operation, {} if params is None else params))

    def _add(self, rule: _Rule) -> None:
        with self._lock:
            self._rules.append(rule)
