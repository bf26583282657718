"""How GCE prints times and catalog ids."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_PST = timedelta(hours=-8)
_HOUR = timedelta(hours=1)


def _us_summer(standard: datetime) -> bool:
    """Whether naive Pacific *standard* time ``standard`` falls in daylight saving time by the
    US rules in force since 2007 (from the second Sunday of March, 02:00 PST, to the first
    Sunday of November, 02:00 PDT = 01:00 PST)."""
    def sunday(month: int, nth: int, hour: int) -> datetime:
        first = datetime(standard.year, month, 1)
        return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (nth - 1), hours=hour)
    return sunday(3, 2, 2) <= standard < sunday(11, 1, 1)


def _load_pacific() -> ZoneInfo | None:
    try:
        return ZoneInfo("America/Los_Angeles")
    except ZoneInfoNotFoundError:  # no time zone database: the US rules above are used
        return None


#: GCE prints timestamps in US Pacific time: -08:00 in winter, -07:00 in summer.
PACIFIC = _load_pacific()


def pacific_offset(moment: datetime) -> timedelta:
    """The UTC offset of US Pacific time at aware instant ``moment``."""
    if PACIFIC is not None:
        offset = moment.astimezone(PACIFIC).utcoffset()
        assert offset is not None
        return offset
    standard = moment.astimezone(UTC).replace(tzinfo=None) + _PST
    return _PST + _HOUR if _us_summer(standard) else _PST


def timestamp(moment: datetime) -> str:
    """RFC 3339 with milliseconds and the Pacific offset of that instant, as GCE prints
    ``creationTimestamp`` and the like: ``2025-12-31T16:00:00.000-08:00``,
    ``2026-06-30T17:00:00.000-07:00``."""
    zone = PACIFIC if PACIFIC is not None else timezone(pacific_offset(moment))
    return moment.astimezone(zone).isoformat(timespec="milliseconds")


def local_midnight(day: str) -> str:
    """:func:`timestamp` of midnight Pacific time on ``day`` (``YYYYMMDD``)."""
    naive = datetime(int(day[:4]), int(day[4:6]), int(day[6:8]))
    offset = _PST + _HOUR if _us_summer(naive) else _PST  # midnight is never a switch hour
    return timestamp((naive - offset).replace(tzinfo=UTC))


def stable_id(*parts: str) -> str:
    """A 19-digit decimal id derived from ``parts`` (catalog entries keep their ids across runs
    and zones, as GCE's do)."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return str(10**18 + int.from_bytes(digest[:8], "big") % (9 * 10**18))
