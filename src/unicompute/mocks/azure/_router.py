"""An index of the ARM emulator's werkzeug rules, matched by path shape instead of regexes.

ARM paths are ``/``-separated segments, each either a fixed word (lower-cased by
``canonical_path`` before routing) or a name. Rules are grouped by method and segment count;
within a group, the rule with more fixed words wins, as werkzeug prefers static parts. The
answers equal werkzeug's for every rule of the map (a test checks this); werkzeug's ``Map``
stays the definition and is what ``url_map`` holds.
"""

from __future__ import annotations

import re
from collections import defaultdict

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map

_VARIABLE = re.compile(r"^<(?:[a-z_]+:)?([A-Za-z_][A-Za-z0-9_]*)>$")
#: (fixed words as (index, word), variables as (index, name), endpoint)
_Shape = tuple[tuple[tuple[int, str], ...], tuple[tuple[int, str], ...], str]


class ShapeRouter:
    """Endpoint and arguments of a method and path, from a werkzeug ``Map``'s rules."""

    def __init__(self, url_map: Map) -> None:
        by_shape: dict[tuple[str, int], list[_Shape]] = defaultdict(list)
        for rule in url_map.iter_rules():
            segments = rule.rule.strip("/").split("/")
            fixed, variables = [], []
            for index, segment in enumerate(segments):
                found = _VARIABLE.match(segment)
                if found:
                    variables.append((index, found.group(1)))
                else:
                    fixed.append((index, segment))
            shape = (tuple(fixed), tuple(variables), str(rule.endpoint))
            for method in rule.methods or ():
                by_shape[(method, len(segments))].append(shape)
        for shapes in by_shape.values():
            shapes.sort(key=lambda s: -len(s[0]))
        self._by_shape = dict(by_shape)
        self._lengths = {length for _, length in by_shape}

    def match(self, method: str, path: str) -> tuple[str, dict[str, str]]:
        """``(endpoint, arguments)``; werkzeug's ``NotFound`` for a path no rule has,
        ``MethodNotAllowed`` for a path some rule has with another method. ``HEAD`` is
        answered by ``GET`` rules, as werkzeug does."""
        segments = path.strip("/").split("/")
        size = len(segments)
        found = self._find(method, segments, size)
        if found is None and method == "HEAD":
            found = self._find("GET", segments, size)
        if found is not None:
            return found
        if size in self._lengths:
            for (_, length), shapes in self._by_shape.items():
                if length == size and any(self._fits(s, segments) for s in shapes):
                    raise MethodNotAllowed()
        raise NotFound()

    def _find(self, method: str, segments: list[str], size: int,
              ) -> tuple[str, dict[str, str]] | None:
        for shape in self._by_shape.get((method, size), ()):
            if self._fits(shape, segments):
                return shape[2], {name: segments[i] for i, name in shape[1]}
        return None

    @staticmethod
    def _fits(shape: _Shape, segments: list[str]) -> bool:
        fixed, variables, _ = shape
        return all(segments[i] == word for i, word in fixed) and all(
            segments[i] for i, _ in variables)
