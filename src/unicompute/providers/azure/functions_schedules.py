"""EventBridge schedules (``rate(...)``, ``cron(...)``) as the six-field NCRONTAB of Azure's
timer trigger (``second minute hour day month day-of-week``, UTC), or ``InvalidRequest``
naming ``triggers`` for what NCRONTAB cannot express. Pure; no Azure SDK."""

from __future__ import annotations

from collections.abc import Mapping

from ... import _schedules
from ..._errors import InvalidRequest

_FULL = {"minutes": (0, 59), "hours": (0, 23), "month": (1, 12)}


def ncrontab(expression: str) -> str:
    """The six-field NCRONTAB (``second minute hour day month day-of-week``, UTC) of an
    EventBridge expression, or ``InvalidRequest`` (``triggers``) when Azure's timer cannot
    express it: a ``rate`` whose period does not divide the next unit (``rate(7 minutes)``,
    ``rate(2 days)``), a year other than ``*``, and ``L``, ``W`` and ``#``. A rate fires on the
    clock's multiples (``rate(5 minutes)`` at :00, :05 ...), not counted from the deploy."""
    try:
        schedule = _schedules.parse(expression)
    except _schedules.InvalidSchedule as exc:
        raise InvalidRequest(f"{expression!r}: {exc}", field="triggers") from None
    if isinstance(schedule, _schedules.RateSchedule):
        return _rate(expression, schedule.value, schedule.unit)
    texts = schedule.fields
    if texts["year"] != "*":
        _refuse(expression, "a year other than '*'")
    dom, dow = texts["day-of-month"], texts["day-of-week"]
    if any(mark in dom.upper() for mark in ("L", "W")):
        _refuse(expression, f"day-of-month {dom!r} (L and W have no NCRONTAB form)")
    plain = dow.upper()
    for day_name in _schedules._DAYS:
        plain = plain.replace(day_name, "")
    if dow.upper() == "L":
        dow = "SAT"  # EventBridge's day-of-week L alone is Saturday
    elif "L" in plain or "#" in plain:
        _refuse(expression, f"day-of-week {dow!r} (L and # have no NCRONTAB form)")
    minute = _values(schedule.minutes, "minutes")
    hour = _values(schedule.hours, "hours")
    month = _values(schedule.months, "month")
    day = "*" if dom == "?" else _listed(dom, "day-of-month", 1, 31, {})
    # EventBridge counts weekdays 1 (Sunday) to 7, NCRONTAB 0 (Sunday) to 6.
    weekday = "*" if dow == "?" else _listed(dow, "day-of-week", 1, 7, _schedules._DAYS, -1)
    return f"0 {minute} {hour} {day} {month} {weekday}"


def _rate(expression: str, value: int, unit: str) -> str:
    minutes = value * {"minute": 1, "hour": 60, "day": 1440}[unit]
    if minutes < 60 and 60 % minutes == 0:
        return "0 * * * * *" if minutes == 1 else f"0 */{minutes} * * * *"
    if minutes % 60 == 0 and minutes < 1440 and 24 % (minutes // 60) == 0:
        hours = minutes // 60
        return "0 0 * * * *" if hours == 1 else f"0 0 */{hours} * * *"
    if minutes == 1440:
        return "0 0 0 * * *"
    _refuse(expression, "a rate whose period does not divide an hour or a day")
    raise AssertionError  # pragma: no cover  (_refuse raises)


def _refuse(expression: str, why: str) -> None:
    raise InvalidRequest(f"{expression!r}: Azure timer triggers (NCRONTAB) cannot express {why}",
                         field="triggers")


def _values(values: frozenset[int], name: str) -> str:
    low, high = _FULL[name]
    if values == frozenset(range(low, high + 1)):
        return "*"
    return ",".join(str(v) for v in sorted(values))


def _listed(text: str, name: str, low: int, high: int, names: Mapping[str, int],
            shift: int = 0) -> str:
    values = _schedules._field(name, text, low, high, names)
    if values == frozenset(range(low, high + 1)):
        return "*"
    return ",".join(str(v + shift) for v in sorted(values))
