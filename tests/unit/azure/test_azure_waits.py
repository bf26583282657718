"""Every ARM long-running operation is waited for with a deadline, on an injectable clock.

Each test has its own fake (operations stuck in stepped mode stay pollable until the fake
stops, and azure-core's poller threads follow them until then). Time is the fake's clock: the
driver's waits read it and their pauses advance it, so a 600 s deadline passes in
milliseconds of real time.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure_leftovers import left_over

import unicompute as uc
from unicompute import _errors as errors
from unicompute._cloud import Cloud
from unicompute._context import CloudContext
from unicompute._waiting import Poller
from unicompute.driver import ProviderDrivers
from unicompute.mocks._kernel import Interceptor
from unicompute.mocks.azure import AzureFake
from unicompute.providers.azure import open_provider
from unicompute.providers.azure._context import (
    DEFAULT_OPERATION_TIMEOUT,
    DEFAULT_VM_TIMEOUT,
)

#: Seconds between the driver's looks at an operation, on the fake clock.
INTERVAL = 30.0
#: An operation in stepped mode with these never finishes during a test.
NEVER = 10**9


class Timed:
    """The fake clock as the driver sees it: every pause the driver takes is recorded and
    advances the fake clock by that much; no real time passes."""

    def __init__(self, fake: Any) -> None:
        self.fake = fake
        self.pauses: list[float] = []

    def clock(self) -> float:
        return float(self.fake.clock.time())

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.fake.clock.advance(seconds)


@pytest.fixture
def fake() -> Iterator[Any]:
    running = AzureFake().start()
    interceptor = Interceptor(running.routes())
    interceptor.install()
    try:
        yield running
    finally:
        running.stop()  # forgets the stuck operations: their poller threads end (404)
        interceptor.uninstall()


@pytest.fixture
def drivers(fake: Any) -> Iterator[ProviderDrivers]:
    opened = open_provider("eastus", {"poll_interval": INTERVAL, "retry_total": 0})
    yield opened
    opened.close()


@pytest.fixture
def timed(drivers: ProviderDrivers, fake: Any) -> Timed:
    ctx = drivers.compute._ctx  # type: ignore[attr-defined]
    recorder = Timed(fake)
    ctx.clock, ctx.sleep = recorder.clock, recorder.sleep
    return recorder


@pytest.fixture
def cloud(drivers: ProviderDrivers) -> Cloud:
    return Cloud(CloudContext(drivers, poller=Poller(interval=0, sleep=lambda _: None)), {})


def ctx_of(drivers: ProviderDrivers) -> Any:
    return drivers.compute._ctx  # type: ignore[attr-defined]


def stick(fake: Any) -> None:
    """Operations started from now on never finish."""
    fake.operations.mode = "stepped"
    fake.operations.polls_to_finish = NEVER
    fake.operations.step_seconds = NEVER


def stuck_from_vm_create(drivers: ProviderDrivers, fake: Any, monkeypatch: pytest.MonkeyPatch,
                         *, undo_finishes: bool) -> None:
    """The launch's VM creates never finish; what comes after them finishes at once when
    ``undo_finishes``, else never either."""
    vms = ctx_of(drivers).compute.virtual_machines
    real: Callable[..., Any] = vms.begin_create_or_update

    def create(*args: Any, **kwargs: Any) -> Any:
        stick(fake)
        try:
            return real(*args, **kwargs)
        finally:
            if undo_finishes:
                fake.operations.mode = "instant"

    monkeypatch.setattr(vms, "begin_create_or_update", create)


def spec(name: str, **changes: Any) -> uc.VMSpec:
    return uc.VMSpec(name=name, size="Standard_B1s", image="ubuntu-24.04", open_ports=[22],
                     **changes)


def test_a_vm_create_that_never_finishes_times_out_and_the_launch_cleans_up(
        cloud: Cloud, drivers: ProviderDrivers, fake: Any, timed: Timed,
        monkeypatch: pytest.MonkeyPatch) -> None:
    stuck_from_vm_create(drivers, fake, monkeypatch, undo_finishes=True)
    started, real_start = timed.clock(), time.monotonic()
    with pytest.raises(errors.Timeout) as caught:
        cloud.vms.launch(spec("slow"))
    real_seconds = time.monotonic() - real_start
    waited = timed.clock() - started
    error = caught.value
    assert "creating VM slow" in str(error) and f"{DEFAULT_VM_TIMEOUT:g} s" in str(error)
    assert error.resource is not None and error.resource.endswith("/virtualMachines/slow")
    assert error.provider == "azure" and error.operation == "vms.launch"
    # The deadline holds on the injected clock: it passed, and by no more than one pause.
    assert DEFAULT_VM_TIMEOUT <= waited <= DEFAULT_VM_TIMEOUT + INTERVAL
    assert timed.pauses and max(timed.pauses) <= INTERVAL
    assert real_seconds < 1.0, f"took {real_seconds:.2f} s of real time"
    # The VM create is still running in Azure, yet the undo removed everything.
    assert any(not op.done for op in fake.operations.all())
    assert left_over(drivers, "slow") == {}


def test_an_undo_whose_vm_delete_never_finishes_is_bounded_and_reports_the_leftovers(
        cloud: Cloud, drivers: ProviderDrivers, fake: Any, timed: Timed,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="unicompute.providers.azure")
    stuck_from_vm_create(drivers, fake, monkeypatch, undo_finishes=False)
    started, real_start = timed.clock(), time.monotonic()
    with pytest.raises(errors.Timeout) as caught:
        cloud.vms.launch(spec("stuck"))
    real_seconds = time.monotonic() - real_start
    waited = timed.clock() - started
    # The create's deadline, then the undo's VM delete's; the NIC and public IP deletes that
    # follow are refused at once (still in use by the VM, as Azure refuses them).
    assert 2 * DEFAULT_VM_TIMEOUT <= waited <= 2 * (DEFAULT_VM_TIMEOUT + INTERVAL)
    assert real_seconds < 1.0, f"took {real_seconds:.2f} s of real time"
    assert "creating VM stuck" in str(caught.value)  # the launch's error, not the undo's
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert "deleting VM stuck after the failed launch also failed (Timeout)" in notes
    assert "deleting VM stuck did not finish within 600 s" in caplog.text
    for what in ("network interface stuck-nic", "public IP stuck-pip"):
        assert f"deleting {what} after the failed launch also failed" in notes
        assert what in caplog.text
    assert set(left_over(drivers, "stuck")) >= {"vms", "nics", "pips", "nsgs"}


def test_an_undo_whose_nic_delete_never_finishes_is_bounded(
        cloud: Cloud, drivers: ProviderDrivers, fake: Any, timed: Timed,
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="unicompute.providers.azure")
    stuck_from_vm_create(drivers, fake, monkeypatch, undo_finishes=True)
    nics = ctx_of(drivers).network.network_interfaces
    real: Callable[..., Any] = nics.begin_delete

    def delete(*args: Any, **kwargs: Any) -> Any:
        stick(fake)
        try:
            return real(*args, **kwargs)
        finally:
            fake.operations.mode = "instant"

    monkeypatch.setattr(nics, "begin_delete", delete)
    started = timed.clock()
    with pytest.raises(errors.Timeout) as caught:
        cloud.vms.launch(spec("sticky"))
    waited = timed.clock() - started
    budget = DEFAULT_VM_TIMEOUT + DEFAULT_OPERATION_TIMEOUT
    assert budget <= waited <= budget + 2 * INTERVAL
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert "deleting network interface sticky-nic after the failed launch also failed " \
        "(Timeout)" in notes
    assert "deleting network interface sticky-nic did not finish within 300 s" in caplog.text
    # The VM went; the NIC is still being deleted, and its public IP and NSG stay with it.
    assert set(left_over(drivers, "sticky")) == {"nics", "pips", "nsgs"}


def test_a_failed_long_running_operation_raises_the_sdk_error_translated(
        cloud: Cloud, drivers: ProviderDrivers, fake: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """An operation whose polling ends in an ARM error raises that error, not a Timeout, as
    soon as azure-core's poller thread has it (the default pause waits on that thread)."""
    stuck_from_vm_create(drivers, fake, monkeypatch, undo_finishes=True)
    fake.faults.fail_next("operation_status", status=409, code="OperationNotAllowed",
                          message="injected")
    started = time.monotonic()
    with pytest.raises(errors.Conflict) as caught:
        cloud.vms.launch(spec("failing"))
    assert time.monotonic() - started < 1.0
    assert "OperationNotAllowed" in str(caught.value.original)
    assert left_over(drivers, "failing") == {}


def test_terminate_gives_up_at_its_timeout_and_a_later_call_finishes(
        cloud: Cloud, drivers: ProviderDrivers, fake: Any, timed: Timed) -> None:
    vm = cloud.vms.launch(spec("ending"))
    stick(fake)
    started = timed.clock()
    with pytest.raises(errors.Timeout) as caught:
        vm.terminate(timeout=120)
    assert 120 <= timed.clock() - started <= 120 + INTERVAL
    assert "deleting VM ending" in str(caught.value) and caught.value.resource == vm.id
    assert set(left_over(drivers, "ending")) >= {"vms", "nics", "pips"}
    fake.operations.mode = "instant"
    fake.operations.finish_all()  # Azure finishes the delete in its own time
    vm.terminate(timeout=120)
    assert left_over(drivers, "ending") == {}


@pytest.mark.parametrize(("setting", "call"), [
    ("operation_timeout",
     lambda cloud: cloud.volumes.create(8, name="slow-disk", zone="1", tags={})),
    ("vm_timeout", lambda cloud: cloud.vms.launch(spec("slower"))),
])
def test_the_deadlines_are_settings(fake: Any, monkeypatch: pytest.MonkeyPatch, setting: str,
                                    call: Callable[[Cloud], object]) -> None:
    opened = open_provider("eastus", {"poll_interval": 5, "retry_total": 0, setting: "42"})
    timed = Timed(fake)
    ctx = ctx_of(opened)
    ctx.clock, ctx.sleep = timed.clock, timed.sleep
    cloud = Cloud(CloudContext(opened, poller=Poller(interval=0, sleep=lambda _: None)), {})
    if setting == "vm_timeout":
        stuck_from_vm_create(opened, fake, monkeypatch, undo_finishes=True)
    else:
        stick(fake)
    started = timed.clock()
    with pytest.raises(errors.Timeout) as caught:
        call(cloud)
    assert "within 42 s" in str(caught.value)
    assert 42 <= timed.clock() - started <= 42 + 5
    opened.close()


@pytest.mark.parametrize("setting", ["vm_timeout", "operation_timeout"])
@pytest.mark.parametrize("value", [-1, "soon", True])
def test_bad_deadlines_are_refused_naming_the_setting(setting: str, value: object) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        open_provider("eastus", {"subscription_id": "00000000-0000-0000-0000-000000000000",
                                 setting: value})
    assert caught.value.field == setting
