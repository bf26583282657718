"""The ``filter`` parameter of GCE list calls, compiled to a predicate over stored resources.

Two grammars, as the Compute v1 reference defines them, and never mixed in one filter:

* AIP-160 comparisons ``FIELD OP VALUE`` with ``OP`` one of ``= != > < >= <= :``. ``VALUE`` is a
  bare word or a quoted string; ``*`` in it is a wildcard (``name = web-*``); ``FIELD:*`` tests
  that a field is set (``labels.owner:*``). Fields are dotted paths into the resource
  (``labels.env``, ``scheduling.preemptible``, ``networkInterfaces.networkIP`` — a repeated field
  matches when any element does). Comparisons combine with ``AND`` (also implied by
  juxtaposition), ``OR`` and ``NOT``/``-``, grouped by parentheses; as in AIP-160, ``OR`` binds
  tighter than ``AND``. A link-valued field also matches its last segment
  (``zone = us-central1-a``).
* Regular expressions: ``FIELD eq RE`` / ``FIELD ne RE``, alone or as parenthesised terms joined
  by ``AND``; ``RE`` must match the whole value (Python ``re`` standing in for RE2).

Anything else (an unknown field, a function call, a dangling operator, mixed grammars) is the
400 GCE gives: ``Invalid value for field 'filter': '…'. Invalid list filter expression.``
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from .._kernel import HttpError
from ._errors import invalid_field

Predicate = Callable[[dict[str, Any]], bool]

_TOKEN = re.compile(r"""\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<op>!=|>=|<=|=|>|<|:)|"""
                    r"""(?P<q>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<w>[^\s()=!<>:"']+))""")
_RELATIONS = ("=", "!=", ">", "<", ">=", "<=", ":")


class _Bad(Exception):
    pass


def compile_filter(text: str, fields: Iterable[str]) -> Predicate:
    """The predicate of filter ``text`` over resources whose top-level fields are ``fields``;
    raises the 400 :class:`HttpError` GCE answers for a filter it cannot parse."""
    try:
        return _compile(text.strip(), frozenset(fields))
    except _Bad:
        raise invalid_field("filter", text, "Invalid list filter expression.") from None


@lru_cache(maxsize=256)
def _compile(text: str, fields: frozenset[str]) -> Predicate:
    tokens = _tokenize(text)
    parser = _Parser(tokens, fields)
    predicate = parser.expression()
    if parser.pos != len(tokens):
        raise _Bad
    if parser.kinds == {"regex", "aip"} or ("regex" in parser.kinds and parser.used_or):
        raise _Bad
    return predicate


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        if tokens and tokens[-1] in (("w", "eq"), ("w", "ne")):
            # a regular expression runs to the next blank (or is quoted)
            match = re.compile(r"\s*(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|\S+)").match(text, pos)
            if match is None:
                raise _Bad
            literal = match.group(1)
            depth = sum(1 for kind, _ in tokens if kind == "lp") - sum(
                1 for kind, _ in tokens if kind == "rp")
            closing = 0
            while depth > closing and literal.endswith(")") and literal[0] not in "\"'":
                literal = literal[:-1]
                closing += 1
            tokens.append(("q" if literal[:1] in "\"'" else "re", literal))
            tokens.extend([("rp", ")")] * closing)
            pos = match.end()
            continue
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise _Bad
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def _unquote(token: tuple[str, str]) -> str:
    kind, value = token
    if kind == "q":
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], fields: frozenset[str]) -> None:
        self.tokens = tokens
        self.fields = fields
        self.pos = 0
        self.kinds: set[str] = set()
        self.used_or = False

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _Bad
        self.pos += 1
        return token

    def expression(self) -> Predicate:
        parts = [self.sequence()]
        while True:
            token = self.peek()
            if token is None or token[0] == "rp":
                break
            if token == ("w", "AND"):
                self.pos += 1
            parts.append(self.sequence())
        if len(parts) == 1:
            return parts[0]
        return lambda item: all(part(item) for part in parts)

    def sequence(self) -> Predicate:
        parts = [self.factor()]
        while self.peek() == ("w", "OR"):
            self.pos += 1
            self.used_or = True
            parts.append(self.factor())
        if len(parts) == 1:
            return parts[0]
        return lambda item: any(part(item) for part in parts)

    def factor(self) -> Predicate:
        token = self.peek()
        if token == ("w", "NOT") or (token is not None and token[0] == "w"
                                     and token[1].startswith("-") and len(token[1]) > 1):
            if token == ("w", "NOT"):
                self.pos += 1
            else:
                self.tokens[self.pos] = ("w", token[1][1:])
            inner = self.term()
            return lambda item: not inner(item)
        return self.term()

    def term(self) -> Predicate:
        token = self.take()
        if token[0] == "lp":
            inner = self.expression()
            if self.take()[0] != "rp":
                raise _Bad
            return inner
        if token[0] != "w" or token[1] in ("AND", "OR", "NOT"):
            raise _Bad
        path = token[1].split(".")
        if path[0] not in self.fields or any(not part for part in path):
            raise _Bad
        op = self.take()
        if op in (("w", "eq"), ("w", "ne")):
            self.kinds.add("regex")
            value = self.take()
            if value[0] not in ("re", "q"):
                raise _Bad
            try:
                pattern = re.compile(_unquote(value))
            except re.error:
                raise _Bad from None
            return _regex(path, pattern, negate=op[1] == "ne")
        if op[0] != "op" or op[1] not in _RELATIONS:
            raise _Bad
        self.kinds.add("aip")
        value = self.take()
        if value[0] not in ("w", "q") or (value[0] == "w" and value[1] in ("AND", "OR", "NOT")):
            raise _Bad
        return _comparison(path, op[1], _unquote(value))


def _leaves(item: Any, path: list[str]) -> list[Any]:
    values = [item]
    for part in path:
        found: list[Any] = []
        for value in values:
            if isinstance(value, list):
                value_list: list[Any] = value
            else:
                value_list = [value]
            for element in value_list:
                if isinstance(element, dict) and part in element:
                    found.append(element[part])
        values = found
    flat: list[Any] = []
    for value in values:
        if isinstance(value, list):
            flat.extend(value)
        else:
            flat.append(value)
    return flat


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _matcher(expected: str) -> Callable[[str], bool]:
    if "*" not in expected:
        return lambda text: text == expected or (
            text.startswith("https://") and text.rsplit("/", 1)[-1] == expected)
    pattern = re.compile(".*".join(re.escape(part) for part in expected.split("*")))
    return lambda text: pattern.fullmatch(text) is not None or (
        text.startswith("https://") and pattern.fullmatch(text.rsplit("/", 1)[-1]) is not None)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _comparison(path: list[str], op: str, expected: str) -> Predicate:
    if op == ":" and expected == "*":
        return lambda item: bool(_leaves(item, path))
    if op in ("=", ":", "!="):
        if len(path) == 2 and path[0] == "labels" and "*" not in expected:
            key = path[1]
            if op == "!=":
                return lambda item: item.get("labels", {}).get(key) != expected
            return lambda item: item.get("labels", {}).get(key) == expected
        matches = _matcher(expected)

        def equal(item: dict[str, Any]) -> bool:
            return any(matches(_text(leaf)) for leaf in _leaves(item, path))

        if op == "!=":
            return lambda item: not equal(item)
        return equal
    want_number = _number(expected)

    def ordered(item: dict[str, Any]) -> bool:
        for leaf in _leaves(item, path):
            text = _text(leaf)
            have_number = _number(text)
            if want_number is not None and have_number is not None:
                left: Any = have_number
                right: Any = want_number
            else:
                left, right = text, expected
            if ((op == ">" and left > right) or (op == "<" and left < right)
                    or (op == ">=" and left >= right) or (op == "<=" and left <= right)):
                return True
        return False

    return ordered


def _regex(path: list[str], pattern: re.Pattern[str], *, negate: bool) -> Predicate:
    def matches(item: dict[str, Any]) -> bool:
        return any(pattern.fullmatch(_text(leaf)) is not None for leaf in _leaves(item, path))

    if negate:
        return lambda item: not matches(item)
    return matches


__all__ = ["HttpError", "Predicate", "compile_filter"]
