"""What the portable layer costs over calling boto3 directly, on the in-process AWS fake.

Each operation is timed both ways, interleaved in the same run (the machine is noisy; absolute
times drift, ratios taken side by side do not), and the ratio unicompute / boto3 is printed.

    .venv/bin/python benchmarks/bench_portable_overhead.py [--vms 200] [--rounds 5]

* ``list``: every VM of the region (boto3: the describe_instances paginator; unicompute: the lazy
  ``cloud.vms.list()`` iterator, which converts each instance to a portable VM).
* ``get``: one VM by id.
* ``launch+terminate``: one VM with a firewall for port 80 (boto3: create a security group,
  authorize the port, run the instance, terminate it, delete the group — what unicompute does
  for the user; unicompute adds validation and resolving the image alias).

A full garbage collection runs before each timed call, and what the set-up made is frozen out
of the collector: a collection scanning the fakes' state costs ~0.15 s and would otherwise land
in whichever side happened to allocate past the threshold.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable

import boto3

import unicompute as uc
from unicompute.mocks import mock_cloud

REGION = "us-east-1"


def best_of(rounds: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with mock_cloud(), uc.connect("aws", region=REGION) as cloud:
        ec2 = boto3.client("ec2", region_name=REGION)
        size = cloud.vms.size("t3.micro")
        image = cloud.vms.image("ubuntu-24.04")
        for batch in range(0, args.vms, 50):
            cloud.vms.launch(uc.VMSpec(name=f"bench-{batch}", size=size, image=image.id),
                             count=min(50, args.vms - batch))
        one = next(cloud.vms.list())

        def raw_list() -> int:
            pages = ec2.get_paginator("describe_instances").paginate(
                Filters=[{"Name": "instance-state-name",
                          "Values": ["pending", "running", "stopping", "stopped"]}])
            return sum(len(r["Instances"]) for p in pages for r in p["Reservations"])

        def raw_launch() -> None:
            vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])
            group = ec2.create_security_group(GroupName="raw-bench", Description="bench",
                                              VpcId=vpc["Vpcs"][0]["VpcId"])["GroupId"]
            ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
                 "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
            done = ec2.run_instances(ImageId=image.id, InstanceType="t3.micro", MinCount=1,
                                     MaxCount=1, SecurityGroupIds=[group])
            vm_id = done["Instances"][0]["InstanceId"]
            ec2.terminate_instances(InstanceIds=[vm_id])
            ec2.get_waiter("instance_terminated").wait(InstanceIds=[vm_id])
            ec2.delete_security_group(GroupId=group)

        def uc_launch() -> None:
            cloud.vms.launch(uc.VMSpec(name="uc-bench", size=size, image="ubuntu-24.04",
                                       open_ports=[80])).terminate()

        cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
            ("list", raw_list, lambda: sum(1 for _ in cloud.vms.list())),
            ("get", lambda: ec2.describe_instances(InstanceIds=[one.id]),
             lambda: cloud.vms.get(one.id)),
            ("launch+terminate", raw_launch, uc_launch),
        ]
        assert raw_list() == sum(1 for _ in cloud.vms.list()) == args.vms
        # Move what the set-up made (the fakes' catalogs, moto's state) out of the collector's
        # reach: otherwise a full collection scanning it lands in whichever side runs next.
        gc.collect()
        gc.freeze()
        print(f"{'operation':<18} {'boto3 s':>9} {'unicompute s':>13} {'ratio':>6}")
        for name, raw, portable in cases:
            raw_s, uc_s = [], []
            for _ in range(args.rounds):  # interleaved, so drift hits both sides alike
                gc.collect()
                raw_s.append(best_of(1, raw))
                gc.collect()
                uc_s.append(best_of(1, portable))
            r, u = statistics.median(raw_s), statistics.median(uc_s)
            print(f"{name:<18} {r:>9.4f} {u:>13.4f} {u / r:>6.2f}")


if __name__ == "__main__":
    main()
