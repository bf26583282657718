"""EventBridge schedules that fire on the AWS fake's clock.

Each ``clock.advance(s)`` (``mock.aws.clock``) fires every enabled rule with a
``ScheduleExpression`` once per instant it was due in the interval just passed, invoking each
Lambda target asynchronously with the scheduled-event JSON (or the target's ``Input``). A rule
counts from the fake time it was first seen by the scheduler (the previous advance, or the
start): ``rate(5 minutes)`` fires at +5, +10... minutes; ``cron(...)`` on every matching minute
of the clock's UTC time.

Supported: ``rate(N minute[s]|hour[s]|day[s])`` (singular exactly for N = 1, as EventBridge
requires), and ``cron(minutes hours day-of-month month day-of-week year)`` with ``*``, ``?``,
numbers, ``a-b`` ranges, ``/`` steps, ``,`` lists, month names ``JAN-DEC`` and weekday names
``SUN-SAT`` (1 = Sunday); exactly one of day-of-month and day-of-week must be ``?``.
``PutRule`` rejects anything else with EventBridge's ``ValidationException`` "Parameter
ScheduleExpression is not valid." — including ``L``, ``W`` and ``#``, which EventBridge accepts
but the fake cannot schedule.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

from .._kernel.clock import FakeClock

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_CRON = re.compile(r"cron\((.*)\)")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name: i + 1 for i, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])}
_DAYS = {name: i + 1 for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
#: (low, high, names) per cron field.
_FIELDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, _MONTHS), (1, 7, _DAYS), (1970, 2199, {}))
INVALID = "Parameter ScheduleExpression is not valid."


class InvalidSchedule(ValueError):
    pass


@dataclass(frozen=True)
class Rate:
    period_s: int

    def due(self, anchor: float, after: float, until: float) -> list[float]:
        """Fire times ``anchor + k*period`` (k >= 1) in ``(after, until]``."""
        first = max(1, int((after - anchor) // self.period_s) + 1)
        times = []
        k = first
        while anchor + k * self.period_s <= until:
            times.append(anchor + k * self.period_s)
            k += 1
        return times


@dataclass(frozen=True)
class Cron:
    fields: tuple[frozenset[int] | None, ...]

    def matches(self, at: datetime) -> bool:
        weekday = (at.isoweekday() % 7) + 1  # Sunday = 1
        values = (at.minute, at.hour, at.day, at.month, weekday, at.year)
        return all(allowed is None or value in allowed
                   for allowed, value in zip(self.fields, values, strict=True))

    def due(self, start: datetime, after: float, until: float) -> list[float]:
        """Clock seconds of the whole minutes in ``(after, until]`` the expression matches."""
        minute = -(-after // 60) * 60
        if minute == after:
            minute += 60
        times = []
        while minute <= until:
            if self.matches(start + timedelta(seconds=minute)):
                times.append(minute)
            minute += 60
        return times


def parse(expression: str) -> Rate | Cron:
    """The schedule of ``expression``; :class:`InvalidSchedule` if the fake cannot run it."""
    rate = _RATE.fullmatch(expression)
    if rate:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1 or (value == 1) != (not unit.endswith("s")):
            raise InvalidSchedule(expression)
        return Rate(value * _UNIT_S[unit.rstrip("s")])
    cron = _CRON.fullmatch(expression)
    if not cron:
        raise InvalidSchedule(expression)
    parts = cron.group(1).split()
    if len(parts) != 6 or (parts[2] == "?") == (parts[4] == "?"):
        raise InvalidSchedule(expression)
    return Cron(tuple(_field(part, *spec) for part, spec in zip(parts, _FIELDS, strict=True)))


def _field(text: str, low: int, high: int, names: dict[str, int]) -> frozenset[int] | None:
    if text in ("*", "?"):
        return None
    allowed: set[int] = set()
    for item in text.split(","):
        span, _, step_text = item.partition("/")
        step = _number(step_text, 1, high, {}) if step_text else 1
        if span == "*":
            first, last = low, high
        elif "-" in span:
            a, _, b = span.partition("-")
            first, last = _number(a, low, high, names), _number(b, low, high, names)
        else:
            first = _number(span, low, high, names)
            last = high if step_text else first
        if first > last:
            raise InvalidSchedule(text)
        allowed.update(range(first, last + 1, step))
    return frozenset(allowed)


def _number(text: str, low: int, high: int, names: dict[str, int]) -> int:
    value = names.get(text.upper())
    if value is None:
        if not text.isdigit():
            raise InvalidSchedule(text)
        value = int(text)
    if not low <= value <= high:
        raise InvalidSchedule(text)
    return value


def validation_patch() -> Any:
    """A ``mock.patch`` (not started) making ``PutRule`` reject schedules the fake cannot run
    with EventBridge's error."""
    from moto.events.exceptions import ValidationException
    from moto.events.models import EventsBackend

    original = EventsBackend.put_rule

    def put_rule(backend: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        expression = kwargs.get("scheduled_expression")
        if expression is None and len(args) >= 5:
            expression = args[4]
        if expression:
            try:
                parse(expression)
            except InvalidSchedule:
                raise ValidationException(INVALID) from None
        return original(backend, name, *args, **kwargs)

    return mock.patch.object(EventsBackend, "put_rule", put_rule)


class Scheduler:
    """Fires due rules on each clock advance through ``fire(function_arn, event_json)``."""

    def __init__(self, clock: FakeClock, fire: Callable[[str, bytes], None]) -> None:
        self.clock = clock
        self._fire = fire
        self._last = clock.time()
        self._anchors: dict[str, float] = {}
        self._done: dict[str, float] = {}

    def reset(self) -> None:
        self._anchors.clear()
        self._done.clear()
        self._last = self.clock.time()

    def advance(self, now: float) -> None:
        """Fire every rule due in ``(previous advance, now]``."""
        from moto.events.models import events_backends

        previous, self._last = self._last, now
        for account in list(events_backends.keys()):
            backends: dict[str, Any] = dict(events_backends[account].items())
            for region, backend in backends.items():
                rules = [rule for bus in list(backend.event_buses.values())
                         for rule in list(bus.rules.values())]
                for rule in rules:
                    expression = getattr(rule, "scheduled_expression", None)
                    if not expression or rule.state != "ENABLED":
                        continue
                    arn = rule.arn
                    anchor = self._anchors.setdefault(arn, previous)
                    after = self._done.get(arn, anchor)
                    self._done[arn] = now
                    schedule = parse(expression)
                    times = (schedule.due(anchor, after, now) if isinstance(schedule, Rate)
                             else schedule.due(self.clock.start, after, now))
                    for at in times:
                        self._fire_rule(rule, account, region, at)

    def _fire_rule(self, rule: Any, account: str, region: str, at: float) -> None:
        when = (self.clock.start + timedelta(seconds=at)).strftime("%Y-%m-%dT%H:%M:%SZ")
        for target in list(rule.targets):
            target_arn = str(target.get("Arn", ""))
            if ":lambda:" not in target_arn or ":function:" not in target_arn:
                continue
            if target.get("Input"):
                event = str(target["Input"]).encode()
            else:
                event = json.dumps({
                    "version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event",
                    "source": "aws.events", "account": account, "time": when,
                    "region": region, "resources": [rule.arn], "detail": {}}).encode()
            self._fire(target_arn, event)
