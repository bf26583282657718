"""Running a fake VM's user data at its first boot, as cloud-init does: once per instance id.

The script runs in a subprocess in its own session, with a private root directory as cwd,
``HOME`` and ``TMPDIR``, and an environment that holds only ``PATH``, ``LANG`` and what the
caller passes (the variables pointing at the VM's metadata server). It is bounded by a
timeout, after which its whole process group is killed; what it started in the background is
killed when the script ends (cloud-init would leave it running; a fake VM has nothing to run it
for). stdout and stderr, interleaved, are its console output.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass

from ..._errors import InvalidRequest

#: What a run's output keeps (the tail), as consoles keep the latest output.
MAX_OUTPUT = 1 << 20


@dataclass(frozen=True)
class BootRun:
    """One user-data run: the VM (``provider``, portable ``vm_id``, the cloud's instance
    ``key``), the script's exit code (``None``: killed at the timeout), its output and its
    root directory."""

    provider: str
    vm_id: str
    key: str
    exit_code: int | None
    output: str
    root: str


def check_options(run_user_data: object, timeout: object) -> float:
    """``InvalidRequest`` unless ``run_user_data`` is a bool and ``timeout`` a number of
    seconds in (0, 3600]; the timeout as a float."""
    if not isinstance(run_user_data, bool):
        raise InvalidRequest("must be True or False", field="run_user_data")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or not 0 < timeout <= 3600:
        raise InvalidRequest("must be a number of seconds in (0, 3600]",
                             field="user_data_timeout")
    return float(timeout)


def is_script(data: bytes | None) -> bool:
    """Whether user data is a script cloud-init would run (it starts with ``#!``)."""
    return bool(data) and data is not None and data.startswith(b"#!")


def run_script(script: bytes, root: str, env: Mapping[str, str], timeout: float,
               ) -> tuple[int | None, str]:
    """Run ``script`` with ``root`` as cwd/HOME/TMPDIR; ``(exit code or None, output)``."""
    os.makedirs(root, mode=0o700, exist_ok=True)
    path = root.rstrip("/") + ".user-data"
    with open(path, "wb") as handle:
        handle.write(script)
    os.chmod(path, 0o700)
    environment = {
        "PATH": os.pathsep.join([os.path.dirname(sys.executable), "/usr/local/bin",
                                 "/usr/bin", "/bin"]),
        "LANG": "C.UTF-8", "HOME": root, "TMPDIR": root, **env}
    # A file, not a pipe: a background process the script starts keeps a pipe open, and
    # reading it to its end would wait for that process instead of the script.
    with open(root.rstrip("/") + ".console", "w+b") as console:
        process = subprocess.Popen([path], cwd=root, env=environment,
                                   stdin=subprocess.DEVNULL, stdout=console,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        code: int | None
        try:
            code = process.wait(timeout=timeout)
            note = b""
        except subprocess.TimeoutExpired:
            code = None
            note = f"\nuser data timed out after {timeout:g} s and was killed\n".encode()
        finally:
            _kill_group(process.pid)  # what it left running in the background, too
            process.wait()
        console.seek(max(0, console.seek(0, os.SEEK_END) - MAX_OUTPUT))
        out = console.read() + note
    return code, out[-MAX_OUTPUT:].decode("utf-8", "replace")


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
