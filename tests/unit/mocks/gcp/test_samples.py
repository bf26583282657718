"""Google's Python samples for Compute Engine, run unchanged against the fake."""

from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.cloud import compute_v1

from unicompute.mocks.gcp import GcpFake

from .conftest import ZONE, create_vm, vm_resource


def test_default_credentials_and_project_work_inside_the_mock(gcp: GcpFake, project: str
                                                               ) -> None:
    import google.auth

    _, found = google.auth.default()
    assert found == project == "unicompute-fake"
    # a client built with no arguments reaches the fake and its list starts empty
    client = compute_v1.InstancesClient()
    assert list(client.list(project=project, zone=ZONE)) == []
    assert gcp.app.requests[-1].path == f"/compute/v1/projects/{project}/zones/{ZONE}/instances"


def test_create_instance_from_image_family_sample(gcp: GcpFake, project: str) -> None:
    images = compute_v1.ImagesClient()
    image = images.get_from_family(project="debian-cloud", family="debian-12")
    assert image.name.startswith("debian-12-bookworm-v") and not image.deprecated.state
    vm = create_vm(project, "sample-vm", image=image.self_link, labels={"env": "test"})
    assert vm.status == "RUNNING"
    assert vm.machine_type.endswith(f"/zones/{ZONE}/machineTypes/e2-medium")
    nic = vm.network_interfaces[0]
    assert nic.network_i_p == "10.128.0.2"  # first host of us-central1's auto-mode range
    assert nic.access_configs[0].nat_i_p
    assert vm.id >= 10**18  # a 19-digit int64, sent as a JSON string
    boot = compute_v1.DisksClient().get(project=project, zone=ZONE, disk="sample-vm")
    assert boot.source_image == image.self_link and boot.users == [vm.self_link]
    assert boot.size_gb == 10 and boot.type_.endswith("/diskTypes/pd-balanced")
    second = create_vm(project, "sample-vm-2", external_ip=False)
    assert second.network_interfaces[0].network_i_p == "10.128.0.3"
    assert not second.network_interfaces[0].access_configs


def test_stop_start_reset_and_delete_sample(gcp: GcpFake, project: str) -> None:
    create_vm(project, "power")
    client = compute_v1.InstancesClient()
    client.stop(project=project, zone=ZONE, instance="power").result()
    stopped = client.get(project=project, zone=ZONE, instance="power")
    assert stopped.status == "TERMINATED"
    assert not stopped.network_interfaces[0].access_configs[0].nat_i_p  # ephemeral IP released
    with pytest.raises(exceptions.BadRequest) as caught:
        client.reset(project=project, zone=ZONE, instance="power").result()
    assert caught.value.errors[0]["reason"] == "resourceNotReady"
    client.start(project=project, zone=ZONE, instance="power").result()
    assert client.get(project=project, zone=ZONE, instance="power").status == "RUNNING"
    client.reset(project=project, zone=ZONE, instance="power").result()
    client.delete(project=project, zone=ZONE, instance="power").result()
    with pytest.raises(exceptions.NotFound):
        client.get(project=project, zone=ZONE, instance="power")
    # the auto-delete boot disk went with it
    with pytest.raises(exceptions.NotFound):
        compute_v1.DisksClient().get(project=project, zone=ZONE, disk="power")


def test_set_labels_and_metadata_enforce_fingerprints(gcp: GcpFake, project: str) -> None:
    vm = create_vm(project, "fp", labels={"a": "1"})
    client = compute_v1.InstancesClient()
    request = compute_v1.InstancesSetLabelsRequest(labels={"a": "2", "b": "x"},
                                                   label_fingerprint=vm.label_fingerprint)
    client.set_labels(project=project, zone=ZONE, instance="fp",
                      instances_set_labels_request_resource=request).result()
    updated = client.get(project=project, zone=ZONE, instance="fp")
    assert dict(updated.labels) == {"a": "2", "b": "x"}
    assert updated.label_fingerprint != vm.label_fingerprint
    with pytest.raises(exceptions.PreconditionFailed) as caught:  # the old fingerprint is stale
        client.set_labels(project=project, zone=ZONE, instance="fp",
                          instances_set_labels_request_resource=request)
    assert caught.value.errors[0]["reason"] == "conditionNotMet"

    metadata = updated.metadata
    metadata.items = [compute_v1.Items(key="startup-script", value="#!/bin/sh\necho hi")]
    client.set_metadata(project=project, zone=ZONE, instance="fp",
                        metadata_resource=metadata).result()
    after = client.get(project=project, zone=ZONE, instance="fp").metadata
    assert [(i.key, i.value) for i in after.items] == [("startup-script", "#!/bin/sh\necho hi")]
    assert after.fingerprint != updated.metadata.fingerprint
    with pytest.raises(exceptions.PreconditionFailed):
        client.set_metadata(project=project, zone=ZONE, instance="fp",
                            metadata_resource=metadata)


def test_set_machine_type_needs_a_stopped_instance(gcp: GcpFake, project: str) -> None:
    create_vm(project, "resize")
    client = compute_v1.InstancesClient()
    request = compute_v1.InstancesSetMachineTypeRequest(
        machine_type=f"zones/{ZONE}/machineTypes/n2-standard-4")
    with pytest.raises(exceptions.BadRequest) as caught:
        client.set_machine_type(project=project, zone=ZONE, instance="resize",
                                instances_set_machine_type_request_resource=request)
    # GCE's words (hashicorp/terraform-provider-google#7101) and reason
    assert caught.value.errors[0]["message"] == (
        "Invalid resource usage: 'Instance should be in the STOPPED state.'.")
    assert caught.value.errors[0]["reason"] == "invalidResourceUsage"
    client.stop(project=project, zone=ZONE, instance="resize").result()
    client.set_machine_type(project=project, zone=ZONE, instance="resize",
                            instances_set_machine_type_request_resource=request).result()
    vm = client.get(project=project, zone=ZONE, instance="resize")
    assert vm.machine_type.endswith("/machineTypes/n2-standard-4")


def test_disks_snapshots_and_attachment(gcp: GcpFake, project: str) -> None:
    create_vm(project, "host")
    disks = compute_v1.DisksClient()
    disks.insert(project=project, zone=ZONE, disk_resource=compute_v1.Disk(
        name="data", size_gb=50, type_=f"zones/{ZONE}/diskTypes/pd-ssd")).result()
    client = compute_v1.InstancesClient()
    client.attach_disk(project=project, zone=ZONE, instance="host",
                       attached_disk_resource=compute_v1.AttachedDisk(
                           source=f"projects/{project}/zones/{ZONE}/disks/data")).result()
    vm = client.get(project=project, zone=ZONE, instance="host")
    assert [d.device_name for d in vm.disks] == ["persistent-disk-0", "data"]
    assert disks.get(project=project, zone=ZONE, disk="data").users == [vm.self_link]
    with pytest.raises(exceptions.BadRequest) as caught:  # in use: cannot delete
        disks.delete(project=project, zone=ZONE, disk="data")
    assert caught.value.errors[0]["reason"] == "resourceInUseByAnotherResource"

    disks.create_snapshot(project=project, zone=ZONE, disk="data",
                          snapshot_resource=compute_v1.Snapshot(name="data-snap")).result()
    snapshots = compute_v1.SnapshotsClient()
    snap = snapshots.get(project=project, snapshot="data-snap")
    assert snap.status == "READY" and snap.disk_size_gb == 50
    assert [s.name for s in snapshots.list(project=project)] == ["data-snap"]
    disks.insert(project=project, zone=ZONE, disk_resource=compute_v1.Disk(
        name="restored", source_snapshot=snap.self_link)).result()
    assert disks.get(project=project, zone=ZONE, disk="restored").size_gb == 50

    client.detach_disk(project=project, zone=ZONE, instance="host", device_name="data").result()
    assert not disks.get(project=project, zone=ZONE, disk="data").users
    disks.delete(project=project, zone=ZONE, disk="data").result()
    snapshots.delete(project=project, snapshot="data-snap").result()
    assert list(snapshots.list(project=project)) == []


def test_default_network_subnets_and_firewalls(gcp: GcpFake, project: str) -> None:
    network = compute_v1.NetworksClient().get(project=project, network="default")
    assert network.auto_create_subnetworks
    subnet = compute_v1.SubnetworksClient().get(project=project, region="europe-west1",
                                                subnetwork="default")
    assert subnet.ip_cidr_range == "10.132.0.0/20" and subnet.gateway_address == "10.132.0.1"
    firewalls = compute_v1.FirewallsClient()
    names = [f.name for f in firewalls.list(project=project)]
    assert "default-allow-ssh" in names
    rule = compute_v1.Firewall(
        name="allow-web", network="global/networks/default", target_tags=["web"],
        allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=["80", "443"])])
    firewalls.insert(project=project, firewall_resource=rule).result()
    created = firewalls.get(project=project, firewall="allow-web")
    assert created.source_ranges == ["0.0.0.0/0"] and created.priority == 1000
    firewalls.patch(project=project, firewall="allow-web", firewall_resource=compute_v1.Firewall(
        allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=["8080"])])).result()
    assert firewalls.get(project=project, firewall="allow-web").allowed[0].ports == ["8080"]
    firewalls.delete(project=project, firewall="allow-web").result()
    with pytest.raises(exceptions.NotFound):
        firewalls.get(project=project, firewall="allow-web")


def test_custom_network_needs_subnetwork_and_allocates_from_it(gcp: GcpFake, project: str
                                                               ) -> None:
    compute_v1.NetworksClient().insert(project=project, network_resource=compute_v1.Network(
        name="custom", auto_create_subnetworks=False)).result()
    subnets = compute_v1.SubnetworksClient()
    subnets.insert(project=project, region="us-central1",
                   subnetwork_resource=compute_v1.Subnetwork(
                       name="apps", network="global/networks/custom",
                       ip_cidr_range="192.168.10.0/24")).result()
    with pytest.raises(exceptions.BadRequest):  # overlapping range
        subnets.insert(project=project, region="us-central1",
                       subnetwork_resource=compute_v1.Subnetwork(
                           name="dup", network="global/networks/custom",
                           ip_cidr_range="192.168.10.128/25"))
    client = compute_v1.InstancesClient()
    body = vm_resource("custom-vm")
    body.network_interfaces = [compute_v1.NetworkInterface(network="global/networks/custom")]
    with pytest.raises(exceptions.BadRequest) as caught:
        client.insert(project=project, zone=ZONE, instance_resource=body)
    assert "Subnetwork should be specified" in caught.value.message
    body.network_interfaces = [compute_v1.NetworkInterface(
        subnetwork="regions/us-central1/subnetworks/apps")]
    client.insert(project=project, zone=ZONE, instance_resource=body).result()
    vm = client.get(project=project, zone=ZONE, instance="custom-vm")
    assert vm.network_interfaces[0].network_i_p == "192.168.10.2"
    assert vm.network_interfaces[0].network.endswith("/global/networks/custom")


def test_catalog_machine_types_zones_regions_images(gcp: GcpFake, project: str) -> None:
    types = compute_v1.MachineTypesClient()
    a2 = types.get(project=project, zone=ZONE, machine_type="a2-highgpu-1g")
    assert (a2.guest_cpus, a2.memory_mb) == (12, 87040)
    assert a2.accelerators[0].guest_accelerator_type == "nvidia-tesla-a100"
    micro = types.get(project=project, zone=ZONE, machine_type="e2-micro")
    assert micro.is_shared_cpu and micro.memory_mb == 1024
    names = {t.name for t in types.list(project=project, zone=ZONE)}
    assert {"e2-standard-2", "n2-standard-8", "n2d-highcpu-16", "c3-standard-4",
            "m3-ultramem-32", "g2-standard-4"} <= names
    assert "a2-highgpu-1g" not in {t.name for t in types.list(project=project,
                                                              zone="us-east1-c")}
    zones = {z.name for z in compute_v1.ZonesClient().list(project=project)}
    assert {"us-central1-f", "us-east1-b", "europe-west1-d"} <= zones
    region = compute_v1.RegionsClient().get(project=project, region="us-central1")
    assert sorted(z.rsplit("/", 1)[-1] for z in region.zones) == [
        "us-central1-a", "us-central1-b", "us-central1-c", "us-central1-f"]
    images = compute_v1.ImagesClient()
    for project_name, family in [("ubuntu-os-cloud", "ubuntu-2404-lts-amd64"),
                                 ("ubuntu-os-cloud", "ubuntu-2204-lts"),
                                 ("rocky-linux-cloud", "rocky-linux-9"),
                                 ("windows-cloud", "windows-2022"),
                                 ("debian-cloud", "debian-12-arm64")]:
        image = images.get_from_family(project=project_name, family=family)
        assert image.family == family
    assert images.get_from_family(project="debian-cloud",
                                  family="debian-12-arm64").architecture == "ARM64"
    with pytest.raises(exceptions.NotFound):
        images.get_from_family(project="debian-cloud", family="debian-99")
