"""Launch undo at each step and terminate's cleanup under concurrency and interruption: what
launch created goes, nothing else, and a second terminate finishes what the first left."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from google.api_core import exceptions as core
from google.cloud import compute_v1
from werkzeug.wrappers import Request, Response

import unicompute as uc
from unicompute import _errors as errors
from unicompute.mocks._kernel import HttpError
from unicompute.mocks.gcp import GcpFake
from unicompute.providers.gcp import network, operations

ZONE = "us-central1-a"


def spec(name: str = "web", **changes: Any) -> uc.VMSpec:
    return uc.VMSpec(name=name, size="e2-small", image="debian-12", **changes)


def instance_names(project: str) -> list[str]:
    pager = compute_v1.InstancesClient().aggregated_list(project=project)
    return sorted(i.name for _, scoped in pager for i in scoped.instances)


def rule_names(project: str) -> list[str]:
    found = compute_v1.FirewallsClient().list(project=project)
    return sorted(r.name for r in found if not r.name.startswith("default-"))


def disk_names(project: str) -> list[str]:
    pager = compute_v1.DisksClient().aggregated_list(project=project)
    return sorted(d.name for _, scoped in pager for d in scoped.disks)


def nothing_left(project: str) -> None:
    assert instance_names(project) == rule_names(project) == disk_names(project) == []


def test_a_refused_firewall_insert_leaves_nothing(cloud: uc.Cloud, fake: GcpFake,
                                                  project: str) -> None:
    fake.faults.fail_next("firewalls_insert", status=403, code="forbidden",
                          message="Required 'compute.firewalls.create' permission")
    with pytest.raises(errors.PermissionDenied):
        cloud.vms.launch(spec(open_ports=[80]))
    nothing_left(project)


def test_a_failed_firewall_operation_leaves_nothing(cloud: uc.Cloud, fake: GcpFake,
                                                    project: str) -> None:
    fake.faults.fail_next("operation:firewalls_insert", status=403, code="QUOTA_EXCEEDED",
                          message="Quota 'FIREWALLS' exceeded.  Limit: 100.0 globally.")
    with pytest.raises(errors.QuotaExceeded):
        cloud.vms.launch(spec(open_ports=[80]), count=2)
    nothing_left(project)


def test_an_interrupted_firewall_wait_removes_the_rule(
        cloud: uc.Cloud, project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real_wait = operations.wait

    def interrupted(ctx: Any, op: compute_v1.Operation, **kwargs: Any) -> Any:
        if op.operation_type == "insert" and "/firewalls/" in op.target_link:
            raise KeyboardInterrupt  # Ctrl-C after GCE accepted the rule
        return real_wait(ctx, op, **kwargs)

    monkeypatch.setattr(network.operations, "wait", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cloud.vms.launch(spec(open_ports=[80]))
    monkeypatch.setattr(network.operations, "wait", real_wait)
    nothing_left(project)


def test_a_refused_second_insert_removes_the_first_vm_and_the_rule(
        cloud: uc.Cloud, fake: GcpFake, project: str) -> None:
    real_insert = fake.app.instances_insert
    calls: list[str] = []

    def second_refused(request: Request, project: str, zone: str) -> Response:
        calls.append(zone)
        if len(calls) == 2:
            raise HttpError(403, "quotaExceeded",
                            "Quota 'CPUS' exceeded.  Limit: 2.0 in region us-central1.")
        answer: Response = real_insert(request, project, zone)
        return answer

    fake.app.instances_insert = second_refused  # type: ignore[method-assign]
    with pytest.raises(errors.QuotaExceeded):
        cloud.vms.launch(spec(open_ports=[80]), count=3)
    assert len(calls) == 2
    nothing_left(project)


def test_a_failed_second_operation_removes_every_vm_and_the_rule(
        cloud: uc.Cloud, fake: GcpFake, project: str) -> None:
    fake.operations.mode = "stepped"
    first = cloud.vms.launch(spec("other"))  # a VM of another launch stays
    fake.faults.fail_next("operation:instances_insert", status=503,
                          code="ZONE_RESOURCE_POOL_EXHAUSTED", message="no room")
    with pytest.raises(errors.CapacityUnavailable):
        cloud.vms.launch(spec(open_ports=[80]), count=3)
    assert instance_names(project) == [first.name]
    assert rule_names(project) == []
    assert disk_names(project) == [first.name]


def test_the_last_of_concurrent_terminates_deletes_the_launch_rule(
        cloud: uc.Cloud, fake: GcpFake, project: str, monkeypatch: pytest.MonkeyPatch) -> None:
    vms = cloud.vms.launch(spec(open_ports=[80]), count=2)
    assert len(rule_names(project)) == 1
    fake.operations.mode = "stepped"  # deletions take time: each sees the other VM at first
    barrier = threading.Barrier(2, timeout=10)
    real_in_use = network.rule_in_use

    def in_step(*args: Any, **kwargs: Any) -> bool:
        barrier.wait()  # both deletions accepted before either looks
        found: bool = real_in_use(*args, **kwargs)
        barrier.wait()  # and both looked before either goes on
        return found

    monkeypatch.setattr(network, "rule_in_use", in_step)
    failures: list[BaseException] = []

    def terminate(vm: uc.VM) -> None:
        try:
            vm.terminate(timeout=30)
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=terminate, args=(vm,)) for vm in vms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert failures == []
    nothing_left(project)


def test_a_second_terminate_deletes_the_rule_a_failed_one_left(
        cloud: uc.Cloud, fake: GcpFake, project: str) -> None:
    vm = cloud.vms.launch(spec(open_ports=[80]))
    kept = cloud.vms.launch(spec("keep", open_ports=[22]))
    fake.faults.fail_next("firewalls_delete", status=403, code="forbidden",
                          message="Required 'compute.firewalls.delete' permission")
    with pytest.raises(errors.PermissionDenied):
        vm.terminate()
    assert instance_names(project) == ["keep"]  # the VM went, its rule stayed
    assert len(rule_names(project)) == 2
    vm.terminate()
    assert rule_names(project) == [r for r in rule_names(project) if r.startswith("uc-keep-")]
    assert len(rule_names(project)) == 1
    assert [(r.protocol, r.port_from) for r in kept.inbound_rules()] == [("tcp", 22)]


def test_terminating_a_vm_never_launched_deletes_no_rule_in_use(
        cloud: uc.Cloud, project: str) -> None:
    cloud.vms.launch(spec(open_ports=[80]), count=2)  # web-1, web-2: rule of launch "web"
    rules = rule_names(project)
    compute = cloud._ctx.drivers.compute  # type: ignore[attr-defined]
    for missing in ("web", "web-3", "web-1x"):
        with pytest.raises(core.NotFound):
            compute.terminate_vm(f"{ZONE}/{missing}")
    assert rule_names(project) == rules
