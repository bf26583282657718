"""The metadata side of a running ``mock_cloud()``: one metadata server per VM (started when
first needed), the "inside a fake VM" context, first-boot user-data runs, console logs and
interruptions. :class:`MetadataPlane` is what ``MockCloud`` delegates to."""

from __future__ import annotations

import os
import re
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..._errors import InvalidRequest
from .._kernel.env import EnvOverride
from .._kernel.transport import Served, serve
from ._aws import AwsImds
from ._azure import AzureImds
from ._boot import BootRun, check_options, is_script, run_script
from ._console import ConsoleLog, boot_lines, finish_line
from ._gcp import GcpMetadata
from ._interrupt import Interruption, check_action, check_interruptible, make
from ._vms import VmRef, guess_provider, resolve, running

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

@dataclass(frozen=True)
class Box:
    """Where ``mock.inside(...)`` put you: the VM and its metadata server."""

    provider: str
    vm_id: str
    endpoint: str
    root: str | None


class MetadataPlane:
    """Metadata servers, boots, consoles and interruptions for the fakes of one mock.

    ``fakes`` maps a provider to its running fake; every server binds 127.0.0.1 and
    :meth:`stop` shuts them all and removes the user-data roots.
    """

    def __init__(self, fakes: Mapping[str, Any], *, run_user_data: bool = False,
                 user_data_timeout: float = 30.0) -> None:
        self.user_data_timeout = check_options(run_user_data, user_data_timeout)
        self.fakes = dict(fakes)
        self.run_user_data = run_user_data
        self.consoles: dict[str, ConsoleLog] = {}
        for provider, fake in self.fakes.items():
            app = getattr(fake, "app", None)
            self.consoles[provider] = app.consoles if app is not None and hasattr(
                app, "consoles") else ConsoleLog(provider)
        self._servers: dict[VmRef, Served] = {}
        self._apps: dict[VmRef, Any] = {}
        self._roots: dict[VmRef, str] = {}
        self._booted: dict[str, set[str]] = {p: set() for p in self.fakes}
        self._runs: dict[str, list[BootRun]] = {p: [] for p in self.fakes}
        self._interruptions: dict[VmRef, Interruption] = {}
        self._watched: set[str] = set()
        self._lock = threading.RLock()
        self._scanning = threading.local()
        self._tmp = tempfile.mkdtemp(prefix="unicompute-vms-")
        # Bound but never listening: connections are refused at once, and nobody else can
        # take the port while the mock runs.
        self._closed = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._closed.bind(("127.0.0.1", 0))
        self.closed_port = int(self._closed.getsockname()[1])

    # -- finding VMs ---------------------------------------------------------------------------
    def ref(self, vm: object, provider: str | None = None) -> VmRef:
        """The VM named by a unicompute ``VM`` (its ``provider`` and ``id``) or an id."""
        vm_id = getattr(vm, "id", vm)
        if not isinstance(vm_id, str) or not vm_id:
            raise InvalidRequest("must be a VM or a VM id", field="vm")
        chosen = provider or getattr(vm, "provider", None) or guess_provider(vm_id)
        if chosen not in self.fakes:
            raise InvalidRequest(f"the {chosen} fake is not running in this mock",
                                 field="provider")
        return resolve(self.fakes[chosen], str(chosen), vm_id)

    # -- servers -------------------------------------------------------------------------------
    def app(self, ref: VmRef, *, aws_tokens: str = "required") -> Any:
        fake = self.fakes[ref.provider]
        if ref.provider == "aws":
            return AwsImds(ref.vm_id, fake.clock, tokens=aws_tokens,
                           interruption=lambda: self._notice(ref))
        if ref.provider == "azure":
            return AzureImds(fake.app, ref.vm_id, fake.clock,
                             interruption=lambda: self._notice(ref))
        zone, name = ref.zone_name
        return GcpMetadata(fake.app, ref.project, zone, name, fake.tokens,
                           preempted=lambda: self._notice(ref) is not None)

    def endpoint(self, ref: VmRef, *, aws_tokens: str = "required") -> str:
        """The base URL of the VM's metadata server (started on first use)."""
        if aws_tokens not in ("required", "optional"):
            raise InvalidRequest("must be 'required' or 'optional'", field="aws_tokens")
        with self._lock:
            served = self._servers.get(ref)
            if served is None:
                app = self.app(ref, aws_tokens=aws_tokens)
                served = self._servers[ref] = serve(app, "127.0.0.1", 0)
                self._apps[ref] = app
            elif ref.provider == "aws":
                self._apps[ref].tokens_required = aws_tokens == "required"
            return served.url

    def environment(self, ref: VmRef, endpoint: str) -> dict[str, str | None]:
        """The metadata variables of a process on ``ref``: its cloud's point at ``endpoint``,
        the others at a closed port."""
        host = endpoint.split("://", 1)[1]
        closed = f"127.0.0.1:{self.closed_port}"
        mine = {"aws": ref.provider == "aws", "azure": ref.provider == "azure",
                "gcp": ref.provider == "gcp"}
        return {
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://{host if mine['aws'] else closed}/",
            "AWS_EC2_METADATA_DISABLED": None,
            "AZURE_POD_IDENTITY_AUTHORITY_HOST": f"http://{host if mine['azure'] else closed}",
            "GCE_METADATA_HOST": host if mine["gcp"] else closed,
            "GCE_METADATA_IP": host if mine["gcp"] else closed,
            "GCE_METADATA_ROOT": None,
        }

    @contextmanager
    def inside(self, vm: object, provider: str | None = None, *,
               aws_tokens: str = "required") -> Iterator[Box]:
        """See :mod:`unicompute.mocks.metadata`."""
        ref = self.ref(vm, provider)
        endpoint = self.endpoint(ref, aws_tokens=aws_tokens)
        env = EnvOverride(self.environment(ref, endpoint))
        env.apply()
        restore = _patch_google_auth()
        try:
            yield Box(ref.provider, ref.vm_id, endpoint, self._roots.get(ref))
        finally:
            restore()
            env.restore()

    # -- boots ---------------------------------------------------------------------------------
    def scan(self, provider: str) -> None:
        """Boot every running VM of ``provider`` not booted yet (record its console; with
        ``run_user_data``, run its user-data script). Re-entrant calls are ignored."""
        if getattr(self._scanning, "active", False) or provider not in self.fakes:
            return
        self._scanning.active = True
        try:
            for vm in running(self.fakes[provider], provider):
                with self._lock:
                    if vm.key in self._booted[provider]:
                        continue
                    self._booted[provider].add(vm.key)
                self._boot(vm.ref, vm.key, vm.hostname, vm.user_data)
        finally:
            self._scanning.active = False

    def _boot(self, ref: VmRef, key: str, hostname: str, data: bytes | None) -> None:
        console = self.consoles[ref.provider]
        console.record(key, boot_lines(ref.provider, hostname))
        if data is not None and is_script(data):
            root = os.path.join(self._tmp, re.sub(r"[^A-Za-z0-9_.-]", "_", key))
            self._roots[ref] = root
            endpoint = self.endpoint(ref)
            env = {k: v for k, v in self.environment(ref, endpoint).items() if v is not None}
            code, output = run_script(data, root, env, self.user_data_timeout)
            console.record(key, output if output.endswith("\n") or not output
                           else output + "\n")
            with self._lock:
                self._runs[ref.provider].append(
                    BootRun(ref.provider, ref.vm_id, key, code, output, root))
        console.record(key, finish_line(ref.provider))

    def boots(self, provider: str) -> list[BootRun]:
        """The user-data runs so far on ``provider``'s fake, oldest first."""
        if provider not in self.fakes:
            raise InvalidRequest(f"the {provider} fake is not running in this mock",
                                 field="provider")
        with self._lock:
            return list(self._runs[provider])

    # -- interruptions -------------------------------------------------------------------------
    def interrupt(self, vm: object, provider: str | None = None, *,
                  action: str | None = None) -> Interruption:
        ref = self.ref(vm, provider)
        chosen = check_action(ref.provider, action)
        fake = self.fakes[ref.provider]
        check_interruptible(fake, ref)
        with self._lock:
            pending = self._interruptions.get(ref)
            if pending is not None and not pending.done:
                raise InvalidRequest(f"{ref.vm_id} already has an interruption pending",
                                     field="vm")
            interruption = make(fake, ref, chosen, fake.clock)
            self._interruptions[ref] = interruption
            if ref.provider not in self._watched:
                self._watched.add(ref.provider)
                fake.clock.on_advance(self._on_clock(ref.provider))
        return interruption

    def _on_clock(self, provider: str) -> Callable[[float], None]:
        def due(_: float) -> None:
            clock = self.fakes[provider].clock if provider in self.fakes else None
            if clock is None:
                return
            now = clock.now()
            with self._lock:
                ready = [i for r, i in self._interruptions.items()
                         if r.provider == provider and not i.done and i.not_before <= now]
            for interruption in ready:
                interruption.complete()
        return due

    def _notice(self, ref: VmRef) -> dict[str, Any] | None:
        """The notice of ``ref``'s pending interruption; none once it acted (a VM started
        again afterwards is not being interrupted)."""
        with self._lock:
            found = self._interruptions.get(ref)
        return None if found is None or found.done else found.notice

    # -- life ----------------------------------------------------------------------------------
    def wrap(self, provider: str, app: WSGIApplication) -> WSGIApplication:
        """``app`` followed, after each request, by :meth:`scan` of ``provider``."""
        def watched(environ: Any, start_response: Any) -> Any:
            body = list(app(environ, start_response))
            self.scan(provider)
            return body
        return watched

    def reset(self) -> None:
        """Forget boots, consoles, interruptions and servers, as a fresh mock has none."""
        self._shutdown()
        with self._lock:
            for provider in self.fakes:
                self._booted[provider].clear()
                self._runs[provider].clear()
                self.consoles[provider].clear()
            self._interruptions.clear()
        shutil.rmtree(self._tmp, ignore_errors=True)
        os.makedirs(self._tmp, mode=0o700, exist_ok=True)

    def _shutdown(self) -> None:
        with self._lock:
            servers, self._servers = self._servers, {}
            self._apps.clear()
            self._roots.clear()
        # Each shutdown waits for its server's poll loop (up to half a second): all at once.
        stopping = [threading.Thread(target=served.shutdown, daemon=True)
                    for served in servers.values()]
        for thread in stopping:
            thread.start()
        for thread in stopping:
            thread.join()

    def stop(self) -> None:
        self._shutdown()
        self._closed.close()
        for console in self.consoles.values():
            console.clear()
        shutil.rmtree(self._tmp, ignore_errors=True)


def _patch_google_auth() -> Callable[[], None]:
    """Point google-auth's import-time metadata host at the environment's, if it is imported;
    the returned function puts the old value back."""
    module: Any = sys.modules.get("google.auth.compute_engine._metadata")
    if module is None:
        return lambda: None
    old = module._GCE_METADATA_HOST
    module._GCE_METADATA_HOST = os.environ.get("GCE_METADATA_HOST", old)

    def restore() -> None:
        module._GCE_METADATA_HOST = old
    return restore
