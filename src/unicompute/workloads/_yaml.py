"""Typed reading of a YAML document that remembers where every value came from.

The document is composed into PyYAML nodes (not loaded into plain Python values), so every problem
can be reported with the file, the line and the dotted key path of the offending value:
``web.yaml:7: vms[0].count: must be an integer from 1 to 1000``. Only YAML's safe types are
constructed; merge keys (``<<: *defaults``) work; a key repeated in one mapping is an error.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .._errors import InvalidRequest

_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"


class WorkloadError(InvalidRequest):
    """A workload file is invalid. ``field`` is the dotted key path (``vms[0].count``),
    ``source`` the file and ``line`` the 1-based line of the offending key or value."""

    def __init__(self, message: str, *, field: str | None, source: str, line: int,
                 **kwargs: object) -> None:
        super().__init__(message, field=field, **kwargs)
        self.source = source
        self.line = line
        self.message = f"{source}:{line}: {self.message}"
        self.args = (self.message,)


def key_path(parent: str, key: str | int) -> str:
    """``parent`` extended by a mapping key (``vms[0].count``) or a sequence index (``vms[0]``)."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


@dataclass(frozen=True)
class Value:
    """One node of the document and the key path it was reached by."""

    node: Node
    path: str

    @property
    def line(self) -> int:
        """The 1-based line the value starts on."""
        return self.node.start_mark.line + 1


class Document:
    """A composed YAML document; its methods check one value's type and return it as Python.

    Every check raises :class:`WorkloadError` naming the value's key path and line.
    """

    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self._loader = yaml.SafeLoader(text)
        try:
            node = self._loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            raise self._syntax_error(exc) from exc
        except yaml.YAMLError as exc:
            raise WorkloadError(f"invalid YAML: {exc}", field=None, source=source, line=1) from exc
        if node is None:
            raise WorkloadError("the file is empty", field=None, source=source, line=1)
        self.root = Value(node, "")

    def _syntax_error(self, exc: yaml.MarkedYAMLError) -> WorkloadError:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "unreadable"
        return WorkloadError(f"invalid YAML: {problem}", field=None, source=self.source, line=line)

    def error(self, value: Value, message: str) -> WorkloadError:
        """The error to raise for ``value``: its path, its line, and ``message``."""
        return WorkloadError(message, field=value.path or None, source=self.source, line=value.line)

    def key_lines(self) -> dict[str, int]:
        """The 1-based line of every key path in the document, named as :meth:`mapping` and
        :meth:`sequence` name them (``vms[0].size.aws``: the line of that key; ``vms[0]``: the
        item's first line), so that problems found after reading (a size no cloud prices) can
        name the line too. Keys merged in with ``<<`` have the line they were written on."""
        lines: dict[str, int] = {}

        def walk(node: Node, path: str, seen: frozenset[int]) -> None:
            if id(node) in seen:  # an alias inside itself
                return
            inside = seen | {id(node)}
            if isinstance(node, MappingNode):
                for key_node, value_node in node.value:
                    if key_node.tag == _MERGE_TAG or not isinstance(key_node, ScalarNode):
                        continue
                    child = key_path(path, str(key_node.value))
                    lines.setdefault(child, key_node.start_mark.line + 1)
                    walk(value_node, child, inside)
            elif isinstance(node, SequenceNode):
                for index, item in enumerate(node.value):
                    child = key_path(path, index)
                    lines.setdefault(child, item.start_mark.line + 1)
                    walk(item, child, inside)

        walk(self.root.node, "", frozenset())
        return lines

    # -- containers -------------------------------------------------------------------------
    def mapping(
        self,
        value: Value,
        *,
        allowed: Collection[str] | None = None,
        required: Collection[str] = (),
    ) -> dict[str, Value]:
        """The entries of a mapping with string keys.

        With ``allowed`` the mapping is a record: keys must be among ``allowed`` and include
        ``required``, and optional keys whose value is null count as absent. Without it any keys
        are accepted and kept. Merge keys (``<<``) are applied; an explicit key overrides a merged
        one, but a key written twice is an error.
        """
        node = value.node
        if not isinstance(node, MappingNode):
            raise self.error(value, f"must be a mapping, not {_kind(node)}")
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self._key(key_node, value.path)
            if key in seen:
                raise self.error(
                    Value(key_node, key_path(value.path, key)),
                    f"duplicate key (first on line {seen[key]})",
                )
            seen[key] = key_node.start_mark.line + 1
        try:
            self._loader.flatten_mapping(node)
        except yaml.MarkedYAMLError as exc:
            raise self._syntax_error(exc) from exc
        entries: dict[str, Value] = {}
        for key_node, value_node in node.value:
            key = self._key(key_node, value.path)
            entry = Value(value_node, key_path(value.path, key))
            if allowed is not None:
                if key not in allowed:
                    raise self.error(
                        Value(key_node, entry.path),
                        f"unknown key; expected one of {', '.join(sorted(allowed))}",
                    )
                if value_node.tag == _NULL_TAG and key not in required:
                    entries.pop(key, None)
                    continue
            entries[key] = entry
        for key in required:
            if key not in entries:
                raise self.error(Value(node, key_path(value.path, key)), "required key is missing")
        return entries

    def _key(self, key_node: Node, parent: str) -> str:
        if not isinstance(key_node, ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
            raise self.error(Value(key_node, parent), "keys must be strings")
        return str(key_node.value)

    def sequence(self, value: Value) -> list[Value]:
        """The items of a sequence, each with its ``path[i]``."""
        if not isinstance(value.node, SequenceNode):
            raise self.error(value, f"must be a list, not {_kind(value.node)}")
        return [Value(item, key_path(value.path, i)) for i, item in enumerate(value.node.value)]

    # -- scalars ----------------------------------------------------------------------------
    def scalar(self, value: Value) -> object:
        """The Python value of a scalar (str, int, float, bool, None, date)."""
        if not isinstance(value.node, ScalarNode):
            raise self.error(value, f"must be a single value, not {_kind(value.node)}")
        try:
            result: object = self._loader.construct_object(value.node, deep=True)
        except yaml.MarkedYAMLError as exc:
            raise self.error(value, f"unreadable value: {exc.problem or exc}") from exc
        return result

    def string(
        self,
        value: Value,
        *,
        pattern: re.Pattern[str] | None = None,
        rule: str = "",
        empty_ok: bool = False,
    ) -> str:
        """A string, non-empty unless ``empty_ok``; with ``pattern``, one that fully matches it
        (``rule`` says how)."""
        result = self.scalar(value)
        if not isinstance(result, str):
            hint = " (quote it)" if result is not None else ""
            raise self.error(value, f"must be a string, not {_type_name(result)}{hint}")
        if not result and not empty_ok:
            raise self.error(value, "must not be empty")
        if pattern is not None and not pattern.fullmatch(result):
            raise self.error(value, f"{result!r} is not valid: {rule}")
        return result

    def integer(self, value: Value, *, minimum: int = 1, maximum: int | None = None) -> int:
        """An integer from ``minimum`` to ``maximum`` (booleans are not integers)."""
        result = self.scalar(value)
        if (
            isinstance(result, bool)
            or not isinstance(result, int)
            or result < minimum
            or (maximum is not None and result > maximum)
        ):
            bound = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
            raise self.error(value, f"must be an integer {bound}, not {shown(result)}")
        return result

    def number(self, value: Value) -> float:
        """A positive number, integer or decimal."""
        result = self.scalar(value)
        if isinstance(result, bool) or not isinstance(result, int | float) or not result > 0:
            raise self.error(value, f"must be a positive number, not {shown(result)}")
        return float(result)

    def boolean(self, value: Value) -> bool:
        """``true`` or ``false``."""
        result = self.scalar(value)
        if not isinstance(result, bool):
            raise self.error(value, f"must be true or false, not {shown(result)}")
        return result


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    return "a single value"


def _type_name(value: object) -> str:
    names: Mapping[type, str] = {
        type(None): "null",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "a string",
    }
    return names.get(type(value), type(value).__name__)


def shown(value: object) -> str:
    return "null" if value is None else repr(value) if isinstance(value, str) else str(value)
