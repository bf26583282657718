"""Invoking a Cloud Function and reading its logs.

Cloud Functions v2 has no control-plane invoke. A direct invoke is
``POST {serviceConfig.uri}/_unicompute/invoke`` with the payload, the function's invoke key
(header ``x-unicompute-key``, read from the function: see ``functions_convert``) and an ID
token (which Cloud Run checks unless the function is public), which the shim answers with
the handler's outcome (see ``shims/gcp_functions.py``); when the platform answers instead
(504 on a timeout, 5xx when the instance died) the status says what happened.
``async`` sends the same request on a background thread and does not wait for it (there is no
queue in front of a 2nd gen function): the function runs once, and a failure is only logged.
``dry_run`` reads the function (it exists and is ready) and runs nothing.

Logs are Cloud Logging entries of the function's Cloud Run service
(``resource.type="cloud_run_revision"``), read with ``entries:list``.
"""

from __future__ import annotations

import json
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, NamedTuple

import requests

from ..._errors import (
    NotFound,
    PermissionDenied,
    ProviderError,
    Throttled,
    Unauthenticated,
    UnicomputeError,
)
from ..._function_models import InvocationInfo, LogLine
from .convert import PROVIDER
from .functions_clients import LOGGING_API, FunctionClients
from .functions_convert import INVOKE_KEY_HEADER, failure, platform_failure

LOG = logging.getLogger("unicompute.providers.gcp")
INVOKE_PATH = "/_unicompute/invoke"
_REFUSALS: dict[int, type[UnicomputeError]] = {
    401: Unauthenticated, 403: PermissionDenied, 404: NotFound, 429: Throttled,
}
_MAX_PAGE = 1000


class Target(NamedTuple):
    """Where and how to invoke one function: its URI, its timeout and its invoke key."""

    uri: str
    timeout_s: int
    key: str

    def __repr__(self) -> str:  # the key stays out of reprs
        return f"Target(uri={self.uri!r}, timeout_s={self.timeout_s})"


def post_invoke(clients: FunctionClients, target: Target, payload: bytes,
                timeout: float) -> requests.Response:
    """The direct-invoke request to the function at ``target``."""
    uri = target.uri
    url, headers = clients.route(uri.rstrip("/") + INVOKE_PATH)
    headers["content-type"] = "application/json"
    headers[INVOKE_KEY_HEADER] = target.key
    token = clients.id_token(uri)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return clients.data.post(url, data=payload, headers=headers, timeout=timeout)


def outcome(name: str, response: requests.Response) -> InvocationInfo:
    """The invocation record of a direct-invoke answer; platform refusals raise."""
    status = response.status_code
    text = response.text
    document: Any = None
    if status == 200:
        try:
            document = response.json()
        except ValueError:
            document = None
    if isinstance(document, dict) and "ok" in document:
        duration = document.get("durationMs")
        common: dict[str, Any] = {
            "request_id": str(document.get("requestId") or "") or None,
            "logs": str(document.get("logs") or ""),
            "duration_ms": float(duration) if isinstance(duration, int | float) else None,
            "cold_start": bool(document["coldStart"]) if "coldStart" in document else None,
        }
        if document["ok"]:
            body = json.dumps(document.get("result"), separators=(",", ":")).encode()
            return InvocationInfo(status_code=200, payload=body, **common)
        return InvocationInfo(status_code=200, payload=response.content,
                              error=failure(document), **common)
    platform = platform_failure(status, text)
    if platform is not None:
        return InvocationInfo(status_code=status, payload=response.content, error=platform,
                              request_id=response.headers.get("x-cloud-trace-context"))
    cls = _REFUSALS.get(status, ProviderError)
    raise cls(f"the function's URL answered {status}: {text.strip()[:300]}",
              provider=PROVIDER, operation="functions.invoke", resource=name)


class AsyncInvoker:
    """Sends direct invokes without waiting for them, on a few background threads."""

    def __init__(self, clients: FunctionClients, workers: int = 4) -> None:
        self._clients = clients
        self._pool = ThreadPoolExecutor(max_workers=workers,
                                        thread_name_prefix="unicompute-gcf-async")

    def submit(self, name: str, target: Target, payload: bytes, timeout: float) -> None:
        self._pool.submit(self._send, name, target, payload, timeout)

    def _send(self, name: str, target: Target, payload: bytes, timeout: float) -> None:
        try:
            info = outcome(name, post_invoke(self._clients, target, payload, timeout))
        except (UnicomputeError, requests.RequestException) as exc:
            LOG.warning("async invoke of %s failed: %s", name, exc)
            return
        if info.error is not None:
            LOG.warning("async invoke of %s failed: %s: %s", name, info.error.native_type,
                        info.error.message)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


# -- logs --------------------------------------------------------------------------------------
def _rfc3339(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


def log_filter(clients: FunctionClients, name: str, since_ms: int | None) -> str:
    parts = ['resource.type="cloud_run_revision"',
             f'resource.labels.service_name="{name}"',
             f'resource.labels.location="{clients.region}"']
    if since_ms is not None:
        parts.append(f'timestamp>="{_rfc3339(since_ms)}"')
    return " AND ".join(parts)


_TIMESTAMP = re.compile(
    r"(?P<base>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?:\.(?P<fraction>[0-9]+))?"
    r"(?P<zone>Z|[+-][0-9]{2}:[0-9]{2})?")


def timestamp_ms(text: str) -> int:
    """Epoch milliseconds of an RFC 3339 timestamp (fractions up to nanoseconds); 0 if it is
    not one."""
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        return 0
    zone = match["zone"] or "Z"
    moment = datetime.fromisoformat(match["base"] + ("+00:00" if zone == "Z" else zone))
    return int(moment.timestamp()) * 1000 + int(((match["fraction"] or "") + "000")[:3])


def entry_text(entry: dict[str, Any]) -> str:
    if "textPayload" in entry:
        return str(entry["textPayload"]).rstrip("\n")
    payload = entry.get("jsonPayload")
    if isinstance(payload, dict):
        return str(payload.get("message", json.dumps(payload)))
    return ""


def read_logs(clients: FunctionClients, name: str, *, since_ms: int | None,
              limit: int) -> list[LogLine]:
    """Up to ``limit`` of the newest lines (oldest first)."""
    lines: list[LogLine] = []
    body: dict[str, Any] = {
        "resourceNames": [f"projects/{clients.project}"],
        "filter": log_filter(clients, name, since_ms),
        "orderBy": "timestamp desc",
        "pageSize": min(limit, _MAX_PAGE),
    }
    while len(lines) < limit:
        answer = clients.call_api("POST", f"{LOGGING_API}/v2/entries:list", json=body)
        for entry in answer.get("entries", []):
            lines.append(LogLine(timestamp_ms=timestamp_ms(str(entry.get("timestamp", ""))),
                                 message=entry_text(entry)))
        token = answer.get("nextPageToken")
        if not token:
            break
        body["pageToken"] = token
    # Cloud Logging answers newest first, and lines of one millisecond tie: reversing before
    # the stable sort keeps them in the order they were written.
    return sorted(reversed(lines[:limit]), key=lambda line: line.timestamp_ms)
