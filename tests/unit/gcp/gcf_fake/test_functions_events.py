"""Cloud Scheduler jobs fired by the fake's clock, Pub/Sub CloudEvents, Cloud Logging
entries, the invoker IAM policy and the served (out-of-process) way in."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from google.api_core import exceptions
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import functions_v2, scheduler_v1
from google.iam.v1 import policy_pb2
from google.protobuf import json_format
from zips import zip_of

from unicompute import InvalidRequest
from unicompute.mocks.gcp import FAKE_PROJECT, GcpFake

from .conftest import MAIN, PARENT, api_json

TOPIC = f"projects/{FAKE_PROJECT}/topics/jobs"
SCHEDULER = "https://cloudscheduler.googleapis.com/v1"
#: The fields of google.logging.v2.LogEntry (no SDK model is installed to parse with).
LOG_ENTRY_FIELDS = {"logName", "resource", "protoPayload", "textPayload", "jsonPayload",
                    "timestamp", "receiveTimestamp", "severity", "insertId", "httpRequest",
                    "labels", "operation", "trace", "spanId", "traceSampled",
                    "sourceLocation", "split", "errorGroups", "apphub", "apphubDestination"}
COUNTER = '''\
calls = []


def tick(request):
    calls.append(request.headers.get("X-CloudScheduler-JobName"))
    print("tick", request.headers.get("X-CloudScheduler-JobName"), request.get_data(as_text=True),
          len(calls))
    return "ok"
'''


def test_scheduler_jobs_fire_as_the_clock_advances(fake: GcpFake,
                                                   deploy: Callable[..., Any]) -> None:
    uri = deploy("ticker", entry_point="tick", files={"main.py": COUNTER}).result() \
        .service_config.uri
    jobs = scheduler_v1.CloudSchedulerClient(transport="rest")
    job = jobs.create_job(parent=PARENT, job={
        "name": f"{PARENT}/jobs/uc-ticker-1", "schedule": "*/5 * * * *",
        "time_zone": "Etc/UTC",
        "http_target": {"uri": uri + "/_unicompute/schedule", "http_method": "POST",
                        "body": b'{"n": 1}', "headers": {"content-type": "application/json"},
                        "oidc_token": {"service_account_email": "a@b.iam.gserviceaccount.com",
                                       "audience": uri}}})
    scheduler_v1.Job.from_json(json.dumps(api_json(fake, "GET", f"{SCHEDULER}/{job.name}")),
                               ignore_unknown_fields=False)
    scheduler_v1.ListJobsResponse.from_json(json.dumps(api_json(
        fake, "GET", f"{SCHEDULER}/{PARENT}/jobs")), ignore_unknown_fields=False)
    assert job.state == scheduler_v1.Job.State.ENABLED
    assert job.schedule_time.isoformat().startswith("2026-01-01T00:05:00")
    fake.clock.advance(11 * 60)
    lines = [line for line in fake.functions.log_lines("ticker") if line.startswith("tick")]
    assert lines == ['tick uc-ticker-1 {"n": 1} 1', 'tick uc-ticker-1 {"n": 1} 2']
    got = jobs.get_job(name=job.name)
    assert got.last_attempt_time.isoformat().startswith("2026-01-01T00:10:00")
    assert got.status.code == 0
    jobs.pause_job(name=job.name)
    fake.clock.advance(600)
    assert len([x for x in fake.functions.log_lines("ticker") if x.startswith("tick")]) == 2
    jobs.resume_job(name=job.name)
    assert [j.name for j in jobs.list_jobs(parent=PARENT)] == [job.name]
    jobs.delete_job(name=job.name)
    assert fake.functions.jobs() == []
    with pytest.raises(exceptions.NotFound):
        jobs.get_job(name=job.name)


def test_a_job_without_a_token_is_refused_by_a_private_function(
        fake: GcpFake, deploy: Callable[..., Any]) -> None:
    uri = deploy("ticker", entry_point="tick", files={"main.py": COUNTER}).result() \
        .service_config.uri
    jobs = scheduler_v1.CloudSchedulerClient(transport="rest")
    job = jobs.create_job(parent=PARENT, job={"name": f"{PARENT}/jobs/bare",
                                              "schedule": "* * * * *",
                                              "http_target": {"uri": uri}})
    fake.clock.advance(60)
    assert jobs.get_job(name=job.name).status.code == 7  # PERMISSION_DENIED (403)


def test_update_job_changes_the_target_and_deadline(fake: GcpFake) -> None:
    from datetime import timedelta

    jobs = scheduler_v1.CloudSchedulerClient(transport="rest")
    job = jobs.create_job(parent=PARENT, job={
        "name": f"{PARENT}/jobs/moving", "schedule": "0 * * * *",
        "http_target": {"uri": "https://a.example.com/x", "headers": {"x-key": "one"}},
        "attempt_deadline": timedelta(seconds=30)})
    changed = jobs.update_job(job=scheduler_v1.Job(
        name=job.name, attempt_deadline=timedelta(seconds=600),
        http_target={"uri": "https://b.example.com/x", "headers": {"x-key": "two"}}),
        update_mask={"paths": ["http_target", "attempt_deadline"]})
    again = jobs.get_job(name=job.name)
    for seen in (changed, again):
        assert seen.attempt_deadline == timedelta(seconds=600)
        assert (seen.http_target.uri, seen.http_target.headers["x-key"]) == (
            "https://b.example.com/x", "two")
        assert seen.schedule == "0 * * * *"  # outside the mask: kept
    scheduler_v1.Job.from_json(json.dumps(api_json(fake, "GET", f"{SCHEDULER}/{job.name}")),
                               ignore_unknown_fields=False)


def test_a_disabled_scheduler_api_answers_service_disabled(fake: GcpFake) -> None:
    from google.rpc import error_details_pb2, status_pb2

    jobs = scheduler_v1.CloudSchedulerClient(transport="rest")
    fake.functions.scheduler.enabled = False
    for call in (lambda: list(jobs.list_jobs(parent=PARENT)),
                 lambda: jobs.get_job(name=f"{PARENT}/jobs/x"),
                 lambda: jobs.create_job(parent=PARENT, job={
                     "name": f"{PARENT}/jobs/x", "schedule": "* * * * *",
                     "http_target": {"uri": "https://example.com"}})):
        with pytest.raises(exceptions.Forbidden) as info:  # 403 over REST
            call()
        error = info.value
        assert (error.reason, error.domain) == ("SERVICE_DISABLED", "googleapis.com")
        assert error.metadata["service"] == "cloudscheduler.googleapis.com"
        assert "Cloud Scheduler API has not been used in project" in error.message
    # The body is a google.rpc.Status whose details are the standard error models.
    body = requests.get(f"{SCHEDULER}/{PARENT}/jobs", timeout=10,
                        headers={"Authorization": f"Bearer {next(iter(fake.tokens))}"}).json()
    status = json_format.ParseDict(
        {k: v for k, v in body["error"].items() if k != "status"}, status_pb2.Status())
    kinds = {detail.TypeName() for detail in status.details}
    assert kinds == {"google.rpc.ErrorInfo", "google.rpc.LocalizedMessage", "google.rpc.Help"}
    info_detail = error_details_pb2.ErrorInfo()
    next(d for d in status.details if d.Is(info_detail.DESCRIPTOR)).Unpack(info_detail)
    assert info_detail.reason == "SERVICE_DISABLED"
    assert fake.functions.jobs() == []
    fake.functions.scheduler.enabled = True
    assert list(jobs.list_jobs(parent=PARENT)) == []


@pytest.mark.parametrize("schedule", ["rate(5 minutes)", "61 * * * *", "* * * *", ""])
def test_bad_schedules_are_rejected(fake: GcpFake, schedule: str) -> None:
    jobs = scheduler_v1.CloudSchedulerClient(transport="rest")
    with pytest.raises(exceptions.BadRequest):
        jobs.create_job(parent=PARENT, job={"name": f"{PARENT}/jobs/x", "schedule": schedule,
                                            "http_target": {"uri": "https://example.com"}})
    assert fake.functions.jobs() == []


def test_pubsub_messages_arrive_as_cloudevents(fake: GcpFake,
                                               deploy: Callable[..., Any]) -> None:
    function = deploy("worker", entry_point="on_event", event_trigger={
        "event_type": "google.cloud.pubsub.topic.v1.messagePublished",
        "pubsub_topic": TOPIC}).result()
    assert function.event_trigger.pubsub_topic == TOPIC
    assert TOPIC in fake.functions.topics  # GCF creates a missing topic
    ids = fake.functions.publish("jobs", b"payload-1", {"k": "v"})
    assert len(ids) == 1
    assert "event google.cloud.pubsub.topic.v1.messagePublished b'payload-1'" in \
        fake.functions.log_lines("worker")
    with pytest.raises(InvalidRequest) as info:
        fake.functions.publish("nope", b"x")
    assert info.value.field == "topic"
    # the Pub/Sub REST publish reaches it too
    answer = requests.post(f"https://pubsub.googleapis.com/v1/{TOPIC}:publish", timeout=10,
                           json={"messages": [{"data": base64.b64encode(b"two").decode()}]},
                           headers={"Authorization": f"Bearer {next(iter(fake.tokens))}"})
    assert answer.status_code == 200 and len(answer.json()["messageIds"]) == 1
    assert "event google.cloud.pubsub.topic.v1.messagePublished b'two'" in \
        fake.functions.log_lines("worker")


FLAKY = '''\
import base64
seen = []


def flaky(cloud_event):
    seen.append(1)
    print("attempt", len(seen))
    if len(seen) < 2:
        raise RuntimeError("not yet")
'''


def test_failed_deliveries_are_retried_under_retry_policy(fake: GcpFake,
                                                          deploy: Callable[..., Any]) -> None:
    deploy("flaky", entry_point="flaky", files={"main.py": FLAKY}, event_trigger={
        "event_type": "google.cloud.pubsub.topic.v1.messagePublished", "pubsub_topic": TOPIC,
        "retry_policy": functions_v2.EventTrigger.RetryPolicy.RETRY_POLICY_RETRY}).result()
    fake.functions.publish(TOPIC, "m")
    assert [x for x in fake.functions.log_lines("flaky") if x.startswith("attempt")] == \
        ["attempt 1"]
    fake.clock.advance(10)
    fake.clock.advance(60)
    assert [x for x in fake.functions.log_lines("flaky") if x.startswith("attempt")] == \
        ["attempt 1", "attempt 2"]


def test_logging_entries_list(fake: GcpFake, deploy: Callable[..., Any]) -> None:
    uri = deploy().result().service_config.uri
    token = {"Authorization": f"Bearer {fake.functions.id_token(uri)}"}
    for path in ("/a", "/b", "/c"):
        requests.get(uri + path, headers=token, timeout=30)
    access = {"Authorization": f"Bearer {next(iter(fake.tokens))}"}
    query = {"resourceNames": [f"projects/{FAKE_PROJECT}"], "orderBy": "timestamp desc",
             "filter": 'resource.type="cloud_run_revision" AND '
                       'resource.labels.service_name="hello" AND '
                       'resource.labels.location="us-central1" AND '
                       'timestamp>="2026-01-01T00:00:00Z"', "pageSize": 2}
    answer = requests.post("https://logging.googleapis.com/v2/entries:list", json=query,
                           headers=access, timeout=10).json()
    texts = [e["textPayload"] for e in answer["entries"]]
    assert texts == ["hello called GET /c", "hello called GET /b"]
    for entry in answer["entries"]:
        assert set(entry) <= LOG_ENTRY_FIELDS
        assert entry["logName"] == f"projects/{FAKE_PROJECT}/logs/run.googleapis.com%2Fstdout"
        assert entry["resource"]["labels"]["service_name"] == "hello"
    second = requests.post("https://logging.googleapis.com/v2/entries:list", headers=access,
                           json={**query, "pageToken": answer["nextPageToken"]},
                           timeout=10).json()
    assert [e["textPayload"] for e in second["entries"]] == ["hello called GET /a"]
    other = requests.post("https://logging.googleapis.com/v2/entries:list", headers=access,
                          json={**query, "filter": 'resource.labels.service_name="other"'},
                          timeout=10).json()
    assert other == {}


def test_invoker_policy_makes_the_uri_public(fake: GcpFake, deploy: Callable[..., Any]) -> None:
    function = deploy().result()
    uri, service = function.service_config.uri, function.service_config.service
    access = {"Authorization": f"Bearer {next(iter(fake.tokens))}"}
    run = f"https://run.googleapis.com/v2/{service}"
    policy = requests.get(f"{run}:getIamPolicy", headers=access, timeout=10).json()
    assert set(policy) == {"etag"}
    assert requests.get(uri, timeout=10).status_code == 403
    answer = requests.post(f"{run}:setIamPolicy", headers=access, timeout=10, json={"policy": {
        "bindings": [{"role": "roles/run.invoker", "members": ["allUsers"]}],
        "etag": policy["etag"]}})
    assert answer.status_code == 200, answer.text
    for document in (policy, answer.json()):  # google.iam.v1.Policy, strictly
        json_format.Parse(json.dumps(document), policy_pb2.Policy())
    assert requests.get(uri, timeout=10).status_code == 200
    stale = requests.post(f"{run}:setIamPolicy", headers=access, timeout=10, json={"policy": {
        "bindings": [], "etag": policy["etag"]}})
    assert stale.status_code == 409 and stale.json()["error"]["status"] == "ABORTED"


def test_served_fake_dispatches_data_plane_hosts_by_host_header() -> None:
    fake = GcpFake()
    endpoint = fake.serve()
    try:
        options = ClientOptions(api_endpoint=endpoint)
        client = functions_v2.FunctionServiceClient(
            transport="rest", client_options=options, credentials=AnonymousCredentials())
        parent = f"projects/{FAKE_PROJECT}/locations/europe-west1"
        upload = client.generate_upload_url(request={"parent": parent})
        url = upload.upload_url.split("storage.googleapis.com", 1)[1]
        put = requests.put(endpoint + url, data=zip_of({"main.py": MAIN}), timeout=10,
                           headers={"content-type": "application/zip",
                                    "Host": "storage.googleapis.com"})
        assert put.status_code == 200, put.text
        function = client.create_function(request={"parent": parent, "function_id": "srv",
                                                   "function": {"build_config": {
            "runtime": "python313", "entry_point": "hello", "source": {"storage_source": {
                "bucket": upload.storage_source.bucket,
                "object": upload.storage_source.object_}}}}}).result()
        host = function.service_config.uri.split("//")[1]
        assert host.endswith("-ew.a.run.app")
        token = fake.functions.id_token(function.service_config.uri)
        answer = requests.post(endpoint + "/p?x=1", data="served", timeout=30, headers={
            "Host": host, "Authorization": f"Bearer {token}"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["body"] == "served" and answer.json()["path"] == "/p"
        listed = requests.post(endpoint + "/v2/entries:list", timeout=10, json={
            "resourceNames": [f"projects/{FAKE_PROJECT}"],
            "filter": 'resource.labels.service_name="srv"'}).json()
        assert [e["textPayload"] for e in listed["entries"]] == ["hello called POST /p"]
        # Over the loopback server anonymous callers get in (clients there hold anonymous
        # credentials), as with the fake's Google APIs; a token that is sent is still checked.
        assert requests.get(endpoint + "/", headers={"Host": host},
                            timeout=10).status_code == 200
        assert requests.get(endpoint + "/", timeout=10, headers={
            "Host": host, "Authorization": "Bearer not-an-id-token"}).status_code == 401
        assert requests.get(endpoint + "/", timeout=10, headers={
            "Host": host, "Authorization": "Basic dTpw"}).status_code == 403
        # the Compute API is still served on the same port
        zones = requests.get(f"{endpoint}/compute/v1/projects/{FAKE_PROJECT}/zones",
                             timeout=10)
        assert zones.status_code == 200 and json.loads(zones.text)["items"]
    finally:
        fake.shutdown_server()
        fake.reset()


DECORATED = '''\
import functions_framework


@functions_framework.http
def entry(request):
    if request.headers.get("ce-type"):
        print("event over http", request.headers["ce-type"])
        return "", 204
    return "plain " + request.path


@functions_framework.cloud_event
def on_event(cloud_event):
    print("cloud event", cloud_event["type"])
'''


def test_functions_framework_decorators_choose_the_signature(
        fake: GcpFake, deploy: Callable[..., Any]) -> None:
    """As the framework decides: a target registered with ``@functions_framework.http``
    takes requests even on an event-triggered function (whose build sets
    ``FUNCTION_SIGNATURE_TYPE=cloudevent``), and ``import functions_framework`` works."""
    trigger = {"event_type": "google.cloud.pubsub.topic.v1.messagePublished",
               "pubsub_topic": TOPIC}
    function = deploy("decorated", entry_point="entry", files={"main.py": DECORATED},
                      event_trigger=trigger).result()
    token = fake.functions.id_token(function.service_config.uri)
    answer = requests.post(function.service_config.uri + "/direct", data=b"{}", timeout=10,
                           headers={"Authorization": f"Bearer {token}"})
    assert (answer.status_code, answer.text) == (200, "plain /direct")
    fake.functions.publish("jobs", b"one")
    assert "event over http google.cloud.pubsub.topic.v1.messagePublished" in \
        fake.functions.log_lines("decorated")
    deploy("decorated-ce", entry_point="on_event", files={"main.py": DECORATED},
           event_trigger=trigger).result()
    fake.functions.publish("jobs", b"two")
    assert "cloud event google.cloud.pubsub.topic.v1.messagePublished" in \
        fake.functions.log_lines("decorated-ce")


def test_an_update_keeps_the_eventarc_trigger(fake: GcpFake, client: Any,
                                              deploy: Callable[..., Any]) -> None:
    function = deploy("keeper", entry_point="on_event", event_trigger={
        "event_type": "google.cloud.pubsub.topic.v1.messagePublished",
        "pubsub_topic": TOPIC}).result()
    patch = functions_v2.Function(name=function.name)
    patch.service_config.available_memory = "512Mi"
    updated = client.update_function(function=patch, update_mask={
        "paths": ["service_config.available_memory"]}).result()
    assert updated.service_config.available_memory == "512Mi"
    assert updated.event_trigger.trigger == function.event_trigger.trigger != ""


def test_environment_limit_counts_bytes(client: Any, deploy: Callable[..., Any]) -> None:
    # 32 KiB of names and values in bytes: 11,000 three-byte characters are 33,000 bytes.
    with pytest.raises(exceptions.BadRequest):
        deploy("wide", service_config={"environment_variables": {"A": "\u20ac" * 11_000}})
    assert list(client.list_functions(request={"parent": PARENT})) == []
