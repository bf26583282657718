"""EventBridge schedule expressions (the portable grammar of :mod:`unicompute._schedules`) →
the unix-cron of Cloud Scheduler, in UTC.

* ``rate(n minutes)`` with ``n`` dividing 60 → ``*/n * * * *``; ``rate(n hours)`` with ``n``
  dividing 24 → ``0 */n * * *``; ``rate(1 day)`` → ``0 0 * * *``. Unix-cron counts from the
  clock's boundaries, not from when the schedule was made (EventBridge counts from its
  creation), so a rate fires at the same frequency but on round times. Other rates cannot be
  expressed (``*/7`` restarts every hour) and are refused.
* ``cron(m h dom month dow year)`` → ``m h dom month dow`` with day-of-week renumbered (EventBridge
  1-7 = SUN-SAT, unix-cron 0-6) and names turned to numbers; ``?`` becomes ``*``. Refused: a
  year other than ``*``, and ``L``, ``W`` and ``#``, which unix-cron has no way to say.

A refusal is ``InvalidRequest`` naming ``triggers``. No calls, no SDK imports.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from ..._errors import InvalidRequest
from ..._schedules import CronSchedule, InvalidSchedule, RateSchedule, parse

_MINUTES_PER = {"minute": 1, "hour": 60, "day": 1440}
#: A Sunday: the first day of EventBridge's week (1).
_A_SUNDAY = date(2024, 1, 7)


def _refuse(expression: str, why: str) -> InvalidRequest:
    return InvalidRequest(f"{expression!r} cannot be a Cloud Scheduler (unix-cron) schedule: "
                          f"{why}", field="triggers")


def unix_cron(expression: str) -> str:
    """The unix-cron schedule of EventBridge ``expression``; ``InvalidRequest`` (``triggers``)
    when unix-cron cannot express it (``triggers.expression`` when it is not EventBridge's)."""
    try:
        schedule = parse(expression)
    except InvalidSchedule as exc:
        raise InvalidRequest(f"{expression!r}: {exc}", field="triggers.expression") from None
    if isinstance(schedule, RateSchedule):
        return _rate(schedule)
    return _cron(schedule)


def _rate(schedule: RateSchedule) -> str:
    minutes = schedule.value * _MINUTES_PER[schedule.unit]
    if minutes < 60:
        if 60 % minutes:
            raise _refuse(schedule.expression, f"{minutes} does not divide an hour")
        return "* * * * *" if minutes == 1 else f"*/{minutes} * * * *"
    if minutes < 1440:
        hours, rest = divmod(minutes, 60)
        if rest or 24 % hours:
            raise _refuse(schedule.expression, f"{minutes} minutes do not divide a day into "
                                               "whole hours")
        return "0 * * * *" if hours == 1 else f"0 */{hours} * * *"
    if minutes == 1440:
        return "0 0 * * *"
    raise _refuse(schedule.expression, "periods longer than a day do not repeat evenly in "
                                       "unix-cron")


def _cron(schedule: CronSchedule) -> str:
    fields = schedule.fields
    expression = schedule.expression
    if fields["year"] != "*":
        raise _refuse(expression, f"unix-cron has no year field (year {fields['year']!r})")
    dom_text, dow_text = fields["day-of-month"], fields["day-of-week"]
    for name, text, specials in (("day-of-month", dom_text, "LW"),
                                 ("day-of-week", dow_text, "L#")):
        if any(char in text.upper() for char in specials):
            raise _refuse(expression, f"{name} {text!r}: unix-cron has no "
                                      f"{' or '.join(specials)}")
    dom = "*" if dom_text in ("?", "*") else _render(
        (d for d in range(1, 32) if schedule.day(date(2024, 1, d))), 1, 31)
    dow = "*" if dow_text in ("?", "*") else _render(
        (i for i in range(7) if schedule.day(_A_SUNDAY + timedelta(days=i))), 0, 6)
    return " ".join((_render(schedule.minutes, 0, 59), _render(schedule.hours, 0, 23), dom,
                     _render(schedule.months, 1, 12), dow))


def _render(values: Iterable[int], low: int, high: int) -> str:
    """``*`` for every value of ``low..high``, else a list of values and ``a-b`` runs."""
    chosen = sorted(set(values))
    if chosen == list(range(low, high + 1)):
        return "*"
    parts: list[str] = []
    start = previous = chosen[0]
    for value in [*chosen[1:], None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        parts.append(str(start) if start == previous else f"{start}-{previous}")
        if value is not None:
            start = previous = value
    return ",".join(parts)
