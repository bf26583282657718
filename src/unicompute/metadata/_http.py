"""The one HTTP call the metadata client makes, over :mod:`http.client`.

Not :mod:`urllib.request`: it honours ``http_proxy``, and a metadata request must never go through
a proxy. Every call has a timeout; transport failures raise :class:`Unreachable`.
"""

from __future__ import annotations

import http.client
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

#: Most bytes read from one answer (the largest legitimate one is user data: 64 KiB on Azure,
#: 256 KiB on GCE); a larger body is refused rather than held in memory.
MAX_BODY = 1024 * 1024


class Unreachable(Exception):
    """No HTTP answer: connection refused or timed out, name not resolved, connection broken."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def request(method: str, url: str, headers: Mapping[str, str], timeout: float) -> Reply:
    """One ``method`` request to ``url`` (``http://`` only) with ``headers``; at most ``timeout``
    seconds for the connection and for each read."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"metadata endpoints are plain http URLs, not {url!r}")
    target = parts.path or "/"
    if parts.query:
        target = f"{target}?{parts.query}"
    connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    try:
        connection.request(method, target, headers=dict(headers))
        response = connection.getresponse()
        body = response.read(MAX_BODY + 1)
        if len(body) > MAX_BODY:
            raise Unreachable(f"answer from {parts.hostname} larger than {MAX_BODY} bytes")
        return Reply(response.status, dict(response.getheaders()), body)
    except (OSError, http.client.HTTPException) as exc:  # TimeoutError is an OSError
        raise Unreachable(f"{type(exc).__name__}: {exc}") from exc
    finally:
        connection.close()
