"""The deployed code of the fake's function apps, run in the local runtime.

A deploy (``_function_host``'s SCM endpoints) unpacks the zip, then indexes ``function_app.py``
in a worker with the app settings as its environment, as the Python worker does at host start;
the functions found (name, bindings, HTTP route) go to the site's ``state["functions"]``, which
ARM's ``functions`` endpoints list. Changing app settings restarts the host (re-index, cold
workers), as on Azure. Each function runs in its own pool of the runtime (key
``{site id}|{function}``) with the app's memory (Flex ``instanceMemoryMB``, Consumption 1536 MB)
and timeout (``AzureFunctionsJobHost__functionTimeout`` or ``host.json`` ``functionTimeout``;
default 30 min on Flex, 5 on Consumption); an HTTP-triggered function is cut at the 230 s the
front end waits (the fake stops the function there too).

Every line an invocation prints, plus the host's ``Executing``/``Executed`` lines, is kept per
app (:meth:`FunctionApps.logs`) with the fake clock's time and the Application Insights
``AppId`` its ``APPLICATIONINSIGHTS_CONNECTION_STRING`` names.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._kernel import FakeClock
from ..runtime import PYTHON_RUNTIMES, InvocationResult, LocalRuntime, WorkerConfig
from ._base import Resource
from ._web_plans import display_location
from ._web_sites import CONSUMPTION_MEMORY_MB, HOST_SUFFIX

if TYPE_CHECKING:
    from ._app import ArmApp

#: What the front end waits for an HTTP response.
HTTP_CAP_S = 230.0
#: ``functionTimeout`` defaults: Flex Consumption 30 minutes, Consumption 5.
DEFAULT_TIMEOUT_S = {True: 1800.0, False: 300.0}
#: Stand-in for an unbounded ``functionTimeout`` (``-1``, Flex and Premium).
UNBOUNDED_S = 86400.0
_TIMESPAN = re.compile(r"(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.\d+)?")
_APP_ID = re.compile(r"ApplicationId=([0-9a-fA-F-]+)")


def parse_timespan(value: str) -> float | None:
    """Seconds of ``[d.]hh:mm:ss`` (``-1``: unbounded); ``None`` if it is not one."""
    value = value.strip()
    if value == "-1":
        return UNBOUNDED_S
    found = _TIMESPAN.fullmatch(value)
    if not found:
        return None
    days, hours, minutes, seconds = (int(g or 0) for g in found.groups())
    return float(days * 86400 + hours * 3600 + minutes * 60 + seconds)


@dataclass(frozen=True)
class LogLine:
    """One line an app logged: fake-clock ``time`` (ISO), the function, the App Insights app."""

    time: str
    app: str
    function: str
    message: str
    app_id: str | None


class FunctionApps:
    """The code and workers of every function app of one ARM fake."""

    def __init__(self, arm: ArmApp, clock: FakeClock) -> None:
        self.arm = arm
        self.clock = clock
        self.runtime = LocalRuntime(clock=clock)
        self._dirs: dict[str, str] = {}
        self._lock = threading.RLock()
        self._logs: list[LogLine] = []
        self._threads: set[threading.Thread] = set()
        arm.site_listeners.append(self._on_site)

    # -- lifetime --------------------------------------------------------------------------------
    def reset(self) -> None:
        """Kill every worker, remove every unpacked package, forget the logs."""
        self.drain()
        for key in list(self.runtime.keys()):
            self.runtime.unregister(key)
        with self._lock:
            dirs, self._dirs = list(self._dirs.values()), {}
            self._logs.clear()
        for path in dirs:
            shutil.rmtree(path, ignore_errors=True)

    def close(self) -> None:
        self.reset()
        self.runtime.close()

    def drain(self, timeout: float | None = 30.0) -> bool:
        """Wait for the background (``/admin/functions``) invocations; ``False`` on timeout."""
        for thread in list(self._threads):
            thread.join(timeout)
        return not any(t.is_alive() for t in self._threads)

    # -- deploy ----------------------------------------------------------------------------------
    def deploy(self, site: Resource, package: bytes) -> tuple[bool, str]:
        """Unpack ``package`` as the app's code and index it; ``(ok, log text)``. A package
        that is not a zip fails; one whose ``function_app.py`` does not import deploys, with
        no functions (the host logs why), as on Azure."""
        try:
            archive = zipfile.ZipFile(io.BytesIO(package))
            bad = [n for n in archive.namelist() if n.startswith("/") or ".." in n.split("/")]
            if bad:
                return False, f"Invalid zip entry names: {bad[:3]}"
        except zipfile.BadZipFile:
            return False, "The deployment package is not a valid zip file."
        target = tempfile.mkdtemp(prefix="unicompute-azfn-")
        archive.extractall(target)
        with self._lock:
            old = self._dirs.get(site.id.casefold())
            self._dirs[site.id.casefold()] = target
        if old:
            shutil.rmtree(old, ignore_errors=True)
        message = self.index(site)
        return True, message

    def code_dir(self, site: Resource) -> str | None:
        with self._lock:
            return self._dirs.get(site.id.casefold())

    def index(self, site: Resource) -> str:
        """(Re)start the app's host: retire its workers and index ``function_app.py``."""
        self._unregister(site)
        code = self.code_dir(site)
        if code is None:
            return "No package deployed."
        key = f"{site.id.casefold()}|"
        self.runtime.register(key, self._config(site, code, site.name, self.timeout_s(site)))
        try:
            result = self.runtime.invoke(key, b'{"trigger": "index"}')
        finally:
            self.runtime.unregister(key)
        functions: dict[str, Any] = {}
        if result.ok:
            for item in json.loads(result.payload):
                functions[item["name"]] = _describe(item, self._route_prefix(code))
            note = f"{len(functions)} functions found"
        else:
            note = f"Host started with errors: {result.error_message}"
            self._log(site, "Host", f"{note}\n{result.output}")
        if not functions:
            self._log(site, "Host", "No job functions found.")
        site.state["functions"] = functions
        return note

    def _on_site(self, event: str, site: Resource) -> None:
        if event == "deleted":
            self._unregister(site)
            with self._lock:
                path = self._dirs.pop(site.id.casefold(), None)
            if path:
                shutil.rmtree(path, ignore_errors=True)
        elif event == "settings" and self.code_dir(site) is not None:
            self.index(site)

    def _unregister(self, site: Resource) -> None:
        prefix = f"{site.id.casefold()}|"
        for key in list(self.runtime.keys()):
            if key.startswith(prefix):
                self.runtime.unregister(key)

    # -- configuration ---------------------------------------------------------------------------
    def timeout_s(self, site: Resource) -> float:
        settings: dict[str, str] = site.secrets.get("settings", {})
        for name, value in settings.items():
            if name.lower() in ("azurefunctionsjobhost__functiontimeout",
                                "azurefunctionsjobhost:functiontimeout"):
                parsed = parse_timespan(value)
                if parsed is not None:
                    return parsed
        host = self._host_json(site)
        if isinstance(host.get("functionTimeout"), str):
            parsed = parse_timespan(host["functionTimeout"])
            if parsed is not None:
                return parsed
        return DEFAULT_TIMEOUT_S[self.arm.is_flex(site)]

    def _host_json(self, site: Resource) -> dict[str, Any]:
        code = self.code_dir(site)
        return {} if code is None else _read_host_json(code)

    @staticmethod
    def _route_prefix(code: str) -> str:
        extensions = _read_host_json(code).get("extensions")
        http = extensions.get("http") if isinstance(extensions, dict) else None
        prefix = http.get("routePrefix") if isinstance(http, dict) else None
        return "api" if prefix is None else str(prefix).strip("/")

    def max_dequeue_count(self, site: Resource) -> int:
        queues = (self._host_json(site).get("extensions") or {}).get("queues") or {}
        for name, value in site.secrets.get("settings", {}).items():
            if name.lower() == "azurefunctionsjobhost__extensions__queues__maxdequeuecount":
                return int(value) if value.isdigit() else 5
        value = queues.get("maxDequeueCount", 5)
        return int(value) if isinstance(value, int) else 5

    def _config(self, site: Resource, code: str, function: str, timeout_s: float,
                ) -> WorkerConfig:
        fac = site.props.get("functionAppConfig") or {}
        version = str((fac.get("runtime") or {}).get("version") or "")
        if not version:
            fx = str(site.props.get("siteConfig", {}).get("linuxFxVersion") or "")
            version = fx.partition("|")[2]
        runtime = f"python{version}" if f"python{version}" in PYTHON_RUNTIMES else "python3.12"
        memory = int((fac.get("scaleAndConcurrency") or {}).get("instanceMemoryMB")
                     or (2048 if fac else CONSUMPTION_MEMORY_MB))
        location = site.state["location"]
        return WorkerConfig(
            code_dir=code, entry="function_app.app", function_name=function, runtime=runtime,
            memory_mb=memory, timeout_s=timeout_s, env=dict(site.secrets.get("settings", {})),
            context_kind="azure", region=location,
            function_arn=f"{site.id}/functions/{function}",
            platform_env={"WEBSITE_SITE_NAME": site.name,
                          "WEBSITE_HOSTNAME": f"{site.name.lower()}.{HOST_SUFFIX}",
                          "WEBSITE_RESOURCE_GROUP": site.group,
                          "REGION_NAME": display_location(location),
                          # App Service's own: "<subscription>+<group>-<Region>webspace-Linux".
                          "WEBSITE_OWNER_NAME": f"{site.id.split('/')[2]}+{site.group}-"
                          f"{display_location(location).replace(' ', '')}webspace-Linux",
                          "WEBSITE_SKU": "FlexConsumption" if fac else "Dynamic"})

    # -- invoking --------------------------------------------------------------------------------
    def run(self, site: Resource, function: str, envelope: dict[str, Any], *,
            reason: str) -> InvocationResult:
        """Run ``function`` of ``site`` on ``envelope`` (see ``_host_azure``) and log it."""
        info = site.state["functions"][function]
        code = self.code_dir(site)
        if code is None:
            raise KeyError(function)
        timeout = self.timeout_s(site)
        if info["trigger"] == "httpTrigger":
            timeout = min(timeout, HTTP_CAP_S)
        key = f"{site.id.casefold()}|{function}"
        self.runtime.register(key, self._config(site, code, function, timeout))
        envelope = {**envelope, "function": function}
        result = self.runtime.invoke(key, json.dumps(envelope).encode())
        failed = not result.ok or (isinstance(payload := _json(result.payload), dict)
                                   and payload.get("failed"))
        self._log(site, function, f"Executing 'Functions.{function}' (Reason='{reason}', "
                  f"Id={result.request_id})")
        if result.output:
            self._log(site, function, result.output)
        if not result.ok and result.error_message:
            self._log(site, function, f"{result.error_type}: {result.error_message}")
        self._log(site, function, f"Executed 'Functions.{function}' "
                  f"({'Failed' if failed else 'Succeeded'}, Id={result.request_id}, "
                  f"Duration={round(result.duration_ms)}ms)")
        return result

    def run_background(self, site: Resource, function: str, envelope: dict[str, Any], *,
                       reason: str) -> None:
        """:meth:`run` on a thread (fire and forget, as ``/admin/functions`` does)."""

        def target() -> None:
            try:
                self.run(site, function, envelope, reason=reason)
            except Exception as exc:  # the app was deleted meanwhile
                self._log(site, function, f"Invocation failed: {type(exc).__name__}")
            finally:
                self._threads.discard(thread)

        thread = threading.Thread(target=target, daemon=True, name="unicompute-azfn")
        self._threads.add(thread)
        thread.start()

    # -- logs ---------------------------------------------------------------------------------
    def _log(self, site: Resource, function: str, text: str) -> None:
        settings: dict[str, str] = site.secrets.get("settings", {})
        found = _APP_ID.search(settings.get("APPLICATIONINSIGHTS_CONNECTION_STRING", ""))
        app_id = found.group(1).lower() if found else None
        now = self.clock.iso()
        with self._lock:
            for line in text.rstrip("\n").split("\n"):
                self._logs.append(LogLine(now, site.name, function, line, app_id))

    def logs(self, app: str | None = None, function: str | None = None) -> list[LogLine]:
        """The lines logged (oldest first), of one app and function if given."""
        with self._lock:
            return [line for line in self._logs
                    if (app is None or line.app.lower() == app.lower())
                    and (function is None or line.function == function)]


def _read_host_json(code: str) -> dict[str, Any]:
    """The package's ``host.json`` (``{}`` when missing or not a JSON object)."""
    try:
        with open(f"{code}/host.json", encoding="utf-8-sig") as handle:
            loaded = json.load(handle)
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _describe(item: dict[str, Any], prefix: str) -> dict[str, Any]:
    """What the fake keeps of one indexed function."""
    bindings = item["bindings"]
    trigger: dict[str, Any] = next(
        (b for b in bindings if str(b.get("type", "")).endswith("Trigger")), {})
    info: dict[str, Any] = {"bindings": bindings, "entry": item.get("entry"),
                            "trigger": trigger.get("type")}
    if trigger.get("type") == "httpTrigger":
        info["route"] = str(trigger.get("route") or item["name"]).strip("/")
        info["prefix"] = prefix
        info["methods"] = [str(m).upper() for m in trigger.get("methods") or []]
        info["auth"] = str(trigger.get("authLevel") or "FUNCTION").upper()
    elif trigger.get("type") == "timerTrigger":
        info["schedule"] = trigger.get("schedule")
    elif trigger.get("type") == "queueTrigger":
        info["queue"] = str(trigger.get("queueName", "")).lower()
    return info
