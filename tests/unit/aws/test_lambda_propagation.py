"""Deploys retry while IAM propagates a new role to Lambda: on the clients' injected clock and
sleep, ``poll_interval`` apart, for at most ``IAM_PROPAGATION_TIMEOUT`` seconds."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from fake_time import FakeTime

import unicompute as uc
from unicompute.mocks.aws import AwsFake
from unicompute.providers.aws.lambda_clients import IAM_PROPAGATION_TIMEOUT, FunctionClients

REGION = "us-east-1"
NOT_ASSUMABLE = "The role defined for the function cannot be assumed by Lambda."


@pytest.fixture(scope="module")
def cloud(fake: AwsFake) -> Iterator[uc.Cloud]:
    with uc.connect("aws", region=REGION, poll_interval=0) as opened:
        yield opened


@pytest.fixture
def clients(cloud: uc.Cloud) -> Iterator[FunctionClients]:
    found: FunctionClients = cloud._ctx.drivers.functions.clients  # type: ignore[union-attr]
    saved = found.poll_interval, found.clock, found.sleep
    yield found
    found.poll_interval, found.clock, found.sleep = saved


def spec(tmp_path: Path) -> uc.FunctionSpec:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return event\n")
    return uc.FunctionSpec(name=f"fn-{uuid.uuid4().hex[:8]}", runtime="python3.12",
                           handler="app.handler", source=tmp_path)


class NotYetAssumable:
    """Lambda's ``CreateFunction`` refusing the role ``failures`` times, then answering."""

    def __init__(self, clients: FunctionClients, monkeypatch: pytest.MonkeyPatch,
                 failures: int) -> None:
        self.attempts = 0
        self._left = failures
        self._create = clients.lambda_.create_function
        monkeypatch.setattr(clients.lambda_, "create_function", self)

    def __call__(self, **kwargs: Any) -> Any:
        self.attempts += 1
        if self._left > 0:
            self._left -= 1
            raise ClientError({"Error": {"Code": "InvalidParameterValueException",
                                         "Message": NOT_ASSUMABLE}}, "CreateFunction")
        return self._create(**kwargs)


def role_names() -> set[str]:
    return {r["RoleName"] for r in boto3.client("iam", region_name=REGION).list_roles()["Roles"]}


def test_a_role_lambda_cannot_assume_yet_is_retried_on_the_injected_clock(
    cloud: uc.Cloud, clients: FunctionClients, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_time = FakeTime(500.0)
    clients.poll_interval, clients.clock, clients.sleep = 5.0, fake_time.clock, fake_time.sleep
    lam = NotYetAssumable(clients, monkeypatch, failures=2)
    fn = cloud.functions.deploy(spec(tmp_path))
    assert fake_time.sleeps == [5.0, 5.0]
    assert lam.attempts == 3
    cloud.functions.delete(fn.name)


def test_propagation_that_never_comes_gives_up_after_the_timeout_with_the_last_error(
    cloud: uc.Cloud, clients: FunctionClients, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_time = FakeTime(500.0)
    clients.poll_interval, clients.clock, clients.sleep = 5.0, fake_time.clock, fake_time.sleep
    lam = NotYetAssumable(clients, monkeypatch, failures=1000)
    roles = role_names()
    wanted = spec(tmp_path)
    started = time.monotonic()
    # Giving up raises Lambda's own answer: after the wait it may be the caller's mistake (a
    # role whose trust policy never lets Lambda in), which only that message explains.
    with pytest.raises(uc.InvalidRequest, match="cannot be assumed by Lambda"):
        cloud.functions.deploy(wanted)
    assert time.monotonic() - started < 5  # 60 s of the injected clock, no real sleeping
    assert IAM_PROPAGATION_TIMEOUT == 60
    assert fake_time.sleeps == [5.0] * 12 and fake_time.now == 560.0
    assert lam.attempts == 13  # at t = 0, 5, ..., 60 s
    assert role_names() == roles  # the role the deploy made is undone
    with pytest.raises(uc.NotFound):
        cloud.functions.get(wanted.name)


def test_with_a_zero_interval_three_attempts_are_made(
    cloud: uc.Cloud, clients: FunctionClients, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_time = FakeTime(500.0)
    clients.clock, clients.sleep = fake_time.clock, fake_time.sleep  # poll_interval=0
    lam = NotYetAssumable(clients, monkeypatch, failures=1000)
    with pytest.raises(uc.InvalidRequest):
        cloud.functions.deploy(spec(tmp_path))
    assert lam.attempts == 3 and fake_time.now == 500.0


def test_other_errors_are_not_retried(
    cloud: uc.Cloud, clients: FunctionClients, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    fake_time = FakeTime(500.0)
    clients.poll_interval, clients.clock, clients.sleep = 5.0, fake_time.clock, fake_time.sleep
    calls: list[int] = []

    def refuse(**kwargs: Any) -> Any:
        calls.append(1)
        raise ClientError({"Error": {"Code": "InvalidParameterValueException",
                                     "Message": "Unzipped size must be smaller than 262144000"}},
                          "CreateFunction")

    monkeypatch.setattr(clients.lambda_, "create_function", refuse)
    with pytest.raises(uc.InvalidRequest, match="Unzipped size"):
        cloud.functions.deploy(spec(tmp_path))
    assert calls == [1] and fake_time.sleeps == []
