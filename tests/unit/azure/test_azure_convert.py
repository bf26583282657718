"""Converters, ids, tags, options, key parsing and config checks: no fake needed."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from azure.mgmt.compute import models as cm
from azure.mgmt.compute._utils.model_base import _deserialize

from unicompute import _errors as errors
from unicompute._models import VMState, VolumeState
from unicompute.providers.azure import LIMITS, Options, convert, keys, open_provider

SUB = "00000000-0000-0000-0000-0000000fa4e2"
ED25519 = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGbOUXPPn2D3dkzqbpHwpEXkR1xNuAFrZoDrNRLTsr6R "
           "me@host")


def statuses(*codes: str) -> list[Any]:
    return [cm.InstanceViewStatus({"code": code}) for code in codes]


@pytest.mark.parametrize(
    ("codes", "state"),
    [
        (("ProvisioningState/succeeded", "PowerState/running"), VMState.RUNNING),
        (("ProvisioningState/creating",), VMState.PENDING),
        (("ProvisioningState/updating", "PowerState/starting"), VMState.PENDING),
        (("ProvisioningState/succeeded", "PowerState/deallocating"), VMState.STOPPING),
        (("ProvisioningState/succeeded", "PowerState/stopping"), VMState.STOPPING),
        (("ProvisioningState/succeeded", "PowerState/deallocated"), VMState.STOPPED),
        (("ProvisioningState/succeeded", "PowerState/stopped"), VMState.STOPPED),
        (("ProvisioningState/deleting", "PowerState/running"), VMState.TERMINATING),
        (("ProvisioningState/failed/AllocationFailed",), VMState.UNKNOWN),
        ((), VMState.UNKNOWN),
    ],
)
def test_instance_view_statuses_map_to_portable_states(codes: tuple[str, ...],
                                                       state: VMState) -> None:
    assert convert.vm_state(statuses(*codes)) is state


def test_vm_info_from_an_arm_vm() -> None:
    vm = _deserialize(cm.VirtualMachine, {
        "id": f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/"
              "virtualMachines/web-1",
        "name": "web-1", "location": "eastus", "zones": ["2"],
        "tags": {"app": "web", "unicompute:managed": "true", "unicompute:launch": "abc",
                 "unicompute:key": "k1"},
        "properties": {
            "hardwareProfile": {"vmSize": "Standard_B1s"},
            "storageProfile": {"imageReference": {
                "publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                "version": "latest", "exactVersion": "24.04.202502210"}},
            "priority": "Spot", "timeCreated": "2025-01-02T03:04:05+00:00",
        },
    })
    info = convert.vm_info(vm, statuses("PowerState/running"),
                           convert.Addresses("10.0.0.4", "20.1.2.3"))
    assert info.id.endswith("/virtualMachines/web-1")
    assert (info.name, info.size, info.zone) == ("web-1", "Standard_B1s", "2")
    assert info.image == "Canonical:ubuntu-24_04-lts:server:24.04.202502210"
    assert info.tags == {"app": "web", "unicompute:managed": "true"}
    assert info.key_name == "k1"
    assert info.spot is True
    assert info.state is VMState.RUNNING
    assert (info.private_ip, info.public_ip) == ("10.0.0.4", "20.1.2.3")
    assert info.launched_at is not None and info.launched_at.year == 2025
    assert info.raw is vm


@pytest.mark.parametrize(
    ("name", "family", "arch"),
    [
        ("Standard_D2ps_v5", "Dps_v5", "arm64"),
        ("Standard_D2pls_v5", "Dpls_v5", "arm64"),
        ("Standard_B2pts_v2", "Bpts_v2", "arm64"),
        ("Standard_D2s_v5", "Ds_v5", "x86_64"),
        ("Standard_B1ls", "Bls", "x86_64"),
        ("Standard_NC24ads_A100_v4", "NCads_A100_v4", "x86_64"),
        ("Standard_E4-2s_v5", "Es_v5", "x86_64"),
        ("Odd_Name", "Odd_Name", "x86_64"),
    ],
)
def test_size_names_give_family_and_arch(name: str, family: str, arch: str) -> None:
    parsed = convert.parse_size_name(name)
    assert (parsed.family, parsed.arch) == (family, arch)


def test_arm_ids_parse_case_insensitively_and_foreign_ones_are_not_found() -> None:
    vm_id = f"/subscriptions/{SUB}/resourcegroups/RG/providers/microsoft.compute/" \
            "virtualmachines/Web"
    ref = convert.parse_id(vm_id, "Microsoft.Compute/virtualMachines", subscription=SUB,
                           what="VM")
    assert (ref.group, ref.name) == ("RG", "Web")
    for bad in ("i-0123", vm_id.replace(SUB, "11111111-1111-1111-1111-111111111111"),
                vm_id.replace("virtualmachines", "disks")):
        with pytest.raises(errors.NotFound):
            convert.parse_id(bad, "Microsoft.Compute/virtualMachines", subscription=SUB,
                             what="VM")


def test_tags_arm_refuses_are_named() -> None:
    assert convert.tag_problem({"app": "x", "team:owner": "y"}) is None
    assert "Azure does not allow" in (convert.tag_problem({"a/b": "x"}) or "")
    assert "case" in (convert.tag_problem({"App": "x", "app": "y"}) or "")
    assert convert.has_tags({"App": "web", "x": "1"}, {"app": "web"})
    assert not convert.has_tags({"app": "Web"}, {"app": "web"})


def test_volume_states_from_disk_state() -> None:
    def disk(**props: object) -> Any:
        return _deserialize(cm.Disk, {"id": "/d", "name": "d", "location": "eastus",
                                      "properties": props})
    assert convert.volume(disk(diskState="Unattached", provisioningState="Succeeded",
                               diskSizeGB=8)).state is VolumeState.AVAILABLE
    attached = convert.volume(_deserialize(cm.Disk, {
        "id": "/d", "name": "d", "location": "eastus", "managedBy": "/vm",
        "properties": {"diskState": "Attached"}}))
    assert (attached.state, attached.attached_to) == (VolumeState.IN_USE, "/vm")
    assert convert.volume(disk(diskState="Reserved")).state is VolumeState.IN_USE
    assert convert.volume(disk(provisioningState="Creating")).state is VolumeState.CREATING
    assert convert.is_os_disk(disk(osType="Linux"))
    assert not convert.is_os_disk(disk())


def test_names_follow_the_linux_vm_and_host_name_rule() -> None:
    assert LIMITS.names.check("web-1") is None
    assert LIMITS.names.check("web-1.a") is None
    # '_' is not allowed in the computer name, which is the VM name
    for bad in ("-web", "_web", "web.", "web-", "bad name", "x" * 65, "a/b", "web_1"):
        assert LIMITS.names.check(bad) is not None, bad


def test_options_are_checked_and_never_show_the_password() -> None:
    secret = "Sup3r-secret-pw!"
    options = Options(admin_password=secret)
    assert secret not in repr(options)
    with pytest.raises(errors.InvalidRequest) as caught:
        Options(admin_password="short")
    assert caught.value.field == "options.admin_password"
    assert "short" not in str(caught.value)
    for field, kwargs in [
        ("options.subnet_id", {"subnet_id": "subnet-1"}),
        ("options.os_disk_type", {"os_disk_type": "UltraSSD_LRS"}),
        ("options.admin_username", {"admin_username": "root"}),
        ("options.admin_username", {"admin_username": "9lives"}),
        ("options.spot_eviction_policy", {"spot_eviction_policy": "Stop"}),
        ("options.spot_max_price", {"spot_max_price": 0}),
        ("options.public_ip", {"public_ip": "yes"}),
    ]:
        with pytest.raises(errors.InvalidRequest) as caught:
            Options(**kwargs)  # type: ignore[arg-type]
        assert caught.value.field == field


def test_public_keys_are_checked_locally() -> None:
    assert keys.parse_public_key(ED25519).fingerprint.startswith("SHA256:")
    short_rsa = "ssh-rsa " + base64.b64encode(
        b"".join(len(p).to_bytes(4, "big") + p for p in (b"ssh-rsa", b"\x01\x00\x01",
                                                         b"\x00" + b"\xff" * 128))).decode()
    for bad in ("ssh-rsa not-base64!!", "ecdsa-sha2-nistp256 AAAA", "", short_rsa,
                "ssh-rsa " + ED25519.split()[1]):
        with pytest.raises(errors.InvalidRequest) as caught:
            keys.parse_public_key(bad)
        assert caught.value.field == "public_key"


@pytest.mark.parametrize(
    ("region", "config", "field"),
    [
        ("eu-west-1", {"subscription_id": SUB}, "region"),
        ("East US!", {"subscription_id": SUB}, "region"),
        ("eastus", {"subscription_id": "not-a-guid"}, "subscription_id"),
        ("eastus", {"subscription_id": SUB, "resource_group": "bad/group"}, "resource_group"),
        ("eastus", {"subscription_id": SUB, "poll_interval": -1}, "poll_interval"),
        ("eastus", {"subscription_id": SUB, "retry_total": 99}, "retry_total"),
        ("eastus", {"subscription_id": SUB, "endpoint_url": "ftp://x"}, "endpoint_url"),
        ("eastus", {"subscription_id": SUB, "endpoint_url": "https://u:pw@x"}, "endpoint_url"),
        ("eastus", {"subscription_id": SUB, "endpoint_url": "http://x:port"}, "endpoint_url"),
        ("eastus", {"subscription_id": SUB, "endpoint": "http://x"}, "endpoint"),
        ("eastus", {"subscription_id": SUB, "poll_interval": "soon"}, "poll_interval"),
        ("eastus", {"subscription_id": 7}, "subscription_id"),
        ("eastus", {"subscription_id": SUB, "create_resource_group": "maybe"},
         "create_resource_group"),
        ("eastus", {"subscription_id": SUB, "credential": "token"}, "credential"),
        ("eastus", {"subscription_id": SUB, "profile": "x"}, "profile"),
    ],
)
def test_bad_config_is_rejected_naming_the_key(region: str | None, config: dict[str, object],
                                               field: str, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    with pytest.raises(errors.InvalidRequest) as caught:
        open_provider(region, config)
    assert caught.value.field == field
    assert "pw@" not in str(caught.value)


def test_subscription_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_SUBSCRIPTION_ID", SUB)

    class Credential:
        def get_token(self, *scopes: str, **kwargs: object) -> object:
            raise AssertionError("no call is made while opening")

    drivers = open_provider("East US", {"credential": Credential(), "retry_total": "0"})
    try:
        assert drivers.region == "eastus"
        assert drivers.provider == "azure"
    finally:
        drivers.close()


class _NoCallCredential:
    def get_token(self, *scopes: str, **kwargs: object) -> object:
        raise AssertionError("no call is made while opening")


def test_without_a_region_the_cli_default_location_is_used(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """As AWS and GCP fall back to their CLI's region: ``$AZURE_DEFAULTS_LOCATION``."""
    monkeypatch.setenv("AZURE_DEFAULTS_LOCATION", "westeurope")
    drivers = open_provider(None, {"subscription_id": SUB, "credential": _NoCallCredential()})
    try:
        assert drivers.region == "westeurope"
    finally:
        drivers.close()
    monkeypatch.setenv("AZURE_DEFAULTS_LOCATION", "not a location!")
    with pytest.raises(errors.InvalidRequest) as caught:
        open_provider(None, {"subscription_id": SUB, "credential": _NoCallCredential()})
    assert caught.value.field == "region"


def test_without_a_region_or_default_location_it_is_eastus(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_DEFAULTS_LOCATION", raising=False)
    drivers = open_provider(None, {"subscription_id": SUB, "credential": _NoCallCredential()})
    try:
        assert drivers.region == "eastus"
        assert drivers.compute._ctx.region == "eastus"  # type: ignore[attr-defined]
    finally:
        drivers.close()
