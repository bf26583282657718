"""The Azure provider against the portable contract where it is easy to get wrong: a launch that
fails at any later step leaves nothing behind, names Azure would refuse are refused first, and
secrets stay out of errors and logs."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from azure_leftovers import GROUP, left_over

import unicompute as uc
from unicompute import _errors as errors
from unicompute._cloud import Cloud
from unicompute.driver import ProviderDrivers
from unicompute.mocks._kernel.faults import Fault
from unicompute.providers.azure import LIMITS, Options


def fail_call(monkeypatch: pytest.MonkeyPatch, fake: Any, operation: str, nth: int) -> None:
    """The ``nth`` call of the fake's ``operation`` fails with 409 OperationNotAllowed."""
    real = fake.faults.check
    seen = 0

    def check(name: str) -> Fault | None:
        nonlocal seen
        if name == operation:
            seen += 1
            if seen == nth:
                return Fault(status=409, code="OperationNotAllowed", message="injected")
        return real(name)

    monkeypatch.setattr(fake.faults, "check", check)


@pytest.mark.parametrize(("operation", "nth"), [
    ("nsg_put", 1),
    ("public_ip_put", 2),        # after the NSG and the first VM's public IP and NIC
    ("nic_put", 2),
    ("vm_put", 2),               # after the first VM (and its OS disk) exists
    ("disk_put", 1),             # tagging the first OS disk, both VMs made
    ("vm_instance_view", 2),     # reading the second VM back
])
def test_a_launch_failing_at_any_step_leaves_nothing(
        cloud: Cloud, drivers: ProviderDrivers, fake: Any, run_id: str,
        monkeypatch: pytest.MonkeyPatch, operation: str, nth: int) -> None:
    prefix = f"half-{run_id}"
    fail_call(monkeypatch, fake, operation, nth)
    with pytest.raises(errors.Conflict):
        cloud.vms.launch(uc.VMSpec(name=prefix, size="Standard_B1s", image="ubuntu-24.04",
                                   open_ports=[22], tags={"run": run_id}), count=2)
    monkeypatch.undo()
    assert left_over(drivers, prefix) == {}


@pytest.mark.parametrize("name", ["web_1", "web-", "web.", "-web", "_web", "a" * 65])
def test_names_azure_refuses_as_computer_names_are_refused_first(
        cloud: Cloud, fake: Any, run_id: str, name: str) -> None:
    """The VM name is also its computer name: Linux host names take letters, digits, '-' and
    '.', and neither a VM nor a host name may end with '.' or '-'."""
    start = len(fake.app.requests)
    with pytest.raises(errors.InvalidRequest) as caught:
        cloud.vms.launch(uc.VMSpec(name=name, size="Standard_B1s", image="ubuntu-24.04",
                                   tags={"run": run_id}))
    assert caught.value.field == "name"
    assert [r.method for r in list(fake.app.requests)[start:]
            if r.method not in ("GET", "HEAD")] == []


def test_names_azure_takes_still_work(cloud: Cloud, run_id: str) -> None:
    assert LIMITS.names.pattern.fullmatch("web.1-a")
    vm = cloud.vms.launch(uc.VMSpec(name=f"Ok.{run_id}-1", size="Standard_B1s",
                                    image="ubuntu-24.04", tags={"run": run_id}))
    vm.terminate()


def test_the_admin_password_stays_out_of_errors_and_logs(
        cloud: Cloud, drivers: ProviderDrivers, fake: Any, run_id: str,
        caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "Sup3r-Secret-Pw!-" + run_id
    user_data = f"#!/bin/sh\necho {secret}\n"
    caplog.set_level(logging.DEBUG)
    fail_call(monkeypatch, fake, "vm_put", 1)
    # ... and the cleanup fails too, so the provider logs and notes what it left
    fake.faults.fail_next("nic_delete", status=409, code="OperationNotAllowed",
                          message="injected")
    with pytest.raises(errors.Conflict) as caught:
        cloud.vms.launch(uc.VMSpec(name=f"sec-{run_id}", size="Standard_B1s",
                                   image="ubuntu-24.04", user_data=user_data,
                                   tags={"run": run_id},
                                   options=Options(admin_password=secret)))
    monkeypatch.undo()
    original = caught.value.original
    assert original is not None
    shown = [str(caught.value), repr(caught.value), str(original), repr(original),
             *getattr(original, "__notes__", []), caplog.text]
    assert any("delete it by hand" in text for text in shown)
    assert not any(secret in text for text in shown)
    ctx = drivers.compute._ctx  # type: ignore[attr-defined]
    ctx.network.network_interfaces.begin_delete(GROUP, f"sec-{run_id}-nic").result()
    ctx.network.public_ip_addresses.begin_delete(GROUP, f"sec-{run_id}-pip").result()
    for nsg in left_over(drivers, f"sec-{run_id}").get("nsgs", []):
        ctx.network.network_security_groups.begin_delete(GROUP, nsg).result()
    assert left_over(drivers, f"sec-{run_id}") == {}


@pytest.mark.parametrize("public_ip", [True, False])
def test_terminate_resumes_after_the_nic_was_deleted(
        cloud: Cloud, drivers: ProviderDrivers, fake: Any, run_id: str, public_ip: bool) -> None:
    """An earlier terminate deleted the VM and the NIC, then failed deleting the public IP:
    terminating again deletes the public IP (billed) and the launch's NSG."""
    name = f"res-{run_id}"
    vm = cloud.vms.launch(uc.VMSpec(name=name, size="Standard_B1s", image="ubuntu-24.04",
                                    open_ports=[22], tags={"run": run_id},
                                    options=Options(public_ip=public_ip)))
    fake.faults.fail_next("public_ip_delete", status=409, code="OperationNotAllowed",
                          message="injected")
    if public_ip:
        with pytest.raises(errors.Conflict):
            vm.terminate()
        assert set(left_over(drivers, name)) == {"pips", "nsgs"}
    else:
        ctx = drivers.compute._ctx  # type: ignore[attr-defined]
        ctx.compute.virtual_machines.begin_delete(GROUP, name).result()
        ctx.network.network_interfaces.begin_delete(GROUP, f"{name}-nic").result()
        fake.faults.clear()
    vm.terminate()
    left = left_over(drivers, name)
    # without the public IP the launch id is gone: the (free) NSG stays, never a wrong one
    if public_ip:
        assert left == {}
    else:
        assert list(left) == ["nsgs"] and len(left["nsgs"]) == 1
    for nsg in left.get("nsgs", []):
        drivers.compute._ctx.network.network_security_groups.begin_delete(  # type: ignore[attr-defined]
            GROUP, nsg).result()
