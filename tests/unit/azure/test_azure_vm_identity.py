"""A VM's managed identity on the ARM fake, through the official compute client: what ARM
keeps and fills in (``principalId``, ``tenantId``, user-assigned ``principalId``/``clientId``),
what it refuses (400 naming the field) and how updates change it. Every VM the client returns
is checked strictly against ``VirtualMachine`` (no unknown key)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from arm_helpers import ED25519_KEY, LOCATION, Clients, check, make_clients
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from azure.mgmt.compute import models as cm
from azure.mgmt.network import models as nm
from azure.mgmt.resource.resources import models as rm

from unicompute.mocks import mock_cloud
from unicompute.mocks.azure._ids import TENANT_ID

RG = "identity-rg"


@pytest.fixture(scope="module")
def az() -> Iterator[Clients]:
    with mock_cloud(["azure"]) as mock:
        clients = make_clients(mock, DefaultAzureCredential())
        clients.resource.resource_groups.create_or_update(RG, rm.ResourceGroup(location=LOCATION))
        clients.network.virtual_networks.begin_create_or_update(RG, "id-vnet", nm.VirtualNetwork(
            location=LOCATION, address_space=nm.AddressSpace(address_prefixes=["10.0.0.0/16"]),
            subnets=[nm.Subnet(name="default", address_prefix="10.0.0.0/24")])).result()
        yield clients


def uami(name: str, group: str = RG) -> str:
    return (f"/subscriptions/00000000-0000-0000-0000-0000000fa4e2/resourceGroups/{group}"
            f"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/{name}")


def create(az: Clients, name: str, identity: cm.VirtualMachineIdentity | None) -> cm.VirtualMachine:
    subnet = az.network.subnets.get(RG, "id-vnet", "default")
    nic = az.network.network_interfaces.begin_create_or_update(
        RG, f"{name}-nic", nm.NetworkInterface(location=LOCATION, ip_configurations=[
            nm.NetworkInterfaceIPConfiguration(name="ipconfig", subnet=nm.Subnet(
                id=subnet.id))])).result()
    model = cm.VirtualMachine(
        location=LOCATION, identity=identity,
        hardware_profile=cm.HardwareProfile(vm_size="Standard_B1s"),
        storage_profile=cm.StorageProfile(image_reference=cm.ImageReference(
            publisher="Canonical", offer="ubuntu-24_04-lts", sku="server", version="latest"),
            os_disk=cm.OSDisk(create_option="FromImage", delete_option="Delete")),
        os_profile=cm.OSProfile(
            computer_name=name, admin_username="azureuser",
            linux_configuration=cm.LinuxConfiguration(
                disable_password_authentication=True, ssh=cm.SshConfiguration(public_keys=[
                    cm.SshPublicKey(path="/home/azureuser/.ssh/authorized_keys",
                                    key_data=ED25519_KEY)]))),
        network_profile=cm.NetworkProfile(network_interfaces=[
            cm.NetworkInterfaceReference(id=nic.id)]))
    return check(az.compute.virtual_machines.begin_create_or_update(RG, name, model).result())


def get(az: Clients, name: str) -> cm.VirtualMachine:
    return check(az.compute.virtual_machines.get(RG, name))


def test_a_vm_without_identity_has_none(az: Clients) -> None:
    create(az, "plain", None)
    assert get(az, "plain").identity is None
    create(az, "none", cm.VirtualMachineIdentity(type="None"))
    assert get(az, "none").identity is None


def test_system_assigned_gets_principal_and_the_fakes_tenant(az: Clients) -> None:
    create(az, "sys", cm.VirtualMachineIdentity(type="SystemAssigned"))
    identity = get(az, "sys").identity
    assert identity.type == "SystemAssigned" and identity.tenant_id == TENANT_ID
    assert identity.principal_id and identity.user_assigned_identities is None
    other = create(az, "sys2", cm.VirtualMachineIdentity(type="systemAssigned"))
    assert other.identity.type == "SystemAssigned"
    assert other.identity.principal_id != identity.principal_id


def test_user_assigned_ids_are_filled_and_shared_between_vms(az: Clients) -> None:
    one, two = uami("app-id"), uami("ops-id")
    vm = create(az, "usr", cm.VirtualMachineIdentity(
        type="SystemAssigned, UserAssigned",
        user_assigned_identities={one: cm.UserAssignedIdentitiesValue(),
                                  two: cm.UserAssignedIdentitiesValue()}))
    identity = get(az, "usr").identity
    assert identity.type == "SystemAssigned, UserAssigned" and identity.principal_id
    assert set(identity.user_assigned_identities) == {one, two}
    first = identity.user_assigned_identities[one]
    assert first.principal_id and first.client_id and first.client_id != first.principal_id
    assert identity.user_assigned_identities[two].client_id != first.client_id
    again = create(az, "usr2", cm.VirtualMachineIdentity(
        type="UserAssigned", user_assigned_identities={one: cm.UserAssignedIdentitiesValue()}))
    assert again.identity.user_assigned_identities[one].client_id == first.client_id
    assert again.identity.principal_id is None and again.identity.tenant_id is None
    assert vm.identity.principal_id == identity.principal_id


def test_updates_keep_change_and_remove_the_identity(az: Clients) -> None:
    vm = create(az, "upd", cm.VirtualMachineIdentity(type="SystemAssigned"))
    principal = vm.identity.principal_id
    vm.tags = {"round": "trip"}  # the model as read, identity included, is put back
    vm = check(az.compute.virtual_machines.begin_create_or_update(RG, "upd", vm).result())
    assert vm.identity.principal_id == principal
    vm.identity = None  # a PUT without identity keeps it
    vm = check(az.compute.virtual_machines.begin_create_or_update(RG, "upd", vm).result())
    assert vm.identity.principal_id == principal
    vm.identity = cm.VirtualMachineIdentity(
        type="SystemAssigned, UserAssigned",
        user_assigned_identities={uami("app-id"): cm.UserAssignedIdentitiesValue()})
    vm = check(az.compute.virtual_machines.begin_create_or_update(RG, "upd", vm).result())
    assert vm.identity.principal_id == principal
    assert list(vm.identity.user_assigned_identities) == [uami("app-id")]
    vm.identity = cm.VirtualMachineIdentity(type="None")
    check(az.compute.virtual_machines.begin_create_or_update(RG, "upd", vm).result())
    assert get(az, "upd").identity is None
    vm = get(az, "upd")
    vm.identity = cm.VirtualMachineIdentity(type="SystemAssigned")
    vm = check(az.compute.virtual_machines.begin_create_or_update(RG, "upd", vm).result())
    assert vm.identity.principal_id and vm.identity.principal_id != principal


@pytest.mark.parametrize(("identity", "code", "target"), [
    ({"type": "Managed"}, "InvalidParameter", "identity.type"),
    ({}, "InvalidParameter", "identity.type"),
    ({"type": "UserAssigned"}, "InvalidParameter", "identity.userAssignedIdentities"),
    ({"type": "UserAssigned", "userAssignedIdentities": {}}, "InvalidParameter",
     "identity.userAssignedIdentities"),
    ({"type": "SystemAssigned", "userAssignedIdentities": {uami("x"): {}}}, "InvalidParameter",
     "identity.userAssignedIdentities"),
    ({"type": "UserAssigned", "userAssignedIdentities": {"app-id": {}}},
     "LinkedInvalidPropertyId", "identity.userAssignedIdentities"),
    ({"type": "UserAssigned", "userAssignedIdentities": {
        uami("x").replace("ManagedIdentity", "Network"): {}}},
     "LinkedInvalidPropertyId", "identity.userAssignedIdentities"),
    ({"type": "UserAssigned", "userAssignedIdentities": {uami("x"): {"role": "owner"}}},
     "InvalidIdentityValues", "identity.userAssignedIdentities"),
])
def test_bad_identities_are_refused_before_anything_is_made(
        az: Clients, identity: dict[str, object], code: str, target: str) -> None:
    body = get(az, "plain").as_dict()
    body.pop("id")
    body["properties"].pop("osProfile")
    body["properties"]["storageProfile"].pop("osDisk")
    body["properties"].pop("networkProfile")
    before = {d.name for d in az.compute.disks.list_by_resource_group(RG)}
    subnet = az.network.subnets.get(RG, "id-vnet", "default")
    nic = az.network.network_interfaces.begin_create_or_update(
        RG, "bad-nic", nm.NetworkInterface(location=LOCATION, ip_configurations=[
            nm.NetworkInterfaceIPConfiguration(name="ipconfig", subnet=nm.Subnet(
                id=subnet.id))])).result()
    body["properties"]["networkProfile"] = {"networkInterfaces": [{"id": nic.id}]}
    body["properties"]["osProfile"] = {
        "computerName": "bad", "adminUsername": "azureuser", "linuxConfiguration": {
            "disablePasswordAuthentication": True, "ssh": {"publicKeys": [
                {"path": "/home/azureuser/.ssh/authorized_keys", "keyData": ED25519_KEY}]}}}
    body["identity"] = identity
    with pytest.raises(HttpResponseError) as refused:
        az.compute.virtual_machines.begin_create_or_update(RG, "bad", body).result()
    assert refused.value.status_code == 400
    assert refused.value.error.code == code and refused.value.error.target == target
    assert {d.name for d in az.compute.disks.list_by_resource_group(RG)} == before
    assert "bad" not in {vm.name for vm in az.compute.virtual_machines.list(RG)}
