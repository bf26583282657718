"""The GCE compute driver on the fake, checked through the official SDK's own view of what it
created (``compute_v1`` clients with default endpoint and credentials, as in Google's samples)."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as core
from google.cloud import compute_v1

import unicompute as uc
from unicompute import _errors as errors
from unicompute.mocks.gcp import GcpFake
from unicompute.providers.gcp import compute as gce_compute

ZONE = "us-central1-a"


def spec(name: str = "web-1", **changes: object) -> uc.VMSpec:
    fields: dict[str, object] = {"name": name, "size": "e2-small", "image": "ubuntu-24.04",
                                 "tags": {"app": "web"}}
    fields.update(changes)
    return uc.VMSpec(**fields)  # type: ignore[arg-type]


def instance_names(project: str) -> list[str]:
    pager = compute_v1.InstancesClient().aggregated_list(project=project)
    return sorted(i.name for _, scoped in pager for i in scoped.instances)


def rule_names(project: str) -> list[str]:
    found = compute_v1.FirewallsClient().list(project=project)
    return sorted(r.name for r in found if not r.name.startswith("default-"))


def disk_names(project: str) -> list[str]:
    pager = compute_v1.DisksClient().aggregated_list(project=project)
    return sorted(d.name for _, scoped in pager for d in scoped.disks)


def test_launch_maps_the_portable_spec_onto_gce(cloud: uc.Cloud, project: str) -> None:
    vm = cloud.vms.launch(spec(user_data="#!/bin/sh\necho hi\n", open_ports=[80, 443],
                               disk_gib=30, spot=True))
    assert vm.id == f"{ZONE}/web-1"
    raw = compute_v1.InstancesClient().get(project=project, zone=ZONE, instance="web-1")
    assert raw.labels == {"app": "web", "unicompute--managed": "true",
                          "unicompute--firewall": raw.tags.items[0]}
    assert {i.key: i.value for i in raw.metadata.items}["startup-script"] == (
        "#!/bin/sh\necho hi\n")
    assert raw.scheduling.provisioning_model == "SPOT"
    assert raw.scheduling.instance_termination_action == "STOP"
    nic = raw.network_interfaces[0]
    assert nic.network.endswith(f"projects/{project}/global/networks/unicompute")
    assert nic.subnetwork.endswith("/regions/us-central1/subnetworks/unicompute")
    assert [a.type_ for a in nic.access_configs] == ["ONE_TO_ONE_NAT"]
    assert vm.public_ip and vm.private_ip
    boot = raw.disks[0]
    assert boot.boot and boot.auto_delete
    disk = compute_v1.DisksClient().get(project=project, zone=ZONE, disk=boot.source.rsplit(
        "/", 1)[-1])
    assert disk.size_gb == 30
    assert "ubuntu-2404" in disk.source_image
    assert disk.labels["unicompute--root"] == "true"
    rule = compute_v1.FirewallsClient().get(project=project, firewall=raw.tags.items[0])
    assert [(a.I_p_protocol, list(a.ports)) for a in rule.allowed] == [("tcp", ["80", "443"])]
    assert list(rule.target_tags) == list(raw.tags.items)
    assert list(rule.source_ranges) == ["0.0.0.0/0"]
    assert vm.tags == {"app": "web", "unicompute:managed": "true"}
    assert vm.spot and vm.image.startswith("projects/ubuntu-os-cloud/global/images/")


def test_terminate_removes_the_instance_its_disk_and_its_rule_only(
    cloud: uc.Cloud, project: str
) -> None:
    keep = cloud.vms.launch(spec("keep-1", open_ports=[22]))
    gone = cloud.vms.launch(spec("gone-1", open_ports=[8080]))
    before = rule_names(project)
    assert len(before) == 2
    gone.terminate()
    assert instance_names(project) == ["keep-1"]
    assert disk_names(project) == ["keep-1"]
    assert rule_names(project) == [r for r in before if r.startswith("uc-keep-1-")]
    with pytest.raises(errors.NotFound):
        cloud.vms.get(gone.id)
    gone.terminate()  # already gone: not an error
    keep.terminate()
    assert instance_names(project) == rule_names(project) == disk_names(project) == []


def test_a_launch_of_several_keeps_its_rule_until_the_last_vm_goes(
    cloud: uc.Cloud, project: str
) -> None:
    first, second = cloud.vms.launch(spec("pair", open_ports=[80]), count=2)
    assert [first.name, second.name] == ["pair-1", "pair-2"]
    rules = rule_names(project)
    assert len(rules) == 1
    first.terminate()
    assert rule_names(project) == rules
    second.terminate()
    assert rule_names(project) == []


def test_terminate_leaves_a_rule_unicompute_did_not_create(
    cloud: uc.Cloud, project: str
) -> None:
    vm = cloud.vms.launch(spec(open_ports=[80]))
    raw = compute_v1.InstancesClient().get(project=project, zone=ZONE, instance="web-1")
    firewalls = compute_v1.FirewallsClient()
    rule = raw.tags.items[0]
    # Someone re-describes the rule: it no longer proves to be unicompute's.
    firewalls.patch(project=project, firewall=rule,
                    firewall_resource=compute_v1.Firewall(description="mine now")).result()
    vm.terminate()
    assert rule_names(project) == [rule]


def test_a_failed_insert_operation_undoes_the_launch(
    cloud: uc.Cloud, fake: GcpFake, project: str
) -> None:
    fake.faults.fail_next("operation:instances_insert", status=503,
                          code="ZONE_RESOURCE_POOL_EXHAUSTED",
                          message="The zone does not have enough resources available.")
    with pytest.raises(errors.CapacityUnavailable) as caught:
        cloud.vms.launch(spec("many", open_ports=[80]), count=3)
    assert caught.value.original is not None
    assert instance_names(project) == []
    assert rule_names(project) == []
    assert disk_names(project) == []


def test_a_refused_insert_undoes_the_launch(
    cloud: uc.Cloud, fake: GcpFake, project: str
) -> None:
    fake.faults.fail_next("instances_insert", status=403, code="quotaExceeded",
                          message="Quota 'CPUS' exceeded.  Limit: 24.0 in region us-central1.")
    with pytest.raises(errors.QuotaExceeded):
        cloud.vms.launch(spec("quota", open_ports=[80]))
    assert instance_names(project) == []
    assert rule_names(project) == []


def test_a_name_taken_is_already_exists_and_leaves_no_rule(
    cloud: uc.Cloud, project: str
) -> None:
    cloud.vms.launch(spec("taken-1"))
    with pytest.raises(errors.AlreadyExists):
        cloud.vms.launch(spec("taken-1", open_ports=[80]))
    assert instance_names(project) == ["taken-1"]
    assert rule_names(project) == []


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"tags": {"Team": "a"}}, "tags", "'Team'"),
        ({"tags": {"team": "A"}}, "tags", "'team'"),
        ({"tags": {"goog-x": "a"}}, "tags", "reserved"),
        ({"name": "Web_1"}, "name", "RFC 1035"),
        ({"user_data": b"\xff\xfe"}, "user_data", "UTF-8"),
        ({"user_data": "#" * (256 * 1024 + 1)}, "user_data", "262144"),
        ({"zone": "us-central1-z"}, "zone", "us-central1-z"),
        ({"disk_gib": 5}, "disk_gib", "needs"),
        ({"options": uc.gcp.Options(network="nope")}, "options.network", "nope"),
    ],
)
def test_bad_input_is_rejected_before_any_write(
    cloud: uc.Cloud, fake: GcpFake, project: str, changes: dict[str, object], field: str,
    says: str,
) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        cloud.vms.launch(spec(**changes))
    assert caught.value.field == field
    assert says in caught.value.message
    writes = [r for r in fake.app.requests if r.method not in ("GET",)
              and "/operations/" not in r.path and not r.path.endswith("/token")]
    assert writes == []
    assert instance_names(project) == []


def test_zone_is_chosen_among_those_offering_the_size(cloud: uc.Cloud) -> None:
    vm = cloud.vms.launch(spec(zone="us-central1-c"))
    assert vm.zone == "us-central1-c"
    assert vm.id == "us-central1-c/web-1"


def test_states_stop_start_reboot(cloud: uc.Cloud) -> None:
    vm = cloud.vms.launch(spec())
    assert vm.state is uc.VMState.RUNNING
    vm.stop()
    assert vm.refresh().state is uc.VMState.STOPPED
    assert vm.raw.status == "TERMINATED"  # GCE's word for stopped
    vm.start()
    assert vm.refresh().state is uc.VMState.RUNNING
    vm.reboot()
    assert vm.refresh().state is uc.VMState.RUNNING


def test_launched_at_is_the_last_start_as_on_aws(cloud: uc.Cloud, fake: GcpFake) -> None:
    vm = cloud.vms.launch(spec())
    first = vm.launched_at
    assert first is not None
    vm.stop()
    fake.clock.advance(3600)
    vm.start()
    started = vm.refresh().launched_at
    assert started is not None and (started - first).total_seconds() >= 3600


def test_stepped_operations_are_polled_through_the_providers_own_clients(
    cloud: uc.Cloud, fake: GcpFake, project: str
) -> None:
    fake.operations.mode = "stepped"
    vm = cloud.vms.launch(spec(open_ports=[80]))
    assert vm.state in (uc.VMState.PENDING, uc.VMState.RUNNING)
    polled = [r.path for r in fake.app.requests if "/operations/" in r.path]
    assert any(p.endswith("/wait") and "/zones/" in p for p in polled)
    assert any(p.endswith("/wait") and "/global/" in p for p in polled)
    vm.terminate()
    assert instance_names(project) == rule_names(project) == []


def test_set_tags_retries_once_on_a_stale_fingerprint(cloud: uc.Cloud, fake: GcpFake) -> None:
    vm = cloud.vms.launch(spec())
    fake.faults.fail_next("instances_set_labels", status=412, code="conditionNotMet",
                          message="Labels fingerprint either invalid or resource labels have "
                                  "changed")
    vm.set_tags({"stage": "test"})
    assert vm.tags["stage"] == "test" and vm.tags["app"] == "web"
    fake.faults.fail_next("instances_set_labels", status=412, code="conditionNotMet", times=2)
    with pytest.raises(errors.Conflict):
        vm.set_tags({"stage": "prod"})
    with pytest.raises(errors.InvalidRequest) as caught:
        vm.set_tags({"Stage": "x"})
    assert caught.value.field == "tags"


def test_list_pages_filters_by_labels_and_states(
    cloud: uc.Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gce_compute, "PAGE_SIZE", 2)
    for i in range(5):
        cloud.vms.launch(spec(f"web-{i}", tags={"app": "web", "run": "r1"}))
    other = cloud.vms.launch(spec("db-0", tags={"app": "db", "run": "r1"}))
    other.stop()
    names = sorted(vm.name for vm in cloud.vms.list(tags={"app": "web"}))
    assert names == [f"web-{i}" for i in range(5)]
    assert [vm.name for vm in cloud.vms.list(tags={"run": "r1"}, states=["stopped"])] == ["db-0"]
    assert list(cloud.vms.list(tags={"app": "Web"})) == []  # no label can hold it


def test_ids_not_of_the_zone_name_shape_are_not_found(cloud: uc.Cloud) -> None:
    for bad in ("web-1", "us-central1-a/", "a/b/c"):
        with pytest.raises(errors.NotFound):
            cloud.vms.get(bad)
    with pytest.raises(errors.NotFound) as caught:
        cloud.vms.get("us-central1-a/missing")
    assert isinstance(caught.value.original, core.NotFound)


def test_throttling_is_retried_and_outages_do_not_hang(cloud: uc.Cloud, fake: GcpFake) -> None:
    vm = cloud.vms.launch(spec())
    fake.faults.throttle("instances_get", times=2)  # GCE's 403 rateLimitExceeded
    assert cloud.vms.get(vm.id).name == "web-1"
    fake.faults.fail_next("instances_get", status=503, code="backendError", times=10)
    with pytest.raises(errors.ProviderError) as caught:
        cloud.vms.get(vm.id)
    assert caught.value.retryable
    assert fake.faults.calls("instances_get") >= 3 + 4


def test_sizes_come_from_the_zone_with_snapshot_prices(cloud: uc.Cloud) -> None:
    sizes = {s.name: s for s in cloud.vms.sizes()}
    assert sizes["e2-standard-2"].hourly_price == 0.067006
    assert (sizes["e2-standard-2"].price_source or "").startswith("GCE on-demand price snapshot")
    assert all(s.price_source is None for s in sizes.values() if s.hourly_price is None)
    assert (sizes["e2-standard-2"].vcpus, sizes["e2-standard-2"].memory_gib) == (2, 8.0)
    assert any(s.gpus >= 1 for s in sizes.values())
    with pytest.raises(errors.NotFound):
        cloud.vms.size("no-such-type")


def test_image_aliases_and_native_references(cloud: uc.Cloud) -> None:
    arm = cloud.vms.image("ubuntu-22.04", arch="arm64")
    assert arm.arch == "arm64" and "arm64" in arm.id
    debian = cloud.vms.image("debian-12")
    assert cloud.vms.image(debian.id) == uc.Image(**{**debian.__dict__, "alias": None})
    assert cloud.vms.image("projects/debian-cloud/global/images/family/debian-12").id == (
        debian.id)
    with pytest.raises(errors.NotFound):
        cloud.vms.image("windows-2022", arch="arm64")
    assert cloud.vms.image("windows-2022").os == "windows"


def test_a_state_filter_is_applied_by_gce_not_page_by_page(
    cloud: uc.Cloud, fake: GcpFake, project: str
) -> None:
    """One running VM among 250 stopped ones is on the first page, not after two empty ones;
    terminated VMs need no call at all."""
    names = fake.seed_instances(250, labels={"run": "r2"})
    for name in names:
        fake.app.instances_table(project, ZONE).get(name)["status"] = "TERMINATED"  # type: ignore[index]
    cloud.vms.launch(spec("live", tags={"run": "r2"}))
    compute = cloud._ctx.drivers.compute  # type: ignore[attr-defined]
    page = compute.list_vms(tags={"run": "r2"}, states=frozenset({uc.VMState.RUNNING}),
                            page_token=None)
    assert [vm.name for vm in page.items] == ["live"] and page.next_token is None
    sent = [r.query for r in fake.app.requests if r.endpoint == "instances_aggregated_list"]
    assert "status" in sent[-1]
    fake.app.requests.clear()
    assert compute.list_vms(tags={}, states=frozenset({uc.VMState.TERMINATED}),
                            page_token=None).items == []
    assert list(fake.app.requests) == []
    stopped = cloud.vms.list(tags={"run": "r2"}, states=["stopped"])
    assert sum(1 for _ in stopped) == 250
