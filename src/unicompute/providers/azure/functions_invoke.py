"""Running Azure functions and reading their logs, over the function host and App Insights.

* sync: ``POST https://{host}/api/unicompute/invoke/{fn}`` with the default host function key
  (``x-functions-key``), answered by the shim's ``uc-invoke-{fn}``;
* async: ``POST https://{host}/admin/functions/uc-async-{fn}`` with the master key and
  ``{"input": "<payload>"}``: Azure's documented way to run a non-HTTP function (202);
* dry run: ARM ``GET .../sites/{app}/functions/uc-invoke-{fn}`` (the function is indexed);
* logs: the App Insights query API (``traces`` of the app, newest first, then sorted).

Keys and host names are read from ARM once per function and read again when the host answers
401 or 404 (keys rotated, app re-created).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from ..._errors import Conflict, NotFound, ProviderError, Throttled, Unauthenticated
from ..._function_models import InvocationInfo, InvokeMode, LogLine
from .convert import PROVIDER
from .functions_clients import INSIGHTS_SCOPE, FunctionClients
from .functions_convert import (
    async_function,
    failure,
    host_failure,
    invoke_function,
    invoke_route,
)
from .functions_deploy import Deployer, data_plane_error, site_json

INSIGHTS_HOST = "api.applicationinsights.io"


class Invoker:
    """Invokes and log reads of one resource group's function apps."""

    def __init__(self, clients: FunctionClients, deployer: Deployer) -> None:
        self.c = clients
        self.deployer = deployer
        self._hosts: dict[str, tuple[str, str, str]] = {}
        self._lock = threading.Lock()

    def _host(self, name: str, *, fresh: bool = False) -> tuple[str, str, str]:
        """``(defaultHostName, default function key, master key)`` of app ``name``."""
        with self._lock:
            known = None if fresh else self._hosts.get(name)
        if known is not None:
            return known
        apps = self.c.web.web_apps
        site = site_json(apps.get(self.c.resource_group, name))
        host = str(site.get("properties", {}).get("defaultHostName")
                   or f"{name.lower()}.azurewebsites.net")
        keys = site_json(apps.list_host_keys(self.c.resource_group, name))
        function_key = str((keys.get("functionKeys") or {}).get("default", ""))
        found = (host, function_key, str(keys.get("masterKey", "")))
        with self._lock:
            self._hosts[name] = found
        return found

    def forget(self, name: str) -> None:
        with self._lock:
            self._hosts.pop(name, None)

    def invoke(self, name: str, payload: bytes, mode: InvokeMode) -> InvocationInfo:
        if mode == "dry_run":
            self.c.web.web_apps.get_function(self.c.resource_group, name, invoke_function(name))
            return InvocationInfo(status_code=204, payload=b"")
        for attempt in (0, 1):
            host, function_key, master_key = self._host(name, fresh=attempt == 1)
            if mode == "async":
                url = f"https://{host}/admin/functions/{async_function(name)}"
                body = json.dumps({"input": payload.decode("utf-8")}).encode()
                answer = self.c.request("POST", url, data=body, headers={
                    "x-functions-key": master_key, "Content-Type": "application/json"})
            else:
                url = f"https://{host}/api/{invoke_route(name)}"
                answer = self.c.request("POST", url, data=payload, headers={
                    "x-functions-key": function_key, "Content-Type": "application/json"})
            if answer.status_code in (401, 404) and attempt == 0:
                continue  # keys rotated or the app re-created: read them again
            return outcome(name, mode, answer)
        raise AssertionError("unreachable")  # pragma: no cover

    def logs(self, name: str, *, since_ms: int | None, limit: int) -> list[LogLine]:
        # A missing app is NOT_FOUND, as on every other call.
        self.c.web.web_apps.get(self.c.resource_group, name)
        app_id = self.deployer.insights_app_id()
        if app_id is None:
            return []
        where = f"cloud_RoleName == '{name}'"
        if since_ms is not None:
            since = datetime.fromtimestamp(since_ms / 1000, UTC)
            where += f" and timestamp >= datetime({since.isoformat(timespec='milliseconds')})"
        query = (f"traces | where {where} | top {limit} by timestamp desc "
                 "| project timestamp, message").replace("+00:00", "Z")
        url = f"https://{INSIGHTS_HOST}/v1/apps/{app_id}/query?query={quote(query)}"
        answer = self.c.request("GET", url, timeout=60, headers={
            "Authorization": f"Bearer {self.c.token(INSIGHTS_SCOPE)}"})
        if answer.status_code == 404:
            return []
        if answer.status_code != 200:
            raise data_plane_error("App Insights", answer.status_code, answer.text, name)
        lines: list[LogLine] = []
        for table in answer.json().get("tables", []):
            columns = [c.get("name") for c in table.get("columns", [])]
            for row in table.get("rows", []):
                record = dict(zip(columns, row, strict=False))
                lines.append(LogLine(timestamp_ms=_epoch_ms(str(record.get("timestamp", ""))),
                                     message=str(record.get("message", "")).rstrip("\n")))
        # The query answers newest first, and lines of one millisecond tie: reversing before the
        # stable sort keeps them in the order they were written.
        return sorted(reversed(lines), key=lambda line: line.timestamp_ms)


def outcome(name: str, mode: InvokeMode, answer: Any) -> InvocationInfo:
    """The function host's ``answer`` to an invoke of ``name``: an :class:`InvocationInfo`
    (handler failures in ``error``), or the platform's refusal raised."""
    status = int(answer.status_code)
    if status == 401:
        raise Unauthenticated(f"the function host of {name} refused its key",
                              provider=PROVIDER, resource=name)
    if status == 404:
        # Not indexed (yet): the host is still loading new code, or the app is gone.
        raise Conflict(f"the function host of {name} does not serve it (yet)",
                       provider=PROVIDER, resource=name)
    if status == 429:
        raise Throttled(f"the function host of {name} is throttling", provider=PROVIDER,
                        resource=name, transient=True)
    if mode == "async":
        if status != 202:
            raise ProviderError(f"the function host of {name} answered {status}",
                                provider=PROVIDER, resource=name, transient=status >= 500)
        return InvocationInfo(status_code=202, payload=b"")
    try:
        document = answer.json() if status == 200 else None
    except ValueError:
        document = None
    if not isinstance(document, dict) or "ok" not in document:
        # Not the shim's answer (a worker that died, a front end's page): the host failed.
        return InvocationInfo(status_code=status, payload=answer.content,
                              error=host_failure(status, answer.text))
    headers = answer.headers
    duration = headers.get("x-unicompute-duration-ms")
    cold = headers.get("x-unicompute-cold-start")
    logs = str(document.get("logs", ""))
    common: dict[str, Any] = {
        "status_code": 200, "request_id": headers.get("x-unicompute-request-id"),
        "logs": logs, "duration_ms": float(duration) if duration else None,
        "cold_start": None if cold is None else cold == "true",
    }
    if document.get("ok"):
        result = json.dumps(document.get("result"), separators=(",", ":")).encode()
        return InvocationInfo(payload=result, **common)
    error_body = {k: document.get(k) for k in ("errorType", "errorMessage", "stackTrace")}
    return InvocationInfo(payload=json.dumps(error_body).encode(),
                          error=failure(document), **common)


def _epoch_ms(text: str) -> int:
    """Epoch milliseconds of an App Insights timestamp (``2026-01-01T00:00:00.1234567Z``)."""
    if not text:
        return 0
    head, _, fraction = text.rstrip("Z").partition(".")
    at = datetime.fromisoformat(head).replace(tzinfo=UTC)
    millis = int((fraction + "000")[:3]) if fraction else 0
    return int(at.timestamp()) * 1000 + millis


__all__ = ["Invoker", "NotFound"]
