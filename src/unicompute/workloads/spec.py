"""The workload file: a named set of VM groups, launched alike on any cloud.

```yaml
name: web-demo
vms:
  - name: web                  # group name; VMs are named <workload>-<group>-<n>
    count: 2
    vcpus: 2                   # the cheapest size with at least these resources ...
    memory_gib: 4
    size: {aws: t3.medium}     # ... unless the cloud has an explicit size here
    image: ubuntu-24.04
    user_data: "#!/bin/sh"     # or user_data_file: path relative to the workload file
    ports: [80, 443]
    disk_gib: 20
    spot: false
    tags: {team: demo}
```

:func:`load` and :func:`parse` check everything before any cloud is called and raise
:class:`WorkloadError` (an :class:`~unicompute.InvalidRequest`) naming the file, the line and the
dotted key path. ``workload.schema.json`` beside this module documents the same format as JSON
Schema; the key tables here are what is enforced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .. import available_providers
from ..driver import MANAGED_TAG
from ._yaml import Document, Value, WorkloadError

#: Tags on every VM of a workload: its name and its group's.
WORKLOAD_TAG = "unicompute:workload"
GROUP_TAG = "unicompute:group"
#: Tag keys a workload may not set, checked here so that the error names the line. The cloud's
#: own reserved keys (``aws:``...) are checked by :func:`~unicompute.workloads.plan`.
_RESERVED_TAGS = (MANAGED_TAG, WORKLOAD_TAG, GROUP_TAG)
#: Most VMs one group may ask for.
MAX_COUNT = 1000

_NAME_RULE = "lowercase letters, digits and '-', starting with a letter, not ending with '-'"
_NAME = re.compile(r"[a-z](?:[a-z0-9-]*[a-z0-9])?")
#: Longest workload and group names, so that ``<workload>-<group>-<n>`` fits every cloud (63).
MAX_WORKLOAD_NAME = 32
MAX_GROUP_NAME = 20

WORKLOAD_KEYS: frozenset[str] = frozenset({"name", "vms"})
WORKLOAD_REQUIRED: frozenset[str] = frozenset({"name", "vms"})
GROUP_KEYS: frozenset[str] = frozenset(
    {
        "name",
        "count",
        "vcpus",
        "memory_gib",
        "size",
        "image",
        "user_data",
        "user_data_file",
        "ports",
        "disk_gib",
        "spot",
        "tags",
    }
)
GROUP_REQUIRED: frozenset[str] = frozenset({"name"})
DEFAULT_IMAGE = "ubuntu-24.04"
_PACKAGE = "unicompute.workloads"


@dataclass(frozen=True, kw_only=True)
class VMGroup:
    """``count`` alike VMs. The size is ``size[cloud]`` where given, otherwise the cheapest with
    at least ``vcpus`` and ``memory_gib``; at least one of the three is always set."""

    name: str
    count: int = 1
    vcpus: int | None = None
    memory_gib: float | None = None
    size: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    image: str = DEFAULT_IMAGE
    #: Not in ``repr``: boot scripts often hold secrets, and reprs end up in logs.
    user_data: str | None = field(default=None, repr=False)
    ports: tuple[int, ...] = ()
    disk_gib: int | None = None
    spot: bool = False
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def size_for(self, cloud: str) -> str | None:
        """The explicit size name for ``cloud``, or ``None`` to choose one by resources."""
        return self.size.get(cloud)


@dataclass(frozen=True, kw_only=True)
class Workload:
    """A named workload: its VM groups, in file order, with unique names. ``source`` is the file
    it was read from, for messages."""

    name: str
    groups: tuple[VMGroup, ...]
    source: str = "<string>"


def schema() -> dict[str, Any]:
    """The JSON Schema of the workload file (``workload.schema.json``), for editors and docs,
    with the keys of ``size`` limited to :func:`~unicompute.available_providers`."""
    text = resources.files(_PACKAGE).joinpath("workload.schema.json").read_text("utf-8")
    result: dict[str, Any] = json.loads(text)
    size = result["$defs"]["group"]["properties"]["size"]
    size["propertyNames"] = {"enum": available_providers()}
    return result


def load(path: str | Path) -> Workload:
    """Read and check the workload file at ``path``; ``user_data_file`` is relative to it.

    Raises :class:`WorkloadError` for any problem, including a file that cannot be read.
    """
    path = Path(path)
    return parse(_read(path), source=str(path), base_dir=path.parent)


def read_name(path: str | Path) -> str:
    """Only the workload name in the file at ``path``, for commands that need nothing else
    (``status``, ``destroy``): the rest of the file is not checked, so they still work when,
    say, a ``user_data_file`` has gone. Raises :class:`WorkloadError` if there is no valid name.
    """
    doc = Document(_read(Path(path)), str(path))
    entries = doc.mapping(doc.root, required={"name"})
    return _name(doc, entries["name"], MAX_WORKLOAD_NAME)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkloadError(
            f"cannot read the workload file: {_reason(exc)}", field=None, source=str(path), line=1
        ) from exc


def _reason(exc: OSError | UnicodeDecodeError) -> str:
    return exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)


def parse(text: str, *, source: str = "<string>", base_dir: str | Path = ".") -> Workload:
    """Check the workload in YAML ``text``; ``source`` names it in errors and ``base_dir`` is
    where ``user_data_file`` paths start."""
    doc = Document(text, source)
    entries = doc.mapping(doc.root, allowed=WORKLOAD_KEYS, required=WORKLOAD_REQUIRED)
    name = _name(doc, entries["name"], MAX_WORKLOAD_NAME)
    items = doc.sequence(entries["vms"])
    if not items:
        raise doc.error(entries["vms"], "must list at least one VM group")
    first_lines: dict[str, int] = {}
    groups = tuple(_group(doc, item, Path(base_dir), first_lines) for item in items)
    return Workload(name=name, groups=groups, source=source)


def _name(doc: Document, value: Value, max_length: int) -> str:
    name = doc.string(value, pattern=_NAME, rule=_NAME_RULE)
    if len(name) > max_length:
        raise doc.error(value, f"{name!r} is longer than {max_length} characters")
    return name


def _group(doc: Document, item: Value, base_dir: Path, first_lines: dict[str, int]) -> VMGroup:
    """One group; ``first_lines`` maps the names of the groups before it to their lines."""
    entries = doc.mapping(item, allowed=GROUP_KEYS, required=GROUP_REQUIRED)
    name = _name(doc, entries["name"], MAX_GROUP_NAME)
    if name in first_lines:
        raise doc.error(
            entries["name"], f"duplicate group name {name!r} (first on line {first_lines[name]})"
        )
    first_lines[name] = entries["name"].line
    if not entries.keys() & {"size", "vcpus", "memory_gib"}:
        raise doc.error(item, "needs 'size', or 'vcpus' and/or 'memory_gib' to choose one")
    if "user_data" in entries and "user_data_file" in entries:
        raise doc.error(entries["user_data_file"], "give either user_data or user_data_file")
    values: dict[str, Any] = {"name": name}
    for key, entry in entries.items():
        if key in _READERS:
            values[key] = _READERS[key](doc, entry)
    if "user_data_file" in entries:
        values["user_data"] = _read_user_data(doc, entries["user_data_file"], base_dir)
    return VMGroup(**values)


def _sizes(doc: Document, value: Value) -> Mapping[str, str]:
    sizes = doc.mapping(value, allowed=available_providers())
    return MappingProxyType({cloud: doc.string(entry) for cloud, entry in sizes.items()})


def _ports(doc: Document, value: Value) -> tuple[int, ...]:
    ports: dict[int, Value] = {}
    for item in doc.sequence(value):
        port = doc.integer(item, minimum=1, maximum=65535)
        if port in ports:
            raise doc.error(item, f"port {port} is listed twice")
        ports[port] = item
    return tuple(ports)


def _tags(doc: Document, value: Value) -> Mapping[str, str]:
    tags: dict[str, str] = {}
    for key, entry in doc.mapping(value).items():
        if not key:
            raise doc.error(entry, "tag keys must not be empty")
        reserved = next((prefix for prefix in _RESERVED_TAGS if key.startswith(prefix)), None)
        if reserved is not None:
            raise doc.error(entry, f"tag key {key!r} is reserved ({reserved}...)")
        tags[key] = doc.string(entry, empty_ok=True)
    return MappingProxyType(tags)


def _read_user_data(doc: Document, value: Value, base_dir: Path) -> str:
    path = base_dir / doc.string(value)
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise doc.error(value, f"cannot read {str(path)!r}: {_reason(exc)}") from exc


#: How each optional group key is read (``name`` and ``user_data_file`` are handled apart).
_READERS: dict[str, Callable[[Document, Value], object]] = {
    "count": lambda doc, v: doc.integer(v, minimum=1, maximum=MAX_COUNT),
    "vcpus": lambda doc, v: doc.integer(v, minimum=1),
    "memory_gib": Document.number,
    "size": _sizes,
    "image": lambda doc, v: doc.string(v),
    "user_data": lambda doc, v: doc.string(v),
    "ports": _ports,
    "disk_gib": lambda doc, v: doc.integer(v, minimum=1),
    "spot": Document.boolean,
    "tags": _tags,
}
