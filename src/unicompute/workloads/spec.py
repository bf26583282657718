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
    gpus: 0                    # at least this many GPUs (default 0)
    spot: prefer               # true, false, or prefer: spot where the cloud prices it
    tags: {team: demo}
functions:
  - name: api                  # deployed as <workload>-<name>
    runtime: python3.12
    handler: app.handler
    source: functions/hello    # relative to the workload file
    memory_mb: 256
    timeout_s: 30
    concurrency: 10            # most executions at once (default: the cloud's)
    env: {GREETING: hi}
    triggers: [{http: {auth: none}}, {schedule: "rate(5 minutes)"}]
placement:
  cloud: cheapest              # aws | azure | gcp | cheapest | all (--cloud overrides)
  regions: {aws: [us-east-1, us-west-2], gcp: [us-central1]}
  max_hourly_cost: 2.5         # USD for everything launched; refused before anything is made
```

:func:`load` and :func:`parse` check everything before any cloud is called and raise
:class:`WorkloadError` (an :class:`~unicompute.InvalidRequest`) naming the file, the line and the
dotted key path. ``workload.schema.json`` beside this module documents the same format as JSON
Schema; the key tables here are what is enforced.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from .. import (
    FunctionSpec,
    HttpTrigger,
    InvalidRequest,
    QueueTrigger,
    ScheduleTrigger,
    available_providers,
)
from .._function_models import BOOKKEEPING_TAGS, Trigger
from ..driver import MANAGED_TAG
from ._yaml import Document, Value, WorkloadError, shown

#: Tags on every VM of a workload: its name and its group's.
WORKLOAD_TAG = "unicompute:workload"
GROUP_TAG = "unicompute:group"
#: The workload tag functions carried before they carried :data:`WORKLOAD_TAG` as VMs do;
#: status and destroy still find functions tagged with it.
LEGACY_FUNCTION_WORKLOAD_TAG = "unicompute-workload"
#: Tag keys a workload may not set, checked here so that the error names the line. The cloud's
#: own reserved keys (``aws:``...) are checked by :func:`~unicompute.workloads.plan`.
_RESERVED_TAGS = (MANAGED_TAG, WORKLOAD_TAG, GROUP_TAG, LEGACY_FUNCTION_WORKLOAD_TAG)
#: Most VMs one group may ask for.
MAX_COUNT = 1000

_NAME_RULE = "lowercase letters, digits and '-', starting with a letter, not ending with '-'"
_NAME = re.compile(r"[a-z](?:[a-z0-9-]*[a-z0-9])?")
#: Longest workload and group names, so that ``<workload>-<group>-<n>`` fits every cloud (63).
MAX_WORKLOAD_NAME = 32
MAX_GROUP_NAME = 20

WORKLOAD_KEYS: frozenset[str] = frozenset({"name", "vms", "functions", "placement"})
#: ``vms`` or ``functions`` (or both) must be there too.
WORKLOAD_REQUIRED: frozenset[str] = frozenset({"name"})
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
        "gpus",
        "spot",
        "tags",
    }
)
GROUP_REQUIRED: frozenset[str] = frozenset({"name"})
FUNCTION_KEYS: frozenset[str] = frozenset(
    {"name", "runtime", "handler", "source", "memory_mb", "timeout_s", "concurrency", "env",
     "triggers", "tags"}
)
FUNCTION_REQUIRED: frozenset[str] = frozenset({"name", "runtime", "handler", "source"})
PLACEMENT_KEYS: frozenset[str] = frozenset({"cloud", "regions", "max_hourly_cost"})
#: ``placement.cloud`` values besides a provider name.
CHEAPEST = "cheapest"
ALL_CLOUDS = "all"
#: The clouds ``cheapest`` and ``all`` choose among (those with a price catalog).
CATALOG_CLOUDS: tuple[str, ...] = ("aws", "azure", "gcp")
#: ``spot: prefer``: spot where the cloud has a spot price for the size, else on-demand.
PREFER = "prefer"
SpotChoice = bool | Literal["prefer"]
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
    #: At least this many GPUs (``None``: no requirement, so sizes without GPUs qualify).
    gpus: int | None = None
    #: ``True``: spot only; ``False``: on-demand only; ``"prefer"``: spot where priced.
    spot: SpotChoice = False
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    def size_for(self, cloud: str) -> str | None:
        """The explicit size name for ``cloud``, or ``None`` to choose one by resources."""
        return self.size.get(cloud)


@dataclass(frozen=True, kw_only=True)
class WorkloadFunction:
    """One function of a workload. ``spec`` is what is deployed: named
    ``<workload>-<name>``, with ``source`` resolved against the workload file's directory and the
    workload's tags added."""

    name: str
    spec: FunctionSpec


@dataclass(frozen=True, kw_only=True)
class Placement:
    """Where the workload goes. ``cloud`` is a provider name, ``"cheapest"`` (the one cloud and
    region where the whole workload costs least over the plan's hours, billing rules applied;
    the hourly price breaks ties) or ``"all"`` (the same workload on
    each of :data:`CATALOG_CLOUDS`); ``None`` leaves it to the caller (the CLI's ``--cloud``,
    default ``aws``). ``regions[cloud]`` lists the allowed regions, the first preferred;
    ``max_hourly_cost`` caps the USD per hour of everything launched."""

    cloud: str | None = None
    regions: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: MappingProxyType({}))
    max_hourly_cost: float | None = None


@dataclass(frozen=True, kw_only=True)
class Workload:
    """A named workload: its VM groups and functions, in file order, with unique names, and
    where to place it. ``source`` is the file it was read from, for messages, and ``lines`` the
    line of each key path in it (``vms[0].size.aws`` → 7; empty for a workload not read from
    a file), so that problems found later are reported at their line (:meth:`locate`)."""

    name: str
    groups: tuple[VMGroup, ...]
    functions: tuple[WorkloadFunction, ...] = ()
    placement: Placement = field(default_factory=Placement)
    source: str = "<string>"
    lines: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}),
                                     compare=False, repr=False)

    def locate(self, error: InvalidRequest) -> InvalidRequest:
        """``error`` as a :class:`WorkloadError` naming this workload's file and the line of
        its ``field`` (or of the nearest enclosing key the file has: ``functions[0]`` for
        ``functions[0].timeout_s`` left at its default), when the field is a key path of the
        file; else ``error`` itself (e.g. ``region``, which is ``--region``)."""
        if isinstance(error, WorkloadError) or not error.field:
            return error
        path = error.field
        while path not in self.lines:
            parent = _PARENT.sub("", path)
            if parent == path:  # a top-level key the file does not have
                return error
            path = parent
        return WorkloadError(error.reason, field=error.field, source=self.source,
                             line=self.lines[path], provider=error.provider,
                             operation=error.operation, resource=error.resource,
                             original=error.original)


#: The last step of a key path below the top: ``.size`` or ``[0]``.
_PARENT = re.compile(r"(?:\.[^.\[]*|\[\d+\])$")


@contextmanager
def located(workload: Workload) -> Iterator[None]:
    """Raise an :class:`~unicompute.InvalidRequest` from the block as :meth:`Workload.locate`
    makes it: at the file and line of the key it names."""
    try:
        yield
    except InvalidRequest as exc:
        found = workload.locate(exc)
        if found is exc:
            raise
        raise found from None


def schema() -> dict[str, Any]:
    """The JSON Schema of the workload file (``workload.schema.json``), for editors and docs,
    with the keys of ``size`` and ``placement.regions`` limited to
    :func:`~unicompute.available_providers`."""
    text = resources.files(_PACKAGE).joinpath("workload.schema.json").read_text("utf-8")
    result: dict[str, Any] = json.loads(text)
    providers = available_providers()
    result["$defs"]["group"]["properties"]["size"]["propertyNames"] = {"enum": providers}
    placement = result["$defs"]["placement"]["properties"]
    placement["regions"]["propertyNames"] = {"enum": providers}
    placement["cloud"]["enum"] = [*providers, CHEAPEST, ALL_CLOUDS]
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


def read_placement(path: str | Path) -> tuple[str, Placement]:
    """The workload name and ``placement`` in the file at ``path``, for ``status`` and
    ``destroy``, which must find the workload wherever it may have been placed; nothing else in
    the file is checked."""
    doc = Document(_read(Path(path)), str(path))
    entries = doc.mapping(doc.root, required={"name"})
    name = _name(doc, entries["name"], MAX_WORKLOAD_NAME)
    placement = _placement(doc, entries["placement"]) if "placement" in entries else Placement()
    return name, placement


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
    where ``user_data_file`` and function ``source`` paths start."""
    doc = Document(text, source)
    entries = doc.mapping(doc.root, allowed=WORKLOAD_KEYS, required=WORKLOAD_REQUIRED)
    name = _name(doc, entries["name"], MAX_WORKLOAD_NAME)
    if not entries.keys() & {"vms", "functions"}:
        raise doc.error(Value(doc.root.node, "vms"),
                        "required key is missing (a workload needs vms, functions or both)")
    groups: tuple[VMGroup, ...] = ()
    if "vms" in entries:
        items = doc.sequence(entries["vms"])
        if not items:
            raise doc.error(entries["vms"], "must list at least one VM group")
        first_lines: dict[str, int] = {}
        groups = tuple(_group(doc, item, Path(base_dir), first_lines) for item in items)
    functions: tuple[WorkloadFunction, ...] = ()
    if "functions" in entries:
        items = doc.sequence(entries["functions"])
        if not items:
            raise doc.error(entries["functions"], "must list at least one function")
        seen: dict[str, int] = {}
        functions = tuple(_function(doc, item, name, Path(base_dir), seen) for item in items)
    placement = _placement(doc, entries["placement"]) if "placement" in entries else Placement()
    return Workload(name=name, groups=groups, functions=functions, placement=placement,
                    source=source, lines=MappingProxyType(doc.key_lines()))


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
    if not entries.keys() & {"size", "vcpus", "memory_gib", "gpus"}:
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


def _spot(doc: Document, value: Value) -> SpotChoice:
    result = doc.scalar(value)
    if result is True or result is False:
        return result
    if result == PREFER:
        return "prefer"
    raise doc.error(value, f"must be true or false, or {PREFER!r}, not {shown(result)}")


# -- functions ------------------------------------------------------------------------------
#: Function keys that differ from the FunctionSpec field an error names.
_SPEC_FIELDS = {"triggers.auth": "triggers", "triggers.expression": "triggers",
                "triggers.queue": "triggers", "triggers.batch_size": "triggers"}


def _function(doc: Document, item: Value, workload: str, base_dir: Path,
              seen: dict[str, int]) -> WorkloadFunction:
    entries = doc.mapping(item, allowed=FUNCTION_KEYS, required=FUNCTION_REQUIRED)
    name = _name(doc, entries["name"], MAX_GROUP_NAME)
    if name in seen:
        raise doc.error(entries["name"], f"duplicate function name {name!r} "
                        f"(first on line {seen[name]})")
    seen[name] = entries["name"].line
    values = _function_values(doc, entries, base_dir)
    values["name"] = f"{workload}-{name}"
    values["tags"] = {**values.get("tags", {}), WORKLOAD_TAG: workload}
    return WorkloadFunction(name=name, spec=_function_spec(doc, entries, item, values, set()))


def _function_values(doc: Document, entries: Mapping[str, Value], base_dir: Path
                     ) -> dict[str, Any]:
    """The FunctionSpec arguments of the keys present in a function entry."""
    values: dict[str, Any] = {}
    for key in ("name", "runtime", "handler"):
        if key in entries:
            values[key] = doc.string(entries[key])
    if "source" in entries:
        source = base_dir / doc.string(entries["source"])
        if not (source.is_dir() or (source.is_file() and source.suffix == ".zip")):
            raise doc.error(entries["source"],
                            f"{str(source)!r} is not a directory or .zip file")
        values["source"] = source
    for key in ("memory_mb", "timeout_s", "concurrency"):
        if key in entries:
            values[key] = doc.integer(entries[key], minimum=1)
    if "env" in entries:
        values["env"] = {key: doc.string(entry, empty_ok=True)
                         for key, entry in doc.mapping(entries["env"]).items()}
    if "triggers" in entries:
        values["triggers"] = tuple(_trigger(doc, t) for t in doc.sequence(entries["triggers"]))
    if "tags" in entries:
        values["tags"] = dict(_tags(doc, entries["tags"]))
        for key, entry in doc.mapping(entries["tags"]).items():
            if key.casefold() in {tag.casefold() for tag in BOOKKEEPING_TAGS}:
                raise doc.error(entry, f"tag key {key!r} is reserved (unicompute's own)")
    return values


def _function_spec(doc: Document, entries: Mapping[str, Value], item: Value,
                   values: Mapping[str, Any], not_from_file: set[str]) -> FunctionSpec:
    """``FunctionSpec(**values)``; a refusal of a key read from the file names its line."""
    try:
        return FunctionSpec(**values)
    except InvalidRequest as exc:
        key = _SPEC_FIELDS.get(exc.field or "", (exc.field or "").split(".")[0])
        if key in not_from_file or (key not in entries and key in values):
            raise
        raise doc.error(entries.get(key, item), exc.reason) from None


def read_function_file(path: str | Path, *, defaults: Mapping[str, Any] | None = None,
                       overrides: Mapping[str, Any] | None = None) -> FunctionSpec:
    """The function in the YAML file at ``path``: one mapping with the keys of a workload's
    ``functions:`` entry, each optional (what the file lacks comes from ``defaults``).
    ``source`` is relative to the file's directory (default: that directory); the name is used
    as written (no workload prefix or tag). ``overrides`` win key by key over the file, except
    ``env``, merged name by name (the override wins). A refusal of a value from the file is a
    :class:`WorkloadError` naming the file, line and key; of a value from ``defaults`` or
    ``overrides``, the :class:`~unicompute.InvalidRequest` as raised (naming the field)."""
    path = Path(path)
    doc = Document(_read(path), str(path))
    entries = doc.mapping(doc.root, allowed=FUNCTION_KEYS)
    from_file = _function_values(doc, entries, path.parent)
    given = dict(overrides or {})
    values: dict[str, Any] = {"source": path.parent, **(defaults or {}), **from_file}
    env = given.pop("env", None)
    values.update(given)
    if env is not None:
        values["env"] = {**dict(values.get("env", {})), **dict(env)}
    not_from_file = set(given) | ({"env"} if env is not None else set())
    not_from_file |= {key for key in values if key not in from_file}
    return _function_spec(doc, entries, doc.root, values, not_from_file)


def _trigger(doc: Document, value: Value) -> Trigger:
    """``{http: {auth: none|key}}``, ``{schedule: "rate(5 minutes)"}`` or
    ``{queue: {name: jobs, batch_size: 10}}``."""
    entries = doc.mapping(value, allowed={"http", "schedule", "queue"})
    if len(entries) != 1:
        raise doc.error(value, "must have exactly one of http, schedule, queue")
    (kind, entry), = entries.items()
    try:
        if kind == "http":
            auth = "none"
            if entry.node.tag != "tag:yaml.org,2002:null":
                http = doc.mapping(entry, allowed={"auth"})
                auth = doc.string(http["auth"]) if "auth" in http else "none"
            if auth not in ("none", "key"):
                raise doc.error(entry, f"auth must be 'none' or 'key', not {auth!r}")
            return HttpTrigger(auth="key" if auth == "key" else "none")
        if kind == "schedule":
            return ScheduleTrigger(doc.string(entry))
        queue = doc.mapping(entry, allowed={"name", "batch_size"}, required={"name"})
        batch = doc.integer(queue["batch_size"], minimum=1, maximum=10) \
            if "batch_size" in queue else 10
        return QueueTrigger(doc.string(queue["name"]), batch_size=batch)
    except WorkloadError:
        raise
    except InvalidRequest as exc:
        raise doc.error(entry, exc.reason) from None


# -- placement ------------------------------------------------------------------------------
def _placement(doc: Document, value: Value) -> Placement:
    entries = doc.mapping(value, allowed=PLACEMENT_KEYS)
    cloud: str | None = None
    providers = available_providers()
    if "cloud" in entries:
        cloud = doc.string(entries["cloud"])
        choices = [*providers, CHEAPEST, ALL_CLOUDS]
        if cloud not in choices:
            raise doc.error(entries["cloud"],
                            f"{cloud!r} is not one of {', '.join(choices)}")
    regions: dict[str, tuple[str, ...]] = {}
    if "regions" in entries:
        for name, entry in doc.mapping(entries["regions"], allowed=providers).items():
            listed = [doc.string(item) for item in doc.sequence(entry)]
            if not listed:
                raise doc.error(entry, "must list at least one region")
            if len(set(listed)) != len(listed):
                raise doc.error(entry, "lists a region twice")
            regions[name] = tuple(listed)
    cap = doc.number(entries["max_hourly_cost"]) if "max_hourly_cost" in entries else None
    return Placement(cloud=cloud, regions=MappingProxyType(regions), max_hourly_cost=cap)


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
    "gpus": lambda doc, v: doc.integer(v, minimum=0),
    "spot": _spot,
    "tags": _tags,
}
