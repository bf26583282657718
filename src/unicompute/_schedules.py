"""EventBridge's schedule grammar, the one :class:`~unicompute.ScheduleTrigger` takes on every
cloud: :func:`parse` turns an expression into a schedule that knows when it fires next.

* ``rate(value unit)``: ``value`` a whole number >= 1, ``unit`` one of ``minute``, ``hour``,
  ``day`` for 1 and ``minutes``, ``hours``, ``days`` otherwise (``rate(1 minute)``,
  ``rate(5 minutes)``). It fires every ``value`` units from the moment the schedule starts.
* ``cron(minutes hours day-of-month month day-of-week year)``, always in UTC: six fields
  separated by white space, each ``*``, a number, ``a-b`` (a range), ``x/n`` or ``a-b/n`` or
  ``*/n`` (every n-th from x), or a ``,``-list of those. Values: minutes 0-59, hours 0-23,
  day-of-month 1-31, month 1-12 or ``JAN``-``DEC``, day-of-week 1-7 or ``SUN``-``SAT``
  (1 = Sunday), year 1970-2199; names in any case. Exactly one of day-of-month and day-of-week
  is ``?`` (any), which no other field takes. Day-of-month also takes ``L`` (the last day of
  the month), ``L-n`` (n days before it), ``nW`` (the weekday nearest day n, not leaving the
  month) and ``LW`` (the last weekday); day-of-week takes ``L`` (Saturday), ``xL`` (the last
  day x of the month) and ``x#n`` (the n-th day x of the month, n 1-5, alone: no list).

An expression outside this grammar raises :class:`InvalidSchedule`, whose message names the
part at fault (``"day-of-week 'MON#6': ..."``). This module has no SDK imports: the portable
checks use it before any call, and the fakes use it to fire schedules on their clocks.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType

#: The cron fields, in order.
CRON_FIELDS = ("minutes", "hours", "day-of-month", "month", "day-of-week", "year")
_UNIT_SECONDS: Mapping[str, int] = {"minute": 60, "hour": 3600, "day": 86400}
_UNITS = ("minute", "minutes", "hour", "hours", "day", "days")
_RATE = re.compile(r"rate\((?P<value>[^ ()]*) (?P<unit>[^ ()]*)\)")
_CRON = re.compile(r"cron\((?P<fields>[^()]*)\)")
_MONTHS: Mapping[str, int] = {name: i + 1 for i, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])}
_DAYS: Mapping[str, int] = {name: i + 1 for i, name in enumerate(
    ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
_NO_NAMES: Mapping[str, int] = {}
_LAST_YEAR = 2199


class InvalidSchedule(ValueError):
    """An expression EventBridge would reject; the message says which part and why."""


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("schedules need a timezone-aware datetime")
    return at.astimezone(UTC)


@dataclass(frozen=True)
class RateSchedule:
    """``rate(value unit)``: every :attr:`period`, counted from when the schedule starts."""

    expression: str
    value: int
    #: ``minute``, ``hour`` or ``day`` (singular whatever the expression says).
    unit: str

    @property
    def period(self) -> timedelta:
        return timedelta(seconds=self.value * _UNIT_SECONDS[self.unit])

    def next_after(self, at: datetime, *, start: datetime | None = None) -> datetime:
        """The first ``start + k * period`` (k >= 1) strictly after ``at``; ``start`` is when
        the schedule began (EventBridge counts from the rule's creation), ``at`` by default.
        Both timezone-aware; the answer is in UTC."""
        at = _aware(at)
        origin = at if start is None else _aware(start)
        k = max(1, (at - origin) // self.period + 1)
        return origin + k * self.period


@dataclass(frozen=True)
class CronSchedule:
    """``cron(...)``: every whole minute (UTC) its six fields allow."""

    expression: str
    #: The six field texts as written, keyed by :data:`CRON_FIELDS` names.
    fields: Mapping[str, str] = field(compare=False)
    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    #: Whether a date is allowed by day-of-month and day-of-week together.
    day: Callable[[date], bool] = field(compare=False, repr=False)

    def matches(self, at: datetime) -> bool:
        """Whether the schedule fires in the minute of ``at``."""
        at = _aware(at)
        return at.minute in self.minutes and at.hour in self.hours and self._day_ok(at.date())

    def _day_ok(self, day: date) -> bool:
        return day.year in self.years and day.month in self.months and self.day(day)

    def next_after(self, at: datetime, *, start: datetime | None = None) -> datetime | None:
        """The first whole minute strictly after ``at`` (timezone-aware) the schedule fires
        in, in UTC; ``None`` if it never fires again (years end at 2199). ``start`` is
        accepted for symmetry with :meth:`RateSchedule.next_after` and not used: a cron
        schedule depends only on the calendar."""
        del start
        first = _aware(at).replace(second=0, microsecond=0) + timedelta(minutes=1)
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        day = first.date()
        while day.year <= _LAST_YEAR:
            if day.year not in self.years:
                later = [year for year in self.years if year > day.year]
                if not later:
                    return None
                day = date(min(later), 1, 1)
                continue
            if day.month not in self.months:
                day = (date(day.year + 1, 1, 1) if day.month == 12
                       else date(day.year, day.month + 1, 1))
                continue
            if self.day(day):
                for hour in hours:
                    for minute in minutes:
                        candidate = datetime(day.year, day.month, day.day, hour, minute,
                                             tzinfo=UTC)
                        if candidate >= first:
                            return candidate
            day += timedelta(days=1)
        return None


Schedule = RateSchedule | CronSchedule


def parse(expression: object) -> Schedule:
    """The schedule of ``expression``; :class:`InvalidSchedule` naming what is wrong if
    EventBridge would reject it."""
    if not isinstance(expression, str):
        raise InvalidSchedule(f"must be a str, not {type(expression).__name__}")
    rate = _RATE.fullmatch(expression)
    if rate is not None:
        return _rate(expression, rate["value"], rate["unit"])
    cron = _CRON.fullmatch(expression)
    if cron is not None:
        return _cron(expression, cron["fields"])
    raise InvalidSchedule(
        "is not 'rate(value unit)' or 'cron(minutes hours day-of-month month day-of-week "
        "year)'")


def _rate(expression: str, value_text: str, unit: str) -> RateSchedule:
    if not value_text.isascii() or not value_text.isdigit() or int(value_text) < 1:
        raise InvalidSchedule(f"rate value {value_text!r} is not a whole number >= 1")
    if unit not in _UNITS:
        raise InvalidSchedule(f"rate unit {unit!r} is not one of {', '.join(_UNITS)}")
    value = int(value_text)
    if (value == 1) != (not unit.endswith("s")):
        raise InvalidSchedule(
            f"rate unit {unit!r} with value {value}: the unit is singular for 1 and plural "
            "otherwise (rate(1 minute), rate(5 minutes))")
    return RateSchedule(expression=expression, value=value, unit=unit.removesuffix("s"))


def _cron(expression: str, inner: str) -> CronSchedule:
    parts = inner.split()
    if len(parts) != 6:
        raise InvalidSchedule(
            f"cron has {len(parts)} fields; it takes 6: {' '.join(CRON_FIELDS)}")
    texts = dict(zip(CRON_FIELDS, parts, strict=True))
    dom, dow = texts["day-of-month"], texts["day-of-week"]
    if (dom == "?") == (dow == "?"):
        raise InvalidSchedule(
            f"day-of-month {dom!r} and day-of-week {dow!r}: exactly one of them must be '?'")
    day = _dom_rule(dom) if dow == "?" else _dow_rule(dow)
    return CronSchedule(
        expression=expression, fields=MappingProxyType(texts),
        minutes=_field("minutes", texts["minutes"], 0, 59, _NO_NAMES),
        hours=_field("hours", texts["hours"], 0, 23, _NO_NAMES),
        months=_field("month", texts["month"], 1, 12, _MONTHS),
        years=_field("year", texts["year"], 1970, _LAST_YEAR, _NO_NAMES),
        day=day)


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


def _dom_rule(text: str) -> Callable[[date], bool]:
    name = "day-of-month"
    upper = text.upper()
    if upper == "L":
        return lambda day: day.day == _month_days(day)
    if upper == "LW":
        return _last_weekday
    offset = re.fullmatch(r"L-([0-9]{1,2})", upper)
    if offset:
        before = _number(name, text, offset.group(1), 0, 30, _NO_NAMES)
        return lambda day: day.day == _month_days(day) - before
    nearest = re.fullmatch(r"([0-9]{1,2})W", upper)
    if nearest:
        target = _number(name, text, nearest.group(1), 1, 31, _NO_NAMES)
        return lambda day: _nearest_weekday(day, target)
    allowed = _field(name, text, 1, 31, _NO_NAMES)
    return lambda day: day.day in allowed


def _dow_rule(text: str) -> Callable[[date], bool]:
    name = "day-of-week"
    upper = text.upper()
    if upper == "L":  # the last day of the week
        return lambda day: _weekday(day) == 7
    last = re.fullmatch(r"([0-9]|[A-Z]{3})L", upper)
    if last:
        weekday = _number(name, text, last.group(1), 1, 7, _DAYS)
        return lambda day: _weekday(day) == weekday and day.day + 7 > _month_days(day)
    if "#" in upper:
        nth = re.fullmatch(r"([0-9]|[A-Z]{3})#([0-9])", upper)
        if nth is None:
            raise InvalidSchedule(
                f"{name} {text!r}: '#' takes one day and its n-th occurrence (MON#2), alone")
        weekday = _number(name, text, nth.group(1), 1, 7, _DAYS)
        n = _number(name, text, nth.group(2), 1, 5, _NO_NAMES)
        return lambda day: _weekday(day) == weekday and (day.day - 1) // 7 + 1 == n
    allowed = _field(name, text, 1, 7, _DAYS)
    return lambda day: _weekday(day) in allowed


def _field(name: str, text: str, low: int, high: int, names: Mapping[str, int]
           ) -> frozenset[int]:
    """The values a list of ``*``, ``n``, ``a-b`` items (each with an optional ``/step``)
    allows (``?`` is the callers' business)."""
    if text == "*":
        return frozenset(range(low, high + 1))
    if "?" in text:
        raise InvalidSchedule(f"{name} {text!r}: '?' is only for day-of-month or day-of-week, "
                              "alone")
    allowed: set[int] = set()
    for item in text.split(","):
        span, slash, step_text = item.partition("/")
        step = _number(name, text, step_text, 1, high, _NO_NAMES) if slash else 1
        if span == "*":
            first, last = low, high
        elif "-" in span:
            a, _, b = span.partition("-")
            first, last = _number(name, text, a, low, high, names), _number(
                name, text, b, low, high, names)
            if first > last:
                raise InvalidSchedule(f"{name} {text!r}: range {span!r} runs backwards")
        else:
            first = _number(name, text, span, low, high, names)
            last = high if slash else first
        allowed.update(range(first, last + 1, step))
    return frozenset(allowed)


def _number(name: str, text: str, item: str, low: int, high: int, names: Mapping[str, int]
            ) -> int:
    value = names.get(item.upper())
    if value is None:
        if not item.isascii() or not item.isdigit():
            hint = {"month": " or JAN-DEC", "day-of-week": " or SUN-SAT"}.get(name, "")
            raise InvalidSchedule(
                f"{name} {text!r}: {item!r} is not a value {low}-{high}{hint}")
        value = int(item)
    if not low <= value <= high:
        raise InvalidSchedule(f"{name} {text!r}: {value} is outside {low}-{high}")
    return value
