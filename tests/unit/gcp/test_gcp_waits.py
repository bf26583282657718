"""The GCP provider's waits run on the context's injected clock and sleep (``poll_interval``
apart, no real sleeping) and time out with a ``Timeout`` naming what they waited for."""

from __future__ import annotations

import time

import pytest
from fake_time import FakeTime

import unicompute as uc
from unicompute.mocks.gcp import GcpFake
from unicompute.providers.gcp._clients import Context


def driver_context(cloud: uc.Cloud, fake_time: FakeTime, *, poll_interval: float,
                   wait_timeout: float) -> Context:
    ctx: Context = cloud._ctx.drivers.compute._ctx  # type: ignore[attr-defined]
    ctx.poll_interval = poll_interval
    ctx.wait_timeout = wait_timeout
    ctx.clock = fake_time.clock
    ctx.sleep = fake_time.sleep
    return ctx


def waits(fake: GcpFake) -> list[str]:
    return [r.path for r in fake.app.requests if r.path.endswith("/wait")]


def test_an_operation_wait_polls_on_the_injected_clock_and_times_out(
    cloud: uc.Cloud, fake: GcpFake
) -> None:
    vm = cloud.vms.launch(uc.VMSpec(name="web-1", size="e2-small", image="ubuntu-24.04"))
    fake_time = FakeTime(1000.0)
    driver_context(cloud, fake_time, poll_interval=5, wait_timeout=60)
    fake.operations.mode = "stepped"
    fake.operations.polls_to_finish = 10**6
    fake.operations.step_seconds = 10**9  # no wait call (2 min of fake GCE time) finishes it
    before = len(waits(fake))

    started = time.monotonic()
    with pytest.raises(uc.Timeout) as caught:
        vm.set_tags({"stage": "test"})
    elapsed = time.monotonic() - started

    assert "(setLabels web-1) is not done after 60 s" in caught.value.message
    assert caught.value.message.startswith("GCE operation ")
    assert caught.value.provider == "gcp" and caught.value.resource == "web-1"
    assert fake_time.sleeps == [5.0] * 12 and fake_time.now == 1060.0
    assert len(waits(fake)) - before == 13  # at t = 0, 5, ..., 60 s
    assert elapsed < 5  # 60 s of the injected clock, no real sleeping


def test_an_operation_that_finishes_ends_the_wait_without_sleeping_past_it(
    cloud: uc.Cloud, fake: GcpFake
) -> None:
    vm = cloud.vms.launch(uc.VMSpec(name="web-1", size="e2-small", image="ubuntu-24.04"))
    fake_time = FakeTime(1000.0)
    driver_context(cloud, fake_time, poll_interval=5, wait_timeout=60)
    fake.operations.mode = "stepped"
    fake.operations.polls_to_finish = 3  # the insert-time answer is not a poll; 3 waits are
    fake.operations.step_seconds = 10**9
    vm.set_tags({"stage": "test"})
    assert vm.refresh().tags["stage"] == "test"
    assert fake_time.sleeps == [5.0, 5.0]  # the first wait call at once, no sleep after DONE


def test_waiting_for_a_vm_being_deleted_by_another_call_uses_the_injected_clock(
    cloud: uc.Cloud, fake: GcpFake
) -> None:
    vm = cloud.vms.launch(uc.VMSpec(name="web-1", size="e2-small", image="ubuntu-24.04"))
    fake_time = FakeTime(1000.0)
    driver_context(cloud, fake_time, poll_interval=3, wait_timeout=30)
    # GCE refuses a second delete of an instance another call is deleting: the driver then
    # polls the instance until it is gone. Here nothing deletes it, so the wait times out.
    fake.faults.fail_next("instances_delete", status=400, code="resourceNotReady",
                          message=f"The resource '{vm.id}' is not ready")
    started = time.monotonic()
    with pytest.raises(uc.Timeout) as caught:
        vm.terminate(timeout=30)
    assert time.monotonic() - started < 5
    assert caught.value.message == f"VM {vm.id} is still being deleted after 30 s"
    assert caught.value.provider == "gcp" and caught.value.resource == vm.id
    assert fake_time.sleeps == [3.0] * 10 and fake_time.now == 1030.0


def test_a_vm_deleted_meanwhile_ends_the_wait(cloud: uc.Cloud, fake: GcpFake) -> None:
    vm = cloud.vms.launch(uc.VMSpec(name="web-1", size="e2-small", image="ubuntu-24.04"))
    fake_time = FakeTime(1000.0)
    ctx = driver_context(cloud, fake_time, poll_interval=3, wait_timeout=30)
    zone, name = vm.id.split("/")

    def sleep_then_let_the_other_delete_finish(seconds: float) -> None:
        fake_time.sleep(seconds)
        if len(fake_time.sleeps) == 2:
            ctx.clients.instances.delete_unary(project=ctx.project, zone=zone, instance=name)

    ctx.sleep = sleep_then_let_the_other_delete_finish
    fake.faults.fail_next("instances_delete", status=400, code="resourceNotReady",
                          message=f"The resource '{vm.id}' is not ready")
    vm.terminate(timeout=30)
    assert fake_time.sleeps == [3.0, 3.0]
    with pytest.raises(uc.NotFound):
        cloud.vms.get(vm.id)
