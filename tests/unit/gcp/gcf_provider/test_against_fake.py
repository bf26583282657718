"""The Cloud Functions provider against the GCP fake: what the conformance suite does not
check — no write on an identical re-deploy, refusals before any call, undo of a half-made
deploy, delete of everything a deploy made, queue and schedule triggers, key auth on the URL,
and the same flow through a served fake (``endpoint_url``, ``Host`` routing)."""

from __future__ import annotations

import json
import time
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
    assert {e["detail"]["schedule"] for e in events} == {"rate(5 minutes)"}


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


# -- who may call a function ----------------------------------------------------------------------
def logged_events(fn: uc.Function) -> list[Any]:
    """The events the handler of ``SOURCE`` printed, oldest first."""
    return [json.loads(line.message.split("event ", 1)[1]) for line in fn.logs()
            if line.message.startswith("event ")]


def stored_key(fake: GcpFake, name: str) -> str:
    """The invoke key as the control plane shows it (``cloudfunctions.functions.get``)."""
    from google.cloud import functions_v2

    client = functions_v2.FunctionServiceClient(transport="rest")
    fn = client.get_function(name=f"projects/{fake.project}/locations/us-central1/functions/"
                                  f"{name}")
    return str(fn.service_config.environment_variables["UNICOMPUTE_INVOKE_KEY"])


PUBSUB_PUSH = {"content-type": "application/json", "ce-id": "forged-1", "ce-specversion": "1.0",
               "ce-source": "//pubsub.googleapis.com/projects/p/topics/orders",
               "ce-type": "google.cloud.pubsub.topic.v1.messagePublished"}
FORGED_MESSAGE = json.dumps({"message": {"data": "Zm9yZ2Vk", "messageId": "1"}})


def test_a_public_url_serves_its_http_trigger_and_nothing_else(cloud: uc.Cloud, fake: GcpFake,
                                                               source: Path) -> None:
    fn = cloud.functions.deploy(spec(source, triggers=(
        uc.HttpTrigger(), uc.ScheduleTrigger("rate(1 hour)"))))
    url = fn.url or ""
    for path, headers, status in (
            ("/_unicompute/invoke", {}, 401),
            ("/_unicompute/invoke", {"x-unicompute-key": "guessed"}, 403),
            ("/_unicompute/schedule", {"X-CloudScheduler": "true",
                                       "X-CloudScheduler-JobName": "uc-unit-fn-x"}, 401),
            ("/_unicompute/schedule", {"x-unicompute-key": ""}, 401)):
        answer = requests.post(url + path, data='{"n": 666}', headers=headers, timeout=30)
        assert answer.status_code == status, path
        assert "Traceback" not in answer.text and "logs" not in answer.text
    assert logged_events(fn) == []  # the handler never ran
    # A CloudEvent sent to an HTTP function is an ordinary HTTP request: the handler gets
    # Lambda's URL event, never a queue event.
    assert requests.post(url, data=FORGED_MESSAGE, headers=PUBSUB_PUSH, timeout=30).ok
    (event,) = logged_events(fn)
    assert event["version"] == "2.0" and "Records" not in event
    # What unicompute itself sends still works: sync, async and dry-run invokes, schedules.
    assert fn.invoke({"n": 1}).result == {"n": 1}
    assert fn.invoke({"n": 2}, mode="async").status_code == 202
    assert fn.invoke({"n": 3}, mode="dry_run").status_code == 204
    fake.clock.advance(3600)
    seen = logged_events(fn)
    for _ in range(100):  # the async invoke runs on a background thread
        if {"n": 2} in seen:
            break
        time.sleep(0.05)
        seen = logged_events(fn)
    assert {"n": 1} in seen and {"n": 2} in seen and {"n": 3} not in seen
    assert [e["detail"]["schedule"] for e in seen if e.get("source") == "unicompute.schedule"] == [
        "rate(1 hour)"]


def test_the_key_is_kept_by_updates_and_read_from_the_control_plane(
        cloud: uc.Cloud, fake: GcpFake, source: Path) -> None:
    fn = cloud.functions.deploy(spec(source, triggers=(uc.HttpTrigger(),
                                                      uc.ScheduleTrigger("rate(1 day)"))))
    key = stored_key(fake, fn.name)
    assert len(key) == 43 and key not in repr(fn) and "UNICOMPUTE_INVOKE_KEY" not in fn.env
    (job,) = fake.functions.scheduler.jobs.values()
    assert job.body["httpTarget"]["headers"]["x-unicompute-key"] == key
    changed = cloud.functions.deploy(spec(source, env={"MODE": "b"}, triggers=fn.triggers))
    assert changed.env == {"MODE": "b"} and stored_key(fake, fn.name) == key
    # The key the control plane shows opens the private path.
    answer = requests.post((fn.url or "") + "/_unicompute/invoke", data='{"n": 8}',
                           headers={"x-unicompute-key": key}, timeout=30)
    assert answer.json()["result"] == {"n": 8}
    # Someone else rotates the key: the driver's refused call reads it again and succeeds.
    from google.cloud import functions_v2

    assert changed.invoke({"n": 9}).result == {"n": 9}  # the driver holds the key now
    client = functions_v2.FunctionServiceClient(transport="rest")
    current = client.get_function(name=f"projects/{fake.project}/locations/us-central1/"
                                       f"functions/{fn.name}")
    variables = dict(current.service_config.environment_variables)
    variables["UNICOMPUTE_INVOKE_KEY"] = "rotated-" + "r" * 35
    patch = functions_v2.Function(name=current.name)
    patch.service_config.environment_variables = variables
    client.update_function(function=patch, update_mask={
        "paths": ["service_config.environment_variables"]}).result()
    refused = len([r for r in fake.functions.host.requests if r.status == 403])
    assert changed.invoke({"n": 10}).result == {"n": 10}
    assert len([r for r in fake.functions.host.requests if r.status == 403]) == refused + 1


def test_private_functions_need_the_token_and_the_key(cloud: uc.Cloud, fake: GcpFake,
                                                      source: Path) -> None:
    fn = cloud.functions.deploy(spec(source, triggers=(uc.HttpTrigger(auth="key"),
                                                      uc.QueueTrigger("orders"))))
    url, key = fn.url or "", stored_key(fake, fn.name)
    token = {"Authorization": f"Bearer {fake.functions.id_token(fn.url or '')}"}
    invoke = url + "/_unicompute/invoke"
    assert requests.post(invoke, data="1", headers={"x-unicompute-key": key},
                         timeout=30).status_code == 403  # Cloud Run: no ID token
    assert requests.post(invoke, data="1", headers=token, timeout=30).status_code == 401
    assert requests.post(url, data=FORGED_MESSAGE, headers=PUBSUB_PUSH,
                         timeout=30).status_code == 403
    assert logged_events(fn) == []
    ok = requests.post(invoke, data='{"n": 1}', headers={**token, "x-unicompute-key": key},
                       timeout=30)
    assert ok.json()["result"] == {"n": 1}
    fake.functions.publish("orders", "real order")
    assert [e["Records"][0]["body"] for e in logged_events(fn) if "Records" in e] == [
        "real order"]


def test_a_public_url_with_a_queue_trigger_is_refused_before_any_call(
        cloud: uc.Cloud, fake: GcpFake, source: Path) -> None:
    with pytest.raises(uc.InvalidRequest) as info:
        cloud.functions.deploy(spec(source, triggers=(uc.HttpTrigger(),
                                                      uc.QueueTrigger("orders"))))
    assert info.value.field == "triggers"
    assert list(fake.functions.api.requests) == [] and fake.functions.names() == []


def test_a_new_timeout_moves_the_jobs_attempt_deadline(cloud: uc.Cloud, fake: GcpFake,
                                                       source: Path) -> None:
    triggers = (uc.ScheduleTrigger("rate(1 hour)"),)
    cloud.functions.deploy(spec(source, timeout_s=30, triggers=triggers))
    (job,) = fake.functions.scheduler.jobs.values()
    assert job.body["attemptDeadline"] == "30s"
    cloud.functions.deploy(spec(source, timeout_s=600, triggers=triggers))
    (job,) = fake.functions.scheduler.jobs.values()
    assert job.body["attemptDeadline"] == "600s"
    before = len(writes(fake))
    cloud.functions.deploy(spec(source, timeout_s=600, triggers=triggers))
    assert writes(fake)[before:] == []


def test_without_cloud_scheduler_functions_without_schedules_work(
        cloud: uc.Cloud, fake: GcpFake, source: Path) -> None:
    fake.functions.scheduler.enabled = False
    fn = cloud.functions.deploy(spec(source, triggers=(uc.HttpTrigger(),)))
    assert fn.refresh().triggers == (uc.HttpTrigger(),)
    assert fn.invoke({"n": 1}).result == {"n": 1}
    with pytest.raises(uc.PermissionDenied) as info:
        cloud.functions.deploy(spec(source, name="unit-fn-2",
                                    triggers=(uc.ScheduleTrigger("rate(1 hour)"),)))
    assert "Cloud Scheduler API has not been used" in str(info.value)
    assert [n.rsplit("/", 1)[-1] for n in fake.functions.names()] == ["unit-fn"]
    cloud.functions.delete(fn.name)
    assert fake.functions.names() == []
