"""Clouds in parallel: launching 60 VMs over three clouds vs 20 on the slowest cloud alone.

    .venv/bin/python benchmarks/bench_workload_parallel.py [--count 20] [--reps 3]
        [--latency-ms 20]

Each cloud's fake runs in its own process (one served fake per process: in-process fakes are
CPU-bound under one GIL, so they could not overlap, while real clouds are other machines). The
workload is one group of ``--count`` VMs (2 vCPUs, 4 GiB), placed and launched through
``unicompute.workloads`` (``placement.place`` then ``deploy.prepare``/``deploy.launch``, which
waits for every VM to run):

* ``alone <cloud>``: the workload on that cloud only (``--cloud <cloud>``);
* ``all three``: the same workload on the three clouds at once (``--cloud all``), a thread per
  cloud: 3 x ``--count`` VMs.

The target (issue #7) is ``all three`` <= 1.3 x the slowest ``alone``. Real clouds answer each
request after a network round trip; ``--latency-ms`` adds that much before every HTTP request the
clients send (a sleep in urllib3, which boto3, azure-core and google-auth's requests all use),
and the run is repeated without it, so both ratios are printed side by side. Each measurement
uses a new workload name (nothing is destroyed in between); reps interleave the sides and the
medians are printed. ``gc.collect()`` runs before each timed part.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import unicompute as uc
from unicompute.workloads import deploy, parse
from unicompute.workloads.placement import place

CLOUDS = ("aws", "azure", "gcp")
CONFIG: dict[str, dict[str, str]] = {
    "aws": {},
    "azure": {"subscription_id": "00000000-0000-0000-0000-0000000fa4e2"},
    "gcp": {"project": "unicompute-fake"},
}
_SERVE = (
    "import sys, threading\n"
    "from unicompute.mocks._cloud import new_fake\n"
    "fake = new_fake(sys.argv[1])\n"
    "print(fake.serve('127.0.0.1', 0), flush=True)\n"
    "sys.stdin.read()\n"
)


@contextmanager
def served_fakes() -> Iterator[dict[str, str]]:
    """Each cloud's fake in a process of its own; their endpoints."""
    processes: dict[str, subprocess.Popen[str]] = {}
    try:
        for cloud in CLOUDS:
            processes[cloud] = subprocess.Popen(
                [sys.executable, "-c", _SERVE, cloud], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        endpoints = {}
        for cloud, process in processes.items():
            assert process.stdout is not None
            endpoints[cloud] = process.stdout.readline().strip()
        yield endpoints
    finally:
        for process in processes.values():
            if process.stdin:
                process.stdin.close()
            process.terminate()
            process.wait(timeout=30)


@contextmanager
def latency(seconds: float) -> Iterator[None]:
    """Sleep ``seconds`` before every HTTP request (a network round trip)."""
    import urllib3.connectionpool

    original = urllib3.connectionpool.HTTPConnectionPool.urlopen

    def urlopen(self: Any, *args: Any, **kwargs: Any) -> Any:
        time.sleep(seconds)
        return original(self, *args, **kwargs)

    urllib3.connectionpool.HTTPConnectionPool.urlopen = urlopen  # type: ignore[method-assign]
    try:
        yield
    finally:
        urllib3.connectionpool.HTTPConnectionPool.urlopen = original  # type: ignore[method-assign]


def timed_launch(name: str, mode: str, count: int, endpoints: dict[str, str]) -> float:
    workload = parse(f"name: {name}\nvms:\n  - {{name: w, count: {count}, vcpus: 2, "
                     "memory_gib: 4}\n")
    placement = place(workload, cloud=mode)

    def opener(provider: str, region: str) -> uc.Cloud:
        return uc.connect(provider, region=region, endpoint_url=endpoints[provider],
                          poll_interval=0.05, **CONFIG[provider])

    gc.collect()
    start = time.perf_counter()
    with deploy.prepare(placement, opener) as prepared:
        results = deploy.launch(prepared)
    elapsed = time.perf_counter() - start
    launched = sum(len(r.vms.launched) for r in results.values())
    assert launched == count * len(placement.chosen), launched
    return elapsed


def measure(endpoints: dict[str, str], count: int, reps: int, tag: str) -> dict[str, float]:
    samples: dict[str, list[float]] = {side: [] for side in (*CLOUDS, "all")}
    for rep in range(reps):
        for side in (*CLOUDS, "all"):
            samples[side].append(timed_launch(f"b{tag}{rep}{side[:2]}", side, count, endpoints))
    return {side: statistics.median(values) for side, values in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=20, help="VMs per cloud")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    args = parser.parse_args()
    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    with served_fakes() as endpoints:
        timed_launch("warmup", "all", 1, endpoints)  # imports, first connections
        with latency(args.latency_ms / 1000):
            modelled = measure(endpoints, args.count, args.reps, "l")
        bare = measure(endpoints, args.count, args.reps, "n")
    print(f"{args.count} VMs per cloud, median of {args.reps}; each fake in its own process")
    header = f"{'':34}{f'+{args.latency_ms:g} ms/request':>20}{'no added latency':>20}"
    print(header)
    for side in CLOUDS:
        print(f"{'alone ' + side + f' ({args.count} VMs)':34}"
              f"{modelled[side]:>19.2f}s{bare[side]:>19.2f}s")
    print(f"{f'all three ({3 * args.count} VMs)':34}{modelled['all']:>19.2f}s"
          f"{bare['all']:>19.2f}s")
    ratios = []
    for figures in (modelled, bare):
        slowest = max(figures[c] for c in CLOUDS)
        ratios.append(figures["all"] / slowest)
    print(f"{'all / slowest alone (target <= 1.3)':34}{ratios[0]:>19.2f}x{ratios[1]:>19.2f}x")


if __name__ == "__main__":
    main()
