"""The local function runtime: pools of worker processes, one pool per registered function."""

from __future__ import annotations

import contextlib
import heapq
import itertools
import json
import os
import shutil
import tempfile
import threading
import time
import uuid
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from ..._errors import InvalidRequest
from .._kernel.clock import FakeClock
from ._flavours import Flavour, billed, flavour
from ._models import InvocationResult, RuntimeThrottled, WorkerConfig
from ._process import Reply, Worker, WorkerDied, WorkerTimedOut

#: Lambda's default account concurrency: the cap for functions without their own.
DEFAULT_CONCURRENCY = 1000
#: How long an idle worker is kept warm (Lambda keeps sandboxes for minutes, unspecified).
IDLE_TIMEOUT_S = 300.0
#: Lambda's limit on the init phase of a sandbox.
INIT_TIMEOUT_S = 10.0
#: Seconds Lambda waits before retrying a failed asynchronous invocation: about one minute
#: before the first retry and two before the second.
ASYNC_RETRY_DELAYS_S = (60.0, 120.0)

AsyncListener = Callable[[InvocationResult, int], None]


@dataclass
class _AsyncJob:
    """One asynchronous invocation; ``due`` is when its next attempt may run (runtime time)."""

    key: str
    event: bytes
    retries: int
    on_result: AsyncListener | None
    arn: str | None
    request_id: str
    due: float
    attempt: int = 0


@dataclass
class _Pool:
    key: str
    config: WorkerConfig
    flavour: Flavour
    limit: int
    idle: list[Worker] = field(default_factory=list)
    workers: set[Worker] = field(default_factory=set)
    in_flight: int = 0
    closed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class _State:
    """Everything a runtime must clean up; reachable from its finalizer without the runtime."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pools: dict[str, _Pool] = {}
        self.log_dir = tempfile.mkdtemp(prefix="unicompute-runtime-")
        self.closed = False

    def close(self) -> None:
        with self.lock:
            self.closed = True
            pools, self.pools = list(self.pools.values()), {}
        for pool in pools:
            retire(pool)
        shutil.rmtree(self.log_dir, ignore_errors=True)


def retire(pool: _Pool) -> None:
    """Close ``pool``: kill every worker now, busy ones included (their callers see a crash)."""
    with pool.lock:
        pool.closed = True
        workers = list(pool.workers)
        pool.workers.clear()
        pool.idle.clear()
    for worker in workers:
        _discard(worker)


def _discard(worker: Worker) -> None:
    worker.kill()
    with contextlib.suppress(OSError):
        os.unlink(worker.log_path)


class LocalRuntime:
    """Runs registered functions in worker processes separate from the caller.

    * The first invocation of a function starts a worker (cold: ``init_duration_ms`` set); a
      finished worker goes back to the function's pool and serves the next invocation warm.
    * Concurrent invocations scale out to more workers, up to the function's ``concurrency``
      (default :data:`DEFAULT_CONCURRENCY`); beyond it :meth:`invoke` raises
      :class:`RuntimeThrottled`.
    * An invocation running past ``timeout_s`` has its worker killed (``Sandbox.Timedout``); a
      worker that exits or crashes answers ``Runtime.ExitError``. ``memory_mb`` caps the
      worker: the kernel limits its address space (``RLIMIT_AS``) to the memory size plus the
      interpreter's mapped-but-not-resident pages plus
      :data:`~._process.ADDRESS_SPACE_SLACK_MB`, so resident memory stays about ``memory_mb``
      as on Lambda (the interpreter's own ~10 MB counts, as Lambda counts its runtime's). A
      handler allocating beyond it gets ``MemoryError``, reported as ``Runtime.OutOfMemory``,
      and the worker is discarded. ``Max Memory Used`` is the worker's peak resident set.
    * A worker's environment is the declared ``env`` plus the platform's standard variables,
      nothing inherited from the caller. Its stdout and stderr (``print``, ``logging``, C code)
      are captured per invocation.
    * :meth:`invoke_async` queues an invocation; a failed one is retried after
      ``async_retry_delays_s`` (Lambda: about 1 then 2 minutes) of the runtime's time — the
      ``clock`` when there is one (a test advances it to see the retries), else real time.
    * Workers idle for ``idle_timeout_s`` are reaped: on each advance of ``clock`` (a
      :class:`~unicompute.mocks._kernel.FakeClock`) or, with real time, whenever the runtime is
      used. :meth:`close` (and, as a safety net, garbage collection or interpreter exit) kills
      every worker and removes the runtime's files.

    Every runtime is a Python one run by the local interpreter (``sys.executable``): the
    ``runtime`` version of a function is checked, not provided.
    """

    def __init__(self, clock: FakeClock | None = None, *,
                 idle_timeout_s: float = IDLE_TIMEOUT_S,
                 default_concurrency: int = DEFAULT_CONCURRENCY,
                 async_threads: int = 4,
                 async_retry_delays_s: tuple[float, ...] = ASYNC_RETRY_DELAYS_S) -> None:
        if not async_retry_delays_s or any(d < 0 for d in async_retry_delays_s):
            raise InvalidRequest("must be one or more delays >= 0", field="async_retry_delays_s")
        self.clock = clock
        self.async_retry_delays_s = tuple(async_retry_delays_s)
        self.idle_timeout_s = idle_timeout_s
        self.default_concurrency = default_concurrency
        self._state = _State()
        self._finalizer = weakref.finalize(self, self._state.close)
        self._async_threads = async_threads
        self._executor: ThreadPoolExecutor | None = None
        self._pending = 0
        self._pending_cond = threading.Condition()
        #: Retries waiting for their time: ``(due, sequence, job)``, soonest first.
        self._waiting: list[tuple[float, int, _AsyncJob]] = []
        self._sequence = itertools.count()
        self._timers: set[threading.Timer] = set()
        self._async_closed = False
        #: Results of finished asynchronous invocations (last attempt of each), newest last.
        self.async_results: deque[InvocationResult] = deque(maxlen=1000)
        if clock is not None:
            state = weakref.ref(self)

            def on_advance(_: float) -> None:
                runtime = state()
                if runtime is not None and not runtime._state.closed:
                    runtime.reap_idle()
                    runtime._dispatch_due()

            clock.on_advance(on_advance)

    # -- registration ------------------------------------------------------------------------
    def register(self, key: str, config: WorkerConfig) -> None:
        """Make ``key`` run ``config``; re-registering a key with another config retires the
        old workers (the next invocation starts cold), with the same config changes nothing."""
        state = self._state
        pool_flavour = flavour(config.context_kind)
        limit = self.default_concurrency if config.concurrency is None else config.concurrency
        with state.lock:
            if state.closed:
                raise RuntimeError("this LocalRuntime is closed")
            old = state.pools.get(key)
            if old is not None and old.config == config:
                return
            state.pools[key] = _Pool(key, config, pool_flavour, limit)
        if old is not None:
            retire(old)

    def unregister(self, key: str) -> None:
        """Forget ``key`` and kill its workers (no error if unknown)."""
        with self._state.lock:
            pool = self._state.pools.pop(key, None)
        if pool is not None:
            retire(pool)

    def keys(self) -> list[str]:
        with self._state.lock:
            return list(self._state.pools)

    def config(self, key: str) -> WorkerConfig:
        return self._pool(key).config

    def worker_count(self, key: str) -> int:
        """Live workers of ``key`` (busy and idle)."""
        pool = self._pool(key)
        with pool.lock:
            return len(pool.workers)

    def worker_pids(self, key: str) -> list[int]:
        pool = self._pool(key)
        with pool.lock:
            return [worker.pid for worker in pool.workers]

    def _pool(self, key: str) -> _Pool:
        with self._state.lock:
            if self._state.closed:
                raise RuntimeError("this LocalRuntime is closed")
            try:
                return self._state.pools[key]
            except KeyError:
                raise InvalidRequest(f"no function registered as {key!r}", field="key") from None

    # -- invoking ----------------------------------------------------------------------------
    def invoke(self, key: str, event_json: bytes, *, request_id: str | None = None,
               arn: str | None = None, client_context: Mapping[str, Any] | None = None,
               identity: Mapping[str, Any] | None = None) -> InvocationResult:
        """Run ``key`` on ``event_json`` (a JSON document) and wait for it.

        Raises :class:`RuntimeThrottled` when all ``concurrency`` slots are busy. Failures of
        the function itself are results with ``ok=False``, never exceptions.
        """
        pool = self._pool(key)
        if self.clock is None:
            self.reap_idle()
        worker = self._acquire(pool)
        request_id = request_id or str(uuid.uuid4())
        config = pool.config
        cold = worker is None
        init_ms: float | None = None
        try:
            if worker is None:
                worker, init_ms = self._spawn(pool)
            header = json.dumps({
                "request_id": request_id,
                "deadline_ms": time.time() * 1000.0 + config.timeout_s * 1000.0,
                "arn": arn or config.function_arn,
                "client_context": client_context, "identity": identity,
            }).encode()
            healthy = True
            started = time.perf_counter()
            try:
                reply = worker.invoke(header, event_json, config.timeout_s)
                if not reply.ok and b'"Runtime.OutOfMemory"' in reply.body:
                    healthy = False
            except WorkerTimedOut:
                healthy = False
                message = pool.flavour.timeout_message(request_id, config.timeout_s)
                reply = _platform_error("Sandbox.Timedout", message, config.timeout_s * 1000.0)
            except WorkerDied:
                healthy = False
                worker.kill()
                message = pool.flavour.exit_message(request_id, worker.returncode())
                reply = _platform_error("Runtime.ExitError", message,
                                        (time.perf_counter() - started) * 1000.0)
            if not healthy:
                worker.kill()
            output = worker.read_output()
            if reply.ok is False and not healthy:
                output += _platform_log(reply, request_id)
        except BaseException:
            if worker is not None:
                self._release(pool, worker, healthy=False)
            else:
                self._release_slot(pool)
            raise
        self._release(pool, worker, healthy=healthy)
        return self._result(pool, worker, request_id, reply, output, cold, init_ms)

    def _acquire(self, pool: _Pool) -> Worker | None:
        with pool.lock:
            if pool.closed:
                raise RuntimeError(f"function {pool.key!r} was unregistered")
            if pool.in_flight >= pool.limit:
                raise RuntimeThrottled(pool.key, pool.limit)
            pool.in_flight += 1
            return pool.idle.pop() if pool.idle else None

    def _release_slot(self, pool: _Pool) -> None:
        with pool.lock:
            pool.in_flight -= 1

    def _release(self, pool: _Pool, worker: Worker, *, healthy: bool) -> None:
        with pool.lock:
            pool.in_flight -= 1
            keep = healthy and not pool.closed
            if keep:
                worker.idle_since = self._now()
                pool.idle.append(worker)
            else:
                pool.workers.discard(worker)
        if not keep:
            _discard(worker)

    def _spawn(self, pool: _Pool) -> tuple[Worker, float]:
        """A new worker of ``pool`` with its handler imported, and the time that took (ms).
        A worker whose init failed answers every invocation with that error, as Lambda does."""
        config, flavour = pool.config, pool.flavour
        log_stream = flavour.log_stream(config)
        started = time.perf_counter()
        worker = Worker(code_dir=config.code_dir, entry=config.entry,
                        context_kind=config.context_kind, memory_mb=config.memory_mb,
                        env=flavour.environment(config, log_stream),
                        log_path=f"{self._state.log_dir}/{uuid.uuid4().hex}.log",
                        log_stream=log_stream)
        with pool.lock:
            closed = pool.closed
            if not closed:
                pool.workers.add(worker)
        if closed:
            _discard(worker)
            raise RuntimeError(f"function {pool.key!r} was unregistered")
        # A failed start is reported by the invocation that follows (a timeout or a crash).
        with contextlib.suppress(WorkerTimedOut, WorkerDied):
            worker.wait_ready(max(INIT_TIMEOUT_S, config.timeout_s))
        return worker, (time.perf_counter() - started) * 1000.0

    def _result(self, pool: _Pool, worker: Worker, request_id: str, reply: Reply,
                output: str, cold: bool, init_ms: float | None) -> InvocationResult:
        config = pool.config
        duration = reply.duration_ms
        bill = billed(duration)
        memory = min(reply.max_rss_mb, config.memory_mb) if reply.max_rss_mb else 0
        logs = pool.flavour.format_logs(config, request_id, output, duration, bill, memory,
                                        init_ms if cold else None)
        if reply.ok:
            return InvocationResult(
                request_id, True, reply.body, None, None, (), logs, output, duration, bill,
                cold, init_ms if cold else None, memory, config.memory_mb, worker.log_stream)
        error = json.loads(reply.body)
        document = {"errorMessage": error.get("errorMessage", ""),
                    "errorType": error.get("errorType", "Unhandled"),
                    "requestId": request_id,
                    "stackTrace": list(error.get("stackTrace", []))}
        return InvocationResult(
            request_id, False, json.dumps(document).encode(), document["errorType"],
            document["errorMessage"], tuple(document["stackTrace"]), logs, output, duration,
            bill, cold, init_ms if cold else None, memory, config.memory_mb, worker.log_stream)

    # -- asynchronous invocations ----------------------------------------------------------
    def invoke_async(self, key: str, event_json: bytes, retries: int = 2, *,
                     on_result: AsyncListener | None = None,
                     arn: str | None = None) -> str:
        """Queue ``key`` on ``event_json`` and return its request id at once.

        It runs on a background thread; a failed attempt is retried up to ``retries`` more
        times, the n-th retry ``async_retry_delays_s[n-1]`` seconds (the last delay for later
        ones) after the attempt before it, on the runtime's time (:attr:`clock` if set: the
        retry runs when an advance reaches it). A throttled attempt waits for a free slot.
        ``on_result(result, attempt)`` hears every attempt (with the same request id); the
        last one is kept in :attr:`async_results`. :meth:`drain` waits for what is due.
        """
        self._pool(key)
        request_id = str(uuid.uuid4())
        self._submit(_AsyncJob(key, event_json, retries, on_result, arn, request_id,
                               due=self._now()))
        return request_id

    def _submit(self, job: _AsyncJob) -> None:
        with self._pending_cond:
            if self._async_closed:
                return  # closed meanwhile: the event is dropped
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self._async_threads,
                                                    thread_name_prefix="unicompute-async")
            self._pending += 1
            executor = self._executor
        try:
            executor.submit(self._run_async, job)
        except BaseException:
            self._done_async()
            raise

    def _run_async(self, job: _AsyncJob) -> None:
        try:
            throttled_wait = 0.001
            while True:
                try:
                    result = self.invoke(job.key, job.event, request_id=job.request_id,
                                         arn=job.arn)
                except RuntimeThrottled:
                    time.sleep(throttled_wait)
                    throttled_wait = min(throttled_wait * 2, 0.05)
                    continue
                except (RuntimeError, InvalidRequest):
                    return  # unregistered or closed meanwhile: the event is dropped
                if job.on_result is not None:
                    job.on_result(result, job.attempt)
                if result.ok or job.attempt >= job.retries:
                    self.async_results.append(result)
                    return
                delays = self.async_retry_delays_s
                job.due += delays[min(job.attempt, len(delays) - 1)]
                job.attempt += 1
                if job.due > self._now():
                    self._wait_for_retry(job)
                    return
        finally:
            self._done_async()

    def _wait_for_retry(self, job: _AsyncJob) -> None:
        with self._pending_cond:
            if self._async_closed:
                return
            heapq.heappush(self._waiting, (job.due, next(self._sequence), job))
            if self.clock is None:
                timer = threading.Timer(max(job.due - self._now(), 0.0), self._dispatch_due)
                timer.daemon = True
                self._timers.add(timer)
                timer.start()
        self._dispatch_due()  # the clock may have passed ``due`` meanwhile

    def _dispatch_due(self) -> None:
        """Start the waiting retries whose time has come."""
        now = self._now()
        due: list[_AsyncJob] = []
        with self._pending_cond:
            while self._waiting and self._waiting[0][0] <= now:
                due.append(heapq.heappop(self._waiting)[2])
            self._timers = {timer for timer in self._timers if timer.is_alive()}
        for job in due:
            self._submit(job)

    @property
    def waiting_retries(self) -> int:
        """Retries of failed asynchronous invocations waiting for their time."""
        with self._pending_cond:
            return len(self._waiting)

    def _done_async(self) -> None:
        with self._pending_cond:
            self._pending -= 1
            self._pending_cond.notify_all()

    def drain(self, timeout: float | None = 30.0) -> bool:
        """Wait until every asynchronous invocation that is due finished (a failed one's
        retry waits for its time, see :meth:`invoke_async`, and is not waited for);
        ``False`` if ``timeout`` seconds passed first."""
        with self._pending_cond:
            return self._pending_cond.wait_for(lambda: self._pending == 0, timeout)

    # -- lifetime ----------------------------------------------------------------------------
    def _now(self) -> float:
        return self.clock.time() if self.clock is not None else time.monotonic()

    def reap_idle(self) -> int:
        """Kill workers idle for ``idle_timeout_s`` or more; how many were killed."""
        now = self._now()
        with self._state.lock:
            pools = list(self._state.pools.values())
        reaped: list[Worker] = []
        for pool in pools:
            with pool.lock:
                keep = [w for w in pool.idle if now - w.idle_since < self.idle_timeout_s]
                for worker in pool.idle:
                    if worker not in keep:
                        reaped.append(worker)
                        pool.workers.discard(worker)
                pool.idle[:] = keep
        for worker in reaped:
            _discard(worker)
        return len(reaped)

    def close(self) -> None:
        """Kill every worker, drop queued and waiting asynchronous invocations, remove the
        runtime's files. Idempotent."""
        with self._pending_cond:
            self._async_closed = True
            executor, self._executor = self._executor, None
            timers, self._timers = self._timers, set()
            self._waiting.clear()
        for timer in timers:
            timer.cancel()
        self._finalizer()
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
            with self._pending_cond:
                self._pending = 0
                self._pending_cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._state.closed

    def __enter__(self) -> LocalRuntime:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _platform_error(error_type: str, message: str, duration_ms: float) -> Reply:
    body = json.dumps({"errorMessage": message, "errorType": error_type, "stackTrace": []})
    return Reply(False, body.encode(), duration_ms, 0)


def _platform_log(reply: Reply, request_id: str) -> str:
    error = json.loads(reply.body)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    if error["errorType"] == "Sandbox.Timedout":
        return f"{stamp}Z {request_id} Task timed out after " \
               f"{error['errorMessage'].rsplit('after ', 1)[-1]}\n"
    return f"{error['errorMessage']}\n{error['errorType']}\n"
