"""Stepped operations: states move with polls and with the fake clock; the library's own
``ExtendedOperation`` polling and explicit operation clients both reach the fake."""

from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.cloud import compute_v1

from unicompute.mocks.gcp import GcpFake

from .conftest import ZONE, vm_resource


def test_instant_mode_needs_no_poll(gcp: GcpFake, project: str) -> None:
    operation = compute_v1.InstancesClient().insert(project=project, zone=ZONE,
                                                    instance_resource=vm_resource("quick"))
    assert operation.done()  # already DONE in the first response
    operation.result()
    endpoints = [r.endpoint for r in gcp.app.requests]
    assert "zone_operations_get" not in endpoints and "zone_operations_wait" not in endpoints


def test_stepped_insert_moves_through_gce_states_by_polls(gcp: GcpFake, project: str) -> None:
    gcp.operations.mode = "stepped"
    gcp.operations.polls_to_finish = 2
    gcp.operations.step_seconds = 60
    instances = compute_v1.InstancesClient()
    operations = compute_v1.ZoneOperationsClient()
    op = instances.insert_unary(project=project, zone=ZONE,
                                instance_resource=vm_resource("slow"))
    assert op.status == compute_v1.Operation.Status.RUNNING
    assert instances.get(project=project, zone=ZONE, instance="slow").status == "PROVISIONING"
    polled = operations.get(project=project, zone=ZONE, operation=op.name)
    assert polled.status == compute_v1.Operation.Status.RUNNING
    assert instances.get(project=project, zone=ZONE, instance="slow").status == "STAGING"
    done = operations.get(project=project, zone=ZONE, operation=op.name)
    assert done.status == compute_v1.Operation.Status.DONE and done.progress == 100
    assert instances.get(project=project, zone=ZONE, instance="slow").status == "RUNNING"

    stop = instances.stop_unary(project=project, zone=ZONE, instance="slow")
    assert instances.get(project=project, zone=ZONE, instance="slow").status == "STOPPING"
    gcp.clock.advance(60)  # time alone finishes it
    assert instances.get(project=project, zone=ZONE, instance="slow").status == "TERMINATED"
    final = operations.get(project=project, zone=ZONE, operation=stop.name)
    assert final.status == compute_v1.Operation.Status.DONE
    listed = [o.name for o in operations.list(project=project, zone=ZONE)]
    assert sorted(listed) == sorted([op.name, stop.name])


def test_wait_returns_done_when_the_operation_finishes_within_two_minutes(
        gcp: GcpFake, project: str) -> None:
    gcp.operations.mode = "stepped"
    gcp.operations.polls_to_finish = 10**6  # only time finishes them
    gcp.operations.step_seconds = 90
    instances = compute_v1.InstancesClient()
    operations = compute_v1.ZoneOperationsClient()
    op = instances.insert_unary(project=project, zone=ZONE, instance_resource=vm_resource("w"))
    # GCE's wait blocks up to 2 minutes until DONE: an operation due in 90 s comes back DONE
    done = operations.wait(project=project, zone=ZONE, operation=op.name)
    assert done.status == compute_v1.Operation.Status.DONE and done.progress == 100
    assert instances.get(project=project, zone=ZONE, instance="w").status == "RUNNING"
    assert gcp.clock.time() == 0  # the fake clock is the test's: wait does not move it


def test_wait_returns_running_for_an_operation_due_after_the_window(
        gcp: GcpFake, project: str) -> None:
    gcp.operations.mode = "stepped"
    gcp.operations.polls_to_finish = 10**6
    gcp.operations.step_seconds = 600
    operations = compute_v1.GlobalOperationsClient()
    op = compute_v1.FirewallsClient().insert_unary(
        project=project, firewall_resource=compute_v1.Firewall(
            name="allow-web", network="global/networks/default",
            allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=["80"])]))
    late = operations.wait(project=project, operation=op.name)
    assert late.status == compute_v1.Operation.Status.RUNNING  # as GCE after two minutes
    gcp.clock.advance(480)  # now due within the next two minutes
    done = operations.wait(project=project, operation=op.name)
    assert done.status == compute_v1.Operation.Status.DONE


def test_extended_operation_result_polls_the_fake_in_process(gcp: GcpFake, project: str,
                                                              ) -> None:
    gcp.operations.mode = "stepped"
    gcp.operations.polls_to_finish = 1
    operation = compute_v1.InstancesClient().insert(project=project, zone=ZONE,
                                                    instance_resource=vm_resource("polled"))
    assert operation.status == compute_v1.Operation.Status.RUNNING  # the first response
    operation.result(timeout=10)  # polls through the library's own ZoneOperationsClient
    assert gcp.faults.calls("zone_operations_get") == 1
    vm = compute_v1.InstancesClient().get(project=project, zone=ZONE, instance="polled")
    assert vm.status == "RUNNING"


def test_global_and_region_operations(gcp: GcpFake, project: str) -> None:
    gcp.operations.mode = "stepped"
    op = compute_v1.FirewallsClient().insert_unary(
        project=project, firewall_resource=compute_v1.Firewall(
            name="fw", allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=["22"])]))
    global_ops = compute_v1.GlobalOperationsClient()
    assert global_ops.get(project=project, operation=op.name).status == (
        compute_v1.Operation.Status.RUNNING)
    assert global_ops.wait(project=project, operation=op.name).status == (
        compute_v1.Operation.Status.DONE)
    compute_v1.NetworksClient().insert_unary(project=project, network_resource=compute_v1.Network(
        name="custom", auto_create_subnetworks=False))
    gcp.operations.finish_all()
    sub = compute_v1.SubnetworksClient().insert_unary(
        project=project, region="us-east1", subnetwork_resource=compute_v1.Subnetwork(
            name="s", network="global/networks/custom", ip_cidr_range="10.0.0.0/24"))
    region_ops = compute_v1.RegionOperationsClient()
    region_ops.wait(project=project, region="us-east1", operation=sub.name)
    assert region_ops.get(project=project, region="us-east1", operation=sub.name).status == (
        compute_v1.Operation.Status.DONE)
    with pytest.raises(exceptions.NotFound):
        region_ops.get(project=project, region="us-east1", operation="operation-nope")


def test_finished_operations_are_kept_up_to_a_bound_then_unknown(
        gcp: GcpFake, project: str) -> None:
    assert gcp.operations.keep_finished == 10_000  # a long-lived fake does not grow forever
    gcp.operations.keep_finished = 2
    instances = compute_v1.InstancesClient()
    operations = compute_v1.ZoneOperationsClient()
    names = [instances.insert_unary(project=project, zone=ZONE,
                                    instance_resource=vm_resource(f"vm-{i}")).name
             for i in range(3)]
    with pytest.raises(exceptions.NotFound) as caught:
        operations.get(project=project, zone=ZONE, operation=names[0], retry=None)
    assert caught.value.errors[0]["reason"] == "notFound"
    assert f"projects/{project}/zones/{ZONE}/operations/{names[0]}" in caught.value.message
    with pytest.raises(exceptions.NotFound):
        operations.wait(project=project, zone=ZONE, operation=names[0], retry=None)
    listed = [op.name for op in operations.list(project=project, zone=ZONE)]
    assert sorted(listed) == sorted(names[1:])
    assert operations.get(project=project, zone=ZONE, operation=names[2]).name == names[2]


def test_running_operations_are_never_forgotten(gcp: GcpFake, project: str) -> None:
    gcp.operations.keep_finished = 1
    gcp.operations.mode = "stepped"
    gcp.operations.step_seconds = 60
    gcp.operations.polls_to_finish = 100
    instances = compute_v1.InstancesClient()
    operations = compute_v1.ZoneOperationsClient()
    slow = instances.insert_unary(project=project, zone=ZONE, instance_resource=vm_resource("a"))
    gcp.operations.mode = "instant"
    for name in ("b", "c"):
        instances.insert_unary(project=project, zone=ZONE, instance_resource=vm_resource(name))
    assert operations.get(project=project, zone=ZONE, operation=slow.name).status == \
        compute_v1.Operation.Status.RUNNING


def test_a_deleted_operation_is_unknown(gcp: GcpFake, project: str) -> None:
    operations = compute_v1.ZoneOperationsClient()
    op = compute_v1.InstancesClient().insert_unary(project=project, zone=ZONE,
                                                   instance_resource=vm_resource("vm"))
    operations.delete(project=project, zone=ZONE, operation=op.name)
    with pytest.raises(exceptions.NotFound):
        operations.get(project=project, zone=ZONE, operation=op.name, retry=None)
    with pytest.raises(exceptions.NotFound):
        operations.delete(project=project, zone=ZONE, operation=op.name, retry=None)
