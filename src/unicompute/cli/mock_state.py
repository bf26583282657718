"""``--mock`` across commands: one background mock-server that keeps the fakes' state.

The first command run with ``--mock`` starts ``python -m unicompute.cli.mock_process`` in the
background: every cloud's fake served on 127.0.0.1 (:class:`~unicompute.mocks.MockServer`) plus a
small control endpoint. Its pid, endpoints and control URL go to ``state.json`` in
``$UNICOMPUTE_MOCK_DIR`` (default ``~/.cache/unicompute/mock/``); later commands read the file
and talk to the same fakes, so ``launch``, ``status`` and ``destroy`` run as three commands see
one another's work. ``unicompute mock status|reset|stop`` inspect it, forget every resource, or
end the server. The fakes' clocks follow the wall clock (``MockServer(real_time=True)``), so a
VM launched by a later command carries its own launch time and ``status`` its cost so far.
The server's output goes to ``server.log`` in the same directory: warnings and errors only, no
request lines (they can carry secrets, such as function keys in ``?code=``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import click

from .mock_server import silence_access_logs
from .output import Column, note, show
from .params import json_option

STATE_FILE = "state.json"
#: Seconds a command waits for a new server to write its state file.
START_TIMEOUT = 60.0
#: Config each provider needs besides ``endpoint_url`` to reach its fake.
FAKE_CONFIG: dict[str, dict[str, str]] = {
    "aws": {},
    "azure": {"subscription_id": "00000000-0000-0000-0000-0000000fa4e2"},
    "gcp": {"project": "unicompute-fake"},
}
#: Environment for AWS clients talking to the served moto: fake credentials.
AWS_FAKE_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def mock_dir() -> Path:
    """``$UNICOMPUTE_MOCK_DIR`` or ``~/.cache/unicompute/mock/``."""
    base = os.environ.get("UNICOMPUTE_MOCK_DIR")
    return Path(base) if base else Path.home() / ".cache" / "unicompute" / "mock"


def read_state(directory: Path | None = None) -> dict[str, Any] | None:
    """The running server's state (pid, endpoints, control URL), or ``None`` if none runs."""
    path = (directory or mock_dir()) / STATE_FILE
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if _answers(state) else None


def _answers(state: dict[str, Any]) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(f"{state['control']}/status", timeout=5) as reply:
            return bool(reply.status == 200)
    except (OSError, KeyError, ValueError):
        return False


@contextlib.contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_server(directory: Path | None = None) -> dict[str, Any]:
    """The running server's state, starting one first if none answers."""
    where = directory or mock_dir()
    with _locked(where):
        state = read_state(where)
        if state is not None:
            return state
        (where / STATE_FILE).unlink(missing_ok=True)
        log = open(where / "server.log", "ab")  # noqa: SIM115 - handed to the child
        subprocess.Popen(
            [sys.executable, "-m", "unicompute.cli.mock_process", str(where)],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            state = read_state(where)
            if state is not None:
                note(f"Started the mock server (pid {state['pid']}); `unicompute mock stop` "
                     "ends it.")
                return state
            time.sleep(0.1)
    raise click.ClickException(f"the mock server did not start; see {where / 'server.log'}")


def _control(state: dict[str, Any], action: str) -> None:
    import urllib.request

    request = urllib.request.Request(f"{state['control']}/{action}", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=30):
        pass


def stop_server(directory: Path | None = None) -> int | None:
    """End the server if one runs; its pid, or ``None``."""
    where = directory or mock_dir()
    state = read_state(where)
    if state is None:
        (where / STATE_FILE).unlink(missing_ok=True)
        return None
    with contextlib.suppress(OSError):
        _control(state, "stop")
    pid = int(state["pid"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
    (where / STATE_FILE).unlink(missing_ok=True)
    return pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child of this process still "exists"; reap it if it is ours.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    return True


# -- the server process ---------------------------------------------------------------------
def serve(directory: Path) -> None:
    """Run the fakes and the control endpoint until ``POST /stop`` or SIGTERM."""
    from ..mocks import MOCKABLE_PROVIDERS, MockServer

    silence_access_logs()
    stopped = threading.Event()
    server = MockServer(real_time=True, ports=dict.fromkeys(MOCKABLE_PROVIDERS, 0))
    endpoints = server.start()

    class Control(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self._reply(200, {"pid": os.getpid(), "endpoints": endpoints})

        def do_POST(self) -> None:
            if self.path == "/reset":
                for provider in endpoints:
                    server.fake(provider).reset()
                self._reply(200, {"reset": True})
            elif self.path == "/stop":
                self._reply(200, {"stopping": True})
                stopped.set()
            else:
                self._reply(404, {"error": "not found"})

        def _reply(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    control = ThreadingHTTPServer(("127.0.0.1", 0), Control)
    threading.Thread(target=control.serve_forever, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    state = {"pid": os.getpid(), "endpoints": endpoints,
             "control": f"http://127.0.0.1:{control.server_address[1]}",
             "started_at": datetime.now(UTC).isoformat()}
    temporary = directory / f"{STATE_FILE}.tmp"
    temporary.write_text(json.dumps(state), encoding="utf-8")
    temporary.replace(directory / STATE_FILE)
    try:
        stopped.wait()
    finally:
        control.shutdown()
        server.stop()


# -- ``unicompute mock`` --------------------------------------------------------------------
@click.group("mock")
def mock_group() -> None:
    """The background mock-server that `--mock` commands share (state kept between them)."""


@mock_group.command("status")
@json_option
def mock_status(as_json: bool) -> None:
    """Whether the mock server runs, its pid and its endpoints."""
    state = read_state()
    records = [] if state is None else [
        {"provider": provider, "endpoint": url, "pid": state["pid"],
         "started_at": state.get("started_at")}
        for provider, url in state["endpoints"].items()]
    show(records, [Column("provider", "provider"), Column("endpoint", "endpoint"),
                   Column("pid", "pid"), Column("started_at", "since")],
         as_json=as_json, empty=f"No mock server runs (state in {mock_dir()}).")


@mock_group.command("reset")
def mock_reset() -> None:
    """Forget every resource in the fakes (the server keeps running)."""
    state = read_state()
    if state is None:
        note("No mock server runs; nothing to reset.")
        return
    _control(state, "reset")
    note("The fakes are empty.")


@mock_group.command("stop")
def mock_stop() -> None:
    """End the mock server (its state is gone)."""
    pid = stop_server()
    note("No mock server runs." if pid is None else f"Stopped the mock server (pid {pid}).")
