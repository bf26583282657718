"""Key pairs, volumes and snapshots against moto (through the AWS fake)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from unicompute import _errors as errors
from unicompute._models import LaunchPlan, Size, VMSpec, VolumeState
from unicompute.driver import MANAGED_TAG, ProviderDrivers
from unicompute.mocks.aws import AwsFake
from unicompute.providers.aws.errors import translate_error
from unicompute.providers.aws.keys import Ec2Keys
from unicompute.providers.aws.volumes import Ec2Volumes

PUBLIC_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGbOUXPPn2D3dkzqbpHwpEXkR1xNuAFrZoDrNRLTsr6R test@uc"
)


@pytest.fixture(scope="module")
def keys(drivers: ProviderDrivers) -> Ec2Keys:
    assert isinstance(drivers.keys, Ec2Keys)
    return drivers.keys


@pytest.fixture(scope="module")
def volumes(drivers: ProviderDrivers) -> Ec2Volumes:
    assert isinstance(drivers.volumes, Ec2Volumes)
    return drivers.volumes


@pytest.fixture
def ec2_client(fake: AwsFake) -> Any:
    return boto3.client("ec2", region_name="us-east-1")


def code_of(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


# -- keys ------------------------------------------------------------------------------------


def test_key_import_list_delete(keys: Ec2Keys, ec2_client: Any, run_id: str) -> None:
    name = f"key-{run_id}"
    key = keys.import_key(name, PUBLIC_KEY)
    assert key.name == name and key.fingerprint and key.id.startswith("key-")
    assert name in {k.name for k in keys.list_keys()}
    described = ec2_client.describe_key_pairs(KeyNames=[name])["KeyPairs"][0]
    assert {t["Key"]: t["Value"] for t in described["Tags"]} == {MANAGED_TAG: "true"}
    with pytest.raises(ClientError) as duplicate:
        keys.import_key(name, PUBLIC_KEY)
    assert isinstance(translate_error(duplicate.value, "keys.import"), errors.AlreadyExists)
    keys.delete_key(name)
    assert name not in {k.name for k in keys.list_keys()}


def test_deleting_a_missing_key_is_not_found(keys: Ec2Keys, run_id: str) -> None:
    # EC2's DeleteKeyPair succeeds for a missing key; the driver must not.
    with pytest.raises(ClientError) as caught:
        keys.delete_key(f"missing-{run_id}")
    assert isinstance(translate_error(caught.value, "keys.delete"), errors.NotFound)


def test_malformed_key_is_invalid_public_key(keys: Ec2Keys, run_id: str) -> None:
    with pytest.raises(ClientError) as caught:
        keys.import_key(f"bad-{run_id}", "ssh-rsa not-base64!!")
    error = translate_error(caught.value, "keys.import")
    assert isinstance(error, errors.InvalidRequest) and error.field == "public_key"


# -- volumes and snapshots -------------------------------------------------------------------


@pytest.fixture
def vm_id(drivers: ProviderDrivers, run_id: str) -> str:
    compute = drivers.compute
    size = Size(name="t3.micro", vcpus=2, memory_gib=1.0)
    image = compute.resolve_image("debian-12", arch="x86_64")
    spec = VMSpec(name=f"vol-{run_id}", size=size, image=image, zone="us-east-1a")
    return compute.launch(LaunchPlan(spec=spec, size=size, image=image, count=1))[0].id


def test_volume_lifecycle(volumes: Ec2Volumes, ec2_client: Any, vm_id: str, run_id: str) -> None:
    tags = {"run": run_id}
    volume = volumes.create_volume(name="data", size_gib=8, zone="us-east-1a", tags=tags)
    assert (volume.name, volume.size_gib, volume.zone) == ("data", 8, "us-east-1a")
    assert volume.state is VolumeState.AVAILABLE
    assert dict(volume.tags) == {"run": run_id, MANAGED_TAG: "true"}
    assert volume.raw["VolumeType"] == "gp3"
    assert [v.id for v in volumes.list_volumes(tags=tags)] == [volume.id]

    volumes.attach_volume(volume.id, vm_id, None)
    attached = volumes.get_volume(volume.id)
    assert attached.attached_to == vm_id and attached.state is VolumeState.IN_USE
    assert attached.raw["Attachments"][0]["Device"] == "/dev/sdf"
    with pytest.raises(ClientError) as in_use:
        volumes.delete_volume(volume.id)
    assert isinstance(translate_error(in_use.value, "volumes.delete"), errors.Conflict)

    second = volumes.create_volume(name="more", size_gib=4, zone="us-east-1a", tags=tags)
    volumes.attach_volume(second.id, vm_id, None)
    assert volumes.get_volume(second.id).raw["Attachments"][0]["Device"] == "/dev/sdg"

    for vol in (volume, second):
        volumes.detach_volume(vol.id)
        detached = volumes.get_volume(vol.id)
        assert detached.attached_to is None and detached.state is VolumeState.AVAILABLE

    with pytest.raises(errors.Conflict):
        volumes.detach_volume(volume.id)

    snap = volumes.create_snapshot(volume.id, name="nightly", tags=tags)
    assert (snap.volume_id, snap.size_gib) == (volume.id, 8)
    assert dict(snap.tags) == {"run": run_id, MANAGED_TAG: "true"}
    assert volumes.get_snapshot(snap.id).id == snap.id
    assert [s.id for s in volumes.list_snapshots(tags=tags)] == [snap.id]
    volumes.delete_snapshot(snap.id)
    assert volumes.list_snapshots(tags=tags) == []

    volumes.delete_volume(volume.id)
    volumes.delete_volume(second.id)
    assert volumes.list_volumes(tags=tags) == []
    with pytest.raises(ClientError) as gone:
        volumes.get_volume(volume.id)
    assert code_of(gone.value) == "InvalidVolume.NotFound"


def test_create_attach_detach_return_without_waiting(
    volumes: Ec2Volumes, vm_id: str, run_id: str
) -> None:
    # The portable layer polls get_volume with the caller's timeout; the driver must not wait.
    calls: list[str] = []
    events = volumes._client.meta.events

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    events.register("before-call.ec2.*", record)
    try:
        volume = volumes.create_volume(name="nowait", size_gib=1, zone="us-east-1a",
                                       tags={"run": run_id})
        assert calls == ["CreateVolume"]
        assert volume.name == "nowait" and dict(volume.tags)["run"] == run_id
        calls.clear()
        volumes.attach_volume(volume.id, vm_id, "/dev/sdh")
        assert calls == ["DescribeInstances", "AttachVolume"]
        calls.clear()
        volumes.detach_volume(volume.id)
        assert calls == ["DescribeVolumes", "DetachVolume"]
    finally:
        events.unregister("before-call.ec2.*", record)
    volumes.delete_volume(volume.id)


def test_attach_to_a_terminated_vm_is_not_found(
    volumes: Ec2Volumes, drivers: ProviderDrivers, vm_id: str, run_id: str
) -> None:
    volume = volumes.create_volume(name="x", size_gib=1, zone="us-east-1a", tags={"run": run_id})
    drivers.compute.terminate_vm(vm_id)
    with pytest.raises(errors.NotFound):
        volumes.attach_volume(volume.id, vm_id, "/dev/sdh")
    volumes.delete_volume(volume.id)


def test_missing_snapshot_and_volume(volumes: Ec2Volumes) -> None:
    with pytest.raises(ClientError) as snap:
        volumes.get_snapshot("snap-0123456789abcdef0")
    assert isinstance(translate_error(snap.value, "volumes.get_snapshot"), errors.NotFound)
    with pytest.raises(ClientError) as vol:
        volumes.get_volume("vol-0123456789abcdef0")
    assert isinstance(translate_error(vol.value, "volumes.get"), errors.NotFound)
