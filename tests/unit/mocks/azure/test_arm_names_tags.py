"""Computer names and tag names ARM refuses, refused by the fake the same way (nothing made)."""

from __future__ import annotations

import pytest
from arm_helpers import LOCATION, Clients, check
from azure.core.exceptions import HttpResponseError
from azure.mgmt.resource.resources import models as rm
from test_arm_quickstart import RG, network, vm_model
from test_arm_semantics import error_of


@pytest.fixture
def nic_id(az: Clients) -> str:
    az.resource.resource_groups.create_or_update(RG, rm.ResourceGroup(location=LOCATION))
    return str(network(az).id)


@pytest.mark.parametrize("computer", ["web_1", "web 1", "a" * 65, "web#1"])
def test_linux_computer_names_are_checked(az: Clients, nic_id: str, computer: str) -> None:
    vms = az.fake.app.stores["Microsoft.Compute/virtualMachines"]
    with pytest.raises(HttpResponseError) as info:
        az.compute.virtual_machines.begin_create_or_update(RG, "named", vm_model(
            nic_id, name=computer))
    err = error_of(info.value)
    assert (info.value.status_code, err["code"], err["target"]) == (
        400, "InvalidParameter", "computerName")
    assert err["message"].startswith("Linux host name cannot exceed 64 characters")
    assert len(vms) == 0


def test_linux_computer_names_may_hold_dots_and_hyphens(az: Clients, nic_id: str) -> None:
    vm = check(az.compute.virtual_machines.begin_create_or_update(
        RG, "named", vm_model(nic_id, name="web-1.example")).result())
    assert vm.properties.os_profile.computer_name == "web-1.example"


@pytest.mark.parametrize("key", ["a/b", "a?b", "100%", "x<y", "a&b", "back\\slash", "tab\tkey"])
def test_tag_names_with_reserved_characters_are_refused(az: Clients, key: str) -> None:
    with pytest.raises(HttpResponseError) as info:
        az.resource.resource_groups.create_or_update(
            "tagged", rm.ResourceGroup(location=LOCATION, tags={"ok": "1", key: "v"}))
    err = error_of(info.value, rm.CloudError)
    assert (info.value.status_code, err["code"]) == (400, "InvalidTagNameCharacters")
    assert f"'{key}'" in err["message"]
    assert not az.resource.resource_groups.check_existence("tagged")


def test_tag_names_are_checked_on_every_resource(az: Clients, nic_id: str) -> None:
    model = vm_model(nic_id)
    model.tags = {"team/web": "x"}
    with pytest.raises(HttpResponseError) as info:
        az.compute.virtual_machines.begin_create_or_update(RG, "tagged", model)
    assert error_of(info.value)["code"] == "InvalidTagNameCharacters"
    assert len(az.fake.app.stores["Microsoft.Compute/virtualMachines"]) == 0
