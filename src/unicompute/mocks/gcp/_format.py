"""How GCE prints times and catalog ids."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

#: GCE prints timestamps in US Pacific time; the fake uses standard time (-08:00) all year.
PACIFIC = timezone(timedelta(hours=-8))


def timestamp(moment: datetime) -> str:
    """RFC 3339 with milliseconds and GCE's Pacific offset: ``2025-12-31T16:00:00.000-08:00``."""
    local = moment.astimezone(PACIFIC)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}-08:00"


def stable_id(*parts: str) -> str:
    """A 19-digit decimal id derived from ``parts`` (catalog entries keep their ids across runs
    and zones, as GCE's do)."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return str(10**18 + int.from_bytes(digest[:8], "big") % (9 * 10**18))
