"""Finished long-running operations are remembered up to a bound (the kernel's
``keep_finished``); an operation id past it answers 404 as an unknown one does."""

from __future__ import annotations

import pytest
from arm_helpers import LOCATION, Clients
from azure.core.rest import HttpRequest
from azure.mgmt.resource.resources import models as rm

from unicompute.mocks._kernel import FakeClock, IdFactory, Operations


def test_kernel_keeps_only_the_newest_finished_operations() -> None:
    ops = Operations(FakeClock(), IdFactory(), keep_finished=2)
    first, second, third = (ops.start() for _ in range(3))
    assert ops.get(first.id) is None  # forgotten
    assert ops.get(second.id) is second and ops.get(third.id) is third
    ops.mode = "stepped"
    running = ops.start()
    for _ in range(2):
        ops.start()  # still running: neither counted nor dropped
    assert ops.peek(running.id) is running and ops.peek(third.id) is third
    ops.finish_all()
    assert ops.peek(running.id) is None and len(ops.all()) == 2
    with pytest.raises(ValueError):
        Operations(FakeClock(), IdFactory(), keep_finished=0)


def test_unbounded_by_default() -> None:
    ops = Operations(FakeClock(), IdFactory())
    made = [ops.start() for _ in range(50)]
    assert all(ops.get(op.id) is op for op in made)


def test_arm_forgets_old_operations_with_a_404(az: Clients) -> None:
    az.fake.app.operations.keep_finished = 1
    az.fake.operations.mode = "stepped"
    groups = az.resource.resource_groups
    groups.create_or_update("ops", rm.ResourceGroup(location=LOCATION))
    poller = groups.begin_delete("ops")
    poller.result()
    status_url = next(r for r in az.fake.app.requests if r.endpoint == "operation_status")
    groups.create_or_update("ops2", rm.ResourceGroup(location=LOCATION))
    groups.begin_delete("ops2").result()
    answer = az.resource.send_request(HttpRequest(
        "GET", f"https://management.azure.com{status_url.path}?{status_url.query}"))
    assert (answer.status_code, answer.json()["error"]["code"]) == (404, "NotFound")
