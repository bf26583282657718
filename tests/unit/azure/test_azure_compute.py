"""The Azure compute driver on the ARM fake, through the official SDK clients."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

import unicompute as uc
from unicompute import _errors as errors
from unicompute._cloud import Cloud
from unicompute.driver import ProviderDrivers
from unicompute.providers.azure import Options

GROUP = "unicompute"


def requests_since(fake: Any, start: int) -> list[Any]:
    return list(fake.app.requests)[start:]


def ctx_of(drivers: ProviderDrivers) -> Any:
    return drivers.compute._ctx  # type: ignore[attr-defined]


def spec(name: str, run_id: str, **changes: Any) -> uc.VMSpec:
    fields: dict[str, Any] = {"name": name, "size": "Standard_B1s", "image": "ubuntu-24.04",
                              "tags": {"run": run_id}}
    fields.update(changes)
    return uc.VMSpec(**fields)


def names(items: Any) -> set[str]:
    return {str(item.name) for item in items}


def managed_names(drivers: ProviderDrivers, run_id: str) -> dict[str, set[str]]:
    """Names of the resources in the group that carry the run's tag, by kind."""
    ctx = ctx_of(drivers)
    net, compute = ctx.network, ctx.compute

    def tagged(items: Any) -> set[str]:
        return {str(i.name) for i in items if (i.tags or {}).get("run") == run_id}

    return {
        "vms": tagged(compute.virtual_machines.list(GROUP)),
        "nics": tagged(net.network_interfaces.list(GROUP)),
        "pips": tagged(net.public_ip_addresses.list(GROUP)),
        "nsgs": tagged(net.network_security_groups.list(GROUP)),
        "disks": tagged(compute.disks.list_by_resource_group(GROUP)),
    }


def test_launch_creates_tagged_plumbing_and_terminate_removes_it(
    cloud: Cloud, drivers: ProviderDrivers, fake: Any, run_id: str
) -> None:
    start = len(fake.app.requests)
    vm = cloud.vms.launch(spec(f"web-{run_id}", run_id, open_ports=[22, 443],
                               user_data="#cloud-config\n"))
    assert vm.state is uc.VMState.RUNNING
    assert vm.private_ip and vm.public_ip
    assert vm.zone == "1"  # the region's first zone when none is asked for
    made = managed_names(drivers, run_id)
    assert made["vms"] == {vm.name}
    assert made["nics"] == {f"{vm.name}-nic"}
    assert made["pips"] == {f"{vm.name}-pip"}
    assert made["disks"] == {f"{vm.name}-osdisk"}
    assert len(made["nsgs"]) == 1
    puts = [r for r in requests_since(fake, start) if r.method == "PUT"
            and "/resourcegroups/unicompute/providers/" in r.path.lower()
            and "virtualnetworks" not in r.path.lower() and "disks" not in r.path.lower()]
    assert puts and all(r.headers.get("If-None-Match") == "*" for r in puts)
    ctx = ctx_of(drivers)
    raw_vm = ctx.compute.virtual_machines.get(GROUP, vm.name)
    assert raw_vm.tags["unicompute:managed"] == "true"
    assert raw_vm.tags["unicompute:launch"]
    assert {r.port_from for r in vm.inbound_rules()} == {22, 443}
    assert vm.user_data() == b"#cloud-config\n"

    vm.terminate()
    assert managed_names(drivers, run_id) == {k: set() for k in made}
    with pytest.raises(errors.NotFound):
        cloud.vms.get(vm.id)
    # the shared network and the group stay for the next launch
    assert ctx.network.virtual_networks.get(GROUP, "unicompute-eastus").name


def test_the_vnet_is_shared_and_the_nsg_lives_until_the_launchs_last_vm(
    cloud: Cloud, drivers: ProviderDrivers, run_id: str
) -> None:
    first, second = cloud.vms.launch(spec(f"pair-{run_id}", run_id, open_ports=[80]), count=2)
    other = cloud.vms.launch(spec(f"solo-{run_id}", run_id))
    ctx = ctx_of(drivers)
    vnets = [v for v in ctx.network.virtual_networks.list(GROUP)
             if v.name.startswith("unicompute-")]
    assert len(vnets) == 1
    nsgs = managed_names(drivers, run_id)["nsgs"]
    assert len(nsgs) == 2  # one per launch
    first.terminate()
    assert len(managed_names(drivers, run_id)["nsgs"]) == 2  # second still uses it
    assert {r.port_from for r in second.inbound_rules()} == {80}
    second.terminate()
    assert len(managed_names(drivers, run_id)["nsgs"]) == 1
    assert other.inbound_rules() == []
    other.terminate()
    assert managed_names(drivers, run_id)["nsgs"] == set()


def test_a_failed_launch_removes_what_it_created(
    cloud: Cloud, drivers: ProviderDrivers, fake: Any, run_id: str
) -> None:
    fake.faults.fail_next("vm_put", status=409, code="ZonalAllocationFailed",
                          message="Allocation failed.")
    with pytest.raises(errors.CapacityUnavailable) as caught:
        cloud.vms.launch(spec(f"fail-{run_id}", run_id, open_ports=[22]), count=2)
    assert caught.value.provider == "azure"
    assert managed_names(drivers, run_id) == {k: set() for k in
                                              ("vms", "nics", "pips", "nsgs", "disks")}


def test_a_taken_name_is_already_exists_and_the_existing_vm_is_untouched(
    cloud: Cloud, drivers: ProviderDrivers, run_id: str
) -> None:
    vm = cloud.vms.launch(spec(f"dup-{run_id}", run_id))
    with pytest.raises(errors.AlreadyExists):
        cloud.vms.launch(spec(f"dup-{run_id}", run_id, tags={"run": run_id, "second": "1"}))
    made = managed_names(drivers, run_id)
    assert made["vms"] == {vm.name} and made["nics"] == {f"{vm.name}-nic"}
    assert len(made["nsgs"]) == 1  # the second launch's NSG was removed again
    assert cloud.vms.get(vm.id).state is uc.VMState.RUNNING
    vm.terminate()


@pytest.mark.parametrize(
    ("field", "changes"),
    [
        ("name", {"image": "windows-2022", "size": "Standard_B2s", "name": "far-too-long-win"}),
        ("key_name", {"image": "windows-2022", "size": "Standard_B2s", "name": "win",
                      "key_name": "k"}),
        ("tags", {"tags": {"a/b": "x"}}),
        ("tags", {"tags": {"Env": "a", "env": "b"}}),
        ("disk_gib", {"disk_gib": 10}),
        ("disk_gib", {"disk_gib": 5000}),
        ("open_ports", {"open_ports": list(range(1, 1002))}),
        ("options.subnet_id", {"options": Options(
            subnet_id="/subscriptions/00000000-0000-0000-0000-0000000fa4e2/resourceGroups/"
                      "nowhere/providers/Microsoft.Network/virtualNetworks/v/subnets/s")}),
        ("image", {"image": "amazon-linux-2023"}),
        ("image", {"image": "Canonical:ubuntu-24_04-lts:server-arm64:latest"}),
    ],
)
def test_bad_input_is_rejected_before_anything_is_created(
    cloud: Cloud, fake: Any, run_id: str, field: str, changes: dict[str, Any]
) -> None:
    start = len(fake.app.requests)
    with pytest.raises(errors.InvalidRequest) as caught:
        fields = dict(changes)
        cloud.vms.launch(spec(fields.pop("name", f"bad-{run_id}"), run_id, **fields))
    assert caught.value.field == field
    assert [r.method for r in requests_since(fake, start)
            if r.method not in ("GET", "HEAD")] == []


def test_the_vm_body_carries_custom_data_spot_and_deallocate_eviction(
    cloud: Cloud, drivers: ProviderDrivers, run_id: str
) -> None:
    vm = cloud.vms.launch(spec(f"spot-{run_id}", run_id, spot=True, user_data=b"\x00\xffraw",
                               options=Options(spot_eviction_policy="Delete")))
    raw = ctx_of(drivers).compute.virtual_machines.get(GROUP, vm.name, expand="userData")
    assert raw.priority == "Spot"
    assert raw.eviction_policy == "Delete"
    assert raw.billing_profile.max_price == -1
    assert base64.b64decode(raw.user_data) == b"\x00\xffraw"
    assert vm.spot and cloud.vms.get(vm.id).spot
    assert vm.user_data() == b"\x00\xffraw"
    vm.terminate()


def test_stop_deallocates_and_power_actions_move_states(
    cloud: Cloud, fake: Any, run_id: str
) -> None:
    vm = cloud.vms.launch(spec(f"power-{run_id}", run_id))
    start = len(fake.app.requests)
    vm.stop().wait_until(uc.VMState.STOPPED, timeout=5)
    assert [r.path.rsplit("/", 1)[-1] for r in requests_since(fake, start)
            if r.method == "POST"] == ["deallocate"]
    statuses = json.dumps([s.code for s in ctx_of_vm(cloud, vm).instance_view.statuses])
    assert "PowerState/deallocated" in statuses
    vm.start().wait_until(uc.VMState.RUNNING, timeout=5)
    vm.reboot().wait_until(uc.VMState.RUNNING, timeout=5)
    vm.terminate()


def ctx_of_vm(cloud: Cloud, vm: uc.VM) -> Any:
    ctx = cloud._ctx.drivers.compute._ctx  # type: ignore[attr-defined]
    return ctx.compute.virtual_machines.get(GROUP, vm.name, expand="instanceView")


def test_list_pages_filters_and_skips_other_tags(
    cloud: Cloud, fake: Any, run_id: str
) -> None:
    vms = cloud.vms.launch(spec(f"many-{run_id}", run_id), count=5)
    assert isinstance(vms, list)
    vms[0].stop()
    saved, fake.app.page_size = fake.app.page_size, 2
    try:
        listed = sorted(v.name for v in cloud.vms.list(tags={"run": run_id}))
        stopped = [v.name for v in cloud.vms.list(tags={"run": run_id}, states=["stopped"])]
    finally:
        fake.app.page_size = saved
    assert listed == [f"many-{run_id}-{i}" for i in range(1, 6)]
    assert stopped == [vms[0].name]
    assert list(cloud.vms.list(tags={"run": "nobody"})) == []
    for vm in vms:
        vm.terminate()


def test_missing_and_foreign_ids_are_not_found(cloud: Cloud) -> None:
    missing = ("/subscriptions/00000000-0000-0000-0000-0000000fa4e2/resourceGroups/unicompute/"
               "providers/Microsoft.Compute/virtualMachines/nobody")
    with pytest.raises(errors.NotFound) as caught:
        cloud.vms.get(missing)
    assert caught.value.original is not None
    with pytest.raises(errors.NotFound):
        cloud.vms.get(missing.replace("unicompute/", "no-such-group/"))
    with pytest.raises(errors.NotFound):
        cloud.vms.get("i-0123456789abcdef0")


def test_terminate_finishes_an_interrupted_one(
    cloud: Cloud, drivers: ProviderDrivers, run_id: str
) -> None:
    vm = cloud.vms.launch(spec(f"resume-{run_id}", run_id, open_ports=[22]))
    # an earlier terminate deleted the VM, then stopped before the plumbing
    ctx_of(drivers).compute.virtual_machines.begin_delete(GROUP, vm.name).result()
    vm.terminate()  # NOT_FOUND from the driver, after the cleanup, is success for the user
    assert managed_names(drivers, run_id) == {k: set() for k in
                                              ("vms", "nics", "pips", "nsgs", "disks")}


def test_terminate_leaves_plumbing_it_cannot_prove_is_the_vms(
    cloud: Cloud, drivers: ProviderDrivers, run_id: str
) -> None:
    """A VM made without unicompute, whose NIC merely carries the (user-writable) managed tag:
    terminate deletes the VM and nothing else."""
    ctx = ctx_of(drivers)
    template = cloud.vms.launch(spec(f"tpl-{run_id}", run_id))  # for the shared subnet
    subnet = ctx.network.network_interfaces.get(GROUP, f"{template.name}-nic") \
        .ip_configurations[0].subnet.id
    template.terminate()
    tags = {"run": run_id, "unicompute:managed": "true"}
    nic = ctx.network.network_interfaces.begin_create_or_update(GROUP, f"own-{run_id}-nic", {
        "location": "eastus", "tags": tags,
        "properties": {"ipConfigurations": [{"name": "ip", "properties": {
            "subnet": {"id": subnet}}}]}}).result()
    ctx.compute.virtual_machines.begin_create_or_update(GROUP, f"own-{run_id}", {
        "location": "eastus", "tags": tags,
        "properties": {
            "hardwareProfile": {"vmSize": "Standard_B1s"},
            "storageProfile": {"imageReference": {
                "publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server",
                "version": "latest"}, "osDisk": {"createOption": "FromImage"}},
            "osProfile": {"computerName": "own", "adminUsername": "azureuser",
                          "adminPassword": "Sup3r-secret-pw!"},
            "networkProfile": {"networkInterfaces": [{"id": nic.id}]}}}).result()
    vm = cloud.vms.get(ctx.compute.virtual_machines.get(GROUP, f"own-{run_id}").id)
    vm.terminate()
    left = managed_names(drivers, run_id)
    assert left["vms"] == set()
    assert left["nics"] == {f"own-{run_id}-nic"}
    ctx.network.network_interfaces.begin_delete(GROUP, f"own-{run_id}-nic").result()


def test_set_tags_merges_and_reserved_or_bad_keys_are_refused(cloud: Cloud, run_id: str) -> None:
    vm = cloud.vms.launch(spec(f"tags-{run_id}", run_id))
    vm.set_tags({"stage": "test"})
    assert cloud.vms.get(vm.id).tags == {"run": run_id, "stage": "test",
                                         "unicompute:managed": "true"}
    for bad in ({"unicompute:launch": "x"}, {"a?b": "x"}):
        with pytest.raises(errors.InvalidRequest) as caught:
            vm.set_tags(bad)
        assert caught.value.field == "tags"
    vm.terminate()


def test_prices_say_they_come_from_the_dated_snapshot(cloud: Cloud, fake: Any) -> None:
    """``price_source`` names the snapshot's date (from the catalog) on priced sizes, and
    is ``None`` where the snapshot has no price (a location it does not cover)."""
    from unicompute.providers.azure import open_provider
    from unicompute.providers.azure.sizes import prices

    snapshot = prices().data
    b1s = cloud.vms.size("Standard_B1s")
    assert b1s.hourly_price is not None
    assert b1s.price_source == f"Azure pay-as-you-go price snapshot of {snapshot['date']}"
    assert all(s.price_source == b1s.price_source for s in cloud.vms.sizes())
    assert "uaenorth" not in snapshot["regions"]
    elsewhere = open_provider("uaenorth", {"poll_interval": 0, "retry_total": 0})
    try:
        unpriced = elsewhere.compute.list_sizes()
        assert unpriced and all(s.hourly_price is None and s.price_source is None
                                for s in unpriced)
    finally:
        elsewhere.close()


def test_sizes_are_priced_from_the_snapshot_and_images_resolve(cloud: Cloud) -> None:
    b1s = cloud.vms.size("Standard_B1s")
    assert (b1s.vcpus, b1s.memory_gib, b1s.arch, b1s.hourly_price) == (1, 1.0, "x86_64", 0.0104)
    assert cloud.vms.size("Standard_D2ps_v5").arch == "arm64"
    assert {s.name for s in cloud.vms.sizes(gpus=1)} >= {"Standard_NC4as_T4_v3"}
    cheapest = cloud.vms.cheapest_size(vcpus=2, memory_gib=4, arch="arm64")
    assert cheapest.arch == "arm64" and cheapest.hourly_price is not None
    image = cloud.vms.image("ubuntu-24.04")
    assert image.id.startswith("Canonical:ubuntu-24_04-lts:server:24.04.")
    assert cloud.vms.image("ubuntu-24.04", arch="arm64").id.split(":")[2] == "server-arm64"
    windows = cloud.vms.image("windows-2022")
    assert windows.os == "windows"
    assert {i.alias for i in cloud.vms.images()} == {"ubuntu-24.04", "ubuntu-22.04",
                                                     "debian-12", "windows-2022"}
    with pytest.raises(errors.NotFound):
        cloud.vms.image("amazon-linux-2023")


def test_volumes_attach_detach_snapshot_delete(cloud: Cloud, run_id: str) -> None:
    vm = cloud.vms.launch(spec(f"vol-{run_id}", run_id))
    tags = {"run": run_id}
    volume = cloud.volumes.create(8, name=f"data-{run_id}", zone="1", tags=tags)
    assert [v.id for v in cloud.volumes.list(tags=tags)] == [volume.id]  # OS disk left out
    assert cloud.volumes.attach(volume.id, vm.id).attached_to.lower() == vm.id.lower()
    with pytest.raises(errors.Conflict):
        cloud.volumes.delete(volume.id)
    assert cloud.volumes.detach(volume.id).attached_to is None
    snap = cloud.volumes.snapshot(volume.id, name=f"snap-{run_id}", tags=tags)
    assert snap.volume_id.lower() == volume.id.lower()
    assert [s.id for s in cloud.volumes.snapshots(tags=tags)] == [snap.id]
    cloud.volumes.delete_snapshot(snap.id)
    with pytest.raises(errors.NotFound):
        cloud.volumes.delete_snapshot(snap.id)
    cloud.volumes.delete(volume.id)
    with pytest.raises(errors.NotFound):
        cloud.volumes.get(volume.id)
    vm.terminate()


def test_long_running_operations_are_polled_to_the_end(
    cloud: Cloud, drivers: ProviderDrivers, fake: Any, run_id: str
) -> None:
    """In the fake's stepped mode every PUT/DELETE answers 201/202 with Azure-AsyncOperation;
    launch and terminate still finish, by polling through the SDK."""
    fake.operations.mode = "stepped"
    try:
        start = len(fake.app.requests)
        vm = cloud.vms.launch(spec(f"lro-{run_id}", run_id, open_ports=[22]))
        polls = [r for r in requests_since(fake, start) if "/operations/" in r.path.lower()]
        assert polls  # the SDK followed Azure-AsyncOperation
        assert cloud.vms.get(vm.id).name == vm.name
        vm.terminate()
    finally:
        fake.operations.mode = "instant"
    assert managed_names(drivers, run_id) == {k: set() for k in
                                              ("vms", "nics", "pips", "nsgs", "disks")}


def test_throttling_is_throttled_and_reads_are_retried(cloud: Cloud, fake: Any) -> None:
    fake.faults.throttle("sizes_list", times=1)
    drivers_ctx = cloud._ctx.drivers.compute
    drivers_ctx._sizes = None  # type: ignore[attr-defined]
    assert cloud.vms.size("Standard_B1s").vcpus == 1  # retried once by the portable layer
    assert fake.faults.calls("sizes_list") >= 2


def test_the_resource_group_is_created_only_when_allowed(fake: Any, run_id: str) -> None:
    from unicompute.providers.azure import open_provider

    strict = open_provider("eastus", {"poll_interval": 0, "retry_total": 0,
                                      "resource_group": f"absent-{run_id}",
                                      "create_resource_group": "false"})
    ctx = strict.compute._ctx  # type: ignore[attr-defined]
    with pytest.raises(errors.InvalidRequest) as caught:
        ctx.ensure_group()
    assert caught.value.field == "resource_group"
    groups = ctx.clients.resources.resource_groups
    assert f"absent-{run_id}" not in {g.name for g in groups.list()}
    assert strict.compute.list_vms(tags={}, states=None, page_token=None).items == []
    eager = open_provider("eastus", {"poll_interval": 0, "retry_total": 0,
                                     "resource_group": f"fresh-{run_id}"})
    eager.compute._ctx.ensure_group()  # type: ignore[attr-defined]
    made = groups.get(f"fresh-{run_id}")
    assert made.location == "eastus" and made.tags == {"unicompute:managed": "true"}
    eager.close()
    strict.close()


def test_an_http_endpoint_gets_a_placeholder_token(fake: Any) -> None:
    """``endpoint_url=`` (the CLI's ``--endpoint``) points the clients at ``unicompute
    mock-server``'s URL."""
    from unicompute.providers.azure import open_provider

    url = fake.serve()
    try:
        served = open_provider("eastus", {"endpoint_url": url + "/", "poll_interval": 0,
                                          "retry_total": 0})
        sizes = served.compute.list_sizes()
        assert any(s.name == "Standard_B1s" for s in sizes)
        # the fake answers 401 AuthenticationFailed to a request without a bearer token
        assert fake.app.requests[-1].status == 200
        served.close()
    finally:
        fake.shutdown_server()
