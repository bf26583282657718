"""The Compute Engine app's foundation: per-project state, auth, errors, lists, operations.

Handlers live in the resource modules (``_instances``, ``_disks``, ``_networks``, ``_catalog_api``,
``_operations``), each a subclass of :class:`ComputeBase`; ``_app.ComputeApp`` joins them.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, ClassVar

from werkzeug.wrappers import Request, Response

from .._kernel import (
    EmulatorApp,
    FakeClock,
    Faults,
    HttpError,
    IdFactory,
    json_response,
)
from .._kernel.faults import Fault
from . import _catalog
from ._errors import DOMAINS, HTTP_PHRASES, invalid_field, not_found
from ._filter import compile_filter
from ._format import timestamp
from ._links import API, link
from ._lro import GceOperations
from ._table import Resource, Table, decode_token, encode_token, page

#: The project the fake's default credentials name (``google.auth.default()`` answers it).
FAKE_PROJECT = "unicompute-fake"
#: The account operations say started them.
FAKE_USER = "fake-user@unicompute-fake.iam.gserviceaccount.com"
#: The fingerprint GCE gives an empty label set or metadata.
EMPTY_FINGERPRINT = "42WmSpB8rSM="

_UNAUTHENTICATED = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project.")
_BAD_TOKEN = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project.")
_AUTO_SUBNET_REGIONS_HINT = "Default network for the project"


def fingerprint(value: Any) -> str:
    """GCE-style fingerprint (8 bytes, base64) of ``value`` (a string is hashed as is, anything
    else as canonical JSON); the empty one is GCE's constant."""
    if not value:
        return EMPTY_FINGERPRINT
    if isinstance(value, str):
        text = value
    elif isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        text = "\n".join(f"{k}={v}" for k, v in sorted(value.items()))  # labels
    else:
        text = json.dumps(value, sort_keys=True)
    return base64.b64encode(hashlib.sha256(text.encode()).digest()[:8]).decode()


def _dotted(address: int) -> str:
    return f"{address >> 24}.{(address >> 16) & 255}.{(address >> 8) & 255}.{address & 255}"


@dataclass
class Subnet:
    """Address bookkeeping of one subnetwork: next free host and released ones."""

    network: ipaddress.IPv4Network
    used: set[int] = field(default_factory=set)
    next: int = 2

    def __post_init__(self) -> None:
        self._base = int(self.network.network_address)

    def allocate(self, wanted: str | None = None) -> str | None:
        """An address from the range (``wanted`` if given and free); ``None`` when none is."""
        base = self._base
        if wanted is not None:
            address = ipaddress.IPv4Address(wanted)
            offset = int(address) - base
            if address not in self.network or offset < 2 or offset in self.used:
                return None
            self.used.add(offset)
            return wanted
        limit = self.network.num_addresses - 2  # last address is the broadcast, GCE keeps it
        while self.next < limit and self.next in self.used:
            self.next += 1
        if self.next >= limit:
            for offset in range(2, limit):
                if offset not in self.used:
                    self.used.add(offset)
                    return _dotted(base + offset)
            return None
        self.used.add(self.next)
        return _dotted(base + self.next)

    def release(self, address: str) -> None:
        a, b, c, d = (int(part) for part in address.split("."))
        self.used.discard((a << 24 | b << 16 | c << 8 | d) - self._base)


@dataclass
class ProjectState:
    """Everything one project holds."""

    name: str
    instances: dict[str, Table] = field(default_factory=dict)
    disks: dict[str, Table] = field(default_factory=dict)
    subnetworks: dict[str, Table] = field(default_factory=dict)
    operations: dict[str, Table] = field(default_factory=dict)
    snapshots: Table = field(default_factory=Table)
    networks: Table = field(default_factory=Table)
    firewalls: Table = field(default_factory=Table)
    addresses: dict[str, Subnet] = field(default_factory=dict)
    #: The project number (GCE's ``id`` of the project) and its creation time.
    number: str = ""
    created: str = ""
    #: ``commonInstanceMetadata``: a ``compute#metadata`` resource.
    common_metadata: dict[str, Any] = field(default_factory=lambda: {
        "kind": "compute#metadata", "fingerprint": EMPTY_FINGERPRINT})

    def zone_table(self, kind: dict[str, Table], scope: str) -> Table:
        table = kind.get(scope)
        if table is None:
            table = kind[scope] = Table()
        return table


class ComputeBase(EmulatorApp):
    """State and shared behaviour of the Compute Engine v1 emulator."""

    #: Top-level fields per resource kind, for checking ``filter`` field names.
    FIELDS: ClassVar[Mapping[str, frozenset[str]]] = {}

    def __init__(self, *, clock: FakeClock | None = None, ids: IdFactory | None = None,
                 faults: Faults | None = None, tokens: set[str] | None = None) -> None:
        super().__init__(clock=clock, ids=ids, faults=faults)
        self.operations = GceOperations(self.clock, self.ids,
                                        on_forget=self._drop_operation)
        self.projects: dict[str, ProjectState] = {}
        #: Access tokens the token endpoint issued; the Google-hosted API accepts only these.
        self.tokens: set[str] = tokens if tokens is not None else set()
        self._nat_next = 0
        self._now: tuple[float, str, int] = (-1.0, "", 0)
        self.clock.on_advance(self._settle)

    # -- kernel hooks ------------------------------------------------------------------------
    def authenticate(self, request: Request) -> None:
        header = request.environ.get("HTTP_AUTHORIZATION", "")
        https = request.environ.get("wsgi.url_scheme") == "https"
        if not https and not header:
            return  # the loopback server takes anonymous clients, as Google's emulators do
        if not header.startswith("Bearer "):
            raise HttpError(401, "required", _UNAUTHENTICATED, details={
                "location": "Authorization", "status": "UNAUTHENTICATED"})
        if https and header[7:] not in self.tokens:
            raise HttpError(401, "authError", _BAD_TOKEN, details={
                "location": "Authorization", "status": "UNAUTHENTICATED"})

    def error_response(self, error: HttpError) -> Response:
        entry: dict[str, Any] = {"message": error.message,
                                 "domain": DOMAINS.get(error.code, "global"),
                                 "reason": error.code}
        body: dict[str, Any] = {"code": error.status, "message": error.message,
                                "errors": [entry]}
        if "location" in error.details:
            entry["location"] = error.details["location"]
            entry["locationType"] = "header"
        if "status" in error.details:
            body["status"] = error.details["status"]
        headers = {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'} \
            if error.status == 401 else None
        return json_response({"error": body}, error.status, headers)

    def not_found(self, request: Request) -> HttpError:
        return HttpError(404, "notFound", f"The requested URL {request.path} was not found.")

    # -- state -------------------------------------------------------------------------------
    def project(self, name: str) -> ProjectState:
        """The project's state; a new project has GCE's ``default`` network and firewalls."""
        state = self.projects.get(name)
        if state is None:
            state = self.projects[name] = ProjectState(
                name, number=self.ids.number(12), created=self.now())
            self.create_default_network(state)
        return state

    def writable(self, project: str, path: str, permission: str) -> ProjectState:
        """The project's state, or GCE's 403 for the public image projects."""
        if project in _catalog.IMAGE_PROJECTS:
            target = f"projects/{project}/{path}" if path else f"projects/{project}"
            raise HttpError(403, "forbidden", f"Required '{permission}' permission for '{target}'")
        return self.project(project)

    def create_default_network(self, state: ProjectState) -> None:
        raise NotImplementedError

    def check_zone(self, project: str, zone: str) -> str:
        """The zone's region; 404 for a zone GCE does not have."""
        region = _catalog.zone_regions().get(zone)
        if region is None:
            raise not_found(f"projects/{project}/zones/{zone}")
        return region

    def check_region(self, project: str, region: str) -> None:
        if region not in _catalog.regions():
            raise not_found(f"projects/{project}/regions/{region}")

    def now(self) -> str:
        """The fake time as GCE prints it (formatted once per clock reading)."""
        return self._clock_reading()[1]

    def now_millis(self) -> int:
        """The fake time in milliseconds since the Unix epoch (operation names carry it)."""
        return self._clock_reading()[2]

    def _clock_reading(self) -> tuple[float, str, int]:
        seconds = self.clock.time()
        if self._now[0] != seconds:
            moment = self.clock.start + timedelta(seconds=seconds)
            self._now = (seconds, timestamp(moment), int(moment.timestamp() * 1000))
        return self._now

    def new_id(self) -> str:
        return self.ids.number(19)

    def new_fingerprint(self) -> str:
        """A fresh opaque fingerprint (8 random bytes, base64), for a resource that changed."""
        return base64.b64encode(bytes.fromhex(self.ids.hex(16))).decode()

    def nat_ip(self) -> str:
        """A fresh ephemeral external address (from 34.0.0.0/8, as many GCE ones are)."""
        self._nat_next += 1
        n = self._nat_next
        return f"34.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"

    # -- lists -------------------------------------------------------------------------------
    def list_response(self, request: Request, *, kind: str, scope_path: str, fields: str,
                      entries: Callable[[str, Any], Iterator[tuple[Any, Resource]]],
                      render: Callable[[Resource], Resource] | None = None) -> Response:
        """One page of a list call, honouring ``filter``, ``maxResults``, ``orderBy`` and
        ``pageToken`` as GCE does; ``scope_path`` is ``projects/P/zones/Z/instances`` etc."""
        limit, order, where, after = self.list_params(request, fields)
        items, last, more = page(entries(order, after), limit, where)
        body: dict[str, Any] = {"kind": kind, "id": scope_path}
        if items:
            body["items"] = [render(item) for item in items] if render else items
        if more:
            body["nextPageToken"] = encode_token({"o": order, "a": last})
        body["selfLink"] = link(scope_path)
        return json_response(body)

    def list_params(self, request: Request, fields: str,
                    ) -> tuple[int, str, Callable[[Resource], bool] | None, Any]:
        args = request.args
        raw_max = args.get("maxResults", "500")
        try:
            limit = int(raw_max)
        except ValueError:
            raise invalid_field("maxResults", raw_max, "Must be an integer.") from None
        if limit < 0 or limit > 500:
            raise invalid_field("maxResults", raw_max,
                                "Must be greater than or equal to 0 and less than or equal "
                                "to 500.")
        limit = limit or 500
        order_by = " ".join(args.get("orderBy", "").split())
        if order_by in ("", "name"):
            order = "name"
        elif order_by == "creationTimestamp desc":
            order = "created"
        else:
            raise invalid_field("orderBy", order_by,
                                "Currently, only sorting by name or creationTimestamp desc is "
                                "supported.")
        text = args.get("filter", "")
        where = compile_filter(text, self.FIELDS[fields]) if text.strip() else None
        after: Any = None
        token = args.get("pageToken")
        if token:
            try:
                state = decode_token(token)
            except ValueError:
                raise invalid_field("pageToken", token, "Invalid page token.") from None
            if state.get("o") != order:
                raise invalid_field("pageToken", token, "Invalid page token.")
            after = state.get("a")
        return limit, order, where, after

    def aggregated_response(self, request: Request, *, kind: str, project: str, key: str,
                            fields: str, scopes: Iterable[tuple[str, Table | dict[str, Resource]]],
                            render: Callable[[Resource], Resource] | None = None) -> Response:
        """An ``aggregatedList`` page: ``items`` maps ``zones/Z`` (or ``regions/R``) to
        ``{key: [...]}``, or to GCE's ``NO_RESULTS_ON_PAGE`` warning for an empty scope."""
        limit, order, where, after = self.list_params(request, fields)
        start_scope = after[0] if isinstance(after, list) else None
        after_in_scope = after[1] if isinstance(after, list) else None
        items: dict[str, Any] = {}
        remaining = limit
        token: str | None = None
        started = start_scope is None
        for scope, table in scopes:
            if not started:
                if scope != start_scope:
                    continue
                started = True
                position: Any = after_in_scope
            else:
                position = None
            entries = (table.ordered(order, position) if isinstance(table, Table)
                       else dict_entries(table, order, position))
            found, last, more = page(entries, remaining, where)
            if found:
                items[scope] = {key: [render(f) for f in found] if render else found}
                remaining -= len(found)
            else:
                items[scope] = {"warning": {
                    "code": "NO_RESULTS_ON_PAGE",
                    "message": f"There are no results for scope '{scope}' on this page.",
                    "data": [{"key": "scope", "value": scope}]}}
            if more or (remaining == 0 and found):
                token = encode_token({"o": order, "a": [scope, last]})
                break
        body: dict[str, Any] = {"kind": kind, "id": f"projects/{project}/aggregated/{key}",
                                "items": items}
        if token is not None:
            body["nextPageToken"] = token
        body["selfLink"] = link(f"projects/{project}/aggregated/{key}")
        return json_response(body)

    # -- operations --------------------------------------------------------------------------
    def start_operation(self, project: str, scope: str, op_type: str, target: str,
                        target_id: str, endpoint: str, *,
                        finish: Callable[[], None] | None = None,
                        undo: Callable[[], None] | None = None,
                        on_poll: Callable[[], None] | None = None) -> Response:
        """Begin an operation on ``target`` (a ``projects/...`` path) in ``scope``
        (``zones/Z``, ``regions/R`` or ``global``) and answer it.

        ``finish`` applies the end state when the operation completes (at once in instant mode);
        a fault armed as ``operation:<endpoint>`` fails the operation instead, after ``undo``
        has removed what the call created. ``on_poll`` runs on each poll of an unfinished one.
        """
        state = self.project(project)
        sequence = self.ids.sequence()
        noise = self.ids.hex(29)
        name = (f"operation-{self.now_millis()}-{noise[:13]}-{noise[13:21]}-{noise[21:]}-"
                f"{sequence}")
        now = self.now()
        op_path = f"projects/{project}/{scope}/operations/{name}"
        body: dict[str, Any] = {
            "kind": "compute#operation", "id": self.new_id(), "name": name,
            "operationType": op_type, "targetLink": link(target), "targetId": target_id,
            "status": "RUNNING", "user": FAKE_USER, "progress": 0,
            "insertTime": now, "startTime": now, "selfLink": link(op_path),
        }
        if scope.startswith("zones/"):
            body["zone"] = link(f"projects/{project}/{scope}")
        elif scope.startswith("regions/"):
            body["region"] = link(f"projects/{project}/{scope}")
        state.zone_table(state.operations, scope).add(body)

        def complete() -> Fault | None:
            fault = self.faults.check(f"operation:{endpoint}")
            if fault is not None:
                if undo is not None:
                    undo()
                body["error"] = {"errors": [{"code": fault.code, "message": fault.message}]}
                body["httpErrorStatusCode"] = fault.status
                body["httpErrorMessage"] = HTTP_PHRASES.get(fault.status, "ERROR")
            elif finish is not None:
                finish()
            body["status"] = "DONE"
            body["progress"] = 100
            body["endTime"] = self.now()
            return fault

        self.operations.start(complete, data={"body": body, "on_poll": on_poll}, op_id=op_path)
        return json_response(body)

    def poll_operation(self, project: str, scope: str, name: str, *, wait: bool = False,
                       ) -> Resource:
        """The operation after one poll (which may finish it in stepped mode), or after a
        ``wait`` call (see :mod:`._lro`); 404 if unknown."""
        op_path = f"projects/{project}/{scope}/operations/{name}"
        op = self.operations.wait(op_path) if wait else self.operations.get(op_path)
        if op is None:
            raise not_found(op_path)
        if not op.done and op.data.get("on_poll") is not None:
            op.data["on_poll"]()
        body: Resource = op.data["body"]
        return body

    def _drop_operation(self, op_path: str) -> None:
        """Remove operation ``projects/P/<scope>/operations/NAME`` from its listing."""
        parts = op_path.split("/")
        state = self.projects.get(parts[1])
        if state is not None:
            table = state.operations.get("/".join(parts[2:-2]))
            if table is not None:
                table.remove(parts[-1])

    def _settle(self, now: float) -> None:
        """Finish the operations whose time has come (the fake clock moved)."""
        with self.lock:
            for op in self.operations.all():
                if not op.done and now - op.started >= self.operations.step_seconds:
                    self.operations.get(op.id)

    def reset_state(self) -> None:
        with self.lock:
            self.projects.clear()
            self.operations.clear()
            self.faults.clear()
            self.requests.clear()
            self._nat_next = 0


def dict_entries(items: dict[str, Resource], order: str, after: Any,
                 ) -> Iterator[tuple[Any, Resource]]:
    """:meth:`Table.ordered` for a read-only catalog mapping (creation order = listing order)."""
    if order == "name":
        for name in sorted(items):
            if after is None or name > str(after):
                yield name, items[name]
        return
    ordered = list(items.values())
    for index in range(len(ordered) - 1, -1, -1):
        if after is None or index < int(after):
            yield index, ordered[index]


__all__ = ["API", "FAKE_PROJECT", "ComputeBase", "ProjectState", "Subnet", "dict_entries",
           "fingerprint"]
