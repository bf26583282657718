"""A fast index of the app's werkzeug rules: GCE paths are fixed sequences of literal and
variable segments, so a request is matched by its method and segment count, then by comparing
the literal segments of the few rules left. Same answers as the werkzeug ``Map``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Rule

# (literal segments by position, variable names by position, endpoint)
_Entry = tuple[tuple[tuple[int, str], ...], tuple[tuple[int, str], ...], str]


class Router:
    def __init__(self, rules: Iterable[Rule]) -> None:
        self._by_shape: dict[tuple[str, int], list[_Entry]] = {}
        self._paths: dict[int, list[_Entry]] = {}
        for rule in rules:
            segments = rule.rule.strip("/").split("/")
            literals = tuple((i, s) for i, s in enumerate(segments) if not s.startswith("<"))
            variables = tuple((i, s[1:-1]) for i, s in enumerate(segments) if s.startswith("<"))
            entry = (literals, variables, str(rule.endpoint))
            for method in rule.methods or ():
                self._by_shape.setdefault((method, len(segments)), []).append(entry)
            self._paths.setdefault(len(segments), []).append(entry)

    def match(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        """The endpoint and arguments for ``path`` (already percent-decoded, as WSGI's
        ``PATH_INFO`` is)."""
        segments = path.strip("/").split("/")
        for literals, variables, endpoint in self._by_shape.get((method, len(segments)), ()):
            if all(segments[i] == s for i, s in literals):
                return endpoint, {name: segments[i] for i, name in variables}
        for literals, _, _ in self._paths.get(len(segments), ()):
            if all(segments[i] == s for i, s in literals):
                raise MethodNotAllowed()
        raise NotFound()
