"""Reading the settings a provider is opened with (``connect(..., **config)`` or the URL form).

Every provider checks the same kinds of value the same way: unknown keys, non-empty strings,
durations in seconds (strings from the URL form are parsed), and an ``endpoint_url`` override,
which is never echoed (it may carry secrets in its query). Each failure is
:class:`~unicompute.InvalidRequest` naming the key.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

from ._errors import InvalidRequest

#: The setting that points a provider at another endpoint (e.g. ``unicompute mock-server``).
ENDPOINT_URL = "endpoint_url"


def check_known(config: Mapping[str, object], allowed: Iterable[str], *, provider: str) -> None:
    """``InvalidRequest`` naming the first key of ``config`` not in ``allowed``."""
    known = sorted(allowed)
    for key in config:
        if key not in known:
            raise InvalidRequest(f"unknown {provider} setting; expected one of {', '.join(known)}",
                                 field=str(key), provider=provider)


def optional_str(config: Mapping[str, object], key: str, *, provider: str) -> str | None:
    """``config[key]`` if set: it must be a non-empty ``str``."""
    value = config.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise InvalidRequest("must be a non-empty str", field=key, provider=provider)
    return value


def seconds(config: Mapping[str, object], key: str, default: float, *, provider: str) -> float:
    """``config[key]`` (default ``default``) as a finite number of seconds >= 0."""
    value = config.get(key, default)
    if isinstance(value, str):  # from the URL form, e.g. aws://us-east-1?poll_interval=1
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
        raise InvalidRequest("must be a number of seconds >= 0", field=key, provider=provider)
    return float(value)


def endpoint_url(config: Mapping[str, object], *, provider: str) -> str | None:
    """The ``endpoint_url`` setting, if set: an http(s) URL with a host and without a user name
    or password (credentials come from the cloud's own sources, never a URL)."""
    url = optional_str(config, ENDPOINT_URL, provider=provider)
    if url is None:
        return None
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError as exc:
        raise InvalidRequest("is not a valid URL", field=ENDPOINT_URL, provider=provider) from exc
    if "@" in parts.netloc:
        raise InvalidRequest(
            "must not contain a user name or password; use the cloud's credential sources "
            "instead", field=ENDPOINT_URL, provider=provider)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest("must be an http:// or https:// URL with a host",
                             field=ENDPOINT_URL, provider=provider)
    return url
