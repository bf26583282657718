"""ARM semantics through the official clients: errors real ARM gives (with nothing created),
preconditions, paging, catalog and images, NSGs, stepped long-running operations, and the
out-of-process server."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import requests
from arm_helpers import LOCATION, Clients, assert_known, check, make_clients
from azure.core import MatchConditions
from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.core.pipeline.policies import SansIOHTTPPolicy
from azure.mgmt.compute import models as cm
from azure.mgmt.network import models as nm
from azure.mgmt.resource.resources import models as rm
from test_arm_quickstart import RG, network, power, vm_model

from unicompute.mocks.azure import SUBSCRIPTION_ID, AzureFake


def error_of(exc: HttpResponseError, model: Any = cm.CloudError) -> Any:
    """The error body, strictly parsed with the SDK's CloudError model."""
    body = exc.response.json()
    assert_known(model, body)
    return body["error"]


def counts(az: Clients) -> dict[str, int]:
    return {kind: len(store) for kind, store in az.fake.app.stores.items()}


@pytest.fixture
def ready(az: Clients) -> tuple[Clients, str]:
    az.resource.resource_groups.create_or_update(RG, rm.ResourceGroup(location=LOCATION))
    return az, network(az).id


def test_vm_with_missing_nic_unknown_size_or_image_creates_nothing(
        ready: tuple[Clients, str]) -> None:
    az, nic_id = ready
    before = counts(az)
    missing = nic_id.replace("qs-nic", "nope")
    with pytest.raises(ResourceNotFoundError) as info:
        az.compute.virtual_machines.begin_create_or_update(RG, "bad", vm_model(missing))
    assert error_of(info.value)["code"] == "NotFound"
    with pytest.raises(HttpResponseError) as info:
        az.compute.virtual_machines.begin_create_or_update(
            RG, "bad", vm_model(nic_id, size="Standard_Nope_v9"))
    err = error_of(info.value)
    assert (info.value.status_code, err["code"], err["target"]) == (400, "InvalidParameter",
                                                                    "vmSize")
    bad_image = vm_model(nic_id)
    bad_image.properties.storage_profile.image_reference.sku = "no-such-sku"
    with pytest.raises(ResourceNotFoundError) as info:
        az.compute.virtual_machines.begin_create_or_update(RG, "bad", bad_image)
    assert error_of(info.value)["code"] == "PlatformImageNotFound"
    too_big = base64.b64encode(b"x" * 65536).decode()
    with pytest.raises(HttpResponseError) as info:
        az.compute.virtual_machines.begin_create_or_update(
            RG, "bad", vm_model(nic_id, custom_data=too_big))
    assert error_of(info.value)["target"] == "customData"
    arm_on_x64 = vm_model(nic_id, size="Standard_D2ps_v5")
    with pytest.raises(HttpResponseError) as info:
        az.compute.virtual_machines.begin_create_or_update(RG, "bad", arm_on_x64)
    assert error_of(info.value)["target"] == "vmSize"
    for weak in ("abc", "alllowercase", "Short1!"[:5], "a\x01B2c3d"):  # length, classes, controls
        with_password = vm_model(nic_id)
        with_password.properties.os_profile.admin_password = weak
        with_password.properties.os_profile.linux_configuration.disable_password_authentication \
            = False
        with pytest.raises(HttpResponseError) as info:
            az.compute.virtual_machines.begin_create_or_update(RG, "bad", with_password)
        assert (error_of(info.value)["code"], error_of(info.value)["target"]) == (
            "InvalidParameter", "adminPassword")
        assert weak not in str(info.value)  # the password is never echoed
    assert counts(az) == before  # no VM, no OS disk, NIC still free
    assert az.network.network_interfaces.get(RG, "qs-nic").properties.virtual_machine is None
    strong = vm_model(nic_id)
    strong.properties.os_profile.admin_password = "Str0ng-enough"
    az.compute.virtual_machines.begin_create_or_update(RG, "good", strong).result()


def test_missing_group_api_version_and_token(az: Clients) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        az.compute.virtual_machines.get("no-such-rg", "vm")
    assert error_of(info.value)["code"] == "ResourceGroupNotFound"
    url = (f"https://management.azure.com/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/x/"
           "providers/Microsoft.Compute/virtualMachines/vm")
    no_token = requests.get(url, params={"api-version": "2024-07-01"}, timeout=5)
    assert no_token.status_code == 401
    assert no_token.json() == {"error": {"code": "AuthenticationFailed", "message":
                               "Authentication failed. The 'Authorization' header is missing."}}
    no_version = requests.get(url, headers={"Authorization": "Bearer x"}, timeout=5)
    assert (no_version.status_code, no_version.json()["error"]["code"]) == (
        400, "MissingApiVersionParameter")
    for bad in ("latest", "2024-7-1", "2024-07-01-final"):
        answer = requests.get(url, params={"api-version": bad},
                              headers={"Authorization": "Bearer x"}, timeout=5)
        assert (answer.status_code, answer.json()["error"]["code"]) == (
            400, "InvalidApiVersionParameter")
    preview = requests.get(url, params={"api-version": "2024-07-01-preview"},
                           headers={"Authorization": "Bearer x"}, timeout=5)
    assert preview.json()["error"]["code"] == "ResourceGroupNotFound"  # accepted, then looked up


def test_put_is_an_upsert_and_honours_if_none_match(ready: tuple[Clients, str]) -> None:
    az, nic_id = ready
    az.compute.virtual_machines.begin_create_or_update(RG, "vm1", vm_model(nic_id)).result()
    with pytest.raises(ResourceExistsError) as info:
        az.compute.virtual_machines.begin_create_or_update(
            RG, "VM1", vm_model(nic_id), etag="*", match_condition=MatchConditions.IfMissing)
    assert info.value.status_code == 412 and error_of(info.value)["code"] == "PreconditionFailed"
    retagged = vm_model(nic_id)
    retagged.tags = {"v": "2"}
    updated = check(az.compute.virtual_machines.begin_create_or_update(RG, "VM1", retagged)
                    .result())
    assert (updated.name, updated.tags) == ("vm1", {"v": "2"})  # first spelling kept
    with pytest.raises(HttpResponseError) as info:
        changed = vm_model(nic_id, custom_data=base64.b64encode(b"other").decode())
        az.compute.virtual_machines.begin_create_or_update(RG, "vm1", changed)
    assert error_of(info.value)["code"] == "PropertyChangeNotAllowed"


def test_network_validation(ready: tuple[Clients, str]) -> None:
    az, nic_id = ready
    with pytest.raises(HttpResponseError) as info:
        az.network.subnets.begin_create_or_update(RG, "qs-vnet", "out",
                                                  nm.Subnet(address_prefix="192.168.0.0/24"))
    assert error_of(info.value)["code"] == "NetcfgSubnetRangeOutsideVnet"
    with pytest.raises(HttpResponseError) as info:
        az.network.subnets.begin_create_or_update(RG, "qs-vnet", "overlap",
                                                  nm.Subnet(address_prefix="10.0.0.128/25"))
    assert error_of(info.value)["code"] == "NetcfgSubnetRangesOverlap"
    with pytest.raises(HttpResponseError) as info:
        az.network.subnets.begin_create_or_update(RG, "qs-vnet", "cidr",
                                                  nm.Subnet(address_prefix="10.0.1.1/24"))
    assert error_of(info.value)["code"] == "InvalidCIDRNotation"
    with pytest.raises(HttpResponseError) as info:
        az.network.subnets.begin_delete(RG, "qs-vnet", "qs-subnet")
    assert error_of(info.value)["code"] == "InUseSubnetCannotBeDeleted"
    second = az.network.network_interfaces.begin_create_or_update(
        RG, "nic2", nm.NetworkInterface(location=LOCATION, ip_configurations=[
            nm.NetworkInterfaceIPConfiguration(name="c", subnet=nm.Subnet(
                id=nic_id.split("/providers/")[0] + "/providers/Microsoft.Network/"
                "virtualNetworks/qs-vnet/subnets/qs-subnet"))])).result()
    assert second.properties.ip_configurations[0].properties.private_ip_address == "10.0.0.5"
    with pytest.raises(HttpResponseError) as info:
        az.network.network_interfaces.begin_create_or_update(
            RG, "nic3", nm.NetworkInterface(location=LOCATION, ip_configurations=[
                nm.NetworkInterfaceIPConfiguration(name="c", subnet=nm.Subnet(id="/subscriptions/"
                    f"{SUBSCRIPTION_ID}/resourceGroups/{RG}/providers/Microsoft.Network/"
                    "virtualNetworks/qs-vnet/subnets/missing"))]))
    assert error_of(info.value)["code"] == "InvalidResourceReference"
    with pytest.raises(HttpResponseError) as info:
        az.network.public_ip_addresses.begin_delete(RG, "qs-ip")
    assert error_of(info.value)["code"] == "PublicIPAddressCannotBeDeleted"


def test_nsg_rules_and_defaults(ready: tuple[Clients, str]) -> None:
    az, _ = ready
    rule = nm.SecurityRule(name="ssh", protocol="Tcp", access="Allow", direction="Inbound",
                           priority=1000, source_address_prefix="*", source_port_range="*",
                           destination_address_prefix="*", destination_port_range="22")
    nsg = check(az.network.network_security_groups.begin_create_or_update(
        RG, "qs-nsg", nm.NetworkSecurityGroup(location=LOCATION, security_rules=[rule]))
        .result())
    assert [r.name for r in nsg.properties.security_rules] == ["ssh"]
    assert len(nsg.properties.default_security_rules) == 6
    clash = nm.SecurityRule(protocol="Tcp", access="Allow", direction="Inbound", priority=1000,
                            source_address_prefix="*", source_port_range="*",
                            destination_address_prefix="*", destination_port_range="80")
    with pytest.raises(HttpResponseError) as info:
        az.network.security_rules.begin_create_or_update(RG, "qs-nsg", "http", clash)
    assert error_of(info.value)["code"] == "SecurityRuleConflict"
    clash.properties.priority = 1010
    check(az.network.security_rules.begin_create_or_update(RG, "qs-nsg", "http", clash).result())
    assert [check(r).name for r in az.network.security_rules.list(RG, "qs-nsg")] == [
        "ssh", "http"]


def test_catalog_and_images(az: Clients) -> None:
    found = {check(s).name: s for s in az.compute.virtual_machine_sizes.list(LOCATION)}
    assert (found["Standard_D2s_v5"].number_of_cores, found["Standard_D2s_v5"].memory_in_mb,
            found["Standard_D2s_v5"].max_data_disk_count) == (2, 8192, 4)
    for family in ("Standard_B2s", "Standard_E4s_v5", "Standard_F8s_v2", "Standard_L8s_v3",
                   "Standard_NC4as_T4_v3", "Standard_D4ps_v5"):
        assert family in found
    versions = az.compute.virtual_machine_images.list(
        LOCATION, "Canonical", "ubuntu-24_04-lts", "server")
    names = [check(v).name for v in versions]
    image = check(az.compute.virtual_machine_images.get(
        LOCATION, "Canonical", "ubuntu-24_04-lts", "server", names[-1]))
    assert image.properties.os_disk_image.operating_system == "Linux"
    offers = [check(o).name for o in az.compute.virtual_machine_images.list_offers(
        LOCATION, "MicrosoftWindowsServer")]
    assert offers == ["WindowsServer"]
    with pytest.raises(ResourceNotFoundError):
        az.compute.virtual_machine_images.get(LOCATION, "Canonical", "nope", "x", "1")


def test_paging_uses_absolute_next_links(az: Clients) -> None:
    az.fake.seed_vms(7, resource_group="paged")
    az.fake.app.page_size = 3
    names = [check(v).name for v in az.compute.virtual_machines.list("paged")]
    assert names == [f"vm-{i}" for i in range(7)]
    pages = [r for r in az.fake.app.requests if r.endpoint == "vm_list"]
    assert len(pages) == 3 and "$skiptoken=" in pages[1].query


def test_stepped_operations_are_polled_with_tiny_delays(ready: tuple[Clients, str]) -> None:
    az, nic_id = ready
    az.fake.operations.mode = "stepped"
    # The poller polls from its own thread: hold the create until the clock moves, so the
    # in-progress state is seen without a race.
    az.fake.operations.polls_to_finish = 10**9
    poller = az.compute.virtual_machines.begin_create_or_update(RG, "slow", vm_model(nic_id))
    view = az.compute.virtual_machines.instance_view(RG, "slow")
    assert [s.code for s in view.statuses] == ["ProvisioningState/creating",
                                               "PowerState/starting"]
    assert not poller.done()
    az.fake.clock.advance(az.fake.operations.step_seconds)
    assert check(poller.result()).properties.provisioning_state == "Succeeded"
    az.fake.operations.polls_to_finish = 2  # now finished by polls alone
    az.compute.virtual_machines.begin_deallocate(RG, "slow").result()
    assert power(az, "slow") == "PowerState/deallocated"
    status = [r for r in az.fake.app.requests if r.endpoint == "operation_status"]
    assert status and {r.status for r in status} == {200}


class StaticToken:
    """Any TokenCredential works: ARM accepts any bearer token."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("any-token", 2**31 - 1)


def test_any_token_credential_in_process(az: Clients) -> None:
    other = make_clients(az.mock, StaticToken())
    assert check(other.resource.resource_groups.create_or_update(
        "tok", rm.ResourceGroup(location="East US"))).location == "eastus"
    assert az.fake.aad.tokens_issued == 0


class FakeBearer(SansIOHTTPPolicy):  # type: ignore[type-arg]
    def on_request(self, request: Any) -> None:
        request.http_request.headers["Authorization"] = "Bearer fake"


def test_served_over_http_with_a_static_bearer_policy() -> None:
    fake = AzureFake()
    url = fake.serve()
    try:
        assert url.startswith("http://127.0.0.1:")
        clients = make_clients(None, StaticToken(), subscription=SUBSCRIPTION_ID, base_url=url,
                               authentication_policy=FakeBearer())
        clients.resource.resource_groups.create_or_update(
            "srv", rm.ResourceGroup(location=LOCATION))
        fake.seed_vms(4, resource_group="srv")
        fake.app.page_size = 2
        names = [check(v).name for v in clients.compute.virtual_machines.list("srv")]
        assert names == ["vm-0", "vm-1", "vm-2", "vm-3"]  # nextLink points at the server
        clients.compute.virtual_machines.begin_power_off("srv", "vm-1").result()
        view = clients.compute.virtual_machines.instance_view("srv", "vm-1")
        assert view.statuses[1].code == "PowerState/stopped"
    finally:
        fake.shutdown_server()
