"""Launching, re-launching and destroying workloads on the AWS fake (moto)."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from textwrap import dedent
from typing import Any

import pytest

import unicompute as uc
from unicompute import workloads
from unicompute.workloads import (
    GROUP_TAG,
    WORKLOAD_TAG,
    LaunchIncomplete,
    LaunchInterrupted,
    Progress,
    Step,
)

WEB = """\
name: shop
vms:
  - name: web
    count: 2
    size: {aws: t3.micro}
    ports: [80, 443]
    user_data: "#!/bin/sh\\necho web\\n"
    tags: {team: demo}
  - name: db
    vcpus: 2
    memory_gib: 4
"""


def workload(text: str = WEB) -> workloads.Workload:
    return workloads.parse(dedent(text), source="shop.yaml")


def names(vms: Any) -> list[str]:
    return [vm.name for vm in vms]


def price(cloud: uc.Cloud, size: str) -> float:
    value = cloud.vms.size(size).hourly_price
    assert value is not None
    return value


def tagged(cloud: uc.Cloud, name: str = "shop") -> list[uc.VM]:
    return list(cloud.vms.list(tags={WORKLOAD_TAG: name}))


def test_launch_names_tags_and_sizes_every_vm(aws: uc.Cloud) -> None:
    result = workloads.launch(workload(), aws)
    assert names(result.vms) == ["shop-web-1", "shop-web-2", "shop-db-1"]  # file order
    assert result.launched == result.vms
    web = [vm for vm in result.vms if vm.tags[GROUP_TAG] == "web"]
    assert all(vm.state is uc.VMState.RUNNING for vm in result.vms)
    assert {vm.size for vm in web} == {"t3.micro"}
    assert web[0].tags.items() >= {WORKLOAD_TAG: "shop", GROUP_TAG: "web", "team": "demo"}.items()
    db = aws.vms.cheapest_size(vcpus=2, memory_gib=4).name
    assert result.vms[2].size == db
    assert result.price(result.vms[2]) == price(aws, db)
    assert result.hourly_cost == pytest.approx(price(aws, db) + 2 * price(aws, "t3.micro"))
    assert web[0].user_data() == b"#!/bin/sh\necho web\n"
    assert {rule.port_from for rule in web[0].inbound_rules()} >= {80, 443}


def test_relaunch_creates_nothing_and_completes_what_is_missing(aws: uc.Cloud) -> None:
    first = workloads.launch(workload(), aws)
    again = workloads.launch(workload(), aws)
    assert again.launched == ()
    assert set(again.vms) == set(first.vms)
    assert len(tagged(aws)) == 3

    lost = next(vm for vm in first.vms if vm.name == "shop-web-2")
    lost.terminate()
    plan = workloads.plan(workload(), aws)
    assert [group.missing for group in plan.groups] == [("shop-web-2",), ()]
    assert plan.to_launch == 1
    repaired = workloads.launch(workload(), aws)
    assert names(repaired.launched) == ["shop-web-2"]
    assert sorted(names(tagged(aws))) == ["shop-db-1", "shop-web-1", "shop-web-2"]


def test_count_changes_launch_more_and_report_extra(aws: uc.Cloud) -> None:
    workloads.launch(workload(WEB.replace("count: 2", "count: 3")), aws)
    plan = workloads.plan(workload(), aws)
    assert plan.to_launch == 0
    assert names(plan.extra) == ["shop-web-3"]
    assert workloads.launch(workload(), aws).launched == ()
    assert len(tagged(aws)) == 4  # launch never removes anything


def test_other_workloads_are_left_alone(aws: uc.Cloud) -> None:
    workloads.launch(workload(), aws)
    other = workloads.launch(workload(WEB.replace("name: shop", "name: blog")), aws)
    assert len(other.launched) == 3
    assert len(workloads.destroy("blog", aws)) == 3
    assert len(tagged(aws)) == 3


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param(("t3.micro", "t3.gigantic"), "vms[0].size.aws", id="unknown-size"),
        pytest.param(("memory_gib: 4", "memory_gib: 100000"), "vms[1]", id="no-size-fits"),
        pytest.param(
            ("    vcpus: 2\n", "    image: no-such-image\n    vcpus: 2\n"),
            "vms[1].image",
            id="unknown-image",
        ),
        pytest.param(
            ("size: {aws: t3.micro}", "size: {other: small}"),
            "vms[0].size",
            id="no-size-for-this-cloud",
        ),
        pytest.param(
            ("tags: {team: demo}", "tags: {'aws:team': demo}"),
            "vms[0].tags",
            id="tag-the-cloud-reserves",
        ),
        pytest.param(
            ("tags: {team: demo}", "tags: {'unicompute:sg': sg-1}"),
            "vms[0].tags",
            id="tag-the-provider-reserves",
        ),
    ],
)
def test_bad_group_is_rejected_before_anything_is_launched(
    aws: uc.Cloud, change: tuple[str, str], field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from unicompute.workloads import spec

    monkeypatch.setattr(spec, "available_providers", lambda: ["aws", "other"])
    with pytest.raises(uc.InvalidRequest) as info:
        workloads.launch(workload(WEB.replace(*change)), aws)
    assert info.value.field == field
    assert tagged(aws) == []


def fail_on_call(
    cloud: uc.Cloud,
    monkeypatch: pytest.MonkeyPatch,
    number: int,
    error: BaseException | None = None,
) -> None:
    """Make the ``number``-th ``cloud.vms.launch`` call raise ``error`` (QuotaExceeded)."""
    real: Callable[..., Any] = cloud.vms.launch
    calls = []

    def launch(spec: uc.VMSpec, **kwargs: Any) -> Any:
        calls.append(spec.name)
        if len(calls) == number:
            raise error or uc.QuotaExceeded("instance limit reached", provider="aws")
        return real(spec, **kwargs)

    monkeypatch.setattr(cloud.vms, "launch", launch)


def test_failure_part_way_says_what_was_launched_and_launch_completes_it(
    aws: uc.Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_on_call(aws, monkeypatch, 2)
    with pytest.raises(LaunchIncomplete) as info:
        workloads.launch(workload(), aws)
    error = info.value
    assert error.code is uc.ErrorCode.QUOTA_EXCEEDED
    assert isinstance(error.cause, uc.QuotaExceeded)
    assert names(error.launched) == ["shop-web-1"]
    assert "instance limit reached" in str(error) and "shop-web-1 (i-" in str(error)
    assert names(tagged(aws)) == ["shop-web-1"]

    monkeypatch.undo()
    completed = workloads.launch(workload(), aws)
    assert names(completed.launched) == ["shop-web-2", "shop-db-1"]  # in file order
    assert len(tagged(aws)) == 3
    workloads.destroy("shop", aws)
    assert tagged(aws) == []


def test_launch_incomplete_keeps_the_cause_retryable(
    aws: uc.Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    cause = uc.ProviderError(
        "InternalError", provider="aws", operation="vms.launch", transient=True
    )
    fail_on_call(aws, monkeypatch, 2, cause)
    with pytest.raises(LaunchIncomplete) as info:
        workloads.launch(workload(), aws, wait=False)
    error = info.value
    assert (error.transient, error.retryable) == (True, True)
    assert (error.provider, error.operation, error.code) == (
        "aws",
        "vms.launch",
        uc.ErrorCode.PROVIDER_ERROR,
    )


def test_interrupt_after_a_launch_lists_what_was_launched(
    aws: uc.Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    interrupt = KeyboardInterrupt()
    fail_on_call(aws, monkeypatch, 3, interrupt)
    with pytest.raises(KeyboardInterrupt) as info:  # not swallowed by `except Exception`
        workloads.launch(workload(), aws)
    assert isinstance(info.value, LaunchInterrupted) and not isinstance(info.value, Exception)
    assert names(info.value.launched) == ["shop-web-1", "shop-web-2"]
    assert info.value.__cause__ is interrupt
    assert "shop-web-2 (i-" in str(info.value)
    assert sorted(names(tagged(aws))) == ["shop-web-1", "shop-web-2"]


def test_interrupt_while_waiting_lists_every_launched_vm(
    aws: uc.Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(self: uc.VM, *args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(uc.VM, "wait_until", interrupt)
    with pytest.raises(KeyboardInterrupt) as info:
        workloads.launch(workload(), aws)
    assert isinstance(info.value, LaunchInterrupted)
    assert names(info.value.launched) == ["shop-web-1", "shop-web-2", "shop-db-1"]


def test_interrupt_before_the_first_launch_passes_unchanged(
    aws: uc.Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_on_call(aws, monkeypatch, 1, KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt) as info:
        workloads.launch(workload(), aws)
    assert type(info.value) is KeyboardInterrupt


def test_user_data_is_not_in_plan_reprs(aws: uc.Cloud) -> None:
    plan = workloads.plan(workload(), aws)
    assert plan.groups[0].group.user_data == "#!/bin/sh\necho web\n"
    for value in (plan, plan.groups[0], plan.workload):
        assert "echo web" not in repr(value)


def test_failure_on_the_first_vm_passes_unchanged(
    aws: uc.Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_on_call(aws, monkeypatch, 1)
    with pytest.raises(uc.QuotaExceeded):
        workloads.launch(workload(), aws)


def test_destroy_leaves_nothing_and_is_repeatable(aws: uc.Cloud) -> None:
    launched = workloads.launch(workload(), aws)
    events: list[Progress] = []
    gone = workloads.destroy("shop", aws, progress=events.append)
    assert set(gone) == set(launched.vms)
    assert all(vm.state is uc.VMState.TERMINATED for vm in gone)
    assert tagged(aws) == []
    assert workloads.status("shop", aws).vms == ()
    for vm in gone:  # each VM announced, then finished
        assert [e.step for e in events if e.vm_id == vm.id] == [Step.TERMINATING, Step.TERMINATED]
    assert [e.done for e in events if e.step is Step.TERMINATED] == [1, 2, 3]
    assert {e.total for e in events} == {3}
    assert workloads.destroy("shop", aws) == ()


def test_destroy_raises_when_a_vm_remains(aws: uc.Cloud) -> None:
    workloads.launch(workload(), aws)
    straggler = workload(WEB.replace("name: web", "name: late"))

    def launch_meanwhile(event: Progress) -> None:
        if event.step is Step.TERMINATED and event.done == event.total:
            workloads.launch(straggler, aws, wait=False)  # someone launches during destroy

    with pytest.raises(uc.Conflict, match="remain after destroy: shop-db-1"):
        workloads.destroy("shop", aws, progress=launch_meanwhile)


def test_progress_reports_each_launch_and_wait(aws: uc.Cloud) -> None:
    events: list[Progress] = []
    workloads.launch(workload(), aws, progress=events.append)
    steps = [(e.step, e.name) for e in events]
    assert steps[:2] == [(Step.LAUNCHING, "shop-web-1"), (Step.LAUNCHED, "shop-web-1")]
    assert [s for s in steps if s[0] is Step.RUNNING] == [
        (Step.RUNNING, "shop-web-1"),
        (Step.RUNNING, "shop-web-2"),
        (Step.RUNNING, "shop-db-1"),
    ]
    assert [e.done for e in events if e.step is not Step.LAUNCHING] == [1, 2, 3, 4, 5, 6]
    assert {e.total for e in events} == {6}

    events.clear()
    workloads.launch(workload(), aws, progress=events.append)
    assert events == []


def test_no_wait_launches_without_waiting(aws: uc.Cloud) -> None:
    events: list[Progress] = []
    result = workloads.launch(workload(), aws, progress=events.append, wait=False)
    assert len(result.launched) == 3
    assert Step.RUNNING not in {e.step for e in events} and events[-1].total == 3


def test_status_orders_by_group_then_index(aws: uc.Cloud) -> None:
    text = "name: big\nvms:\n  - name: n\n    count: 11\n    size: {aws: t3.nano}\n"
    workloads.launch(workload(text), aws, wait=False)
    status = workloads.status("big", aws)
    assert names(status.vms) == [f"big-n-{i}" for i in range(1, 12)]
    assert status.hourly_cost == pytest.approx(11 * price(aws, "t3.nano"))


def test_a_group_the_cloud_would_reject_fails_before_any_launch(aws: uc.Cloud) -> None:
    too_big = "#" * 20_000  # EC2 takes 16 KB of user data; the first group is fine
    text = WEB.replace('user_data: "#!/bin/sh\\necho web\\n"', "user_data: x") + (
        f"    user_data: '{too_big}'\n"
    )
    with pytest.raises(uc.InvalidRequest) as caught:
        workloads.launch(workload(text), aws)
    assert caught.value.field == "vms[1].user_data"
    assert tagged(aws) == []


# -- destroy terminates in parallel -----------------------------------------------------------


def test_destroy_terminates_the_vms_at_the_same_time(
    aws: uc.Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    workloads.launch(workload(), aws, wait=False)
    together = threading.Barrier(3, timeout=5)  # passes only when all three are under way
    original = uc.VM.terminate

    def terminate(self: uc.VM, **kwargs: Any) -> None:
        together.wait()
        original(self, **kwargs)

    monkeypatch.setattr(uc.VM, "terminate", terminate)
    assert len(workloads.destroy("shop", aws)) == 3
    assert tagged(aws) == []


def test_destroy_runs_at_most_workers_terminates_at_once(
    aws: uc.Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    workloads.launch(workload(WEB.replace("count: 2", "count: 5")), aws, wait=False)
    lock = threading.Lock()
    running = [0]
    most = [0]
    original = uc.VM.terminate

    def terminate(self: uc.VM, **kwargs: Any) -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            time.sleep(0.02)  # long enough for the others to start, if they may
            original(self, **kwargs)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(uc.VM, "terminate", terminate)
    assert len(workloads.destroy("shop", aws, workers=2)) == 6
    assert most[0] == 2
    assert tagged(aws) == []

    # Drivers that must not be shared between threads (Libcloud's): one VM at a time there.
    workloads.launch(workload(), aws, wait=False)
    most[0] = 0
    monkeypatch.setattr(uc.Cloud, "thread_safe", property(lambda _: False))
    assert len(workloads.destroy("shop", aws)) == 3
    assert most[0] == 1


def test_a_vm_that_cannot_be_terminated_does_not_stop_the_others(
    aws: uc.Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    workloads.launch(workload(), aws, wait=False)
    refused = uc.PermissionDenied(
        "not authorized to terminate", provider="aws", operation="vms.terminate"
    )
    original = uc.VM.terminate

    def terminate(self: uc.VM, **kwargs: Any) -> None:
        if self.name == "shop-web-2":
            raise refused
        original(self, **kwargs)

    monkeypatch.setattr(uc.VM, "terminate", terminate)
    events: list[Progress] = []
    with pytest.raises(workloads.apply.DestroyIncomplete) as info:
        workloads.destroy("shop", aws, progress=events.append)
    error = info.value
    assert [(vm.name, cause) for vm, cause in error.failed] == [("shop-web-2", refused)]
    assert sorted(names(error.terminated)) == ["shop-db-1", "shop-web-1"]
    assert error.code is uc.ErrorCode.PERMISSION_DENIED and error.cause is refused
    assert "shop-web-2 (i-" in str(error) and "not authorized to terminate" in str(error)
    assert error.resource == error.failed[0][0].id
    assert names(tagged(aws)) == ["shop-web-2"]
    assert sorted(e.name for e in events if e.step is Step.TERMINATED) == [
        "shop-db-1", "shop-web-1"
    ]

    monkeypatch.undo()
    assert names(workloads.destroy("shop", aws)) == ["shop-web-2"]  # destroy again finishes
    assert tagged(aws) == []


def test_destroy_workers_must_be_a_positive_whole_number(aws: uc.Cloud) -> None:
    workloads.launch(workload(), aws, wait=False)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(uc.InvalidRequest) as info:
            workloads.destroy("shop", aws, workers=bad)  # type: ignore[arg-type]
        assert info.value.field == "workers"
    assert len(tagged(aws)) == 3


def test_ctrl_c_during_destroy_stops_at_once_and_starts_no_more_vms(
    aws: uc.Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    workloads.launch(workload(), aws, wait=False)
    release = threading.Event()
    original = uc.VM.terminate

    def terminate(self: uc.VM, **kwargs: Any) -> None:
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)  # Ctrl-C
        release.wait(10)  # a terminate still under way
        original(self, **kwargs)

    monkeypatch.setattr(uc.VM, "terminate", terminate)
    with pytest.raises(KeyboardInterrupt):
        workloads.destroy("shop", aws, workers=1)
    assert not release.is_set()  # the interrupt did not wait for the terminate under way
    release.set()
    for thread in threading.enumerate():
        if thread.name.startswith("unicompute-destroy-"):
            thread.join(10)
    assert len(tagged(aws)) == 2  # the one under way finished, no other was started
