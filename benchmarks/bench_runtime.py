"""The local function runtime alone: floor, warm invoke, cold start, throughput.

Run: ``python benchmarks/bench_runtime.py``. Prints, for a trivial handler (returns its event):

* floor — calling the handler directly in-process, with the JSON encode/decode an invoke does;
* warm p50/p99 — ``LocalRuntime.invoke`` on a warm worker, and its p50 minus the floor;
* cold start — register and first invoke (process start + import + invoke), median of 10;
* throughput — warm invokes per second from 1 and from 2 concurrent callers.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from unicompute.mocks.runtime import LocalRuntime, WorkerConfig

APP = "def handler(event, context):\n    return event\n"
EVENT = json.dumps({"key": "a.png", "size": 1024}).encode()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(n: int = 5000) -> None:
    code = tempfile.mkdtemp()
    Path(code, "app.py").write_text(APP)
    sys.path.insert(0, code)
    import app  # type: ignore[import-not-found]

    floor = []
    for _ in range(n):
        start = time.perf_counter()
        json.dumps(app.handler(json.loads(EVENT), None)).encode()
        floor.append(time.perf_counter() - start)

    config = WorkerConfig(code_dir=code, entry="app.handler", function_name="bench")
    with LocalRuntime() as rt:
        colds = []
        for i in range(10):
            start = time.perf_counter()
            rt.register(f"cold{i}", config)
            assert rt.invoke(f"cold{i}", EVENT).cold_start
            colds.append(time.perf_counter() - start)
            rt.unregister(f"cold{i}")
        rt.register("fn", config)
        rt.invoke("fn", EVENT)
        rt.invoke("fn", EVENT)  # two warm workers for the 2-caller run
        warm = []
        for _ in range(n):
            start = time.perf_counter()
            rt.invoke("fn", EVENT)
            warm.append(time.perf_counter() - start)

        def run(callers: int, seconds: float = 2.0) -> float:
            counts = [0] * callers
            stop = time.perf_counter() + seconds

            def loop(slot: int) -> None:
                while time.perf_counter() < stop:
                    rt.invoke("fn", EVENT)
                    counts[slot] += 1

            threads = [threading.Thread(target=loop, args=(i,)) for i in range(callers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            return sum(counts) / seconds

        one, two = run(1), run(2)

    us = 1e6
    print(f"floor (direct call)      p50 {percentile(floor, 0.5) * us:8.1f} us")
    print(f"warm invoke              p50 {percentile(warm, 0.5) * us:8.1f} us   "
          f"p99 {percentile(warm, 0.99) * us:8.1f} us")
    print(f"warm over floor          p50 "
          f"{(percentile(warm, 0.5) - percentile(floor, 0.5)) * us:8.1f} us   (target < 500)")
    print(f"cold start (median of 10)    {statistics.median(colds) * 1e3:8.1f} ms   "
          "(target < 150)")
    print(f"throughput, 1 caller         {one:8.0f} invokes/s")
    print(f"throughput, 2 callers        {two:8.0f} invokes/s   (target >= 2000)")


if __name__ == "__main__":
    main()
