"""One worker process seen from the caller: spawn, send an invocation, read its answer within
a deadline, kill. The wire format is described in ``_worker``."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

_HEAD = struct.Struct(">IB")
_STATS = struct.Struct(">II")
WORKER_SCRIPT = str(Path(__file__).with_name("_worker.py"))

#: Address space a worker may map beyond its memory size and the interpreter's own mapped but
#: not resident pages (allocator arenas, a thread's stack).
ADDRESS_SPACE_SLACK_MB = 8


class WorkerDied(Exception):
    """The worker closed its pipe: it exited or was killed."""


class WorkerTimedOut(Exception):
    """No answer before the deadline."""


@dataclass
class Reply:
    ok: bool
    body: bytes
    duration_ms: float
    max_rss_mb: int


class Worker:
    """A running worker; not thread-safe (one caller at a time uses it)."""

    def __init__(self, *, code_dir: str, entry: str, context_kind: str, memory_mb: int,
                 env: dict[str, str], log_path: str, log_stream: str) -> None:
        self.log_stream = log_stream
        self.log_path = log_path
        self.used = 0
        self.idle_since = 0.0
        init = {"code_dir": code_dir, "entry": entry, "context_kind": context_kind,
                "memory_bytes": memory_mb << 20, "slack_bytes": ADDRESS_SPACE_SLACK_MB << 20,
                "env_names": sorted(env)}
        to_worker_r, self._to_worker = os.pipe()
        self._from_worker, from_worker_w = os.pipe()
        self._log: IO[bytes] = open(log_path, "ab")  # noqa: SIM115 - lives as long as the worker
        self._log_offset = 0
        self._buffer = bytearray()
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-u", WORKER_SCRIPT, str(to_worker_r),
                 str(from_worker_w), json.dumps(init)],
                stdin=subprocess.DEVNULL, stdout=self._log, stderr=self._log,
                env=env, cwd=code_dir, pass_fds=(to_worker_r, from_worker_w),
                start_new_session=True)
        except BaseException:
            for fd in (self._to_worker, self._from_worker):
                os.close(fd)
            self._log.close()
            raise
        finally:
            os.close(to_worker_r)
            os.close(from_worker_w)
        self._poll = select.poll()
        self._poll.register(self._from_worker, select.POLLIN)

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_ready(self, timeout_s: float) -> tuple[float, dict[str, Any] | None]:
        """Block until the worker has imported the handler: its init time (ms) and the init
        error it will answer every invocation with (``None`` if it loaded)."""
        kind, body = self._read_frame(time.monotonic() + timeout_s)
        if kind != ord("r"):
            raise WorkerDied("unexpected frame before ready")
        ready = json.loads(body)
        return float(ready["init_ms"]), ready["error"]

    def invoke(self, header: bytes, event: bytes, timeout_s: float) -> Reply:
        body = header + b"\n" + event
        data = _HEAD.pack(len(body), ord("i")) + body
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._to_worker, view):]
        except (BrokenPipeError, OSError):
            raise WorkerDied("pipe closed") from None
        kind, reply = self._read_frame(time.monotonic() + timeout_s)
        duration_us, rss_kb = _STATS.unpack_from(reply)
        return Reply(kind == ord("o"), bytes(reply[_STATS.size:]), duration_us / 1000.0,
                     max(1, -(-rss_kb // 1024)))

    def _read_frame(self, deadline: float) -> tuple[int, bytes]:
        buffer = self._buffer
        while True:
            if len(buffer) >= 5:
                length, kind = _HEAD.unpack_from(buffer)
                if len(buffer) >= 5 + length:
                    body = bytes(buffer[5:5 + length])
                    del buffer[:5 + length]
                    return kind, body
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._poll.poll(remaining * 1000.0):
                raise WorkerTimedOut
            chunk = os.read(self._from_worker, 1 << 16)
            if not chunk:
                raise WorkerDied("pipe closed")
            buffer += chunk

    def read_output(self) -> str:
        """What the worker wrote to its log since the last call."""
        with open(self.log_path, "rb") as log:
            log.seek(self._log_offset)
            data = log.read()
        self._log_offset += len(data)
        return data.decode("utf-8", "replace")

    def returncode(self, wait_s: float = 1.0) -> int | None:
        try:
            return self.process.wait(wait_s)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        """End the worker (and anything it started in its session) and release its pipes."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        self.close_pipes()

    def close_pipes(self) -> None:
        for fd in (self._to_worker, self._from_worker):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._to_worker = self._from_worker = -1
        self._log.close()
