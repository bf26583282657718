"""Function invoke costs: the floor, the local runtime alone, and the portable API on each fake.

    .venv/bin/python benchmarks/bench_functions.py [--invokes 2000] [--seconds 3] [--colds 10]
        [--portable-invokes 500] [--portable-colds 3] [--clouds aws,azure,gcp]

* ``floor``: the handler called in-process, with the JSON decode of the event and encode of the
  result every invoke needs (what no runtime can beat).
* ``runtime warm``: ``LocalRuntime.invoke`` on a warm worker (a separate process): p50 and p99,
  and the p50 over the floor.
* ``cold start``: ``register`` + first ``invoke`` of a fresh function (worker spawn, import,
  first call), median of ``--colds``; and the runtime's own ``init_duration_ms``.
* ``throughput``: warm invokes per second with 1 and with 2 calling threads (concurrency 2).
* ``portable on <cloud>``: ``Function.invoke`` of a deployed function inside ``mock_cloud()``,
  through the provider and the official SDK/HTTP path to that cloud's fake and the local runtime
  (aws: boto3 → moto's Lambda; azure: the shim's ``uc-invoke`` HTTP function on the fake function
  host; gcp: the shim's private path on the fake ``*.a.run.app`` URI): warm p50 and p90, their
  ratio to the floor and to the AWS row, and the cold start (median of ``--portable-colds``
  fresh deploys: the first ``invoke`` after deploy, which starts the worker). The script says
  whether the invoke really ran the handler.

Every timed part starts after ``gc.collect()``; all rows come from one run, one after another.

Targets (issue #5) are printed next to the figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import unicompute as uc
from unicompute.mocks import mock_cloud

HANDLER = "def handler(event, context):\n    return {'n': event['n'] + 1}\n"


#: Where each cloud's fake is reached (the fakes' default regions).
REGIONS = {"aws": "us-east-1", "azure": "eastus", "gcp": "us-central1"}


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99) - 1]


def p90(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(int(len(ordered) * 0.9) - 1, 0)]


def floor(code_dir: Path, invokes: int) -> list[float]:
    namespace: dict[str, Any] = {}
    exec(compile((code_dir / "app.py").read_text(), "app.py", "exec"), namespace)
    handler = namespace["handler"]
    times = []
    gc.collect()
    for i in range(invokes):
        payload = json.dumps({"n": i}).encode()
        start = time.perf_counter()
        json.dumps(handler(json.loads(payload), None)).encode()
        times.append(time.perf_counter() - start)
    return times


def runtime_figures(code_dir: Path, args: argparse.Namespace) -> dict[str, Any]:
    from unicompute.mocks.runtime import LocalRuntime, WorkerConfig

    config = WorkerConfig(code_dir=str(code_dir), entry="app.handler", function_name="bench",
                          timeout_s=30, concurrency=2)
    figures: dict[str, Any] = {}
    with LocalRuntime() as rt:
        colds, inits = [], []
        gc.collect()
        for i in range(args.colds):
            start = time.perf_counter()
            rt.register(f"cold{i}", config)
            result = rt.invoke(f"cold{i}", b'{"n": 1}')
            colds.append(time.perf_counter() - start)
            assert result.ok and result.cold_start, result
            inits.append(result.init_duration_ms or 0.0)
            rt.unregister(f"cold{i}")
        figures["cold"] = (statistics.median(colds), statistics.median(inits))

        rt.register("warm", config)
        assert json.loads(rt.invoke("warm", b'{"n": 1}').payload) == {"n": 2}
        times = []
        gc.collect()
        for i in range(args.invokes):
            payload = json.dumps({"n": i}).encode()
            start = time.perf_counter()
            result = rt.invoke("warm", payload)
            times.append(time.perf_counter() - start)
            assert result.ok and not result.cold_start
        figures["warm"] = times

        for callers in (1, 2):
            rt.invoke("warm", b'{"n": 1}')
            if callers == 2:  # a second warm worker, so both callers find one
                both = [threading.Thread(target=rt.invoke, args=("warm", b'{"n": 1}'))
                        for _ in range(2)]
                for t in both:
                    t.start()
                for t in both:
                    t.join()
            counts = [0] * callers
            gc.collect()
            stop = time.perf_counter() + args.seconds

            def call(slot: int, counts: list[int], stop: float) -> None:
                while time.perf_counter() < stop:
                    rt.invoke("warm", b'{"n": 1}')
                    counts[slot] += 1

            threads = [threading.Thread(target=call, args=(s, counts, stop))
                       for s in range(callers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            figures[f"rate{callers}"] = sum(counts) / args.seconds
    return figures


def portable_figures(provider: str, code_dir: Path, invokes: int, colds: int
                     ) -> tuple[list[float], list[float], bool]:
    """Warm ``Function.invoke`` times, cold-start times (first invoke after a fresh deploy) and
    whether the handler really ran, on ``provider``'s fake."""
    with mock_cloud([provider]), uc.connect(provider, region=REGIONS[provider],
                                            poll_interval=0) as cloud:
        cold_times = []
        for i in range(colds):
            fn = cloud.functions.deploy(uc.FunctionSpec(
                name=f"cold{i}", runtime="python3.12", handler="app.handler", source=code_dir))
            gc.collect()
            start = time.perf_counter()
            first = fn.invoke({"n": 1})
            cold_times.append(time.perf_counter() - start)
            assert first.result == {"n": 2} and first.cold_start is not False, first
            fn.delete()
        fn = cloud.functions.deploy(uc.FunctionSpec(
            name="bench", runtime="python3.12", handler="app.handler", source=code_dir))
        ran_code = fn.invoke({"n": 1}).result == {"n": 2}
        times = []
        gc.collect()
        for i in range(invokes):
            start = time.perf_counter()
            fn.invoke({"n": i})
            times.append(time.perf_counter() - start)
        fn.delete()
    return times, cold_times, ran_code


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invokes", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--colds", type=int, default=10)
    parser.add_argument("--portable-invokes", type=int, default=500)
    parser.add_argument("--portable-colds", type=int, default=3)
    parser.add_argument("--clouds", default="aws,azure,gcp",
                        help="comma-separated clouds for the portable rows (aws first for ratios)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        code_dir = Path(tmp)
        (code_dir / "app.py").write_text(HANDLER)
        floor_p50, _ = percentiles(floor(code_dir, args.invokes))
        print(f"floor (in-process call + JSON)      p50 {ms(floor_p50)}")
        try:
            figures = runtime_figures(code_dir, args)
        except ImportError as exc:
            print(f"runtime figures unavailable: {exc}")
        else:
            p50, p99 = percentiles(figures["warm"])
            print(f"runtime warm invoke                 p50 {ms(p50)}  p99 {ms(p99)}  "
                  f"over floor {ms(p50 - floor_p50)}  (target < 0.5 ms)")
            cold, init = figures["cold"]
            print(f"cold start (register + 1st invoke)  median {ms(cold)}  "
                  f"init_duration {init:.1f} ms  (target < 150 ms)")
            print(f"throughput, 1 caller                {figures['rate1']:.0f} invokes/s")
            print(f"throughput, 2 callers               {figures['rate2']:.0f} invokes/s  "
                  "(target >= 2000)")
        print(f"\nportable Function.invoke on each cloud's fake ({args.portable_invokes} warm "
              f"invokes, {args.portable_colds} cold starts; ratios: warm p50 over the floor "
              "and over aws):")
        aws_p50: float | None = None
        for provider in args.clouds.split(","):
            times, colds, ran_code = portable_figures(
                provider, code_dir, args.portable_invokes, args.portable_colds)
            p50, p90_ = statistics.median(times), p90(times)
            aws_p50 = p50 if provider == "aws" else aws_p50
            over_aws = f"{p50 / aws_p50:5.2f}x aws" if aws_p50 else "   - x aws"
            print(f"  {provider:<6} warm p50 {ms(p50)}  p90 {ms(p90_)}  "
                  f"{p50 / floor_p50:8.0f}x floor  {over_aws}  "
                  f"cold start median {ms(statistics.median(colds))}  "
                  f"(handler ran: {'yes' if ran_code else 'NO, canned answer'})")
        print("  (target for aws warm p50 < 5 ms)")


if __name__ == "__main__":
    main()
