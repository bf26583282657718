"""unix-cron as Cloud Scheduler reads it: five fields (minute, hour, day of month, month, day of
week), each ``*``, numbers, names (``JAN``, ``MON``), ranges, lists and ``/`` steps; day of week
0-7 (0 and 7 are Sunday). When both day fields are restricted a day matching either fires (as
cron does). Times are evaluated in the job's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_MONTHS = {n: i + 1 for i, n in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"])}
_DAYS = {n: i for i, n in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}
_BOUNDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}), (0, 23, {}), (1, 31, {}), (1, 12, _MONTHS), (0, 7, _DAYS))
_PART = re.compile(r"(\*|[0-9A-Za-z]+(?:-[0-9A-Za-z]+)?)(?:/([0-9]+))?")


class CronError(ValueError):
    """Not a schedule Cloud Scheduler accepts."""


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    any_day: bool
    any_weekday: bool
    zone: ZoneInfo

    def between(self, after: datetime, until: datetime, limit: int = 10_000) -> list[datetime]:
        """Firing instants in ``(after, until]`` (UTC-aware in, UTC-aware out)."""
        local = after.astimezone(self.zone).replace(second=0, microsecond=0) \
            + timedelta(minutes=1)
        end = until.astimezone(self.zone)
        found: list[datetime] = []
        while local <= end and len(found) < limit:
            if local.month not in self.months or not self._day_ok(local):
                local = (local + timedelta(days=1)).replace(hour=0, minute=0)
                continue
            if local.hour not in self.hours:
                local = (local + timedelta(hours=1)).replace(minute=0)
                continue
            if local.minute in self.minutes:
                found.append(local.astimezone(after.tzinfo))
            local += timedelta(minutes=1)
        return found

    def _day_ok(self, moment: datetime) -> bool:
        day_ok = moment.day in self.days
        weekday_ok = (moment.isoweekday() % 7) in self.weekdays
        if self.any_day or self.any_weekday:
            return day_ok and weekday_ok
        return day_ok or weekday_ok


def _field(text: str, low: int, high: int, names: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        match = _PART.fullmatch(part)
        if match is None:
            raise CronError(part)
        body, step = match[1], int(match[2]) if match[2] else 1
        if step < 1:
            raise CronError(part)
        if body == "*":
            start, stop = low, high
        else:
            first, _, last = body.partition("-")
            start = _value(first, names)
            stop = _value(last, names) if last else (high if match[2] else start)
        if not low <= start <= high or not low <= stop <= high or start > stop:
            raise CronError(part)
        values.update(range(start, stop + 1, step))
    return frozenset(values)


def _value(text: str, names: dict[str, int]) -> int:
    if text.isdigit():
        return int(text)
    found = names.get(text.upper())
    if found is None:
        raise CronError(text)
    return found


def parse(schedule: str, time_zone: str = "Etc/UTC") -> Cron:
    fields = schedule.split()
    if len(fields) != 5:
        raise CronError(schedule)
    try:
        zone = ZoneInfo(time_zone or "Etc/UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(time_zone) from None
    sets = [_field(text, low, high, names) for text, (low, high, names) in zip(
        fields, _BOUNDS, strict=True)]
    weekdays = frozenset(d % 7 for d in sets[4])
    return Cron(sets[0], sets[1], sets[2], sets[3], weekdays, fields[2] == "*",
                fields[4] == "*", zone)
