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
``SUN-SAT`` (1 = Sunday); exactly one of day-of-month and day-of-week must be ``?``. The
day-of-month field also takes ``L`` (the last day of the month), ``L-n`` (n days before it),
``nW`` (the weekday nearest day n, within the month) and ``LW`` (the last weekday); the
day-of-week field takes ``L`` (Saturday), ``xL`` (the last day x of the month) and ``x#n`` (the
n-th day x of the month, e.g. ``MON#2``). ``PutRule`` rejects anything else with EventBridge's
``ValidationException`` "Parameter ScheduleExpression is not valid."
"""

from __future__ import annotations

import calendar
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from unittest import mock

from .._kernel.clock import FakeClock

_RATE = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_CRON = re.compile(r"cron\((.*)\)")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name: i + 1 for i, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])}
_DAYS = {name: i + 1 for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
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
    """A six-field cron schedule. ``day`` decides day-of-month and day-of-week together (one
    of them is ``?``); the other fields are the allowed values (``None``: any)."""

    minutes: frozenset[int] | None
    hours: frozenset[int] | None
    day: Callable[[date], bool]
    months: frozenset[int] | None
    years: frozenset[int] | None

    def matches(self, at: datetime) -> bool:
        return (_allows(self.minutes, at.minute) and _allows(self.hours, at.hour)
                and self._day_matches(at.date()))

    def _day_matches(self, day: date) -> bool:
        return (_allows(self.months, day.month) and _allows(self.years, day.year)
                and self.day(day))

    def due(self, start: datetime, after: float, until: float) -> list[float]:
        """Clock seconds of the whole minutes in ``(after, until]`` the expression matches."""
        first = start + timedelta(seconds=after)
        last = start + timedelta(seconds=until)
        minutes = sorted(self.minutes) if self.minutes is not None else range(60)
        hours = sorted(self.hours) if self.hours is not None else range(24)
        times: list[float] = []
        day = first.date()
        while day <= last.date():
            if self._day_matches(day):
                midnight = datetime(day.year, day.month, day.day, tzinfo=start.tzinfo)
                for hour in hours:
                    for minute in minutes:
                        at = (midnight + timedelta(hours=hour, minutes=minute)
                              - start).total_seconds()
                        if after < at <= until:
                            times.append(at)
            day += timedelta(days=1)
        return times


def _allows(allowed: frozenset[int] | None, value: int) -> bool:
    return allowed is None or value in allowed


def _weekday(day: date) -> int:
    """EventBridge's day-of-week number: 1 = Sunday ... 7 = Saturday."""
    return day.isoweekday() % 7 + 1


def _month_days(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _nearest_weekday(day: date, target: int) -> bool:
    """``nW``: the weekday (Monday to Friday) nearest to day ``target`` of the month, never
    crossing into another month (the 1st on a Saturday gives Monday the 3rd); no day in a
    month shorter than ``target``."""
    length = _month_days(day)
    if target > length:
        return False
    chosen = date(day.year, day.month, target)
    if chosen.weekday() == 5:  # Saturday
        chosen += timedelta(days=-1 if target > 1 else 2)
    elif chosen.weekday() == 6:  # Sunday
        chosen += timedelta(days=1 if target < length else -2)
    return day == chosen


def _last_weekday(day: date) -> bool:
    """``LW``: the last Monday-to-Friday day of the month."""
    last = date(day.year, day.month, _month_days(day))
    while last.weekday() >= 5:
        last -= timedelta(days=1)
    return day == last


def _day_rule(dom: str, dow: str) -> Callable[[date], bool]:
    """The day predicate of the day-of-month and day-of-week fields (exactly one is ``?``)."""
    if dow == "?":
        return _dom_rule(dom)
    return _dow_rule(dow)


def _dom_rule(text: str) -> Callable[[date], bool]:
    upper = text.upper()
    if upper == "L":
        return lambda day: day.day == _month_days(day)
    if upper == "LW":
        return _last_weekday
    offset = re.fullmatch(r"L-([0-9]{1,2})", upper)
    if offset:
        before = int(offset.group(1))
        if before > 30:
            raise InvalidSchedule(text)
        return lambda day: day.day == _month_days(day) - before
    nearest = re.fullmatch(r"([0-9]{1,2})W", upper)
    if nearest:
        target = _number(nearest.group(1), 1, 31, {})
        return lambda day: _nearest_weekday(day, target)
    allowed = _field(text, 1, 31, {})
    return lambda day: _allows(allowed, day.day)


def _dow_rule(text: str) -> Callable[[date], bool]:
    upper = text.upper()
    if upper == "L":  # the last day of the week
        return lambda day: _weekday(day) == 7
    last = re.fullmatch(r"([0-9]|[A-Z]{3})L", upper)
    if last:
        weekday = _number(last.group(1), 1, 7, _DAYS)
        return lambda day: _weekday(day) == weekday and day.day + 7 > _month_days(day)
    nth = re.fullmatch(r"([0-9]|[A-Z]{3})#([0-9])", upper)
    if nth:
        weekday, n = _number(nth.group(1), 1, 7, _DAYS), _number(nth.group(2), 1, 5, {})
        return lambda day: _weekday(day) == weekday and (day.day - 1) // 7 + 1 == n
    allowed = _field(text, 1, 7, _DAYS)
    return lambda day: _allows(allowed, _weekday(day))


def parse(expression: str) -> Rate | Cron:
    """The schedule of ``expression``; :class:`InvalidSchedule` if EventBridge rejects it."""
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
    minutes, hours, dom, month, dow, year = parts
    return Cron(minutes=_field(minutes, 0, 59, {}), hours=_field(hours, 0, 23, {}),
                day=_day_rule(dom, dow), months=_field(month, 1, 12, _MONTHS),
                years=_field(year, 1970, 2199, {}))


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
