"""Cloud Functions v2 REST (``cloudfunctions.googleapis.com/v2``): functions, upload URLs,
runtimes, and google.longrunning operations with exact ``@type`` URLs.

Mutations answer an ``Operation``; in the kernel's ``instant`` mode it is done in its first
answer, in ``stepped`` mode it runs until polled or the clock moves (``fake.functions.operations``).
While it runs the function is ``DEPLOYING`` (``DELETING``). Creating or updating "builds" the
source: the uploaded zip is unpacked, ``GOOGLE_FUNCTION_SOURCE`` (a build environment variable,
default ``main.py``) must exist, and a first instance must start (the module imports and defines
the entry point) — else the operation fails with code 3 and the function is ``FAILED`` with a
``stateMessages`` entry, as GCF leaves it (delete it to retry a create). A failed update keeps
the previous revision serving. The build itself is in ``_functions_build``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .._kernel import FakeClock, Faults, HttpError, IdFactory, Operation, Operations, json_response
from .._kernel.faults import Fault
from ..runtime import LocalRuntime
from ._catalog import zone_regions
from ._functions_build import Builds, FunctionRecord, fill_defaults, project_number, run_host
from ._functions_common import RPC_CODES, GoogleApi, api_error, bad_request, compile_filter
from ._functions_rules import (
    PUBSUB_EVENT,
    RUNTIMES,
    check_function,
    check_function_id,
    enum_names,
)
from ._functions_source import BuildError, SourceStore

TYPE_PREFIX = "type.googleapis.com/google.cloud.functions.v2."
FUNCTION_TYPE = TYPE_PREFIX + "Function"
METADATA_TYPE = TYPE_PREFIX + "OperationMetadata"
EMPTY_TYPE = "type.googleapis.com/google.protobuf.Empty"
_P = "/v2/projects/<project>/locations/<location>"
#: Fields a client may not set through ``updateMask``.
_OUTPUT_ONLY = ("name", "state", "updateTime", "createTime", "stateMessages", "url",
                "environment", "serviceConfig.uri", "serviceConfig.revision",
                "serviceConfig.service", "buildConfig.build", "buildConfig.sourceProvenance",
                "satisfiesPzs")

RULES = [
    Rule(f"{_P}/functions", methods=["POST"], endpoint="functions_create"),
    Rule(f"{_P}/functions", methods=["GET"], endpoint="functions_list"),
    Rule(f"{_P}/functions:generateUploadUrl", methods=["POST"],
         endpoint="functions_generate_upload_url"),
    Rule(f"{_P}/functions/<function>", methods=["GET"], endpoint="functions_get"),
    Rule(f"{_P}/functions/<function>", methods=["PATCH"], endpoint="functions_patch"),
    Rule(f"{_P}/functions/<function>", methods=["DELETE"], endpoint="functions_delete"),
    Rule(f"{_P}/runtimes", methods=["GET"], endpoint="runtimes_list"),
    Rule(f"{_P}/operations", methods=["GET"], endpoint="operations_list"),
    Rule(f"{_P}/operations/<operation>", methods=["GET"], endpoint="operations_get"),
]


class FunctionsApp(GoogleApi):
    """The Functions v2 API. ``on_change(record, event)`` (``"active"``, ``"deleted"``) lets the
    handle create topics and forget schedules."""

    url_map = Map(RULES, strict_slashes=False)

    def __init__(self, *, clock: FakeClock, ids: IdFactory, faults: Faults, tokens: set[str],
                 runtime: Callable[[], LocalRuntime], sources: SourceStore) -> None:
        super().__init__(clock=clock, ids=ids, faults=faults, tokens=tokens)
        self.operations = Operations(clock, ids)
        self.sources = sources
        self.builds = Builds(sources=sources, ids=ids, runtime=runtime)
        self.functions: dict[str, FunctionRecord] = {}
        self.on_change: Callable[[FunctionRecord, str], None] | None = None
        self._ops_by_location: dict[str, list[str]] = {}
        clock.on_advance(lambda _: self._settle())

    # -- helpers -----------------------------------------------------------------------------
    def reset_state(self) -> None:
        for record in list(self.functions.values()):
            self.builds.retire(record)
        self.functions.clear()
        self.operations.clear()
        self._ops_by_location.clear()
        self.requests.clear()

    def close(self) -> None:
        self.reset_state()
        self.builds.close()

    def now(self) -> str:
        return self.clock.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def _settle(self) -> None:
        for op in self.operations.all():
            if not op.done:
                self.operations.get(op.id)

    @staticmethod
    def check_location(project: str, location: str) -> None:
        if location not in set(zone_regions().values()):
            raise api_error(404, f"Location {location} is not found or access is "
                            "unauthorized.")

    def record(self, project: str, location: str, function: str) -> FunctionRecord:
        name = f"projects/{project}/locations/{location}/functions/{function}"
        record = self.functions.get(name)
        if record is None:
            raise api_error(404, f"Resource '{name}' was not found")
        return record

    def public_view(self, record: FunctionRecord) -> dict[str, Any]:
        return copy.deepcopy(record.body)

    # -- functions ---------------------------------------------------------------------------
    def functions_generate_upload_url(self, request: Request, project: str,
                                      location: str) -> Response:
        self.check_location(project, location)
        body = self.body(request)
        if "environment" in body:
            enum_names(body, {"environment": ("ENVIRONMENT_UNSPECIFIED", "GEN_1", "GEN_2")})
        return json_response(self.sources.new_upload(project_number(project), location))

    def functions_create(self, request: Request, project: str, location: str) -> Response:
        self.check_location(project, location)
        body = self.body(request)
        enum_names(body)
        parent = f"projects/{project}/locations/{location}"
        function_id = request.args.get("functionId") or \
            str(body.get("name", "")).rpartition("/")[2]
        if not function_id:
            raise bad_request("function_id is required", "function_id")
        check_function_id(function_id)
        name = f"{parent}/functions/{function_id}"
        if body.get("name") and body["name"] != name:
            raise bad_request(f"Function name {body['name']!r} does not match the parent and "
                              "function_id", "function.name")
        if name in self.functions:
            raise api_error(409, f"Function {function_id} in region {location} in project "
                            f"{project} already exists")
        check_function(body, project=project, function_id=function_id)
        requested = copy.deepcopy(body)
        now = self.now()
        body.update({"name": name, "state": "DEPLOYING", "environment": "GEN_2",
                     "createTime": now, "updateTime": now,
                     "url": f"https://{location}-{project}.cloudfunctions.net/{function_id}"})
        record = FunctionRecord(body, project, location, function_id)
        fill_defaults(record, self.ids)
        self.functions[name] = record
        op = self._start(record, "create", "CREATE_FUNCTION", requested,
                         lambda: self._deploy(record, previous=None))
        return json_response(self._operation_json(op))

    def functions_get(self, request: Request, project: str, location: str,
                      function: str) -> Response:
        return json_response(self.public_view(self.record(project, location, function)))

    def functions_list(self, request: Request, project: str, location: str) -> Response:
        if location != "-":
            self.check_location(project, location)
        size = self.page_size(request, 1000, 1000)
        match = compile_filter(request.args.get("filter", ""))
        prefix = f"projects/{project}/locations/"
        chosen = sorted((r for r in self.functions.values()
                         if r.name.startswith(prefix) and location in ("-", r.location)
                         and match(r.body)), key=lambda r: r.name)
        start = _token_start(request.args.get("pageToken", ""), chosen)
        page = chosen[start:start + size]
        body: dict[str, Any] = {"functions": [self.public_view(r) for r in page]}
        if start + size < len(chosen):
            body["nextPageToken"] = _token(page[-1].name)
        return json_response(body)

    def functions_patch(self, request: Request, project: str, location: str,
                        function: str) -> Response:
        record = self.record(project, location, function)
        if record.body["state"] in ("DEPLOYING", "DELETING"):
            raise api_error(409, f"An operation on function {record.name} is already in "
                            "progress. Please try again later.", status_name="ABORTED")
        body = self.body(request)
        enum_names(body)
        mask = [p for p in request.args.get("updateMask", "").split(",") if p]
        merged = copy.deepcopy(record.body)
        if mask:
            for path in mask:
                if any(path == f or path.startswith(f + ".") for f in _OUTPUT_ONLY):
                    raise bad_request(f"Invalid field mask: {path!r} cannot be updated",
                                      "update_mask")
                if path.split(".")[0] not in ("description", "buildConfig", "serviceConfig",
                                              "eventTrigger", "labels", "kmsKeyName"):
                    raise bad_request(f"Invalid field mask path: {path!r}", "update_mask")
                _copy_path(body, merged, path)
        else:
            _merge(merged, {k: v for k, v in body.items()
                            if k not in _OUTPUT_ONLY})
        if bool(merged.get("eventTrigger")) != bool(record.body.get("eventTrigger")):
            raise bad_request("Changing the trigger type of a function is not allowed",
                              "event_trigger")
        check_function(merged, project=project, function_id=function)
        previous = copy.deepcopy(record.body)
        merged.update({"state": "DEPLOYING", "updateTime": self.now()})
        merged.pop("stateMessages", None)
        record.body = merged
        fill_defaults(record, self.ids)
        op = self._start(record, "update", "UPDATE_FUNCTION", body,
                         lambda: self._deploy(record, previous=previous))
        return json_response(self._operation_json(op))

    def functions_delete(self, request: Request, project: str, location: str,
                         function: str) -> Response:
        record = self.record(project, location, function)
        if record.body["state"] in ("DEPLOYING", "DELETING"):
            raise api_error(409, f"An operation on function {record.name} is already in "
                            "progress. Please try again later.", status_name="ABORTED")
        record.body["state"] = "DELETING"

        def finish() -> Fault | None:
            self.functions.pop(record.name, None)
            self.builds.retire(record)
            if self.on_change is not None:
                self.on_change(record, "deleted")
            return None

        op = self._start(record, "delete", "DELETE_FUNCTION", None, finish)
        return json_response(self._operation_json(op))

    def runtimes_list(self, request: Request, project: str, location: str) -> Response:
        self.check_location(project, location)
        runtimes = [{"name": r, "displayName": r, "stage": "GA", "environment": "GEN_2"}
                    for r in sorted(RUNTIMES)]
        return json_response({"runtimes": runtimes})

    # -- deploying ---------------------------------------------------------------------------
    def _deploy(self, record: FunctionRecord, previous: dict[str, Any] | None) -> Fault | None:
        """Build and start a new revision; on failure mark the function ``FAILED``."""
        if record.name not in self.functions:
            return None
        try:
            config = self.builds.build(record)
        except BuildError as exc:
            message = str(exc)
            record.body["state"] = "FAILED"
            record.body["stateMessages"] = [{"severity": "ERROR", "type": "BuildFailed"
                                             if message.startswith("Build failed")
                                             else "ServiceDeploymentFailed",
                                             "message": message}]
            if previous is not None and record.serving is not None:
                record.body["serviceConfig"]["revision"] = \
                    previous["serviceConfig"].get("revision")
            return Fault(status=RPC_CODES["INVALID_ARGUMENT"], code="INVALID_ARGUMENT",
                         message=message)
        record.serving = config
        service = record.body["serviceConfig"]
        service["revision"] = config.function_version
        service["uri"] = f"https://{run_host(record.function_id, record.project, record.location)}"
        record.body["state"] = "ACTIVE"
        record.body["updateTime"] = self.now()
        if self.on_change is not None:
            self.on_change(record, "active")
        return None

    # -- operations --------------------------------------------------------------------------
    def _start(self, record: FunctionRecord, verb: str, op_type: str,
               requested: dict[str, Any] | None, finish: Callable[[], Fault | None],
               ) -> Operation:
        location = f"projects/{record.project}/locations/{record.location}"
        op_id = f"operation-{int(self.clock.now().timestamp() * 1000)}-{self.ids.hex(13)}-" \
                f"{self.ids.hex(8)}-{self.ids.hex(8)}"
        metadata: dict[str, Any] = {
            "@type": METADATA_TYPE, "createTime": self.now(), "target": record.name,
            "verb": verb, "cancelRequested": False, "apiVersion": "v2",
            "operationType": op_type,
        }
        if requested is not None:
            metadata["requestResource"] = {"@type": FUNCTION_TYPE, **requested}
        outcome: dict[str, Any] = {}
        data = {"name": f"{location}/operations/{op_id}", "metadata": metadata,
                "outcome": outcome}

        def complete() -> Fault | None:
            fault = finish()
            metadata["endTime"] = self.now()
            if verb != "delete":
                outcome["response"] = {"@type": FUNCTION_TYPE, **self.public_view(record)}
            else:
                outcome["response"] = {"@type": EMPTY_TYPE}
            return fault

        op = self.operations.start(complete, data=data, op_id=op_id)
        self._ops_by_location.setdefault(location, []).append(op_id)
        return op

    def _operation_json(self, op: Operation) -> dict[str, Any]:
        data = op.data
        body: dict[str, Any] = {"name": data["name"], "metadata": copy.deepcopy(data["metadata"]),
                                "done": op.done}
        if op.done:
            if op.error is not None:
                body["error"] = {"code": op.error.status, "message": op.error.message}
            else:
                body["response"] = copy.deepcopy(data["outcome"]["response"])
        return body

    def operations_get(self, request: Request, project: str, location: str,
                       operation: str) -> Response:
        op = self.operations.get(operation)
        name = f"projects/{project}/locations/{location}/operations/{operation}"
        if op is None or op.data["name"] != name:
            raise api_error(404, f"Operation {name} not found")
        return json_response(self._operation_json(op))

    def operations_list(self, request: Request, project: str, location: str) -> Response:
        size = self.page_size(request, 100, 1000)
        ids = self._ops_by_location.get(f"projects/{project}/locations/{location}", [])
        ops = [op for op in (self.operations.peek(i) for i in ids) if op is not None]
        names = [op.data["name"] for op in ops]
        start = 0
        token = request.args.get("pageToken", "")
        if token:
            try:
                start = names.index(_untoken(token)) + 1
            except ValueError:
                raise bad_request("Invalid page token", "page_token") from None
        page = ops[start:start + size]
        body: dict[str, Any] = {"operations": [self._operation_json(op) for op in page]}
        if start + size < len(ops):
            body["nextPageToken"] = _token(page[-1].data["name"])
        return json_response(body)


def _copy_path(source: dict[str, Any], target: dict[str, Any], path: str) -> None:
    """Set ``path`` of ``target`` to ``source``'s value there (absent: cleared)."""
    *parents, leaf = path.split(".")
    src: Any = source
    dst = target
    for part in parents:
        src = src.get(part, {}) if isinstance(src, dict) else {}
        dst = dst.setdefault(part, {})
    if isinstance(src, dict) and leaf in src:
        dst[leaf] = copy.deepcopy(src[leaf])
    else:
        dst.pop(leaf, None)


def _merge(target: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict) and key not in (
                "labels", "environmentVariables"):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


def _token(name: str) -> str:
    import base64

    return base64.urlsafe_b64encode(name.encode()).decode()


def _untoken(token: str) -> str:
    import base64

    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except ValueError:
        return ""


def _token_start(token: str, records: list[FunctionRecord]) -> int:
    if not token:
        return 0
    after = _untoken(token)
    if not after.startswith("projects/"):
        raise bad_request("Invalid page token", "page_token")
    return sum(1 for r in records if r.name <= after)


__all__ = ["EMPTY_TYPE", "FUNCTION_TYPE", "METADATA_TYPE", "PUBSUB_EVENT", "FunctionRecord",
           "FunctionsApp", "HttpError", "project_number", "run_host"]
