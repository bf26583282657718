"""What every ARM handler shares: state, the ARM envelope, auth, paging and long-running ops.

Resources are :class:`Resource` records in per-type :class:`Store`\\ s keyed by their full id
(case-insensitive, case preserved). ``body`` is the JSON ARM returns, without the secrets real
ARM never echoes (those are in ``secrets``); ``state`` holds what the emulator needs besides
(power state, child resources, addresses in use).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from .._kernel import EmulatorApp, Fault, HttpError, Operation, Operations, Store, json_response
from .._kernel.store import casefold
from . import _errors as errors
from ._catalog import LOCATIONS, normalize_location
from ._ids import SUBSCRIPTION_ID, canonical_path, group_id, resource_id

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

JSON = dict[str, Any]
#: Characters ARM refuses in tag names: ``< > % & \ ? /`` and control characters.
_TAG_NAME_RESERVED = re.compile(r"[<>%&\\?/\x00-\x1f\x7f]")

#: Resource types the fake stores (``Namespace/type``), each in its own Store.
KINDS = (
    "Microsoft.Network/virtualNetworks",
    "Microsoft.Network/publicIPAddresses",
    "Microsoft.Network/networkInterfaces",
    "Microsoft.Network/networkSecurityGroups",
    "Microsoft.Compute/virtualMachines",
    "Microsoft.Compute/disks",
    "Microsoft.Compute/snapshots",
    "Microsoft.Compute/sshPublicKeys",
)

#: The shape of an ARM ``api-version``: a date, optionally marked preview (or beta, alpha).
_API_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}(-(preview|privatepreview|beta|alpha))?")


@dataclass
class Resource:
    """One ARM resource (or resource group) held by the fake."""

    id: str
    name: str
    group: str  # the resource group's name, as created
    body: JSON
    secrets: JSON = field(default_factory=dict, repr=False)
    state: JSON = field(default_factory=dict)

    @property
    def props(self) -> JSON:
        props: JSON = self.body.setdefault("properties", {})
        return props


class ArmBase(EmulatorApp):
    """State and plumbing of the ARM emulator; the handlers live in the mixins of ``_app``.

    * :attr:`page_size`: items per page of every list (ARM pages VM lists by 50).
    * :attr:`operations`: long-running operations, ``mode`` ``"instant"`` (default: every
      operation completes in its first response) or ``"stepped"`` (202/201 with
      ``Azure-AsyncOperation``, ``Location`` and ``retry-after-ms`` headers; done after
      ``operations.polls_to_finish`` polls or ``operations.step_seconds`` of fake time).
    * :attr:`keep_operations`: how many finished operations stay pollable (10,000).
    * :attr:`retry_after_ms`: the poll delay sent in stepped mode. Only ``retry-after-ms`` is
      sent: azure-core reads ``Retry-After`` first and treats ``0`` as "use the default 30 s".
    """

    page_size = 50
    retry_after_ms = 1
    #: Finished operations remembered; older ids answer 404 as an expired one does in ARM.
    keep_operations = 10_000

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.operations = Operations(self.clock, self.ids, keep_finished=self.keep_operations)
        self.subscriptions: set[str] = {SUBSCRIPTION_ID.casefold()}
        self.groups: Store[Resource] = Store(casefold)
        self.stores: dict[str, Store[Resource]] = {kind: Store(casefold) for kind in KINDS}
        self._public_ip_counter = 0

    def clear(self) -> None:
        """Forget every resource, operation, fault and logged request."""
        with self.lock:
            self.groups.clear()
            for store in self.stores.values():
                store.clear()
            self.operations.clear()
            self.faults.clear()
            self.requests.clear()

    # -- WSGI and the EmulatorApp hooks ------------------------------------------------------
    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse,
                 ) -> Iterable[bytes]:
        environ["PATH_INFO"] = canonical_path(environ.get("PATH_INFO", ""))
        if environ.get("REQUEST_METHOD") != "HEAD":
            return super().__call__(environ, start_response)

        def head_start(status: str, headers: list[tuple[str, str]], exc_info: Any = None,
                       ) -> Any:
            # ARM answers HEAD with no body (404 included); werkzeug drops the body but keeps
            # the GET body's Content-Length, which an in-process client would try to read.
            kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
            return start_response(status, [*kept, ("Content-Length", "0")], exc_info)

        return super().__call__(environ, head_start)

    def authenticate(self, request: Request) -> None:
        """ARM's checks before any handler: a bearer token (any), then ``api-version``."""
        auth = request.headers.get("Authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.authentication_failed()
        version = request.args.get("api-version")
        if not version:
            raise errors.missing_api_version()
        if not _API_VERSION.fullmatch(version):
            raise errors.invalid_api_version(version)

    def error_response(self, error: HttpError) -> Response:
        body: JSON = {"code": error.code, "message": error.message}
        if error.target is not None:
            body["target"] = error.target
        if error.details:
            body["details"] = [error.details]
        return json_response({"error": body}, status=error.status)

    def not_found(self, request: Request) -> HttpError:
        if "/providers/" in request.path:
            return HttpError(404, "InvalidResourceType",
                             f"The resource type could not be found for path '{request.path}'.")
        return HttpError(404, "NotFound", f"The requested path '{request.path}' is not "
                         "supported.")

    # -- lookups ------------------------------------------------------------------------------
    def check_subscription(self, subscription: str) -> None:
        if subscription.casefold() not in self.subscriptions:
            raise errors.subscription_not_found(subscription)

    def group(self, subscription: str, name: str) -> Resource:
        """The resource group, or ``ResourceGroupNotFound`` (after the subscription check)."""
        self.check_subscription(subscription)
        found = self.groups.get(name)
        if found is None:
            raise errors.group_not_found(name)
        return found

    def rid(self, subscription: str, group: Resource, kind: str, name: str) -> str:
        return resource_id(subscription, group.name, kind, name)

    def find(self, kind: str, subscription: str, group: str, name: str) -> Resource:
        """The resource, or the 404 ARM gives (``ResourceGroupNotFound`` first)."""
        rg = self.group(subscription, group)
        found = self.stores[kind].get(resource_id(subscription, rg.name, kind, name))
        if found is None:
            raise errors.resource_not_found(kind, name, group)
        return found

    def lookup(self, kind: str, rid: str) -> Resource | None:
        """The resource with id ``rid`` (any case), if it exists."""
        return self.stores[kind].get(rid)

    def in_group(self, group: Resource) -> Callable[[Resource], bool]:
        key = group.name.casefold()
        return lambda res: res.group.casefold() == key

    # -- the ARM envelope -----------------------------------------------------------------------
    @staticmethod
    def location_of(body: JSON, kind: str) -> str:
        """The body's ``location``, normalized as ARM stores it (``East US`` → ``eastus``)."""
        raw = body.get("location")
        if not isinstance(raw, str) or not raw:
            raise errors.location_required()
        location = normalize_location(raw)
        if location not in LOCATIONS:
            raise errors.location_not_available(raw, kind, ",".join(sorted(LOCATIONS)))
        return location

    @staticmethod
    def check_location(existing: Resource | None, location: str) -> None:
        """A PUT may not move an existing resource: 409 ``InvalidResourceLocation``."""
        if existing is not None and existing.body["location"] != location:
            raise errors.location_changed(existing.name, str(existing.body["location"]),
                                          location, existing.group)

    @staticmethod
    def tags_of(body: JSON) -> dict[str, str]:
        tags = body.get("tags")
        if tags is None:
            return {}
        if not isinstance(tags, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            raise errors.invalid_body("The tags must be an object of string values.")
        if len(tags) > 50:
            raise errors.invalid_parameter("tags", "The number of tags must not exceed 50.")
        reserved = [key for key in tags if _TAG_NAME_RESERVED.search(key)]
        if reserved:
            raise errors.bad_request(
                "InvalidTagNameCharacters",
                f"The tag names '{','.join(reserved)}' have reserved characters "
                "'<,>,%,&,\\,?,/' or control characters.")
        for key, value in tags.items():
            if len(key) > 512 or len(value) > 256:
                raise errors.bad_request(
                    "InvalidTagNameCharacters" if len(key) > 512 else "InvalidTag",
                    f"The tag '{key[:40]}' is too long: names up to 512 characters and values "
                    "up to 256 are allowed.")
        return dict(tags)

    def new_etag(self) -> str:
        """A Microsoft.Network-style weak etag."""
        return f'W/"{self.ids.uuid()}"'

    @staticmethod
    def check_preconditions(request: Request, existing: Resource | None) -> None:
        """``If-None-Match: *`` fails on an existing resource; ``If-Match`` must match."""
        if request.headers.get("If-None-Match", "").strip() == "*" and existing is not None:
            raise errors.precondition_failed()
        if_match = request.headers.get("If-Match", "").strip()
        if if_match:
            if existing is None:
                raise errors.precondition_failed()
            if if_match != "*" and if_match != existing.body.get("etag"):
                raise errors.precondition_failed()

    # -- paging -----------------------------------------------------------------------------------
    def page(self, request: Request, store: Store[Resource],
             where: Callable[[Resource], bool] | None,
             render: Callable[[Resource], JSON]) -> Response:
        """One page of ``store`` as ``{"value": [...], "nextLink": absolute URL}``."""
        token = request.args.get("$skiptoken")
        try:
            items, next_token = store.page(self.page_size, token, where)
        except ValueError:
            raise errors.invalid_parameter("$skiptoken", "The provided skip token is not valid."
                                           ) from None
        body: JSON = {"value": [render(item) for item in items]}
        if next_token is not None:
            body["nextLink"] = self.next_link(request, next_token)
        return json_response(body)

    @staticmethod
    def next_link(request: Request, token: str) -> str:
        query = [(k, v) for k, v in request.args.items(multi=True) if k != "$skiptoken"]
        query.append(("$skiptoken", token))
        return f"{request.host_url.rstrip('/')}{request.path}?{urlencode(query, safe='$')}"

    # -- long-running operations -----------------------------------------------------------------
    def lro_headers(self, request: Request, namespace: str, location: str,
                    op: Operation) -> dict[str, str]:
        """The headers ARM sends with an operation still in progress."""
        base = (f"{request.host_url.rstrip('/')}/subscriptions/{SUBSCRIPTION_ID}/providers/"
                f"{namespace}/locations/{location}")
        version = request.args.get("api-version", "")
        return {
            "Azure-AsyncOperation": f"{base}/operations/{op.id}?api-version={version}",
            "Location": f"{base}/operationResults/{op.id}?api-version={version}",
            "retry-after-ms": str(self.retry_after_ms),
        }

    def start_op(self, finish: Callable[[], None], *, result: JSON | None = None) -> Operation:
        """Start an operation whose completion runs ``finish`` (never fails by itself)."""

        def run() -> Fault | None:
            with self.lock:
                finish()
            return None

        data: JSON = {} if result is None else {"result": result}
        return self.operations.start(run, data=data)

    def put_response(self, request: Request, op: Operation, created: bool, namespace: str,
                     location: str, render: Callable[[], JSON], *,
                     accepted: bool = False) -> Response:
        """PUT answer: 201 (new) or 200 with the body; async headers while ``op`` runs.

        ``accepted``: the resource provider answers 200 when done and 202 while running,
        never 201 (Microsoft.Compute disks and snapshots).
        """
        status = (200 if op.done else 202) if accepted else (201 if created else 200)
        if op.done:
            return json_response(render(), status=status)
        return json_response(render(), status=status,
                             headers=self.lro_headers(request, namespace, location, op))

    def accepted(self, request: Request, op: Operation, namespace: str, location: str,
                 done_status: int = 200) -> Response:
        """POST/DELETE answer: ``done_status`` with no body if done, else 202 with headers."""
        if op.done:
            return Response(status=done_status)
        return Response(status=202, headers=self.lro_headers(request, namespace, location, op))

    def operation_status(self, request: Request, subscription: str, namespace: str,
                         location: str, op_id: str) -> Response:
        """``GET …/locations/{loc}/operations/{id}``: the Azure-AsyncOperation status body."""
        self.check_subscription(subscription)
        op = self.operations.get(op_id)
        if op is None:
            raise HttpError(404, "NotFound", f"The operation '{op_id}' was not found.")
        start = (self.clock.start.timestamp() + op.started)
        body: JSON = {"name": op.id, "startTime": _iso(start),
                      "status": {"running": "InProgress", "succeeded": "Succeeded",
                                 "failed": "Failed"}[op.status]}
        if op.finished is not None:
            body["endTime"] = _iso(self.clock.start.timestamp() + op.finished)
        if op.error is not None:
            body["error"] = {"code": op.error.code, "message": op.error.message}
        if not op.done:  # azure-core waits per the last poll's header (30 s without one)
            return json_response(body, headers={"retry-after-ms": str(self.retry_after_ms)})
        return json_response(body)

    def operation_result(self, request: Request, subscription: str, namespace: str,
                         location: str, op_id: str) -> Response:
        """``GET …/locations/{loc}/operationResults/{id}`` (the ``Location`` header)."""
        self.check_subscription(subscription)
        op = self.operations.get(op_id)
        if op is None:
            raise HttpError(404, "NotFound", f"The operation '{op_id}' was not found.")
        if not op.done:
            return Response(status=202, headers=self.lro_headers(request, namespace, location,
                                                                 op))
        if op.error is not None:
            raise HttpError(op.error.status, op.error.code, op.error.message)
        result = op.data.get("result")
        if result is None:
            return Response(status=204)
        return json_response(result)

    # -- helpers for handlers --------------------------------------------------------------------
    @staticmethod
    def ref_id(value: Any, field_name: str) -> str:
        """The ``id`` of a ``{"id": ...}`` sub-resource reference, or 400 naming the field."""
        if isinstance(value, dict) and isinstance(value.get("id"), str) and value["id"]:
            return str(value["id"])
        raise errors.invalid_parameter(field_name, f"The value of parameter {field_name} is "
                                       "invalid: a reference needs an id.")

    def group_path_id(self, subscription: str, group: Resource) -> str:
        return group_id(subscription, group.name)


def _iso(epoch: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, tz=UTC).isoformat().replace("+00:00", "Z")
