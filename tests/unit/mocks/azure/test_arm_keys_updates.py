"""SSH public key resources, updates of network resources by PUT, and HEAD answers, through the
official clients on the ARM fake (every response strictly parsed)."""

from __future__ import annotations

import base64
import struct

import pytest
import requests
from arm_helpers import ED25519_KEY, LOCATION, RSA_KEY, Clients, check
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.compute import models as cm
from azure.mgmt.network import models as nm
from azure.mgmt.resource.resources import models as rm
from test_arm_quickstart import RG, network, vm_model
from test_arm_semantics import error_of

from unicompute.mocks.azure import SUBSCRIPTION_ID


def _line(kind: str, *fields: bytes) -> str:
    blob = b"".join(struct.pack(">I", len(f)) + f for f in (kind.encode(), *fields))
    return f"{kind} {base64.b64encode(blob).decode()} tester@example"


ED25519 = ED25519_KEY
RSA_2048 = RSA_KEY
RSA_1024 = _line("ssh-rsa", b"\x01\x00\x01", b"\x00" + (1 << 1023 | 1).to_bytes(128, "big"))


@pytest.fixture
def rg(az: Clients) -> Clients:
    az.resource.resource_groups.create_or_update(RG, rm.ResourceGroup(location=LOCATION))
    return az


def test_ssh_keys_create_get_list_update_delete(rg: Clients) -> None:
    keys = rg.compute.ssh_public_keys
    made = check(keys.create(RG, "Key1", cm.SshPublicKeyResource(
        location=LOCATION, tags={"a": "1"}, properties=cm.SshPublicKeyResourceProperties(
            public_key=ED25519)), headers={"If-None-Match": "*"}))
    assert (made.name, made.type, made.properties.public_key, made.tags) == (
        "Key1", "Microsoft.Compute/sshPublicKeys", ED25519, {"a": "1"})
    assert rg.fake.app.requests[-1].status == 201
    with pytest.raises(HttpResponseError) as info:
        keys.create(RG, "KEY1", cm.SshPublicKeyResource(location=LOCATION),
                    headers={"If-None-Match": "*"})
    assert (info.value.status_code, error_of(info.value)["code"]) == (412, "PreconditionFailed")
    assert check(keys.get(RG, "key1")).id.endswith("/sshPublicKeys/Key1")
    check(keys.create(RG, "key2", cm.SshPublicKeyResource(
        location=LOCATION, properties=cm.SshPublicKeyResourceProperties(public_key=RSA_2048))))
    assert [check(k).name for k in keys.list_by_resource_group(RG)] == ["Key1", "key2"]
    assert [k.name for k in keys.list_by_subscription()] == ["Key1", "key2"]
    patched = check(keys.update(RG, "key1", cm.SshPublicKeyUpdateResource(tags={"b": "2"})))
    assert (patched.tags, patched.properties.public_key) == ({"b": "2"}, ED25519)
    keys.delete(RG, "key1")
    assert rg.fake.app.requests[-1].status == 200
    keys.delete(RG, "key1")  # deleting nothing succeeds, as ARM's DELETE does
    assert rg.fake.app.requests[-1].status == 204
    with pytest.raises(ResourceNotFoundError) as nf:
        keys.get(RG, "key1")
    assert error_of(nf.value)["code"] == "ResourceNotFound"


@pytest.mark.parametrize("bad", [RSA_1024, "ssh-rsa not-base64!", "ssh-dss AAAAB3NzaC1kc3M=",
                                 _line("ssh-ed25519", b"short"), "ssh-ed25519"])
def test_ssh_key_material_is_checked_and_nothing_is_made(rg: Clients, bad: str) -> None:
    with pytest.raises(HttpResponseError) as info:
        rg.compute.ssh_public_keys.create(RG, "bad", cm.SshPublicKeyResource(
            location=LOCATION, properties=cm.SshPublicKeyResourceProperties(public_key=bad)))
    err = error_of(info.value)
    assert (info.value.status_code, err["code"], err["target"]) == (
        400, "InvalidParameter", "publicKey")
    assert len(rg.fake.app.stores["Microsoft.Compute/sshPublicKeys"]) == 0


BAD_KEYS = [RSA_1024, "ssh-rsa not-base64!", "ssh-dss AAAAB3NzaC1kc3M=",
            _line("ssh-ed25519", b"short"), "ssh-ed25519", "",
            "ssh-rsa " + ED25519_KEY.split()[1],  # the blob says ed25519
            ED25519_KEY.split()[1]]               # the blob without its type


@pytest.mark.parametrize("bad", BAD_KEYS)
def test_vm_ssh_key_data_is_checked_as_arm_does_and_nothing_is_made(rg: Clients,
                                                                    bad: str) -> None:
    nic = network(rg)
    before = {kind: len(store) for kind, store in rg.fake.app.stores.items()}
    model = vm_model(nic.id, name="keyed")
    model.properties.os_profile.linux_configuration.ssh.public_keys.append(
        cm.SshPublicKey(path="/home/azureuser/.ssh/authorized_keys", key_data=bad))
    with pytest.raises(HttpResponseError) as info:
        rg.compute.virtual_machines.begin_create_or_update(RG, "keyed", model)
    err = error_of(info.value)
    assert (info.value.status_code, err["code"], err["target"], err["message"]) == (
        400, "InvalidParameter", "linuxConfiguration.ssh.publicKeys.keyData",
        "The value of parameter linuxConfiguration.ssh.publicKeys.keyData is invalid.")
    assert {kind: len(store) for kind, store in rg.fake.app.stores.items()} == before


def test_vm_takes_real_rsa_and_ed25519_keys(rg: Clients) -> None:
    model = vm_model(network(rg).id, name="keyed")
    model.properties.os_profile.linux_configuration.ssh.public_keys.append(
        cm.SshPublicKey(path="/home/azureuser/.ssh/authorized_keys", key_data=RSA_2048))
    vm = check(rg.compute.virtual_machines.begin_create_or_update(RG, "keyed", model).result())
    keys = vm.properties.os_profile.linux_configuration.ssh.public_keys
    assert [k.key_data for k in keys] == [ED25519, RSA_2048]


def test_deleting_a_group_deletes_its_keys(rg: Clients) -> None:
    rg.compute.ssh_public_keys.create(RG, "k", cm.SshPublicKeyResource(location=LOCATION))
    rg.resource.resource_groups.begin_delete(RG).result()
    assert len(rg.fake.app.stores["Microsoft.Compute/sshPublicKeys"]) == 0


def test_network_resources_update_by_put_and_keep_their_guid(rg: Clients) -> None:
    nic = network(rg)
    vnet = rg.network.virtual_networks.get(RG, "qs-vnet")
    pip = rg.network.public_ip_addresses.get(RG, "qs-ip")
    nic.tags = {"v": "2"}
    again = check(rg.network.network_interfaces.begin_create_or_update(RG, "qs-nic", nic)
                  .result())
    assert again.tags == {"v": "2"}
    assert again.properties.resource_guid == nic.properties.resource_guid
    config = again.properties.ip_configurations[0].properties
    assert config.private_ip_address == "10.0.0.4"  # the address is kept across the update
    vnet.tags = {"v": "2"}
    vnet2 = check(rg.network.virtual_networks.begin_create_or_update(RG, "qs-vnet", vnet)
                  .result())
    assert (vnet2.tags, vnet2.properties.resource_guid) == ({"v": "2"},
                                                           vnet.properties.resource_guid)
    assert [s.name for s in vnet2.properties.subnets] == ["qs-subnet"]
    pip.tags = {"v": "2"}
    pip2 = check(rg.network.public_ip_addresses.begin_create_or_update(RG, "qs-ip", pip)
                 .result())
    assert (pip2.properties.resource_guid, pip2.properties.ip_address) == (
        pip.properties.resource_guid, pip.properties.ip_address)
    nsg = check(rg.network.network_security_groups.begin_create_or_update(
        RG, "nsg", nm.NetworkSecurityGroup(location=LOCATION)).result())
    nsg.tags = {"v": "2"}
    nsg2 = check(rg.network.network_security_groups.begin_create_or_update(RG, "nsg", nsg)
                 .result())
    assert (nsg2.tags, nsg2.properties.resource_guid) == ({"v": "2"},
                                                         nsg.properties.resource_guid)


def test_head_answers_have_no_body(rg: Clients) -> None:
    groups = rg.resource.resource_groups
    assert groups.check_existence(RG) is True
    assert groups.check_existence("missing") is False
    url = "https://management.azure.com/subscriptions/{}/resourcegroups/missing"
    for sub in (SUBSCRIPTION_ID, "11111111-1111-1111-1111-111111111111"):
        answer = requests.head(url.format(sub), params={"api-version": "2022-09-01"},
                               headers={"Authorization": "Bearer x"}, timeout=5)
        assert (answer.status_code, answer.content) == (404, b"")


def test_a_put_cannot_move_a_resource(rg: Clients) -> None:
    nic = network(rg)
    before = {kind: len(store) for kind, store in rg.fake.app.stores.items()}
    nic.location = "westus2"
    with pytest.raises(HttpResponseError) as info:
        rg.network.network_interfaces.begin_create_or_update(RG, "qs-nic", nic)
    err = error_of(info.value)
    assert (info.value.status_code, err["code"]) == (409, "InvalidResourceLocation")
    assert "already exists in location 'eastus'" in err["message"]
    with pytest.raises(HttpResponseError) as info:
        rg.compute.ssh_public_keys.create(RG, "k", cm.SshPublicKeyResource(location=LOCATION))
        rg.compute.ssh_public_keys.create(RG, "k", cm.SshPublicKeyResource(location="westus2"))
    assert error_of(info.value)["code"] == "InvalidResourceLocation"
    assert rg.network.network_interfaces.get(RG, "qs-nic").location == LOCATION
    before["Microsoft.Compute/sshPublicKeys"] += 1
    assert {kind: len(store) for kind, store in rg.fake.app.stores.items()} == before


def test_tiny_and_full_subnets(rg: Clients) -> None:
    network(rg)
    with pytest.raises(HttpResponseError) as info:
        rg.network.subnets.begin_create_or_update(RG, "qs-vnet", "tiny",
                                                  nm.Subnet(address_prefix="10.0.9.0/30"))
    err = error_of(info.value)
    assert (err["code"], err["message"]) == (
        "NetcfgInvalidSubnet", "Subnet 'tiny' is not valid in virtual network 'qs-vnet'.")
    small = rg.network.subnets.begin_create_or_update(
        RG, "qs-vnet", "small", nm.Subnet(address_prefix="10.0.8.0/29")).result()
    def nic(name: str) -> nm.NetworkInterface:
        return rg.network.network_interfaces.begin_create_or_update(
            RG, name, nm.NetworkInterface(location=LOCATION, ip_configurations=[
                nm.NetworkInterfaceIPConfiguration(name="c", subnet=nm.Subnet(id=small.id))]),
        ).result()
    addresses = [nic(f"n{i}").properties.ip_configurations[0].properties.private_ip_address
                 for i in range(3)]
    assert addresses == ["10.0.8.4", "10.0.8.5", "10.0.8.6"]  # .0-.3 and .7 are Azure's
    with pytest.raises(HttpResponseError) as info:
        nic("n3")
    err = error_of(info.value)
    assert (info.value.status_code, err["code"]) == (400, "SubnetIsFull")
    assert err["message"] == (f"Subnet {small.id} with address prefix 10.0.8.0/29 does not have "
                              "enough capacity for 1 IP addresses.")


def test_dynamic_public_ip_follows_the_vm(rg: Clients) -> None:
    subnet_id = network(rg).properties.ip_configurations[0].properties.subnet.id
    pip = check(rg.network.public_ip_addresses.begin_create_or_update(RG, "dyn", nm.PublicIPAddress(
        location=LOCATION, sku=nm.PublicIPAddressSku(name="Basic"),
        public_ip_allocation_method="Dynamic")).result())
    assert pip.properties.ip_address is None  # nothing until a running VM uses it
    nic = rg.network.network_interfaces.begin_create_or_update(RG, "dyn-nic", nm.NetworkInterface(
        location=LOCATION, ip_configurations=[nm.NetworkInterfaceIPConfiguration(
            name="c", subnet=nm.Subnet(id=subnet_id),
            public_ip_address=nm.PublicIPAddress(id=pip.id))])).result()

    def address() -> str | None:
        found = check(rg.network.public_ip_addresses.get(RG, "dyn"))
        return found.properties.ip_address  # type: ignore[no-any-return]

    assert address() is None
    rg.compute.virtual_machines.begin_create_or_update(RG, "dyn-vm", vm_model(nic.id)).result()
    first = address()
    assert first is not None
    rg.compute.virtual_machines.begin_power_off(RG, "dyn-vm").result()
    assert address() == first  # stopped, still allocated: the address is kept
    rg.compute.virtual_machines.begin_deallocate(RG, "dyn-vm").result()
    assert address() is None
    rg.compute.virtual_machines.begin_start(RG, "dyn-vm").result()
    assert address() is not None
    rg.compute.virtual_machines.begin_delete(RG, "dyn-vm").result()
    assert address() is None
