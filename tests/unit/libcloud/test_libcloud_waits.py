"""The Libcloud provider's waits and retries run on the context's injected clock and sleep
(``poll_interval`` apart, no real sleeping): the wait for a terminated VM times out with a
``Timeout`` naming the VM, and EC2 security-group calls are retried while EC2 settles."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fake_time import FakeTime
from libcloud.common.exceptions import BaseHTTPError

import unicompute as uc
from unicompute.providers.libcloud import ec2_network
from unicompute.providers.libcloud._context import Context


def on_fake_time(cloud: uc.Cloud, fake_time: FakeTime, poll_interval: float) -> Context:
    ctx: Context = cloud._ctx.drivers.compute._ctx  # type: ignore[attr-defined]
    ctx.poll_interval, ctx.clock, ctx.sleep = poll_interval, fake_time.clock, fake_time.sleep
    return ctx


def test_connect_polls_every_poll_interval_without_backoff() -> None:
    with uc.connect("libcloud:dummy", creds="1", poll_interval="3") as cloud:
        ctx: Context = cloud._ctx.drivers.compute._ctx  # type: ignore[attr-defined]
        assert ctx.poller.interval == ctx.poller.max_interval == 3.0
        assert ctx.poller.backoff == 1.0
    with pytest.raises(uc.InvalidRequest) as caught:
        uc.connect("libcloud:dummy", creds="1", poll_interval="-1")
    assert caught.value.field == "poll_interval"


def test_a_vm_that_does_not_go_away_times_out_on_the_injected_clock(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    with uc.connect("libcloud:dummy", creds="1") as cloud:
        fake_time = FakeTime(100.0)
        on_fake_time(cloud, fake_time, poll_interval=4)
        driver = cloud._ctx.drivers.compute.driver  # type: ignore[attr-defined]
        monkeypatch.setattr(driver, "destroy_node", lambda node: True)  # accepted, never done
        (vm,) = list(cloud.vms.list())
        started = time.monotonic()
        with pytest.raises(uc.Timeout) as caught:
            vm.terminate(timeout=20)
        assert time.monotonic() - started < 5
    assert caught.value.message == f"VM {vm.id} is still not terminated after 20 s"
    assert caught.value.provider == "libcloud:dummy" and caught.value.resource == vm.id
    assert fake_time.sleeps == [4.0] * 5 and fake_time.now == 120.0


def test_a_vm_that_goes_away_ends_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    with uc.connect("libcloud:dummy", creds="1") as cloud:
        fake_time = FakeTime(100.0)
        ctx = on_fake_time(cloud, fake_time, poll_interval=4)
        driver = cloud._ctx.drivers.compute.driver  # type: ignore[attr-defined]
        destroy = driver.destroy_node
        monkeypatch.setattr(driver, "destroy_node", lambda node: True)
        (vm,) = list(cloud.vms.list())

        def sleep(seconds: float) -> None:
            fake_time.sleep(seconds)
            if len(fake_time.sleeps) == 3:
                destroy(vm.raw)

        ctx.sleep = sleep
        vm.terminate(timeout=20)
        assert fake_time.sleeps == [4.0, 4.0, 4.0]
        assert list(cloud.vms.list()) == []


@pytest.fixture
def ec2(endpoint: tuple[str, int]) -> Iterator[uc.Cloud]:
    host, port = endpoint
    with uc.connect("libcloud:ec2", region="us-east-1", key="testing", secret="testing",
                    host=host, port=port, secure=False) as opened:
        yield opened


def refuse(monkeypatch: pytest.MonkeyPatch, action: str, message: str, times: int
           ) -> list[int]:
    """Make EC2 answer ``action`` with ``message`` ``times`` times; the attempts, counted."""
    real_request = ec2_network._request
    attempts: list[int] = []

    def request(driver: Any, params: Any) -> Any:
        if params["Action"] == action:
            attempts.append(1)
            if len(attempts) <= times:
                raise BaseHTTPError(400, message)
        return real_request(driver, params)

    monkeypatch.setattr(ec2_network, "_request", request)
    return attempts


def spec(name: str, **fields: Any) -> uc.VMSpec:
    return uc.VMSpec(name=name, size="t3.micro", image="debian-12", **fields)


def test_a_group_ec2_does_not_know_yet_is_retried_on_the_injected_clock(
    ec2: uc.Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_time = FakeTime(100.0)
    on_fake_time(ec2, fake_time, poll_interval=1.5)
    attempts = refuse(monkeypatch, "AuthorizeSecurityGroupIngress",
                      "InvalidGroup.NotFound: The security group does not exist", times=2)
    vm = ec2.vms.launch(spec("wait-new", open_ports=[22]))
    assert len(attempts) == 3 and fake_time.sleeps == [1.5, 1.5]
    assert {(r.protocol, r.port_from, r.port_to) for r in vm.inbound_rules()} == {("tcp", 22, 22)}
    vm.terminate()


def test_a_group_still_in_use_is_retried_then_left_with_a_warning(
    ec2: uc.Cloud, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake_time = FakeTime(100.0)
    ctx = on_fake_time(ec2, fake_time, poll_interval=10)
    ctx.group_delete_timeout = 60
    vm = ec2.vms.launch(spec("wait-held", open_ports=[80]))
    attempts = refuse(monkeypatch, "DeleteSecurityGroup",
                      "DependencyViolation: resource has a dependent object", times=1000)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="unicompute.libcloud"):
        vm.terminate()
    assert time.monotonic() - started < 5
    assert len(attempts) == 7 and fake_time.sleeps == [10.0] * 6  # t = 0, 10, ..., 60 s
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "unicompute.libcloud"]
    assert "could not be deleted (DependencyViolation after 60 s)" in warning
    with pytest.raises(uc.NotFound):
        ec2.vms.get(vm.id)
