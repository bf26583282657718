"""Persistent disks and snapshots on the fake; and the provider over ``mock-server``'s HTTP
endpoint with stepped operations (the ``ExtendedOperation`` trap: polls must reach the same
endpoint)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from google.cloud import compute_v1

import unicompute as uc
from unicompute import _errors as errors
from unicompute.mocks.gcp import FAKE_PROJECT, GcpFake


def test_volume_lifecycle(cloud: uc.Cloud, project: str) -> None:
    vm = cloud.vms.launch(uc.VMSpec(name="host-1", size="e2-small", image="debian-12",
                                    tags={"run": "v1"}, zone="us-central1-b"))
    volume = cloud.volumes.create(10, name="data-1", zone="us-central1-b",
                                  tags={"run": "v1", "team:owner": "ops"})
    assert volume.id == "us-central1-b/data-1"
    assert volume.tags == {"run": "v1", "team:owner": "ops", "unicompute:managed": "true"}
    # The VM's boot disk carries the same run tag but is not a volume.
    assert [v.id for v in cloud.volumes.list(tags={"run": "v1"})] == [volume.id]
    attached = cloud.volumes.attach(volume.id, vm.id, device="data")
    assert attached.attached_to == vm.id
    raw = compute_v1.InstancesClient().get(project=project, zone="us-central1-b",
                                           instance="host-1")
    assert "data" in [d.device_name for d in raw.disks]
    with pytest.raises(errors.Conflict):
        cloud.volumes.delete(volume.id)
    assert cloud.volumes.detach(volume.id).attached_to is None
    with pytest.raises(errors.Conflict):
        cloud.volumes.detach(volume.id)
    snap = cloud.volumes.snapshot(volume.id, name="data-snap", tags={"run": "v1"})
    assert snap.id.startswith("data-snap-") and snap.volume_id == volume.id
    assert [s.id for s in cloud.volumes.snapshots(tags={"run": "v1"})] == [snap.id]
    cloud.volumes.delete_snapshot(snap.id)
    cloud.volumes.delete(volume.id)
    assert cloud.volumes.list(tags={"run": "v1"}) == []
    with pytest.raises(errors.NotFound):
        cloud.volumes.get(volume.id)
    with pytest.raises(errors.NotFound):
        cloud.volumes.get("not-a-volume-id")


def test_volume_tags_that_cannot_be_labels_are_rejected(cloud: uc.Cloud, fake: GcpFake) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        cloud.volumes.create(10, name="data-2", tags={"Owner": "x"})
    assert caught.value.field == "tags"
    assert fake.faults.calls("disks_insert") == 0


@pytest.fixture
def served() -> Iterator[tuple[GcpFake, str]]:
    fake = GcpFake()
    url = fake.serve()
    try:
        yield fake, url
    finally:
        fake.shutdown_server()


def test_over_mock_server_with_stepped_operations(served: tuple[GcpFake, str]) -> None:
    fake, url = served
    fake.operations.mode = "stepped"
    with uc.connect("gcp", region="us-central1", project=FAKE_PROJECT, endpoint_url=url,
                    poll_interval=0) as cloud:
        cloud.poller = uc.Poller(interval=0, sleep=lambda _: None)
        vm = cloud.vms.launch(uc.VMSpec(name="remote-1", size="e2-small",
                                        image="ubuntu-24.04", open_ports=[443]))
        assert vm.id == "us-central1-a/remote-1"
        vm.wait_until(uc.VMState.RUNNING, timeout=30)
        vm.terminate(timeout=30)
        with pytest.raises(errors.NotFound):
            cloud.vms.get(vm.id)
    waits = [r.path for r in fake.app.requests if r.path.endswith("/wait")]
    assert waits, "stepped operations must have been polled through the served endpoint"


def test_an_operation_that_never_finishes_times_out(
    served: tuple[GcpFake, str]
) -> None:
    fake, url = served
    fake.operations.mode = "stepped"
    fake.operations.polls_to_finish = 10**6
    fake.operations.step_seconds = 10**9  # not even a wait (up to 2 min of fake time) ends it
    with uc.connect("gcp", region="us-central1", project=FAKE_PROJECT, endpoint_url=url,
                    poll_interval=0) as cloud:
        ctx = cloud._ctx.drivers.compute._ctx  # type: ignore[attr-defined]
        ctx.wait_timeout = 0.2
        with pytest.raises(errors.Timeout) as caught:
            cloud.vms.launch(uc.VMSpec(name="slow-1", size="e2-small", image="debian-12"))
        assert "not done after 0.2 s" in caught.value.message


@pytest.mark.parametrize(("device", "zone", "field"), [
    ("/dev/sdf", "us-central1-a", "device"),
    ("Data", "us-central1-a", "device"),
    ("data", "us-central1-b", "vm_id"),
])
def test_attach_arguments_gce_refuses_are_rejected_before_any_call(
        cloud: uc.Cloud, fake: GcpFake, device: str, zone: str, field: str) -> None:
    vm = cloud.vms.launch(uc.VMSpec(name="host-2", size="e2-small", image="debian-12",
                                    zone="us-central1-a"))
    volume = cloud.volumes.create(10, name="data-3", zone=zone)
    with pytest.raises(errors.InvalidRequest) as caught:
        cloud.volumes.attach(volume.id, vm.id, device=device)
    assert caught.value.field == field
    assert fake.faults.calls("instances_attach_disk") == 0
    assert cloud.volumes.get(volume.id).attached_to is None
