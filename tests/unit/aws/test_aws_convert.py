"""EC2 dicts → portable records."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from unicompute._models import VMState, VolumeState
from unicompute.providers.aws import convert


def instance(**overrides: Any) -> Any:
    base: dict[str, Any] = {
        "InstanceId": "i-0123456789abcdef0",
        "InstanceType": "t3.micro",
        "ImageId": "ami-0c0ffee0000000004",
        "State": {"Code": 16, "Name": "running"},
        "Placement": {"AvailabilityZone": "us-east-1b"},
        "PrivateIpAddress": "172.31.0.4",
        "PublicIpAddress": "54.1.2.3",
        "LaunchTime": datetime(2024, 10, 4, tzinfo=UTC),
        "Tags": [
            {"Key": "Name", "Value": "web-1"},
            {"Key": "app", "Value": "web"},
            {"Key": "unicompute:managed", "Value": "true"},
            {"Key": "unicompute:sg", "Value": "sg-1"},
        ],
    }
    base.update(overrides)
    return base


@pytest.mark.parametrize(
    ("native", "portable"),
    [
        ("pending", VMState.PENDING),
        ("running", VMState.RUNNING),
        ("stopping", VMState.STOPPING),
        ("stopped", VMState.STOPPED),
        ("shutting-down", VMState.TERMINATING),
        ("terminated", VMState.TERMINATED),
        ("rebooting-sideways", VMState.UNKNOWN),
    ],
)
def test_state_map(native: str, portable: VMState) -> None:
    assert convert.vm_info(instance(State={"Name": native})).state is portable


def test_state_map_inverts_for_filters() -> None:
    assert convert.EC2_STATES[VMState.TERMINATING] == "shutting-down"
    assert set(convert.EC2_STATES.values()) == set(convert.VM_STATES)


def test_vm_info_fields_and_tags() -> None:
    raw = instance()
    info = convert.vm_info(raw)
    assert info.id == "i-0123456789abcdef0"
    assert info.name == "web-1"
    assert (info.size, info.image, info.zone) == ("t3.micro", "ami-0c0ffee0000000004", "us-east-1b")
    assert (info.private_ip, info.public_ip) == ("172.31.0.4", "54.1.2.3")
    assert info.launched_at == datetime(2024, 10, 4, tzinfo=UTC)
    # Name is the name; the security-group bookkeeping tag is internal.
    assert dict(info.tags) == {"app": "web", "unicompute:managed": "true"}
    assert info.spot is False
    assert info.key_name is None  # launched without a key pair
    assert info.raw is raw
    assert convert.vm_info(instance(KeyName="deploy")).key_name == "deploy"


def test_vm_without_tags_or_ips() -> None:
    info = convert.vm_info(
        instance(Tags=None, PublicIpAddress=None, PrivateIpAddress=None, InstanceLifecycle="spot")
    )
    assert info.name == ""
    assert dict(info.tags) == {}
    assert info.public_ip is None and info.private_ip is None
    assert info.spot is True


def test_volume_and_snapshot() -> None:
    raw = {
        "VolumeId": "vol-1",
        "Size": 8,
        "AvailabilityZone": "us-east-1a",
        "State": "in-use",
        "Attachments": [{"InstanceId": "i-1", "State": "attached", "Device": "/dev/sdf"}],
        "Tags": [{"Key": "Name", "Value": "data"}, {"Key": "app", "Value": "db"}],
    }
    vol = convert.volume(raw)  # type: ignore[arg-type]
    assert (vol.id, vol.name, vol.size_gib, vol.zone) == ("vol-1", "data", 8, "us-east-1a")
    assert vol.state is VolumeState.IN_USE
    assert vol.attached_to == "i-1"
    assert dict(vol.tags) == {"app": "db"}
    detaching = {
        **raw,
        "State": "available",
        "Attachments": [{"InstanceId": "i-1", "State": "detached"}],
    }
    assert convert.volume(detaching).attached_to is None  # type: ignore[arg-type]
    snap = convert.snapshot(
        {"SnapshotId": "snap-1", "VolumeId": "vol-1", "VolumeSize": 8, "State": "pending"}
    )
    assert (snap.id, snap.volume_id, snap.size_gib, snap.state) == ("snap-1", "vol-1", 8, "pending")


def test_size_conversion() -> None:
    raw: Any = {
        "InstanceType": "g4dn.12xlarge",
        "VCpuInfo": {"DefaultVCpus": 48},
        "MemoryInfo": {"SizeInMiB": 196608},
        "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
        "GpuInfo": {"Gpus": [{"Count": 3}, {"Count": 1}]},
    }
    size = convert.size(raw, 3.912)
    assert (size.name, size.vcpus, size.memory_gib, size.gpus) == ("g4dn.12xlarge", 48, 192.0, 4)
    assert (size.family, size.arch, size.hourly_price, size.provider) == (
        "g4dn",
        "x86_64",
        3.912,
        "aws",
    )
    assert convert.arch_of(["i386", "x86_64"]) == "x86_64"
    assert convert.arch_of(["arm64"]) == "arm64"
    assert convert.arch_of(["arm64_mac"]) == "arm64_mac"


def test_image_conversion() -> None:
    win = convert.image(
        {
            "ImageId": "ami-1",
            "Name": "Windows_Server-2022",
            "Platform": "windows",
            "Architecture": "x86_64",
        },
        alias="windows-2022",
    )
    assert (win.os, win.arch, win.alias) == ("windows", "x86_64", "windows-2022")
    linux = convert.image({"ImageId": "ami-2", "Name": "debian", "Architecture": "arm64"})
    assert (linux.os, linux.arch, linux.alias) == ("linux", "arm64", None)


def test_request_pieces() -> None:
    assert convert.tag_list({"a": "1"}) == [{"Key": "a", "Value": "1"}]
    assert convert.tag_filters({"a": "1", "b": "2"}) == [
        {"Name": "tag:a", "Values": ["1"]},
        {"Name": "tag:b", "Values": ["2"]},
    ]
    assert convert.tags_of({"Tags": [{"Key": "k", "Value": "v"}]}) == {"k": "v"}


def test_tag_filter_values_are_literal() -> None:
    # EC2 reads * and ? in filter values as wildcards; a backslash escapes them and itself.
    assert convert.tag_filters({"app": "web*", "q": "a?", "path": "C:\\x"}) == [
        {"Name": "tag:app", "Values": ["web\\*"]},
        {"Name": "tag:q", "Values": ["a\\?"]},
        {"Name": "tag:path", "Values": ["C:\\\\x"]},
    ]
