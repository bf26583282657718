"""The network a VM joins: unicompute's own ``unicompute`` VPC network by default (created on
first use, never deleted, no allow rules but each launch's own), or the one ``Options`` names,
with that network's own rules. Checked through ``compute_v1`` clients on the fake."""

from __future__ import annotations

import pytest
from google.cloud import compute_v1

import unicompute as uc
from unicompute import _errors as errors
from unicompute.mocks.gcp import GcpFake
from unicompute.providers.gcp import network as gce_network


def spec(name: str = "web-1", **changes: object) -> uc.VMSpec:
    fields: dict[str, object] = {"name": name, "size": "e2-small", "image": "ubuntu-24.04"}
    fields.update(changes)
    return uc.VMSpec(**fields)  # type: ignore[arg-type]


def instance_names(project: str) -> list[str]:
    pager = compute_v1.InstancesClient().aggregated_list(project=project)
    return sorted(i.name for _, scoped in pager for i in scoped.instances)


def rule_names(project: str) -> list[str]:
    """The rules launches made (``uc-...``)."""
    found = compute_v1.FirewallsClient().list(project=project)
    return sorted(r.name for r in found if r.name.startswith("uc-"))


def rules_on(project: str, network: str) -> list[str]:
    found = compute_v1.FirewallsClient().list(project=project)
    return sorted(r.name for r in found if r.network.endswith(f"/global/networks/{network}"))


def network_inserts(fake: GcpFake) -> int:
    return sum(1 for r in fake.app.requests
               if r.method == "POST" and r.path.endswith("/global/networks"))


def make_network(project: str, name: str, description: str = "") -> None:
    compute_v1.NetworksClient().insert(project=project, network_resource=compute_v1.Network(
        name=name, auto_create_subnetworks=True, description=description)).result()


def test_vms_join_the_managed_network_where_only_their_ports_are_open(
    cloud: uc.Cloud, fake: GcpFake, project: str
) -> None:
    opened = cloud.vms.launch(spec("open-1", open_ports=[22, 443]))
    closed = cloud.vms.launch(spec("closed-1"))
    net = compute_v1.NetworksClient().get(project=project, network="unicompute")
    assert net.auto_create_subnetworks
    assert net.description.startswith("unicompute: managed network")
    assert network_inserts(fake) == 1  # created once, then shared
    assert {(r.protocol, r.port_from, r.port_to, r.source) for r in opened.inbound_rules()} == {
        ("tcp", 22, 22, "0.0.0.0/0"), ("tcp", 443, 443, "0.0.0.0/0")}
    assert closed.inbound_rules() == []
    assert rules_on(project, "unicompute") == rule_names(project)
    opened.terminate()
    closed.terminate()
    # The network stays (shared, free); nothing of the launches does.
    assert compute_v1.NetworksClient().get(project=project, network="unicompute").name
    assert rules_on(project, "unicompute") == []
    assert instance_names(project) == []


def test_a_rule_for_all_instances_on_the_network_is_reported(
    cloud: uc.Cloud, project: str
) -> None:
    vm = cloud.vms.launch(spec())
    compute_v1.FirewallsClient().insert(project=project, firewall_resource=compute_v1.Firewall(
        name="theirs-all", network=f"projects/{project}/global/networks/unicompute",
        allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=["8000-8010"])],
        source_ranges=["192.0.2.0/24"])).result()
    assert vm.inbound_rules() == [uc.InboundRule(protocol="tcp", port_from=8000, port_to=8010,
                                                 source="192.0.2.0/24")]
    vm.terminate()
    assert rules_on(project, "unicompute") == ["theirs-all"]  # not the launch's to delete


def test_the_default_network_when_asked_for_with_its_own_rules(
    cloud: uc.Cloud, fake: GcpFake, project: str
) -> None:
    vm = cloud.vms.launch(spec(options=uc.gcp.Options(network="default"), open_ports=[8080]))
    raw = compute_v1.InstancesClient().get(project=project, zone="us-central1-a",
                                           instance="web-1")
    assert raw.network_interfaces[0].network.endswith("/global/networks/default")
    rules = {(r.protocol, r.port_from, r.port_to, r.source) for r in vm.inbound_rules()}
    assert ("tcp", 8080, 8080, "0.0.0.0/0") in rules
    assert ("tcp", 22, 22, "0.0.0.0/0") in rules  # default-allow-ssh applies to every VM
    assert network_inserts(fake) == 0
    vm.terminate()
    assert rule_names(project) == []


def test_a_network_called_unicompute_that_is_not_ours_is_refused_unless_named(
    cloud: uc.Cloud, fake: GcpFake, project: str
) -> None:
    make_network(project, "unicompute", "the team's network")
    before = len(fake.app.requests)
    with pytest.raises(errors.InvalidRequest) as caught:
        cloud.vms.launch(spec(open_ports=[80]))
    assert caught.value.field == "options.network"
    assert [r for r in list(fake.app.requests)[before:] if r.method != "GET"] == []
    vm = cloud.vms.launch(spec(options=uc.gcp.Options(network="unicompute")))
    assert vm.name == "web-1"


def test_a_failed_launch_keeps_the_shared_network_and_removes_the_rest(
    cloud: uc.Cloud, fake: GcpFake, project: str
) -> None:
    fake.faults.fail_next("operation:instances_insert", status=403, code="QUOTA_EXCEEDED",
                          message="Quota 'CPUS' exceeded.  Limit: 24.0 in region us-central1.")
    with pytest.raises(errors.QuotaExceeded):
        cloud.vms.launch(spec(open_ports=[80]), count=2)
    assert instance_names(project) == rule_names(project) == []
    assert compute_v1.NetworksClient().get(project=project, network="unicompute").name


def test_a_refused_network_insert_fails_the_launch_with_nothing_created(
    cloud: uc.Cloud, fake: GcpFake, project: str
) -> None:
    fake.faults.fail_next("networks_insert", status=403, code="forbidden",
                          message="Required 'compute.networks.create' permission for "
                                  f"'projects/{project}/global/networks/unicompute'")
    with pytest.raises(errors.PermissionDenied):
        cloud.vms.launch(spec(open_ports=[80]))
    assert instance_names(project) == rule_names(project) == []
    assert rules_on(project, "unicompute") == []


def test_a_network_created_meanwhile_by_another_launch_is_used(
    cloud: uc.Cloud, fake: GcpFake, project: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = gce_network.check_network

    def racing(*args: object) -> gce_network.ChosenNetwork:
        found = checked(*args)  # type: ignore[arg-type]
        assert not found.exists
        make_network(project, "unicompute", gce_network.NETWORK_DESCRIPTION)  # the other one
        return found

    monkeypatch.setattr(gce_network, "check_network", racing)
    vm = cloud.vms.launch(spec(open_ports=[80]))
    assert network_inserts(fake) == 2  # ours got 409 alreadyExists
    assert {(r.port_from, r.source) for r in vm.inbound_rules()} == {(80, "0.0.0.0/0")}


def test_subnetworks_must_belong_to_the_named_network(cloud: uc.Cloud, project: str) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        uc.gcp.Options(subnetwork="default")
    assert caught.value.field == "options.subnetwork"
    make_network(project, "unicompute", gce_network.NETWORK_DESCRIPTION)
    with pytest.raises(errors.InvalidRequest) as caught:
        cloud.vms.launch(spec(options=uc.gcp.Options(network="unicompute",
                                                     subnetwork="default")))
    assert caught.value.field == "options.subnetwork"
    assert "belongs to network 'default'" in caught.value.message
    vm = cloud.vms.launch(spec(options=uc.gcp.Options(network="default",
                                                      subnetwork="default")))
    assert vm.private_ip is not None
    assert instance_names(project) == ["web-1"]
