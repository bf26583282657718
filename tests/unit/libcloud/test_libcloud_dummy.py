"""The Libcloud provider on Libcloud's own ``dummy`` driver: what the generic path does on a
driver that implements only create, list, reboot and destroy."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import unicompute as uc
from unicompute.driver import Capability


@pytest.fixture
def cloud() -> Any:
    with uc.connect("libcloud:dummy", creds="0") as opened:
        yield opened


def _driver(cloud: uc.Cloud) -> Any:
    return cloud._ctx.drivers.compute.driver  # type: ignore[attr-defined]


def test_capabilities_are_what_the_dummy_driver_implements(cloud: uc.Cloud) -> None:
    assert cloud.provider == "libcloud:dummy"
    assert cloud.capabilities == {Capability.REBOOT.value}
    assert cloud.thread_safe is False  # Libcloud: one driver instance per thread


def test_locations_are_zones_of_the_single_region(cloud: uc.Cloud) -> None:
    assert [r.name for r in cloud.regions()] == [cloud.region]
    assert [z.name for z in cloud.zones()] == ["1", "2", "3"]
    assert {z.region for z in cloud.zones()} == {cloud.region}


def test_sizes_carry_libclouds_prices_cheapest_first(cloud: uc.Cloud) -> None:
    native = {str(s.id): float(s.price) for s in _driver(cloud).list_sizes()}
    sizes = cloud.vms.sizes(memory_gib=0.5)
    assert [s.name for s in sizes] == ["2", "3", "4"]
    assert {s.name: s.hourly_price for s in sizes} == {n: native[n] for n in ("2", "3", "4")}
    # Libcloud's prices are estimates, and say so.
    assert all((s.price_source or "").startswith("Libcloud estimate") for s in sizes)
    assert cloud.vms.cheapest_size(memory_gib=4).name == "3"
    assert cloud.vms.size("4").memory_gib == 8.0


def test_images_by_id_and_aliases_refused(cloud: uc.Cloud) -> None:
    assert {i.id for i in cloud.vms.images()} == {"1", "2", "3"}
    assert cloud.vms.image("3").name == "Slackware 4"
    with pytest.raises(uc.NotFound, match="no table of portable image aliases"):
        cloud.vms.image("ubuntu-24.04")
    with pytest.raises(uc.InvalidRequest) as caught:
        cloud.vms.launch(uc.VMSpec(name="a", size="1", image="ubuntu-24.04"))
    assert caught.value.field == "image"


def test_launch_list_reboot_terminate(cloud: uc.Cloud) -> None:
    before = {vm.id for vm in cloud.vms.list()}
    vm = cloud.vms.launch(uc.VMSpec(name="web", size="2", image="1"))
    assert vm.state is uc.VMState.RUNNING
    assert vm.size == "s1"  # what the dummy driver reports, whatever was asked
    assert {v.id for v in cloud.vms.list()} == before | {vm.id}
    vm.reboot()
    assert vm.refresh().state is uc.VMState.PENDING  # NodeState.REBOOTING
    vm.terminate()
    with pytest.raises(uc.NotFound):
        cloud.vms.get(vm.id)
    assert {v.id for v in cloud.vms.list()} == before


@pytest.mark.parametrize(
    ("action", "operation"),
    [(lambda vm: vm.stop(), "vms.stop"), (lambda vm: vm.start(), "vms.start"),
     (lambda vm: vm.set_tags({"a": "b"}), "vms.set_tags"),
     (lambda vm: vm.user_data(), "vms.user_data"),
     (lambda vm: vm.inbound_rules(), "vms.inbound_rules")],
)
def test_missing_operations_are_unsupported_naming_provider_and_operation(
    cloud: uc.Cloud, action: Any, operation: str
) -> None:
    vm = cloud.vms.get("1")
    with pytest.raises(uc.Unsupported) as caught:
        action(vm)
    assert caught.value.provider == "libcloud:dummy"
    assert caught.value.operation == operation
    assert "libcloud:dummy" in str(caught.value)


def test_keys_and_volumes_are_unsupported(cloud: uc.Cloud) -> None:
    with pytest.raises(uc.Unsupported, match="keys"):
        cloud.keys.list()
    with pytest.raises(uc.Unsupported, match="volumes"):
        cloud.volumes.list()


def test_tags_and_disk_size_are_refused_before_anything_is_created(cloud: uc.Cloud) -> None:
    count = len(_driver(cloud).list_nodes())
    with pytest.raises(uc.Unsupported) as caught:
        cloud.vms.launch(uc.VMSpec(name="a", size="1", image="1", tags={"app": "web"}))
    assert caught.value.operation == "vms.launch"
    with pytest.raises(uc.InvalidRequest) as bad_disk:
        cloud.vms.launch(uc.VMSpec(name="a", size="1", image="1", disk_gib=20))
    assert bad_disk.value.field == "disk_gib"
    with pytest.raises(uc.InvalidRequest) as bad_size:
        cloud.vms.launch(uc.VMSpec(name="a", size="9", image="1"))
    assert bad_size.value.field == "size"
    assert len(_driver(cloud).list_nodes()) == count


def test_a_failed_launch_destroys_the_vms_it_created(
    cloud: uc.Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    from libcloud.common.types import ProviderError

    driver = _driver(cloud)
    before = sorted(str(n.id) for n in driver.list_nodes())
    real_create = driver.create_node
    calls = []

    def create_node(**kwargs: Any) -> Any:
        calls.append(kwargs["name"])
        if len(calls) == 3:
            raise ProviderError("quota exhausted", 403, driver)
        return real_create(kwargs["name"], kwargs["size"], kwargs["image"])

    monkeypatch.setattr(driver, "create_node", create_node)
    with pytest.raises(uc.PermissionDenied) as caught:
        cloud.vms.launch(uc.VMSpec(name="web", size="1", image="1"), count=3)
    assert calls == ["web-1", "web-2", "web-3"]
    assert caught.value.operation == "vms.launch"
    assert sorted(str(n.id) for n in driver.list_nodes()) == before


def test_listing_pages_without_truncating_or_skipping() -> None:
    with uc.connect("libcloud:dummy", creds="0") as cloud:
        for _ in range(5):
            cloud.vms.launch(uc.VMSpec(name="n", size="1", image="1"))
        every = [str(i) for i in range(1, 8)]
        assert sorted(str(n.id) for n in _driver(cloud).list_nodes()) == every
        compute = cloud._ctx.drivers.compute  # type: ignore[attr-defined]
        compute._ctx.page_size = 3
        assert sorted(vm.id for vm in cloud.vms.list()) == every
        first = compute.list_vms(tags={}, states=None, page_token=None)
        assert len(first.items) == 3 and first.next_token is not None
        # A VM of the first page disappears before the second page is read: nothing shifts.
        cloud.vms.get(first.items[0].id).terminate()
        rest = []
        token = first.next_token
        while token is not None:
            page = compute.list_vms(tags={}, states=None, page_token=token)
            rest.extend(page.items)
            token = page.next_token
        seen = [i.id for i in first.items] + [i.id for i in rest]
        assert sorted(seen) == every
        assert len(seen) == len(set(seen))
        with pytest.raises(uc.InvalidRequest) as caught:
            compute.list_vms(tags={}, states=None, page_token="%%%")
        assert caught.value.field == "page_token"


def test_state_filter(cloud: uc.Cloud) -> None:
    cloud.vms.get("1").reboot()
    assert [vm.id for vm in cloud.vms.list(states=["pending"])] == ["1"]
    assert [vm.id for vm in cloud.vms.list(states=["running"])] == ["2"]


def test_connect_errors_name_the_field() -> None:
    with pytest.raises(uc.InvalidRequest) as unknown:
        uc.connect("libcloud:no-such-cloud")
    assert unknown.value.field == "provider"
    assert "ec2" in unknown.value.message and "openstack" in unknown.value.message
    with pytest.raises(uc.InvalidRequest) as missing:
        uc.connect("libcloud:dummy")
    assert missing.value.field == "creds"
    with pytest.raises(uc.InvalidRequest) as extra:
        uc.connect("libcloud:dummy", creds="0", ex_bogus="1")
    assert extra.value.field == "ex_bogus"
    with pytest.raises(uc.InvalidRequest) as region:
        uc.connect("libcloud:dummy", region="us-east-1", creds="0")
    assert region.value.field == "region"
    with pytest.raises(uc.InvalidRequest) as secure:
        uc.connect("libcloud:ec2", key="k", secret="s", secure="maybe")
    assert secure.value.field == "secure"
    with pytest.raises(uc.InvalidRequest) as bad_region:
        uc.connect("libcloud:ec2", region="mars-1", key="k", secret="s")
    assert bad_region.value.field == "region"


def test_url_form() -> None:
    with uc.connect("libcloud:dummy://?creds=3") as cloud:
        assert cloud.provider == "libcloud:dummy"
        assert len(list(cloud.vms.list())) == 3


def test_missing_libcloud_names_the_pip_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "libcloud.compute.providers", None)
    with pytest.raises(uc.MissingDependency, match=r"pip install 'unicompute\[libcloud\]'"):
        uc.connect("libcloud:dummy", creds="0")


def test_import_does_not_import_libcloud() -> None:
    code = ("import sys, unicompute, unicompute.providers.libcloud; "
            "assert not any(m.split('.')[0] == 'libcloud' for m in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_listing_reads_the_driver_once_not_once_per_page(
    monkeypatch: pytest.MonkeyPatch
) -> None:

    with uc.connect("libcloud:dummy", creds="7") as cloud:
        driver = _driver(cloud)
        compute = cloud._ctx.drivers.compute  # type: ignore[attr-defined]
        compute._ctx.page_size = 3
        now = [1000.0]
        compute._ctx.clock = lambda: now[0]
        reads = []
        real_list = driver.list_nodes

        def list_nodes(*args: Any, **kwargs: Any) -> Any:
            reads.append(1)
            return real_list(*args, **kwargs)

        monkeypatch.setattr(driver, "list_nodes", list_nodes)
        every = sorted(str(n.id) for n in real_list())
        assert len(every) == 7
        assert sorted(vm.id for vm in cloud.vms.list()) == every
        assert len(reads) == 1  # three pages, one read
        # A listing resumed after the snapshot expired reads afresh, from where it was.
        first = compute.list_vms(tags={}, states=None, page_token=None)
        now[0] += 31
        second = compute.list_vms(tags={}, states=None, page_token=first.next_token)
        assert len(reads) == 3
        assert [i.id for i in first.items + second.items] == every[:6]
        # A token used again has no snapshot left: read afresh, same answer.
        again = compute.list_vms(tags={}, states=None, page_token=first.next_token)
        assert [i.id for i in again.items] == [i.id for i in second.items]
        assert len(reads) == 4
        # A snapshot serves only the listing it was made for.
        fresh = compute.list_vms(tags={}, states=None, page_token=None)
        tagged = compute.list_vms(tags={"x": "y"}, states=None, page_token=fresh.next_token)
        assert tagged.items == [] and len(reads) == 6
