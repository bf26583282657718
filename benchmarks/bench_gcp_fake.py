"""What the GCE fake costs: the official client on the fake vs on a canned responder (the SDK's
floor) vs boto3 on moto, plus how the fake scales with the number of instances.

    .venv/bin/python benchmarks/bench_gcp_fake.py [--n 200] [--rounds 3] [--big 10000]

* ``mix``: insert N instances (``insert(...).result()``, instant operations), get each, list
  them (pages of 500), delete each — through ``compute_v1.InstancesClient``.
* ``floor``: the same calls behind the same Interceptor and credentials, answered by a WSGI
  app that returns fixed, valid bodies captured from the fake (so the bytes parsed are alike).
* ``moto``: the same mix through boto3 EC2 on moto (run_instances, describe_instances by id,
  describe_instances paginated, terminate_instances), as ``mock_cloud(["aws"])`` starts it.
* ``get scaling``: get-by-name throughput with 100 and with ``--big`` instances stored
  (seeded with ``GcpFake.seed_instances``).
* ``label filter``: the first page of ``list(filter="labels.team=blue")`` over ``--big``
  instances, 1% matching and 50% matching, through the client and at the WSGI app alone.

Phases alternate within each round, after one untimed warm-up round; the median per phase
is reported, and the ratio of the fastest rounds beside it (noise from other programs only
ever adds time). Ratios are taken from the same run. Times are CPU seconds of this process
(``time.process_time``): everything runs in-process on one thread, and CPU time is far less
disturbed than wall time when other programs share the machine. Each phase starts after a
full garbage collection, so no phase pays for the full collection that objects left by an
earlier phase (moto keeps every instance it ran) would otherwise trigger inside it; each
pays for the collections its own allocations cause. The moto mix is EC2's equivalent call
for call: one ``run_instances``, ``describe_instances`` and ``terminate_instances`` per
instance, as the GCE client inserts, gets and deletes one instance per call.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import boto3
from google.cloud import compute_v1
from werkzeug.test import Client

from unicompute.mocks import mock_cloud
from unicompute.mocks._kernel import Interceptor
from unicompute.mocks.gcp import COMPUTE_URL, TOKEN_URL, GcpFake

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

ZONE = "us-central1-a"
PROJECT = "bench-project"
OPS = ("insert", "get", "list", "delete")


def body(name: str) -> compute_v1.Instance:
    return compute_v1.Instance(
        name=name, machine_type=f"zones/{ZONE}/machineTypes/e2-medium",
        disks=[compute_v1.AttachedDisk(boot=True, auto_delete=True,
                                       initialize_params=compute_v1.AttachedDiskInitializeParams(
                                           source_image="projects/debian-cloud/global/images/"
                                                        "family/debian-12"))],
        network_interfaces=[compute_v1.NetworkInterface(network="global/networks/default")],
        labels={"app": "bench"})


def gce_mix(client: compute_v1.InstancesClient, n: int, tag: str) -> dict[str, float]:
    times: dict[str, float] = {}
    names = [f"{tag}-{i}" for i in range(n)]
    start = time.process_time()
    for name in names:
        client.insert(project=PROJECT, zone=ZONE, instance_resource=body(name)).result()
    times["insert"] = time.process_time() - start
    start = time.process_time()
    for name in names:
        client.get(project=PROJECT, zone=ZONE, instance=name)
    times["get"] = time.process_time() - start
    start = time.process_time()
    listed = sum(1 for _ in client.list(project=PROJECT, zone=ZONE))
    times["list"] = time.process_time() - start
    assert listed >= n, listed
    start = time.process_time()
    for name in names:
        client.delete(project=PROJECT, zone=ZONE, instance=name).result()
    times["delete"] = time.process_time() - start
    return times


def moto_mix(ec2: Any, image: str, n: int) -> dict[str, float]:
    times: dict[str, float] = {}
    start = time.process_time()
    ids = [ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=1, MaxCount=1)[
        "Instances"][0]["InstanceId"] for _ in range(n)]
    times["insert"] = time.process_time() - start
    start = time.process_time()
    for instance_id in ids:
        ec2.describe_instances(InstanceIds=[instance_id])
    times["get"] = time.process_time() - start
    start = time.process_time()
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": ["pending", "running"]}])
    listed = sum(len(r["Instances"]) for p in pages for r in p["Reservations"])
    times["list"] = time.process_time() - start
    assert listed >= n
    start = time.process_time()
    for instance_id in ids:
        ec2.terminate_instances(InstanceIds=[instance_id])
    times["delete"] = time.process_time() - start
    return times


class Canned:
    """The floor: answers every Compute call with a fixed body of the right kind."""

    def __init__(self, instance: str, operation: str, listing: str) -> None:
        self.instance = instance.encode()
        self.operation = operation.encode()
        self.listing = listing.encode()

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse,
                 ) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        if method != "GET":
            payload = self.operation
        elif path.endswith("/instances"):
            payload = self.listing
        else:
            payload = self.instance
        start_response("200 OK", [("Content-Type", "application/json; charset=utf-8"),
                                  ("Content-Length", str(len(payload)))])
        return [payload]


class Routed:
    """A started GcpFake (for the environment and token endpoint) with Compute routed to
    ``app``: the same transport path for the fake and the floor."""

    def __init__(self, fake: GcpFake, app: Any) -> None:
        self.fake = fake
        self.interceptor = Interceptor({COMPUTE_URL: app, TOKEN_URL: fake.token_app})

    def __enter__(self) -> compute_v1.InstancesClient:
        self.fake.start()
        self.interceptor.install()
        return compute_v1.InstancesClient()

    def __exit__(self, *exc: object) -> None:
        self.interceptor.uninstall()
        self.fake.stop()


def capture_bodies(n: int) -> Canned:
    """Real bodies from the fake: one instance, one operation, a list of ``n`` instances."""
    fake = GcpFake()
    fake.seed_instances(n, project=PROJECT, zone=ZONE, name_prefix="cap",
                        labels={"app": "bench"})
    app_client = Client(fake.app)
    base = f"/compute/v1/projects/{PROJECT}/zones/{ZONE}/instances"
    listing = app_client.get(base).get_data(as_text=True)
    instance = app_client.get(f"{base}/cap-000000").get_data(as_text=True)
    operation = app_client.post(f"{base}/cap-000000/stop").get_data(as_text=True)
    return Canned(instance, operation, listing)


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds else float("inf")


def bench_mix(n: int, rounds: int, warmup: int = 1,
              ) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Median and best (least disturbed) seconds per phase and op over ``rounds`` rounds,
    after ``warmup`` untimed ones (first runs of a code path are slower in CPython 3.11+)."""
    canned = capture_bodies(n)
    results: dict[str, list[dict[str, float]]] = {"fake": [], "floor": [], "moto": []}
    for r in range(-warmup, rounds):
        fake = GcpFake()
        fake.app.project(PROJECT)  # the default network exists before timing
        with Routed(fake, fake.app) as client:
            gc.collect()
            results["fake"].append(gce_mix(client, n, f"f{r}"))
        with Routed(GcpFake(), canned) as client:
            gc.collect()
            results["floor"].append(gce_mix(client, n, f"c{r}"))
        with mock_cloud(["aws"]):  # installs its own Interceptor: not nested with Routed
            ec2 = boto3.client("ec2", region_name="us-east-1")
            image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
            ec2.describe_instances()  # moto's lazy start-up is not timed
            gc.collect()
            results["moto"].append(moto_mix(ec2, image, n))
    medians: dict[str, dict[str, float]] = {}
    bests: dict[str, dict[str, float]] = {}
    for phase, runs in results.items():
        runs = runs[warmup:]
        medians[phase] = {op: statistics.median(run[op] for run in runs) for op in OPS}
        medians[phase]["mix"] = statistics.median(sum(run.values()) for run in runs)
        bests[phase] = {op: min(run[op] for run in runs) for op in OPS}
        bests[phase]["mix"] = min(sum(run.values()) for run in runs)
    return medians, bests


def timed(fn: Callable[[], object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        gc.collect()
        start = time.process_time()
        fn()
        samples.append(time.process_time() - start)
    return statistics.median(samples)


def bench_scaling(big: int, gets: int) -> tuple[float, float]:
    """get-by-name ops/s with 100 and with ``big`` instances stored."""
    rates = []
    for count in (100, big):
        fake = GcpFake()
        names = fake.seed_instances(count, project=PROJECT, zone=ZONE, name_prefix="s")
        picks = [names[(i * 7919) % count] for i in range(gets)]
        with Routed(fake, fake.app) as client:
            client.get(project=PROJECT, zone=ZONE, instance=picks[0])  # token fetched

            def run(client: compute_v1.InstancesClient = client,
                    picks: list[str] = picks) -> None:
                for name in picks:
                    client.get(project=PROJECT, zone=ZONE, instance=name)

            rates.append(rate(gets, timed(run, 3)))
    return rates[0], rates[1]


def bench_label_filter(big: int, every: int, page: int) -> tuple[float, float, int]:
    """Seconds to the first page of a label-filtered list over ``big`` instances where one in
    ``every`` matches: through the client, and at the WSGI app alone; and the page length."""
    fake = GcpFake()
    fake.seed_instances(big, project=PROJECT, zone=ZONE, name_prefix="l",
                        labels=lambda i: {"team": "blue" if i % every == 0 else "red"})
    request = compute_v1.ListInstancesRequest(project=PROJECT, zone=ZONE,
                                              filter="labels.team=blue", max_results=page)
    app_client = Client(fake.app)
    url = (f"/compute/v1/projects/{PROJECT}/zones/{ZONE}/instances"
           f"?filter=labels.team%3Dblue&maxResults={page}")
    app_seconds = timed(lambda: app_client.get(url).get_data(), 5)
    with Routed(fake, fake.app) as client:
        client.list(request=request)
        length = len(client.list(request=request)._response.items)
        sdk_seconds = timed(lambda: client.list(request=request), 5)
    return sdk_seconds, app_seconds, length


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--big", type=int, default=10_000)
    args = parser.parse_args()

    medians, bests = bench_mix(args.n, args.rounds)
    print(f"Instance mix, N={args.n}, median of {args.rounds} rounds after 1 warm-up (ops/s; "
          "'best': fastest round of each phase)")
    print(f"{'op':<8}{'fake':>10}{'floor':>10}{'moto':>10}{'fake/floor time':>18}"
          f"{'(best)':>8}{'fake/moto ops/s':>18}")
    for op in (*OPS, "mix"):
        count = {"list": 1, "mix": args.n * 3 + 1}.get(op, args.n)
        f, c, m = (rate(count, medians[p][op]) for p in ("fake", "floor", "moto"))
        print(f"{op:<8}{f:>10.0f}{c:>10.0f}{m:>10.0f}"
              f"{medians['fake'][op] / medians['floor'][op]:>18.2f}"
              f"{bests['fake'][op] / bests['floor'][op]:>8.2f}{f / m:>18.1f}")

    small, large = bench_scaling(args.big, 500)
    print(f"\nget by name: {small:.0f} ops/s with 100 stored, {large:.0f} ops/s with "
          f"{args.big} stored (ratio {large / small:.2f})")
    for every, page in ((100, 500), (2, 500), (2, 50)):
        sdk, app, length = bench_label_filter(args.big, every, page)
        print(f"list filter labels.team=blue over {args.big} ({100 // every}% match, "
              f"maxResults={page}): first page of {length} in {sdk * 1000:.1f} ms through the "
              f"client, {app * 1000:.1f} ms in the fake alone")
    print(json.dumps({"note": "ops/s = operations / median seconds"}))


if __name__ == "__main__":
    main()
