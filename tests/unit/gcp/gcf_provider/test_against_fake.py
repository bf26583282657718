"""The Cloud Functions provider against the GCP fake: what the conformance suite does not
check — no write on an identical re-deploy, refusals before any call, undo of a half-made
deploy, delete of everything a deploy made, queue and schedule triggers, key auth on the URL,
and the same flow through a served fake (``endpoint_url``, ``Host`` routing)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

import unicompute as uc
from unicompute.mocks import MockCloud
from unicompute.mocks.gcp import GcpFake

SOURCE = '''\
import json


def handler(event, context):
    print("event", json.dumps(event, sort_keys=True))
    return {"n": event.get("n") if isinstance(event, dict) else None}


def web(event, context):
    return {"statusCode": 200, "body": "hello " + (event.get("body") or "")}
'''


@pytest.fixture
def source(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(SOURCE)
    return tmp_path


def spec(source: Path, **changes: Any) -> uc.FunctionSpec:
    fields: dict[str, Any] = {"name": "unit-fn", "runtime": "python3.12", "handler": "app.handler",
                              "source": source, "memory_mb": 256, "timeout_s": 30,
                              "tags": {"team": "media"}}
    fields.update(changes)
    return uc.FunctionSpec(**fields)


def writes(fake: GcpFake) -> list[str]:
    """Every request that changes something, across the fake's apps."""
    fns = fake.functions
    logged = [*fns.api.requests, *fns.run_admin.requests, *fns.scheduler.requests]
    return [f"{r.method} {r.path}" for r in logged if r.method not in ("GET",)
            and not r.path.endswith(":getIamPolicy")]


def test_identical_redeploy_writes_nothing(cloud: uc.Cloud, fake: GcpFake,
                                           source: Path) -> None:
    triggers = (uc.HttpTrigger(), uc.ScheduleTrigger("rate(5 minutes)"))
    first = cloud.functions.deploy(spec(source, triggers=triggers))
    before = len(writes(fake))
    again = cloud.functions.deploy(spec(source, triggers=triggers))
    assert writes(fake)[before:] == []
    assert again.version == first.version and again.triggers == triggers


def test_bad_input_makes_no_call(cloud: uc.Cloud, fake: GcpFake, source: Path) -> None:
    for changes, field in (({"tags": {"Team": "x"}}, "tags"),
                           ({"env": {"X_GOOGLE_A": "1"}}, "env"),
                           ({"triggers": (uc.ScheduleTrigger("rate(7 minutes)"),)}, "triggers"),
                           ({"triggers": (uc.QueueTrigger("queue1"),), "timeout_s": 600},
                            "timeout_s")):
        with pytest.raises(uc.InvalidRequest) as info:
            cloud.functions.deploy(spec(source, **changes))
        assert info.value.field == field
    # Not even a read: the GCP-only checks run with the portable ones, before the first call.
    assert list(fake.functions.api.requests) == [] and list(fake.functions.scheduler.requests) == []
    assert fake.functions.names() == []


def test_failed_trigger_step_undoes_the_deploy(cloud: uc.Cloud, fake: GcpFake,
                                               source: Path) -> None:
    fake.faults.fail_next("jobs_create", status=403, code="PERMISSION_DENIED",
                          message="cloudscheduler.jobs.create denied")
    with pytest.raises(uc.PermissionDenied):
        cloud.functions.deploy(spec(source, triggers=(
            uc.ScheduleTrigger("rate(1 hour)"), uc.ScheduleTrigger("rate(1 day)"))))
    assert fake.functions.names() == [] and fake.functions.jobs() == []


def test_delete_removes_function_and_jobs(cloud: uc.Cloud, fake: GcpFake,
                                          source: Path) -> None:
    cloud.functions.deploy(spec(source, triggers=(
        uc.HttpTrigger(), uc.ScheduleTrigger("cron(0 12 * * ? *)"),
        uc.ScheduleTrigger("rate(10 minutes)"))))
    other = cloud.functions.deploy(spec(source, name="unit-fn-2",
                                        triggers=(uc.ScheduleTrigger("rate(1 hour)"),)))
    assert len(fake.functions.jobs()) == 3
    cloud.functions.delete("unit-fn")
    assert [n.rsplit("/", 1)[-1] for n in fake.functions.names()] == ["unit-fn-2"]
    assert [j.rsplit("/", 1)[-1] for j in fake.functions.jobs()] == [
        f"uc-unit-fn-2-{j.rsplit('-', 1)[-1]}" for j in fake.functions.jobs()]
    assert other.refresh().triggers == (uc.ScheduleTrigger("rate(1 hour)"),)
    with pytest.raises(uc.NotFound):
        cloud.functions.delete("unit-fn")


def test_schedule_fires_as_the_clock_moves(cloud: uc.Cloud, fake: GcpFake,
                                           source: Path) -> None:
    fn = cloud.functions.deploy(spec(source, triggers=(uc.ScheduleTrigger("rate(5 minutes)"),)))
    fake.clock.advance(11 * 60)
    events = [json.loads(line.message.split("event ", 1)[1]) for line in fn.logs()
              if line.message.startswith("event ")]
    assert len(events) == 2
    assert {e["source"] for e in events} == {"unicompute.schedule"}
    assert {e["schedule"] for e in events} == {"rate(5 minutes)"}


def test_queue_trigger_gets_pubsub_messages(cloud: uc.Cloud, fake: GcpFake,
                                            source: Path) -> None:
    fn = cloud.functions.deploy(spec(source, triggers=(uc.QueueTrigger("orders", 1),)))
    assert fn.triggers == (uc.QueueTrigger("orders", 1),)
    fake.functions.publish("orders", "first order", {"kind": "book"})
    events = [json.loads(line.message.split("event ", 1)[1]) for line in fn.logs()
              if line.message.startswith("event ")]
    assert len(events) == 1
    (record,) = events[0]["Records"]
    assert record["body"] == "first order" and record["attributes"]["kind"] == "book"
    assert (record["eventSource"], record["eventSourceARN"]) == (
        "gcp:pubsub", f"projects/{fake.project}/topics/orders")
    # An event-triggered function can still be invoked directly (the shim registers itself
    # as an HTTP function with the Functions Framework).
    assert fn.invoke({"n": 4}).result == {"n": 4}
    with pytest.raises(uc.InvalidRequest) as info:  # GCF cannot change a function's trigger
        cloud.functions.deploy(spec(source))
    assert info.value.field == "triggers"


def test_key_auth_needs_an_id_token(cloud: uc.Cloud, fake: GcpFake, source: Path) -> None:
    fn = cloud.functions.deploy(spec(source, handler="app.web",
                                     triggers=(uc.HttpTrigger(auth="key"),)))
    assert fn.url is not None
    assert requests.post(fn.url, data="x", timeout=30).status_code == 403
    token = fake.functions.id_token(fn.url)
    answer = requests.post(fn.url, data="x", timeout=30,
                           headers={"Authorization": f"Bearer {token}"})
    assert (answer.status_code, answer.text) == (200, "hello x")
    # The provider's own invokes carry a token of its credentials.
    assert cloud.functions.deploy(spec(source, triggers=(uc.HttpTrigger(auth="key"),))).invoke(
        {"n": 3}).result == {"n": 3}
    public = cloud.functions.deploy(spec(source, handler="app.web",
                                         triggers=(uc.HttpTrigger(),)))
    assert requests.post(public.url or "", data="y", timeout=30).text == "hello y"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[uc.Cloud, GcpFake]]:
    with MockCloud(["gcp"]) as mock:
        fake: GcpFake = mock.gcp
        endpoint = fake.serve()
        try:
            with uc.connect("gcp", region="us-central1", endpoint_url=endpoint,
                            project=fake.project, poll_interval=0) as cloud:
                yield cloud, fake
        finally:
            fake.shutdown_server()


def test_served_fake_through_endpoint_url(served: tuple[uc.Cloud, GcpFake],
                                          source: Path) -> None:
    cloud, fake = served
    fn = cloud.functions.deploy(spec(source, triggers=(uc.HttpTrigger(),
                                                      uc.ScheduleTrigger("rate(1 hour)"))))
    out = fn.invoke({"n": 5})
    assert out.result == {"n": 5} and out.cold_start is True
    assert any('"n": 5' in line.message for line in fn.logs())
    # Only the Host header (the function's *.a.run.app name) routes a served request to the
    # function URIs' app: its path is not one the server dispatches by.
    assert "/_unicompute/invoke" in {r.path for r in fake.functions.host.requests}
    # A private function (no HttpTrigger) answers the provider's anonymous credentials there.
    private = cloud.functions.deploy(spec(source, name="unit-private"))
    assert private.url is None and private.invoke({"n": 6}).result == {"n": 6}
    cloud.functions.delete(private.name)
    cloud.functions.delete(fn.name)
    assert fake.functions.names() == [] and fake.functions.jobs() == []
