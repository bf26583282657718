"""Microsoft's Python quickstart, step by step, on the ARM fake: resource group → VNet →
subnet → public IP → NIC → VM → instance view → power actions → disks → delete.

Every object the clients return is checked strictly against its SDK model (no unknown key).
"""

from __future__ import annotations

import base64

import pytest
from arm_helpers import ED25519_KEY, LOCATION, Clients, check
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.compute import models as cm
from azure.mgmt.network import models as nm
from azure.mgmt.resource.resources import models as rm

RG = "quickstart-rg"
SSH_KEY = ED25519_KEY


def network(az: Clients, rg: str = RG) -> nm.NetworkInterface:
    """VNet, subnet, static public IP and NIC, as the quickstart makes them."""
    vnet = az.network.virtual_networks.begin_create_or_update(rg, "qs-vnet", nm.VirtualNetwork(
        location=LOCATION, address_space=nm.AddressSpace(address_prefixes=["10.0.0.0/16"]),
    )).result()
    subnet = az.network.subnets.begin_create_or_update(
        rg, "qs-vnet", "qs-subnet", nm.Subnet(address_prefix="10.0.0.0/24")).result()
    pip = az.network.public_ip_addresses.begin_create_or_update(rg, "qs-ip", nm.PublicIPAddress(
        location=LOCATION, sku=nm.PublicIPAddressSku(name="Standard"),
        public_ip_allocation_method="Static", public_ip_address_version="IPv4")).result()
    nic = az.network.network_interfaces.begin_create_or_update(
        rg, "qs-nic", nm.NetworkInterface(location=LOCATION, ip_configurations=[
            nm.NetworkInterfaceIPConfiguration(
                name="qs-ipconfig", subnet=nm.Subnet(id=subnet.id),
                public_ip_address=nm.PublicIPAddress(id=pip.id))])).result()
    for obj in (vnet, subnet, pip, nic):
        check(obj)
    assert vnet.properties.provisioning_state == "Succeeded"
    assert pip.properties.ip_address  # Static: an address at once
    assert nic.properties.ip_configurations[0].properties.private_ip_address == "10.0.0.4"
    return nic


def vm_model(nic_id: str, *, name: str = "qs-vm", size: str = "Standard_B1s",
             custom_data: str | None = None) -> cm.VirtualMachine:
    return cm.VirtualMachine(
        location=LOCATION,
        hardware_profile=cm.HardwareProfile(vm_size=size),
        storage_profile=cm.StorageProfile(image_reference=cm.ImageReference(
            publisher="Canonical", offer="ubuntu-24_04-lts", sku="server", version="latest")),
        os_profile=cm.OSProfile(
            computer_name=name, admin_username="azureuser", custom_data=custom_data,
            linux_configuration=cm.LinuxConfiguration(
                disable_password_authentication=True, ssh=cm.SshConfiguration(public_keys=[
                    cm.SshPublicKey(path="/home/azureuser/.ssh/authorized_keys",
                                    key_data=SSH_KEY)]))),
        network_profile=cm.NetworkProfile(network_interfaces=[
            cm.NetworkInterfaceReference(id=nic_id)]),
        tags={"app": "quickstart"})


def power(az: Clients, name: str = "qs-vm") -> str:
    view = check(az.compute.virtual_machines.instance_view(RG, name))
    codes = [s.code for s in view.statuses]
    assert codes[0] == "ProvisioningState/succeeded"
    return str(codes[1])


def test_quickstart_end_to_end(az: Clients) -> None:
    rg = check(az.resource.resource_groups.create_or_update(
        RG, rm.ResourceGroup(location=LOCATION)))
    assert (rg.name, rg.location, rg.properties.provisioning_state) == (
        RG, LOCATION, "Succeeded")
    nic = network(az)

    user_data = base64.b64encode(b"#!/bin/sh\necho hello\n").decode()
    vm = check(az.compute.virtual_machines.begin_create_or_update(
        RG, "qs-vm", vm_model(nic.id, custom_data=user_data)).result())
    assert vm.properties.provisioning_state == "Succeeded"
    assert vm.properties.storage_profile.image_reference.exact_version == "24.04.202502210"
    assert vm.properties.os_profile.custom_data is None  # never echoed, as ARM does
    assert vm.tags == {"app": "quickstart"}

    got = check(az.compute.virtual_machines.get(RG, "QS-VM", expand="instanceView"))
    assert got.name == "qs-vm"  # case-insensitive lookup, case preserved
    assert [s.code for s in got.properties.instance_view.statuses][1] == "PowerState/running"
    assert power(az) == "PowerState/running"
    nic_now = check(az.network.network_interfaces.get(RG, "qs-nic"))
    assert nic_now.properties.virtual_machine.id == vm.id

    az.compute.virtual_machines.begin_power_off(RG, "qs-vm").result()
    assert power(az) == "PowerState/stopped"
    az.compute.virtual_machines.begin_start(RG, "qs-vm").result()
    assert power(az) == "PowerState/running"
    az.compute.virtual_machines.begin_restart(RG, "qs-vm").result()
    assert power(az) == "PowerState/running"
    az.compute.virtual_machines.begin_deallocate(RG, "qs-vm").result()
    assert power(az) == "PowerState/deallocated"

    # Disks: the OS disk follows the VM (Reserved while deallocated); a data disk is attached
    # by updating the VM, and detached the same way.
    os_disk = check(az.compute.disks.get(RG, vm.properties.storage_profile.os_disk.name))
    assert (os_disk.properties.disk_state, os_disk.managed_by) == ("Reserved", vm.id)
    data = check(az.compute.disks.begin_create_or_update(RG, "qs-data", cm.Disk(
        location=LOCATION, sku=cm.DiskSku(name="Premium_LRS"), disk_size_gb=8,
        creation_data=cm.CreationData(create_option="Empty"))).result())
    assert data.properties.disk_state == "Unattached"
    vm.properties.storage_profile.data_disks = [cm.DataDisk(
        lun=0, create_option="Attach", managed_disk=cm.ManagedDiskParameters(id=data.id))]
    vm = check(az.compute.virtual_machines.begin_create_or_update(RG, "qs-vm", vm).result())
    assert [d.name for d in vm.properties.storage_profile.data_disks] == ["qs-data"]
    az.compute.virtual_machines.begin_start(RG, "qs-vm").result()
    assert check(az.compute.disks.get(RG, "qs-data")).properties.disk_state == "Attached"
    snap = check(az.compute.snapshots.begin_create_or_update(RG, "qs-snap", cm.Snapshot(
        location=LOCATION, creation_data=cm.CreationData(create_option="Copy",
                                                         source_resource_id=data.id))).result())
    copy = check(az.compute.disks.begin_create_or_update(RG, "qs-copy", cm.Disk(
        location=LOCATION, creation_data=cm.CreationData(create_option="Copy",
                                                         source_resource_id=snap.id))).result())
    assert copy.properties.disk_size_gb == 8
    vm.properties.storage_profile.data_disks = []
    az.compute.virtual_machines.begin_create_or_update(RG, "qs-vm", vm).result()
    assert check(az.compute.disks.get(RG, "qs-data")).properties.disk_state == "Unattached"

    listed = [check(v) for v in az.compute.virtual_machines.list(RG)]
    assert [v.name for v in listed] == ["qs-vm"]
    assert [v.name for v in az.compute.virtual_machines.list_all()] == ["qs-vm"]

    az.compute.virtual_machines.begin_delete(RG, "qs-vm").result()
    with pytest.raises(ResourceNotFoundError) as info:
        az.compute.virtual_machines.get(RG, "qs-vm")
    assert info.value.error is not None and info.value.error.code == "ResourceNotFound"
    # The NIC is free again and the OS disk (deleteOption Detach) stays, unattached.
    assert az.network.network_interfaces.get(RG, "qs-nic").properties.virtual_machine is None
    assert az.compute.disks.get(RG, os_disk.name).properties.disk_state == "Unattached"

    az.resource.resource_groups.begin_delete(RG).result()
    assert not az.resource.resource_groups.check_existence(RG)
    for kind in az.fake.app.stores.values():
        assert len(kind) == 0  # the group's contents went with it


def test_default_azure_credential_signs_in_to_the_fake_aad(az: Clients) -> None:
    az.resource.resource_groups.create_or_update(RG, rm.ResourceGroup(location=LOCATION))
    assert az.fake.aad.tokens_issued == 1
    assert [r.endpoint for r in az.fake.aad.requests] == ["openid_configuration", "token"]
