"""Subscription-wide lists (no resource group in the path) through the official clients:
Microsoft.Network's ``list_all`` and Microsoft.Compute's disks, snapshots and SSH keys.

Each list returns the resources of every group, rendered as a GET of each renders it, paged
with absolute ``nextLink`` URLs that cross from one group to the next.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import pytest
from arm_helpers import ED25519_KEY, LOCATION, Clients, check, make_clients
from azure.core.exceptions import HttpResponseError
from azure.identity import DefaultAzureCredential
from azure.mgmt.compute import models as cm
from azure.mgmt.network import models as nm
from azure.mgmt.resource.resources import models as rm
from test_arm_quickstart import network
from test_arm_semantics import error_of

GROUPS = ("subs-a", "subs-b")


def _nsg(az: Clients, rg: str, nic: nm.NetworkInterface) -> nm.NetworkSecurityGroup:
    """An NSG with one rule, attached to ``nic`` (so the NSG lists its users)."""
    nsg = az.network.network_security_groups.begin_create_or_update(
        rg, "subs-nsg", nm.NetworkSecurityGroup(location=LOCATION, security_rules=[
            nm.SecurityRule(name="ssh", protocol="Tcp", access="Allow", direction="Inbound",
                            priority=100, source_address_prefix="*", source_port_range="*",
                            destination_address_prefix="*", destination_port_range="22")],
        )).result()
    nic.properties.network_security_group = nm.NetworkSecurityGroup(id=nsg.id)
    az.network.network_interfaces.begin_create_or_update(rg, nic.name, nic).result()
    return nsg


@pytest.fixture
def two_groups(az: Clients) -> Clients:
    """Two groups, each with a VNet (and subnet), public IP, NIC and NSG of the same names."""
    for rg in GROUPS:
        az.resource.resource_groups.create_or_update(rg, rm.ResourceGroup(location=LOCATION))
        _nsg(az, rg, network(az, rg))
    return az


#: (operations attribute, per-group GET) of each Microsoft.Network top-level type.
NETWORK_TYPES: dict[str, Callable[[Any, str, str], Any]] = {
    "virtual_networks": lambda ops, rg, name: ops.get(rg, name),
    "network_interfaces": lambda ops, rg, name: ops.get(rg, name),
    "network_security_groups": lambda ops, rg, name: ops.get(rg, name),
    "public_ip_addresses": lambda ops, rg, name: ops.get(rg, name),
}


def _ids(items: Iterable[Any]) -> list[str]:
    return [check(item).id for item in items]


@pytest.mark.parametrize("kind", sorted(NETWORK_TYPES))
def test_network_list_all_returns_every_groups_resources_as_get_does(
        two_groups: Clients, kind: str) -> None:
    az = two_groups
    ops = getattr(az.network, kind)
    start = len(az.fake.app.requests)
    listed = list(ops.list_all())
    endpoint = {"virtual_networks": "vnet", "network_interfaces": "nic",
                "network_security_groups": "nsg", "public_ip_addresses": "public_ip"}[kind]
    assert [r.endpoint for r in list(az.fake.app.requests)[start:]] == [f"{endpoint}_list_all"]
    per_group = [item.id for rg in GROUPS for item in ops.list(rg)]
    assert _ids(listed) == per_group and len(per_group) == 2
    assert {item.id.split("/")[4] for item in listed} == set(GROUPS)
    for item in listed:
        got = NETWORK_TYPES[kind](ops, item.id.split("/")[4], item.name)
        assert item.as_dict() == got.as_dict()


def test_network_list_all_shows_what_links_resources(two_groups: Clients) -> None:
    """The NSG lists the NIC using it, the NIC its NSG, the VNet its subnet: as GET does."""
    az = two_groups
    nsgs = {n.id.split("/")[4]: n for n in az.network.network_security_groups.list_all()}
    nics = {n.id.split("/")[4]: n for n in az.network.network_interfaces.list_all()}
    vnets = {v.id.split("/")[4]: v for v in az.network.virtual_networks.list_all()}
    for rg in GROUPS:
        assert [n.id for n in nsgs[rg].properties.network_interfaces] == [nics[rg].id]
        assert nics[rg].properties.network_security_group.id == nsgs[rg].id
        assert [r.name for r in nsgs[rg].properties.security_rules] == ["ssh"]
        assert [s.name for s in vnets[rg].properties.subnets] == ["qs-subnet"]


@pytest.mark.parametrize("kind", sorted(NETWORK_TYPES))
def test_network_list_all_pages_across_groups(two_groups: Clients, kind: str) -> None:
    az = two_groups
    az.fake.app.page_size = 1
    ops = getattr(az.network, kind)
    start = len(az.fake.app.requests)
    ids = _ids(ops.list_all())
    assert [i.split("/")[4] for i in ids] == list(GROUPS)
    pages = list(az.fake.app.requests)[start:]
    assert len(pages) == 2 and all(p.endpoint and p.endpoint.endswith("_list_all")
                                   for p in pages)
    assert "$skiptoken=" in pages[1].query and "api-version=" in pages[1].query
    assert "/resourcegroups/" not in pages[1].path.lower()


def test_network_list_all_drops_deleted_resources_and_groups(two_groups: Clients) -> None:
    az = two_groups
    az.network.public_ip_addresses.begin_delete(GROUPS[0], "no-such-ip").result()
    nic = az.network.network_interfaces.get(GROUPS[0], "qs-nic")
    az.network.network_interfaces.begin_delete(GROUPS[0], nic.name).result()
    assert [n.id for n in az.network.network_interfaces.list_all()] == [
        az.network.network_interfaces.get(GROUPS[1], "qs-nic").id]
    az.resource.resource_groups.begin_delete(GROUPS[1]).result()
    for kind in NETWORK_TYPES:
        left = {i.id.split("/")[4] for i in getattr(az.network, kind).list_all()}
        assert left <= {GROUPS[0]}, kind
    assert list(az.network.network_interfaces.list_all()) == []


def test_empty_subscription_lists_nothing(az: Clients) -> None:
    for kind in NETWORK_TYPES:
        assert list(getattr(az.network, kind).list_all()) == []
    assert list(az.compute.disks.list()) == []
    assert list(az.compute.snapshots.list()) == []
    assert list(az.compute.ssh_public_keys.list_by_subscription()) == []


def test_unknown_subscription_is_refused_as_arm_does(az: Clients) -> None:
    other = make_clients(az.mock, DefaultAzureCredential(),
                         subscription="11111111-2222-3333-4444-555555555555")
    lists: list[Callable[[], Iterable[Any]]] = [
        *(getattr(other.network, kind).list_all for kind in NETWORK_TYPES),
        other.compute.disks.list, other.compute.snapshots.list,
        other.compute.ssh_public_keys.list_by_subscription]
    for make in lists:
        with pytest.raises(HttpResponseError) as info:
            list(make())
        assert (info.value.status_code, error_of(info.value)["code"]) == (
            404, "SubscriptionNotFound")


@pytest.fixture
def compute_in_two_groups(az: Clients) -> Clients:
    """A disk, a snapshot of it and an SSH key in each of two groups."""
    for rg in GROUPS:
        az.resource.resource_groups.create_or_update(rg, rm.ResourceGroup(location=LOCATION))
        disk = az.compute.disks.begin_create_or_update(rg, "subs-disk", cm.Disk(
            location=LOCATION, sku=cm.DiskSku(name="Standard_LRS"), disk_size_gb=4,
            creation_data=cm.CreationData(create_option="Empty"))).result()
        az.compute.snapshots.begin_create_or_update(rg, "subs-snap", cm.Snapshot(
            location=LOCATION, creation_data=cm.CreationData(
                create_option="Copy", source_resource_id=disk.id))).result()
        az.compute.ssh_public_keys.create(rg, "subs-key", cm.SshPublicKeyResource(
            location=LOCATION, properties=cm.SshPublicKeyResourceProperties(
                public_key=ED25519_KEY)))
    return az


@pytest.mark.parametrize("page_size", [50, 1])
def test_disks_snapshots_and_keys_list_per_subscription(
        compute_in_two_groups: Clients, page_size: int) -> None:
    az = compute_in_two_groups
    az.fake.app.page_size = page_size
    cases: list[tuple[Iterable[Any], Callable[[str], Iterable[Any]], Callable[[str], Any],
                      str]] = [
        (az.compute.disks.list(), az.compute.disks.list_by_resource_group,
         lambda rg: az.compute.disks.get(rg, "subs-disk"), "disk_list_all"),
        (az.compute.snapshots.list(), az.compute.snapshots.list_by_resource_group,
         lambda rg: az.compute.snapshots.get(rg, "subs-snap"), "snapshot_list_all"),
        (az.compute.ssh_public_keys.list_by_subscription(),
         az.compute.ssh_public_keys.list_by_resource_group,
         lambda rg: az.compute.ssh_public_keys.get(rg, "subs-key"), "ssh_key_list_all"),
    ]
    for pager, by_group, get, endpoint in cases:
        start = len(az.fake.app.requests)
        listed = list(pager)
        pages = [r for r in list(az.fake.app.requests)[start:] if r.endpoint == endpoint]
        assert len(pages) == (2 if page_size == 1 else 1), endpoint
        assert _ids(listed) == [i.id for rg in GROUPS for i in by_group(rg)], endpoint
        assert [item.as_dict() for item in listed] == [get(rg).as_dict() for rg in GROUPS]


def test_next_link_is_absolute_on_the_fake_host(two_groups: Clients) -> None:
    """The client follows ``nextLink`` as given: it must name the host the client called."""
    az = two_groups
    az.fake.app.page_size = 1
    first = az.network.virtual_networks.list_all().by_page()
    next(first)
    assert first.continuation_token is not None
    link = urlsplit(first.continuation_token)
    assert (link.scheme, link.path.lower()) == (
        "https", f"/subscriptions/{az.subscription}/providers/microsoft.network/virtualnetworks")
    assert "$skiptoken=" in link.query
