"""What the three metadata clients share: one base URL, timeouts, and turning bad answers into
:class:`MetadataError`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from . import _http
from ._records import MetadataError

#: Seconds each request may take once the cloud is known (the probe uses its own, shorter).
READ_TIMEOUT = 5.0


class Service:
    """A metadata service at ``base`` (``http://host[:port]``, no trailing slash)."""

    provider: ClassVar[str]

    def __init__(self, base: str, *, timeout: float = READ_TIMEOUT) -> None:
        self.base = base.rstrip("/")
        self.timeout = timeout

    def call(self, method: str, path: str, headers: Mapping[str, str],
             operation: str) -> _http.Reply:
        """``method path``; a transport failure after detection is a :class:`MetadataError`."""
        try:
            return _http.request(method, self.base + path, headers, self.timeout)
        except _http.Unreachable as exc:
            raise self.error(f"no answer from the metadata service: {exc}", path, operation,
                             original=exc) from exc

    def error(self, message: str, path: str, operation: str, *, status: int | None = None,
              original: BaseException | None = None) -> MetadataError:
        return MetadataError(message, status=status, provider=self.provider,
                             operation=operation, resource=path.split("?", 1)[0],
                             original=original)

    def unexpected(self, reply: _http.Reply, path: str, operation: str) -> MetadataError:
        """The error for an answer whose status the caller did not expect (body kept short)."""
        snippet = reply.text()[:200]
        return self.error(f"HTTP {reply.status} from the metadata service: {snippet}", path,
                          operation, status=reply.status)

    def json_of(self, reply: _http.Reply, path: str, operation: str) -> Any:
        try:
            return json.loads(reply.body)
        except ValueError as exc:
            raise self.error(f"the metadata service answered with invalid JSON: {exc}", path,
                             operation, status=reply.status, original=exc) from exc

    def field(self, document: Mapping[str, Any], key: str, path: str, operation: str) -> Any:
        """``document[key]``; its absence is a :class:`MetadataError` naming it."""
        if not isinstance(document, Mapping) or key not in document:
            raise self.error(f"the metadata service's answer has no {key!r}", path, operation)
        return document[key]
