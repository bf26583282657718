"""Tags ↔ labels, states and record converters of the GCP provider (no API calls)."""

from __future__ import annotations

import pytest
from google.cloud import compute_v1

from unicompute import VMState, VolumeState
from unicompute import _errors as errors
from unicompute.providers.gcp import convert


@pytest.mark.parametrize(
    ("tag", "label"),
    [
        ("unicompute:managed", "unicompute--managed"),
        ("app", "app"),
        ("cost_center", "cost_center"),
        ("team-a:owner", "team-a--owner"),
        ("a:b:c", "a--b--c"),
    ],
)
def test_tag_keys_map_to_label_keys_and_back(tag: str, label: str) -> None:
    assert convert.label_problem(tag, "v") is None
    assert convert.labels({tag: "v"}) == {label: "v"}
    assert convert.tags_of({label: "v"}) == {tag: "v"}


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("App", "web"),  # upper case
        ("1app", "web"),  # starts with a digit
        ("a--b", "x"),  # would read back as a:b
        ("a-:b", "x"),  # a---b reads back as a:-b
        ("a.b/c", "x"),
        ("k" * 64, "x"),
        ("app", "Web"),
        ("app", "v" * 64),
        ("app", "a b"),
    ],
)
def test_tags_that_cannot_be_labels_are_rejected_naming_the_tag(key: str, value: str) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        convert.check_labels({key: value})
    assert caught.value.field == "tags"
    assert repr(key) in caught.value.message


def test_managed_label_and_filter() -> None:
    assert convert.managed_labels({"app": "web"}) == {"app": "web", "unicompute--managed": "true"}
    assert convert.label_filter({"b": "2", "a:x": "1"}) == (
        'labels.a--x = "1" AND labels.b = "2"')
    assert convert.label_filter({}) == ""


def test_internal_labels_are_hidden_from_tags() -> None:
    found = {"unicompute--root": "true", "unicompute--firewall": "uc-x", "app": "web"}
    assert convert.tags_of(found) == {"app": "web"}


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("PROVISIONING", VMState.PENDING),
        ("STAGING", VMState.PENDING),
        ("RUNNING", VMState.RUNNING),
        ("STOPPING", VMState.STOPPING),
        ("TERMINATED", VMState.STOPPED),
        ("SUSPENDED", VMState.STOPPED),
        ("SOMETHING_NEW", VMState.UNKNOWN),
    ],
)
def test_instance_status_maps_to_portable_state(status: str, state: VMState) -> None:
    instance = compute_v1.Instance(name="vm", status=status, zone="zones/us-central1-a")
    assert convert.vm_info(instance).state is state


def test_vm_info_reads_everything_a_user_sees() -> None:
    instance = compute_v1.Instance.from_json("""{
      "name": "web-1", "id": "123", "status": "RUNNING",
      "zone": "https://www.googleapis.com/compute/v1/projects/p/zones/us-central1-b",
      "machineType": "https://www.googleapis.com/compute/v1/projects/p/zones/us-central1-b/machineTypes/e2-micro",
      "creationTimestamp": "2024-05-01T12:00:00.000-07:00",
      "labels": {"app": "web", "unicompute--managed": "true", "unicompute--firewall": "uc-web-1"},
      "scheduling": {"provisioningModel": "SPOT"},
      "metadata": {"items": [{"key": "unicompute-image",
                              "value": "projects/debian-cloud/global/images/debian-12-x"}]},
      "networkInterfaces": [{"networkIP": "10.128.0.2",
                             "accessConfigs": [{"type": "ONE_TO_ONE_NAT", "natIP": "34.1.2.3"}]}]
    }""", ignore_unknown_fields=False)
    info = convert.vm_info(instance)
    assert info.id == "us-central1-b/web-1"
    assert info.zone == "us-central1-b"
    assert info.size == "e2-micro"
    assert info.image == "projects/debian-cloud/global/images/debian-12-x"
    assert (info.private_ip, info.public_ip) == ("10.128.0.2", "34.1.2.3")
    assert info.tags == {"app": "web", "unicompute:managed": "true"}
    assert info.spot is True
    assert info.launched_at is not None and info.launched_at.utcoffset() is not None
    assert info.raw is instance


def test_disk_users_make_a_volume_in_use() -> None:
    disk = compute_v1.Disk(
        name="data", size_gb=8, status="READY", zone="projects/p/zones/us-central1-a",
        users=["https://www.googleapis.com/compute/v1/projects/p/zones/us-central1-a/instances/vm"])
    volume = convert.volume(disk)
    assert volume.id == "us-central1-a/data"
    assert volume.state is VolumeState.IN_USE
    assert volume.attached_to == "us-central1-a/vm"
    disk.users = []
    assert convert.volume(disk).state is VolumeState.AVAILABLE


def test_machine_type_size_and_arch() -> None:
    item = compute_v1.MachineType(name="a2-highgpu-1g", guest_cpus=12, memory_mb=87040,
                                  accelerators=[compute_v1.Accelerators(
                                      guest_accelerator_count=1,
                                      guest_accelerator_type="nvidia-tesla-a100")])
    size = convert.size(item, 3.67)
    assert (size.vcpus, size.memory_gib, size.gpus, size.family, size.arch) == (
        12, 85.0, 1, "a2", "x86_64")
    arm = convert.size(compute_v1.MachineType(name="t2a-standard-1", guest_cpus=1,
                                              memory_mb=4096), None)
    assert arm.arch == "arm64"
    assert convert.size(compute_v1.MachineType(name="x-1", architecture="ARM64"), None).arch == (
        "arm64")


def test_image_id_is_its_path() -> None:
    item = compute_v1.Image(
        name="ubuntu-2404-noble-amd64-v20240523", architecture="X86_64",
        family="ubuntu-2404-lts-amd64",
        self_link="https://www.googleapis.com/compute/v1/projects/ubuntu-os-cloud/global/images/"
                  "ubuntu-2404-noble-amd64-v20240523")
    image = convert.image(item, alias="ubuntu-24.04")
    assert image.id == "projects/ubuntu-os-cloud/global/images/ubuntu-2404-noble-amd64-v20240523"
    assert (image.arch, image.os, image.alias) == ("x86_64", "linux", "ubuntu-24.04")
    windows = convert.image(compute_v1.Image(
        name="windows-server-2022-dc-v1", self_link="projects/windows-cloud/global/images/w"))
    assert windows.os == "windows"
