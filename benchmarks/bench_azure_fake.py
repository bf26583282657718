"""What the ARM fake costs, through the official azure-mgmt-compute client, side by side with
the SDK's own floor and with boto3 on moto.

    /tmp/venv/bin/python benchmarks/bench_azure_fake.py [--vms 200] [--rounds 3] [--big 10000]

* **fake**: create (``begin_create_or_update(...).result()``), get, list (every page) and delete
  ``--vms`` VMs on the in-process ARM fake (``mock_cloud(["azure"])``).
* **floor**: the same calls answered by a canned WSGI app (fixed bodies taken from the fake, no
  state, no routing) behind the same ``Interceptor``: what the SDK and transport cost alone.
* **moto**: the same mix through boto3 EC2 (``run_instances``, ``describe_instances`` by id,
  the ``describe_instances`` paginator, ``terminate_instances``) on the in-process AWS fake.
* **get at scale**: get-by-id through the SDK on a fake with ``--big`` VMs seeded straight into
  the store (``AzureFake.seed_vms``) and on one with 100, both alive, in alternating batches.

A full garbage collection runs before each timed phase (moto's state makes one cost
~0.1 s, which would land in whichever side crossed the threshold). A round runs every side once,
interleaved (the machine is noisy; ratios taken side by side are
stable); the median round is printed. A mix counts one op per create, get and delete and one
per full listing.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from azure.core.credentials import AccessToken
from azure.mgmt.compute import ComputeManagementClient
from azure.mgmt.compute import models as cm
from azure.mgmt.network import NetworkManagementClient
from azure.mgmt.network import models as nm
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.resource.resources import models as rm

from unicompute.mocks import mock_cloud
from unicompute.mocks._kernel import Interceptor
from unicompute.mocks.azure import SUBSCRIPTION_ID, AzureFake

LOCATION = "eastus"
RG = "bench"


class StaticToken:
    """A TokenCredential that never calls AAD (the same for fake and floor)."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("bench", 2**31 - 1)


def compute_client() -> ComputeManagementClient:
    return ComputeManagementClient(StaticToken(), SUBSCRIPTION_ID, retry_total=0)


def vm_body(nic_id: str) -> cm.VirtualMachine:
    return cm.VirtualMachine(
        location=LOCATION, hardware_profile=cm.HardwareProfile(vm_size="Standard_B1s"),
        storage_profile=cm.StorageProfile(
            image_reference=cm.ImageReference(publisher="Canonical", offer="ubuntu-24_04-lts",
                                              sku="server", version="latest"),
            os_disk=cm.OSDisk(create_option="FromImage", delete_option="Delete")),
        os_profile=cm.OSProfile(computer_name="bench", admin_username="azureuser",
                                admin_password="Bench-Passw0rd!"),
        network_profile=cm.NetworkProfile(network_interfaces=[
            cm.NetworkInterfaceReference(id=nic_id)]))


def azure_mix(compute: ComputeManagementClient, nic_ids: list[str]) -> dict[str, float]:
    """Seconds per phase for create/get/list/delete of one VM per NIC."""
    out: dict[str, float] = {}
    names = [f"vm-{i}" for i in range(len(nic_ids))]
    gc.collect()  # a full collection must not land inside one side's phase
    start = time.perf_counter()
    for name, nic in zip(names, nic_ids, strict=True):
        compute.virtual_machines.begin_create_or_update(RG, name, vm_body(nic)).result()
    out["create"] = time.perf_counter() - start
    gc.collect()  # a full collection must not land inside one side's phase
    start = time.perf_counter()
    for name in names:
        compute.virtual_machines.get(RG, name)
    out["get"] = time.perf_counter() - start
    gc.collect()  # a full collection must not land inside one side's phase
    start = time.perf_counter()
    listed = sum(1 for _ in compute.virtual_machines.list(RG))
    out["list"] = time.perf_counter() - start
    gc.collect()  # a full collection must not land inside one side's phase
    start = time.perf_counter()
    for name in names:
        compute.virtual_machines.begin_delete(RG, name).result()
    out["delete"] = time.perf_counter() - start
    out["listed"] = listed
    return out


def make_nics(count: int) -> list[str]:
    """A group, VNet and ``count`` NICs on the running fake, through the SDK."""
    cred = StaticToken()
    ResourceManagementClient(cred, SUBSCRIPTION_ID).resource_groups.create_or_update(
        RG, rm.ResourceGroup(location=LOCATION))
    net = NetworkManagementClient(cred, SUBSCRIPTION_ID)
    net.virtual_networks.begin_create_or_update(RG, "vnet", nm.VirtualNetwork(
        location=LOCATION, address_space=nm.AddressSpace(address_prefixes=["10.0.0.0/16"]),
        subnets=[nm.Subnet(name="s", address_prefix="10.0.0.0/20")])).result()
    subnet = net.subnets.get(RG, "vnet", "s").id
    return [net.network_interfaces.begin_create_or_update(RG, f"nic-{i}", nm.NetworkInterface(
        location=LOCATION, ip_configurations=[nm.NetworkInterfaceIPConfiguration(
            name="c", subnet=nm.Subnet(id=subnet))])).result().id for i in range(count)]


def fake_round(count: int) -> tuple[dict[str, float], dict[str, bytes]]:
    """One mix on a fresh fake; also returns sample bodies for the floor."""
    with mock_cloud(["azure"]) as mock:
        nics = make_nics(count)
        times = azure_mix(compute_client(), nics)
        fake = mock.fake("azure")
        compute_client().virtual_machines.begin_create_or_update(RG, "sample",
                                                                  vm_body(nics[0])).result()
        vm = fake.app.stores["Microsoft.Compute/virtualMachines"].values()[0].body
        page_size = fake.app.page_size
    samples = {"vm": json.dumps(vm).encode(),
               "page": json.dumps({"value": [vm] * min(count, page_size)}).encode()}
    return times, samples


class CannedArm:
    """The floor: answers every VM call with a fixed body, knowing nothing."""

    def __init__(self, samples: dict[str, bytes]) -> None:
        self.samples = samples

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        method = environ["REQUEST_METHOD"]
        if method == "DELETE":
            start_response("200 OK", [("Content-Length", "0")])
            return [b""]
        listing = environ["PATH_INFO"].lower().endswith("/virtualmachines")
        body = self.samples["page" if listing else "vm"]
        status = "201 Created" if method == "PUT" else "200 OK"
        start_response(status, [("Content-Type", "application/json; charset=utf-8"),
                                ("Content-Length", str(len(body)))])
        return [body]


def floor_round(count: int, samples: dict[str, bytes], page_size: int) -> dict[str, float]:
    interceptor = Interceptor({"https://management.azure.com": CannedArm(samples)})
    interceptor.install()
    try:
        nic = (f"/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{RG}/providers/"
               "Microsoft.Network/networkInterfaces/nic-0")
        times = azure_mix(compute_client(), [nic] * count)
        # the canned list has one page; charge the floor for the fake's page count
        times["list"] *= max(1, -(-count // page_size))
        return times
    finally:
        interceptor.uninstall()


def moto_round(count: int) -> dict[str, float]:
    import boto3

    with mock_cloud(["aws"]):
        ec2 = boto3.client("ec2", region_name="us-east-1")
        image = ec2.describe_images(Owners=["099720109477"])["Images"][0]["ImageId"]  # Canonical
        ec2.describe_instances()  # moto builds the region before the clock starts
        out: dict[str, float] = {}
        gc.collect()  # a full collection must not land inside one side's phase
        start = time.perf_counter()
        ids = [ec2.run_instances(ImageId=image, InstanceType="t3.micro", MinCount=1,
                                 MaxCount=1)["Instances"][0]["InstanceId"] for _ in range(count)]
        out["create"] = time.perf_counter() - start
        gc.collect()  # a full collection must not land inside one side's phase
        start = time.perf_counter()
        for vm_id in ids:
            ec2.describe_instances(InstanceIds=[vm_id])
        out["get"] = time.perf_counter() - start
        gc.collect()  # a full collection must not land inside one side's phase
        start = time.perf_counter()
        pages = ec2.get_paginator("describe_instances").paginate()
        out["listed"] = sum(len(r["Instances"]) for p in pages for r in p["Reservations"])
        out["list"] = time.perf_counter() - start
        gc.collect()  # a full collection must not land inside one side's phase
        start = time.perf_counter()
        for vm_id in ids:
            ec2.terminate_instances(InstanceIds=[vm_id])
        out["delete"] = time.perf_counter() - start
        return out


def get_scaling(big: int, rounds: int, batch: int = 300) -> tuple[float, float, float]:
    """Get-by-id ops/s on a fake holding 100 VMs and on one holding ``big``, both alive at
    once and measured in alternating batches (each round: one batch on each, in turn).

    Returns the median ops/s of each and the median of the per-round ratios big/small.
    """
    fakes = []
    for count in (100, big):
        fake = AzureFake()  # not started: the static token needs no environment
        fake.seed_vms(count, resource_group=RG)
        fakes.append((fake, count, Interceptor(fake.routes())))
    try:
        rates: dict[int, list[float]] = {100: [], big: []}
        for _ in range(rounds):
            for _, count, interceptor in fakes:
                interceptor.install()
                try:
                    compute = compute_client()
                    rng = random.Random(count)
                    names = [f"vm-{rng.randrange(count)}" for _ in range(batch)]
                    compute.virtual_machines.get(RG, names[0])  # connection and token warm
                    gc.collect()  # a full collection must not land inside one side's phase
                    start = time.perf_counter()
                    for name in names:
                        compute.virtual_machines.get(RG, name)
                    rates[count].append(batch / (time.perf_counter() - start))
                finally:
                    interceptor.uninstall()
        ratios = [b / s for s, b in zip(rates[100], rates[big], strict=True)]
        return (statistics.median(rates[100]), statistics.median(rates[big]),
                statistics.median(ratios))
    finally:
        for fake, _, _ in fakes:
            fake.reset()


def median_of(rounds: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}


def ops_per_second(times: dict[str, float], count: int) -> float:
    return (3 * count + 1) / sum(times[k] for k in ("create", "get", "list", "delete"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--big", type=int, default=10_000)
    args = parser.parse_args()
    n = args.vms

    fakes, floors, motos = [], [], []
    for _ in range(args.rounds):
        fake_times, samples = fake_round(n)
        fakes.append(fake_times)
        floors.append(floor_round(n, samples, page_size=50))
        motos.append(moto_round(n))
    fake, floor, moto = median_of(fakes), median_of(floors), median_of(motos)
    assert fake["listed"] == n and moto["listed"] == n, (fake["listed"], moto["listed"])

    print(f"N={n} VMs, median of {args.rounds} interleaved rounds (seconds per phase)")
    print(f"{'phase':<8} {'floor':>8} {'fake':>8} {'moto':>8} {'fake/floor':>11} "
          f"{'moto/fake':>10}")
    for phase in ("create", "get", "list", "delete"):
        print(f"{phase:<8} {floor[phase]:8.3f} {fake[phase]:8.3f} {moto[phase]:8.3f} "
              f"{fake[phase] / floor[phase]:11.2f} {moto[phase] / fake[phase]:10.2f}")
    fake_ops, floor_ops, moto_ops = (ops_per_second(t, n) for t in (fake, floor, moto))
    print(f"mix ops/s: floor {floor_ops:.0f}, fake {fake_ops:.0f}, moto {moto_ops:.0f}")
    print(f"fake cost vs floor: {floor_ops / fake_ops:.2f}x (target <= 1.25)")
    print(f"fake vs moto ops/s: {fake_ops / moto_ops:.2f}x (target >= 5)")

    small, big, ratio = get_scaling(args.big, max(9, 3 * args.rounds))
    print(f"get-by-id ops/s: N=100 {small:.0f}, N={args.big} {big:.0f}, median ratio "
          f"{ratio:.2f} (target >= 0.8)")


if __name__ == "__main__":
    main()
