"""Lambda answers → portable records: function states, invocation errors, the REPORT line.

Pure functions, no calls; the wire shapes are those of the real Lambda (``GetFunction``, the
``Invoke`` error payload of the Python runtime, the ``REPORT`` log line).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from ..._function_models import FunctionFailure, FunctionInfo, FunctionState, Trigger
from ..._function_models import user_tags as _user_tags
from ...shims import HANDLER_ENV, SHIM_MODULE

#: The Lambda handler of every function unicompute deploys.
SHIM_HANDLER = f"{SHIM_MODULE}.handler"
#: Function tag naming the execution role unicompute created for it (deleted with it).
ROLE_TAG = "unicompute:role"

_STATES = {
    "Pending": FunctionState.PENDING,
    "Active": FunctionState.ACTIVE,
    "Inactive": FunctionState.INACTIVE,
    "Failed": FunctionState.FAILED,
}

#: Lambda's errorType for platform failures → ``FunctionError.error_type``; any other errorType
#: is the class of an exception the handler raised (``Unhandled``).
ERROR_TYPES: Mapping[str, str] = {
    "Sandbox.Timedout": "Timeout",
    "Runtime.ImportModuleError": "ImportError",
    "Runtime.HandlerNotFound": "ImportError",
    "Runtime.UserCodeSyntaxError": "ImportError",
    "Runtime.OutOfMemory": "OutOfMemory",
    "Runtime.ExitError": "Crashed",
    "Runtime.Unknown": "Crashed",
}

_REPORT = re.compile(r"^REPORT RequestId: (?P<id>\S+)(?P<rest>.*)$", re.MULTILINE)
_FIELD = re.compile(r"\t(?P<key>[A-Za-z ]+): (?P<value>[0-9.]+) (?P<unit>ms|MB)")


def function_state(configuration: Mapping[str, Any]) -> tuple[FunctionState, str | None]:
    """The portable state of a function configuration and the reason Lambda gave for it.

    An update in progress (``LastUpdateStatus: InProgress``) is ``UPDATING``; a failed one is
    ``FAILED``, as is a failed create."""
    state = _STATES.get(str(configuration.get("State", "Active")), FunctionState.UNKNOWN)
    update = configuration.get("LastUpdateStatus")
    if state is FunctionState.ACTIVE and update == "InProgress":
        return FunctionState.UPDATING, configuration.get("LastUpdateStatusReason")
    if state is FunctionState.ACTIVE and update == "Failed":
        return FunctionState.FAILED, configuration.get("LastUpdateStatusReason")
    return state, configuration.get("StateReason")


def config_version(configuration: Mapping[str, Any]) -> str:
    """A digest of the deployed code and the settings a deploy controls: equal for an unchanged
    function, different after any change of code or configuration."""
    env = configuration.get("Environment", {}).get("Variables", {})
    fields = {k: configuration.get(k) for k in
              ("CodeSha256", "Runtime", "Handler", "MemorySize", "Timeout", "Role")}
    text = json.dumps({**fields, "env": env}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def function_info(
    answer: Mapping[str, Any],
    *,
    tags: Mapping[str, str],
    url: str | None = None,
    triggers: tuple[Trigger, ...] | None = None,
) -> FunctionInfo:
    """A ``GetFunction`` answer (or one ``ListFunctions`` entry as ``{"Configuration": ...}``)
    as a :class:`FunctionInfo`; the shim's handler and variables are replaced by the user's."""
    configuration: Mapping[str, Any] = answer["Configuration"]
    variables: dict[str, str] = dict(configuration.get("Environment", {}).get("Variables", {}))
    handler = str(configuration.get("Handler", ""))
    if handler == SHIM_HANDLER and HANDLER_ENV in variables:
        handler = variables[HANDLER_ENV]
    env = {k: v for k, v in variables.items() if not k.startswith("UNICOMPUTE_")}
    state, reason = function_state(configuration)
    sha = configuration.get("CodeSha256")
    reserved = answer.get("Concurrency", {}).get("ReservedConcurrentExecutions")
    return FunctionInfo(
        name=str(configuration["FunctionName"]),
        runtime=str(configuration.get("Runtime", "")),
        handler=handler,
        memory_mb=int(configuration.get("MemorySize", 128)),
        timeout_s=int(configuration.get("Timeout", 3)),
        state=state,
        state_reason=reason,
        env=env,
        tags=user_tags(tags),
        url=url,
        version=config_version(configuration),
        code_sha256=base64.b64decode(sha) if sha else None,
        concurrency=int(reserved) if reserved is not None else None,
        triggers=triggers,
        # Lambda: "When function creation fails ... you must delete and recreate the function";
        # a failed update (LastUpdateStatus Failed, State Active) can be updated again.
        recreate_to_repair=configuration.get("State") == "Failed",
        raw=answer,
    )


def user_tags(tags: Mapping[str, str]) -> dict[str, str]:
    """The tags a user set: all but unicompute's bookkeeping (``BOOKKEEPING_TAGS``: the
    managed marker, :data:`ROLE_TAG`)."""
    return _user_tags(tags)


def failure(payload: bytes, function_error: str) -> FunctionFailure:
    """The error payload of a failed invoke (``X-Amz-Function-Error``) as a
    :class:`FunctionFailure`. A payload that is not Lambda's JSON shape keeps its text."""
    try:
        body = json.loads(payload) if payload else {}
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    native = str(body.get("errorType") or function_error or "Unhandled")
    message = str(body.get("errorMessage") or payload.decode("utf-8", "replace"))
    trace = body.get("stackTrace")
    if isinstance(trace, list):
        lines = tuple(str(line) for line in trace)
    else:
        lines = (str(trace),) if trace else ()
    return FunctionFailure(
        error_type=ERROR_TYPES.get(native, "Unhandled"),
        native_type=native,
        message=message,
        traceback=lines,
    )


def parse_report(log: str) -> tuple[float | None, int | None, bool | None]:
    """``(duration_ms, billed_ms, cold_start)`` from the last ``REPORT`` line of ``log``; a cold
    start is a report with ``Init Duration``. ``(None, None, None)`` without a report."""
    reports = list(_REPORT.finditer(log))
    if not reports:
        return None, None, None
    fields = {m["key"]: float(m["value"]) for m in _FIELD.finditer(reports[-1]["rest"] + "\t")}
    duration = fields.get("Duration")
    billed = fields.get("Billed Duration")
    return duration, int(billed) if billed is not None else None, "Init Duration" in fields
