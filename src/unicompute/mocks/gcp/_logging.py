"""Cloud Logging v2 ``POST /v2/entries:list`` over what the functions' containers wrote.

Each line a function's container writes becomes one ``LogEntry`` (``textPayload``, resource
``cloud_run_revision`` with ``project_id``, ``service_name``, ``revision_name``,
``configuration_name``, ``location``; ``labels.instanceId`` and ``labels.execution_id``; log
``run.googleapis.com%2Fstdout``, severity ``DEFAULT``); a timeout, crash or out-of-memory adds
Cloud Run's own line (severity ``ERROR``, log ``run.googleapis.com%2Fvarlog%2Fsystem``). The
worker's stdout and stderr are one stream here, so every container line is logged as stdout.
Cloud Run's request log (``run.googleapis.com%2Frequests``) is not kept.

``filter``: terms joined by ``AND``, each ``field OP "value"`` with ``=``, ``!=``, ``:``
(has), ``>=``, ``<=``, ``>``, ``<`` over ``resource.type``, ``resource.labels.*``,
``labels.*``, ``logName``, ``severity``, ``timestamp``, ``textPayload``, ``insertId``.
``orderBy``: ``timestamp asc`` (default) or ``timestamp desc``. ``pageSize`` ≤ 1000
(default 50), ``pageToken``. ``resourceNames`` (``projects/{p}``) is required.
"""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .._kernel import FakeClock, Faults, IdFactory, json_response
from ..runtime import InvocationResult
from ._functions_api import FunctionRecord
from ._functions_common import GoogleApi, bad_request, compile_filter

LOGGING_URL = "https://logging.googleapis.com"
KEEP = 100_000


class LoggingApp(GoogleApi):
    url_map = Map([Rule("/v2/entries:list", methods=["POST"], endpoint="entries_list")])

    def __init__(self, *, clock: FakeClock, ids: IdFactory, faults: Faults,
                 tokens: set[str]) -> None:
        super().__init__(clock=clock, ids=ids, faults=faults, tokens=tokens)
        self.entries: list[dict[str, Any]] = []
        self._sequence = 0

    def reset_state(self) -> None:
        self.entries.clear()
        self.requests.clear()

    # -- writing -----------------------------------------------------------------------------
    def record(self, record: FunctionRecord, result: InvocationResult | None, line: str,
               status: int, execution_id: str) -> None:
        """Log one invocation of ``record`` (the run host's sink)."""
        if result is None:
            return
        lines = [(text, "DEFAULT", "run.googleapis.com%2Fstdout")
                 for text in result.output.splitlines() if text.strip()]
        if not result.ok and result.error_type in ("Sandbox.Timedout", "Runtime.ExitError",
                                                   "Runtime.OutOfMemory"):
            message = result.error_message or ""
            if result.error_type == "Runtime.OutOfMemory":
                from ._run_host import memory_message

                message = memory_message(record, result)
            lines.append((message, "ERROR", "run.googleapis.com%2Fvarlog%2Fsystem"))
        service = record.body["serviceConfig"]
        resource = {"type": "cloud_run_revision", "labels": {
            "project_id": record.project, "service_name": record.function_id,
            "revision_name": service.get("revision", ""),
            "configuration_name": record.function_id, "location": record.location}}
        with self.lock:
            for text, severity, log in lines:
                self._sequence += 1
                moment = self.clock.now() + timedelta(microseconds=self._sequence % 1_000_000)
                stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
                self.entries.append({
                    "textPayload": text, "insertId": f"{self.ids.hex(12)}",
                    "resource": resource, "timestamp": stamp, "receiveTimestamp": stamp,
                    "severity": severity, "labels": {"instanceId": result.log_stream,
                                                     "execution_id": execution_id},
                    "logName": f"projects/{record.project}/logs/{log}",
                    "trace": f"projects/{record.project}/traces/{self.ids.hex(32)}",
                })
            if len(self.entries) > KEEP:
                del self.entries[:len(self.entries) - KEEP]

    def lines(self, function_id: str) -> list[str]:
        return [str(e["textPayload"]) for e in self.entries
                if e["resource"]["labels"]["service_name"] == function_id]

    # -- the API -----------------------------------------------------------------------------
    def entries_list(self, request: Request) -> Response:
        body = self.body(request)
        names = body.get("resourceNames")
        if not names or not isinstance(names, list):
            raise bad_request("resource_names is required", "resource_names")
        projects = set()
        for name in names:
            match = re.fullmatch(r"projects/([^/]+)", str(name))
            if match is None:
                raise bad_request(f"Invalid resource name: {name!r}", "resource_names")
            projects.add(match[1])
        test = compile_filter(str(body.get("filter", "")))
        order = str(body.get("orderBy", "timestamp asc")).strip().lower()
        if order not in ("timestamp asc", "timestamp desc", "timestamp"):
            raise bad_request(f"Invalid order_by: {order!r}", "order_by")
        size = body.get("pageSize", 50) or 50
        if not isinstance(size, int) or size < 0:
            raise bad_request("page_size must be a non-negative integer", "page_size")
        size = min(size, 1000)
        found = [e for e in self.entries
                 if e["resource"]["labels"]["project_id"] in projects and test(e)]
        if order == "timestamp desc":
            found.reverse()
        start = 0
        token = body.get("pageToken")
        if token:
            try:
                start = int(base64.urlsafe_b64decode(str(token)).decode())
            except ValueError:
                raise bad_request("Invalid page token", "page_token") from None
        page = found[start:start + size]
        answer: dict[str, Any] = {"entries": page} if page else {}
        if start + size < len(found):
            answer["nextPageToken"] = base64.urlsafe_b64encode(
                str(start + size).encode()).decode()
        return json_response(answer)
