"""Bad requests get GCE's status, reason and message, and leave nothing behind."""

from __future__ import annotations

from typing import Any

import pytest
from google.api_core import exceptions
from google.cloud import compute_v1

from unicompute.mocks.gcp import GcpFake

from .conftest import ZONE, create_vm, vm_resource


def _nothing_created(project: str) -> None:
    assert list(compute_v1.InstancesClient().list(project=project, zone=ZONE)) == []
    assert list(compute_v1.DisksClient().list(project=project, zone=ZONE)) == []


def _insert(project: str, body: compute_v1.Instance) -> Any:
    return compute_v1.InstancesClient().insert(project=project, zone=ZONE,
                                               instance_resource=body)


@pytest.mark.parametrize(("change", "error", "reason", "message"), [
    ({"machine_type": f"zones/{ZONE}/machineTypes/e2-huge"}, exceptions.BadRequest, "invalid",
     "Machine type with name 'e2-huge' does not exist in zone 'us-central1-a'."),
    ({"machine_type": f"zones/{ZONE}/machineTypes/a2-highgpu-1g", "zone_hint": "us-east1-c"},
     exceptions.BadRequest, "invalid", "does not exist in zone"),
    ({"image": "projects/debian-cloud/global/images/family/debian-99"}, exceptions.NotFound,
     "notFound", "The resource 'projects/debian-cloud/global/images/family/debian-99' was not "
     "found"),
    ({"network": "global/networks/nope"}, exceptions.NotFound, "notFound",
     "global/networks/nope' was not found"),
    ({"name": "Bad_Name"}, exceptions.BadRequest, "invalid",
     "Invalid value for field 'resource.name': 'Bad_Name'"),
    ({"labels": {"Env": "x"}}, exceptions.BadRequest, "invalid", "Label key 'Env'"),
    ({"image": "projects/debian-cloud/global/images/family/debian-12-arm64"},
     exceptions.BadRequest, "invalidResourceUsage", "architecture (ARM64)"),
])
def test_bad_insert_is_rejected_synchronously_and_creates_nothing(
        gcp: GcpFake, project: str, change: dict[str, Any], error: type[Exception],
        reason: str, message: str) -> None:
    kwargs: dict[str, Any] = {k: v for k, v in change.items()
                              if k in ("machine", "image", "labels")}
    name = change.get("name", "vm")
    body = vm_resource(name, **kwargs)
    if "machine_type" in change:
        zone = change.get("zone_hint", ZONE)
        body.machine_type = change["machine_type"].replace(ZONE, zone)
    if "network" in change:
        body.network_interfaces[0].network = change["network"]
    zone = change.get("zone_hint", ZONE)
    with pytest.raises(error) as caught:
        compute_v1.InstancesClient().insert(project=project, zone=zone, instance_resource=body)
    assert caught.value.errors[0]["reason"] == reason
    assert message in caught.value.message
    _nothing_created(project)


def test_duplicate_name_is_409_already_exists(gcp: GcpFake, project: str) -> None:
    create_vm(project, "twin")
    with pytest.raises(exceptions.Conflict) as caught:
        _insert(project, vm_resource("twin"))
    assert caught.value.errors[0]["reason"] == "alreadyExists"
    assert len(list(compute_v1.InstancesClient().list(project=project, zone=ZONE))) == 1


def test_spot_scheduling_is_checked_and_defaults_like_gce(gcp: GcpFake, project: str) -> None:
    body = vm_resource("spot", scheduling=compute_v1.Scheduling(provisioning_model="SPOT"))
    _insert(project, body).result()
    vm = compute_v1.InstancesClient().get(project=project, zone=ZONE, instance="spot")
    assert vm.scheduling.provisioning_model == "SPOT"
    assert vm.scheduling.on_host_maintenance == "TERMINATE"
    assert vm.scheduling.automatic_restart is False
    bad = vm_resource("spot2", scheduling=compute_v1.Scheduling(
        provisioning_model="SPOT", automatic_restart=True))
    with pytest.raises(exceptions.BadRequest):
        _insert(project, bad)


def test_metadata_value_over_256_kib_is_rejected(gcp: GcpFake, project: str) -> None:
    body = vm_resource("big", metadata=compute_v1.Metadata(items=[
        compute_v1.Items(key="startup-script", value="x" * (256 * 1024 + 1))]))
    with pytest.raises(exceptions.BadRequest) as caught:
        _insert(project, body)
    assert "startup-script" in caught.value.message
    _nothing_created(project)


def test_unknown_zone_and_public_project_writes(gcp: GcpFake, project: str) -> None:
    client = compute_v1.InstancesClient()
    with pytest.raises(exceptions.NotFound) as caught:
        client.get(project=project, zone="us-central1-z", instance="x")
    assert caught.value.message.endswith(f"'projects/{project}/zones/us-central1-z' was not found")
    with pytest.raises(exceptions.Forbidden):
        client.insert(project="debian-cloud", zone=ZONE, instance_resource=vm_resource("x"))


def test_failed_operation_raises_from_result_and_undoes_the_insert(gcp: GcpFake, project: str,
                                                                   ) -> None:
    gcp.faults.fail_next("operation:instances_insert", status=403, code="QUOTA_EXCEEDED",
                         message="Quota 'CPUS' exceeded.  Limit: 24.0 in region us-central1.")
    operation = _insert(project, vm_resource("quota"))
    with pytest.raises(exceptions.Forbidden) as caught:
        operation.result()
    assert "Quota 'CPUS' exceeded" in str(caught.value)
    _nothing_created(project)
    # the IP went back to the pool
    assert create_vm(project, "next").network_interfaces[0].network_i_p == "10.128.0.2"


def test_faults_by_endpoint_fail_the_call(gcp: GcpFake, project: str) -> None:
    gcp.faults.fail_next("instances_get", status=503, code="backendError", message="try again")
    with pytest.raises(exceptions.ServiceUnavailable):
        compute_v1.InstancesClient().get(project=project, zone=ZONE, instance="x", retry=None)
    assert gcp.faults.calls("instances_get") == 1


def test_throttling_is_answered_as_gce_rate_limits(gcp: GcpFake, project: str) -> None:
    gcp.faults.throttle("instances_list")
    with pytest.raises(exceptions.Forbidden) as caught:
        list(compute_v1.InstancesClient().list(project=project, zone=ZONE, retry=None))
    assert caught.value.errors == [{"message": "Rate Limit Exceeded", "domain": "usageLimits",
                                    "reason": "rateLimitExceeded"}]


def test_delete_protection_and_disk_in_use(gcp: GcpFake, project: str) -> None:
    create_vm(project, "guarded", deletion_protection=True)
    with pytest.raises(exceptions.BadRequest) as caught:
        compute_v1.InstancesClient().delete(project=project, zone=ZONE, instance="guarded")
    assert "protected against deletion" in caught.value.message
    disk = compute_v1.DisksClient().get(project=project, zone=ZONE, disk="guarded")
    other = vm_resource("thief")
    other.disks = [compute_v1.AttachedDisk(boot=True, source=disk.self_link)]
    with pytest.raises(exceptions.BadRequest) as used:
        _insert(project, other)
    assert used.value.errors[0]["reason"] == "resourceInUseByAnotherResource"


def _boot(**kwargs: Any) -> compute_v1.AttachedDisk:
    return compute_v1.AttachedDisk(auto_delete=True, **kwargs)


_IMAGE = compute_v1.AttachedDiskInitializeParams(
    source_image="projects/debian-cloud/global/images/family/debian-12")


@pytest.mark.parametrize(("disks", "field", "message"), [
    # the boot disk second, or no disk marked boot: GCE names the offending entry
    # (googleapis/nodejs-compute#518)
    ([_boot(initialize_params=_IMAGE),
      _boot(boot=True, initialize_params=_IMAGE)],
     "resource.disks[0]", "Boot disk must be the first disk attached to the instance."),
    ([_boot(boot=True, initialize_params=_IMAGE),
      _boot(boot=True, initialize_params=compute_v1.AttachedDiskInitializeParams(
          disk_size_gb=10))],
     "resource.disks[1]", "Boot disk must be the first disk attached to the instance."),
    # both a source and initializeParams (hashicorp/terraform-provider-google#658)
    ([_boot(boot=True, source="zones/us-central1-a/disks/d", initialize_params=_IMAGE)],
     "resource.disks[0]", "Cannot specify both 'source' and 'initializeParams'"),
    # a new boot disk from nothing (googleapis/google-api-go-client#249)
    ([_boot(boot=True, initialize_params=compute_v1.AttachedDiskInitializeParams(
        disk_size_gb=10))],
     "resource.disks[0].initializeParams", "Source image must be specified."),
])
def test_bad_disk_lists_get_gces_messages_and_create_nothing(
        gcp: GcpFake, project: str, disks: list[compute_v1.AttachedDisk], field: str,
        message: str) -> None:
    body = vm_resource("disky")
    body.disks = disks
    with pytest.raises(exceptions.BadRequest) as caught:
        _insert(project, body)
    assert caught.value.errors[0]["reason"] == "invalid"
    text = caught.value.errors[0]["message"]
    assert text.startswith(f"Invalid value for field '{field}': '")
    assert text.endswith(f"'. {message}")
    _nothing_created(project)
