"""A placed workload launched, inspected and destroyed on several fakes at once: VMs on all
three clouds, functions where ``cloud.functions`` works (AWS today)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import unicompute as uc
from unicompute.mocks import MockCloud, mock_cloud
from unicompute.workloads import Progress, Step, deploy, load, parse
from unicompute.workloads.deploy import (
    CloudsIncomplete,
    CloudsInterrupted,
    Target,
    prepare,
    targets,
)
from unicompute.workloads.placement import place

SHOP = Path(__file__).parents[3] / "examples" / "shop.yaml"
VMS_ONLY = """\
name: duo
vms:
  - {name: web, count: 2, vcpus: 2, memory_gib: 4, disk_gib: 30}
  - {name: db, vcpus: 4, memory_gib: 16, disk_gib: 30, spot: prefer}
"""


@pytest.fixture(scope="module")
def fakes() -> Iterator[MockCloud]:
    with mock_cloud() as mock:
        yield mock


@pytest.fixture
def fresh(fakes: MockCloud) -> MockCloud:
    fakes.reset()
    return fakes


def opener(provider: str, region: str) -> uc.Cloud:
    return uc.connect(provider, region=region)


def test_all_clouds_in_parallel_then_rerun_creates_nothing_then_destroy(fresh: MockCloud
                                                                         ) -> None:
    workload = parse(VMS_ONLY)
    placement = place(workload, cloud="all")
    events: list[Progress] = []
    with prepare(placement, opener) as prepared:
        assert prepared.to_launch == 9
        result = deploy.launch(prepared, progress=events.append)
    assert sorted(result) == ["aws", "azure", "gcp"]
    for provider, outcome in result.items():
        choice = next(c for c in placement.chosen if c.provider == provider)
        assert [vm.size for vm in outcome.vms.vms] == [g.size for g in choice.groups
                                                       for _ in range(g.group.count)]
        assert all(vm.state is uc.VMState.RUNNING for vm in outcome.vms.vms)
    assert {e.cloud for e in events} == {"aws", "azure", "gcp"}
    assert sum(e.step is Step.LAUNCHED for e in events) == 9
    with prepare(placement, opener) as again:
        assert again.to_launch == 0
        rerun = deploy.launch(again)
    assert all(r.vms.launched == () for r in rerun.values())
    where = targets(workload.placement, "all")
    now = datetime.now(UTC) + timedelta(hours=1)
    seen = deploy.status("duo", where, opener, now=now)
    assert sum(len(s.vms.vms) for s in seen.values()) == 9
    assert all(s.total_so_far > 0 for s in seen.values() if s.vms.vms)
    gone = deploy.destroy("duo", where, opener)
    assert sum(len(d.vms) for d in gone.values()) == 9
    assert all(not s.vms.vms for s in deploy.status("duo", where, opener).values())


def test_functions_go_and_come_with_the_workload_on_aws(fresh: MockCloud) -> None:
    workload = load(SHOP)
    placement = place(workload, cloud="aws")
    with prepare(placement, opener) as prepared:
        assert prepared.clouds[0].to_deploy == ("shop-orders",)
        result = deploy.launch(prepared)["aws"]
    assert result.deployed == ("shop-orders",)
    with uc.connect("aws", region=result.region) as cloud:
        answer = cloud.functions.get("shop-orders").invoke({"item": "tea", "quantity": 2})
        assert answer.result["quantity"] == 2
    with prepare(placement, opener) as again:
        assert again.clouds[0].to_deploy == () and again.to_launch == 0
    where = targets(workload.placement, "aws")
    assert [s.functions for s in deploy.status("shop", where, opener).values()
            if s.vms.vms] == [("shop-orders",)]
    gone = deploy.destroy("shop", where, opener)
    assert [d.functions for d in gone.values() if d.vms] == [("shop-orders",)]
    with uc.connect("aws", region=result.region) as cloud:
        assert list(cloud.functions.list()) == []


def test_functions_carry_the_workload_tag_vms_carry_on_every_cloud(fresh: MockCloud) -> None:
    """One tag, ``unicompute:workload=shop``, finds the VMs and the function on each cloud
    (Lambda tags, Azure tags and GCP labels as ``unicompute--workload``); destroy removes both
    and checks that nothing carrying it remains."""
    workload = load(SHOP)
    placement = place(workload, cloud="all")
    with prepare(placement, opener) as prepared:
        deploy.launch(prepared)
    for choice in placement.chosen:
        with uc.connect(choice.provider, region=choice.region) as cloud:
            tag = {"unicompute:workload": "shop"}
            assert len(list(cloud.vms.list(tags=tag))) == 3, choice.provider
            (function,) = cloud.functions.list(tags=tag)
            assert function.name == "shop-orders"
            assert dict(function.tags) == tag, choice.provider
    where = targets(workload.placement, "all")
    gone = deploy.destroy("shop", where, opener)
    assert sorted(f for d in gone.values() for f in d.functions) == ["shop-orders"] * 3


def test_destroy_finds_functions_tagged_the_way_they_were_before(fresh: MockCloud) -> None:
    workload = load(SHOP)
    (function,) = workload.functions
    legacy = replace(function.spec, tags={"unicompute-workload": "shop"})
    with uc.connect("aws", region="us-east-1") as cloud:
        cloud.functions.deploy(legacy)
    where = targets(workload.placement, "aws")
    assert [s.functions for s in deploy.status("shop", where, opener).values()
            if s.functions] == [("shop-orders",)]
    gone = deploy.destroy("shop", where, opener)
    assert [d.functions for d in gone.values() if d.functions] == [("shop-orders",)]
    with uc.connect("aws", region="us-east-1") as cloud:
        assert list(cloud.functions.list()) == []


def test_a_cloud_without_functions_is_refused_before_anything_is_made(
    fresh: MockCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    workload = load(SHOP)
    capabilities = uc.Cloud.capabilities

    def without_functions_on_gcp(cloud: uc.Cloud) -> frozenset[str]:
        found: frozenset[str] = capabilities.fget(cloud)  # type: ignore[attr-defined]
        return found - {"functions"} if cloud.provider == "gcp" else found

    monkeypatch.setattr(uc.Cloud, "capabilities", property(without_functions_on_gcp))
    placement = place(workload, cloud="all")
    with pytest.raises(CloudsIncomplete) as info, prepare(placement, opener):
        pass
    assert list(info.value.errors) == ["gcp"]
    assert isinstance(info.value.cause, uc.InvalidRequest)
    assert info.value.cause.field == "functions"
    assert all(not s.vms.vms and not s.functions for s in deploy.status(
        "shop", targets(workload.placement, "all"), opener).values())


def test_a_function_one_cloud_refuses_stops_every_cloud_before_anything_is_made(
    fresh: MockCloud
) -> None:
    """600 s is within Lambda's 900 s and Cloud Functions' 3600 s but over Azure's 230 s
    HTTP cap: the refusal comes from prepare, so neither AWS nor GCP gets VMs or functions."""
    text = SHOP.read_text().replace("timeout_s: 30", "timeout_s: 600")
    workload = parse(text, source=str(SHOP), base_dir=SHOP.parent)
    placement = place(workload, cloud="all")
    with pytest.raises(uc.InvalidRequest) as info, prepare(placement, opener) as prepared:
        deploy.launch(prepared)
    assert info.value.field == "functions[0].timeout_s" and info.value.provider == "azure"
    assert "230" in str(info.value)
    for provider in ("aws", "azure", "gcp"):
        for region in placement.workload.placement.regions[provider]:
            with uc.connect(provider, region=region) as cloud:
                assert list(cloud.vms.list()) == [] and list(cloud.functions.list()) == []


def test_cost_so_far_follows_billing_rules() -> None:
    from unicompute.catalog import load_catalog

    catalog = load_catalog()
    offer = catalog.offer("aws", "us-east-1", "t3.medium")
    assert offer.on_demand_hourly is not None
    launched = datetime(2026, 1, 1, tzinfo=UTC)
    vm = _vm("t3.medium", launched, spot=False)
    # 30 s of running is billed as the 60 s minimum.
    early = deploy.cost_so_far(vm, "aws", "us-east-1", now=launched + timedelta(seconds=30),
                               catalog=catalog)
    assert early == pytest.approx(offer.on_demand_hourly * 60 / 3600)
    later = deploy.cost_so_far(vm, "aws", "us-east-1", now=launched + timedelta(hours=2),
                               catalog=catalog)
    assert later == pytest.approx(offer.on_demand_hourly * 2)
    unknown = deploy.cost_so_far(_vm("t3.nope", launched, spot=False), "aws", "us-east-1",
                                 now=launched, catalog=catalog)
    assert unknown is None


def test_cost_so_far_counts_pending_and_running_vms_only() -> None:
    from unicompute.catalog import load_catalog

    catalog = load_catalog()
    launched = datetime(2026, 1, 1, tzinfo=UTC)
    now = launched + timedelta(hours=3)
    costs = {state: deploy.cost_so_far(_vm("t3.medium", launched, spot=False, state=state),
                                       "aws", "us-east-1", now=now, catalog=catalog)
             for state in uc.VMState}
    hourly = catalog.offer("aws", "us-east-1", "t3.medium").on_demand_hourly
    assert hourly is not None
    assert costs.pop(uc.VMState.PENDING) == costs.pop(uc.VMState.RUNNING) == \
        pytest.approx(3 * hourly)
    assert set(costs.values()) == {None}  # stopping, stopped, terminating, ...: not counted


def test_status_leaves_a_stopped_vm_out_of_the_cost_so_far(fresh: MockCloud) -> None:
    workload = parse("name: pair\nvms:\n  - {name: app, count: 2, size: {aws: t3.micro}}\n")
    placement = place(workload, cloud="aws")
    with prepare(placement, opener) as prepared:
        (result,) = deploy.launch(prepared).values()
    first, second = result.vms.vms
    with uc.connect("aws", region=result.region) as cloud:
        cloud.vms.get(second.id).stop().wait_until(uc.VMState.STOPPED, timeout=60)
    now = datetime.now(UTC) + timedelta(hours=1)
    (seen,) = deploy.status("pair", targets(workload.placement, "aws"), opener,
                            now=now).values()
    assert seen.cost_so_far[second.id] is None and seen.cost_so_far[first.id] is not None
    assert seen.total_so_far == seen.cost_so_far[first.id] > 0
    deploy.destroy("pair", targets(workload.placement, "aws"), opener)


def _vm(size: str, launched: datetime, *, spot: bool,
        state: uc.VMState = uc.VMState.RUNNING) -> uc.VM:
    from unittest.mock import MagicMock

    vm = MagicMock(spec=uc.VM)
    vm.size, vm.launched_at, vm.spot, vm.state = size, launched, spot, state
    return vm


def test_targets_cover_every_cloud_and_region_the_workload_may_use() -> None:
    workload = load(SHOP)
    assert targets(workload.placement) == tuple(
        Target(cloud, region) for cloud, regions in workload.placement.regions.items()
        for region in regions)
    assert targets(workload.placement, "gcp", "europe-west1") == (Target("gcp",
                                                                          "europe-west1"),)
    with pytest.raises(uc.InvalidRequest, match=r"--region 'europe-west4' is not among"):
        targets(workload.placement, "gcp", "europe-west4")  # the file does not allow it


def test_one_failing_cloud_does_not_stop_the_others() -> None:
    done: list[str] = []

    def work(name: str) -> str:
        if name == "b":
            raise uc.Conflict("b refused")
        done.append(name)
        return name.upper()

    with pytest.raises(CloudsIncomplete) as info:
        deploy.in_parallel(["a", "b", "c"], work, str)
    assert sorted(done) == ["a", "c"] and info.value.done == {"a": "A", "c": "C"}
    assert "b: b refused" in str(info.value)
    assert deploy.in_parallel(["a"], work, str) == {"a": "A"}


def test_an_interrupt_on_one_cloud_stops_new_work_on_all_and_the_next_launch_completes(
        fresh: MockCloud) -> None:
    """A ``KeyboardInterrupt`` in GCP's thread (its progress callback) once every cloud has
    launched its first VM: the others, held until then, launch nothing more."""
    workload = parse(VMS_ONLY)
    placement = place(workload, cloud="all")
    first_launched = threading.Barrier(3, timeout=30)
    interrupted = threading.Event()

    def progress(event: Progress) -> None:
        if event.step is not Step.LAUNCHED:
            return
        first_launched.wait()
        if event.cloud == "gcp":
            interrupted.set()
            raise KeyboardInterrupt
        assert interrupted.wait(30)

    with prepare(placement, opener) as prepared, \
            pytest.raises(KeyboardInterrupt) as info:
        deploy.launch(prepared, progress=progress)
    stopped = info.value
    assert isinstance(stopped, CloudsInterrupted)
    assert sorted(stopped.made) == ["aws", "azure", "gcp"]
    assert all(len(m.launched) == 1 and not m.finished for m in stopped.made.values()), \
        stopped.made
    assert len(stopped.launched) == 3 and stopped.errors == {}
    where = targets(workload.placement, "all")
    seen = deploy.status("duo", where, opener)
    assert sorted(vm.id for s in seen.values() for vm in s.vms.vms) == \
        sorted(vm.id for vm in stopped.launched)

    with prepare(placement, opener) as again:  # the tagged VMs are found; the rest launched
        assert again.to_launch == 6
        rerun = deploy.launch(again)
    assert sum(len(r.vms.vms) for r in rerun.values()) == 9
    gone = deploy.destroy("duo", where, opener)
    assert sum(len(d.vms) for d in gone.values()) == 9


def test_ctrl_c_in_the_caller_stops_every_cloud_then_waits_for_the_calls_under_way() -> None:
    """Ctrl-C (SIGINT to this process) reaches the main thread while it waits: the
    clouds are told to stop, and ``in_parallel`` returns only once their calls ended."""
    stop = threading.Event()
    both = threading.Barrier(2)
    ended: list[str] = []

    def work(name: str) -> str:
        both.wait(10)
        if name == "a":
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        assert stop.wait(10)  # told to stop; the call under way ends
        time.sleep(0.2)
        ended.append(name)
        return name

    with pytest.raises(KeyboardInterrupt):
        deploy.in_parallel(["a", "b"], work, str, stop=stop)
    assert sorted(ended) == ["a", "b"]
