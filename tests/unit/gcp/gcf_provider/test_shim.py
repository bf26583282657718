"""The Cloud Functions shim (``shims/gcp_functions.py``), loaded as a function would load it:
a fresh module with ``UNICOMPUTE_HANDLER`` set, called with werkzeug requests (the http
signature) and ``cloudevents`` objects (the cloudevent signature)."""

from __future__ import annotations

import base64
import http.server
import importlib.util
import itertools
import json
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cloudevents.core.v1.event import CloudEvent as CoreCloudEvent
from cloudevents.v1.http import CloudEvent
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from unicompute._packaging import shim_files

HANDLERS = '''\
import json


def echo(event, context):
    print("got", json.dumps(event, sort_keys=True))
    context.logger.info("logged for %s", context.request_id)
    return {"event": event, "function": context.function_name, "memory": context.memory_mb,
            "remaining": context.remaining_time_ms(), "request_id": context.request_id}


def fail(event, context):
    raise KeyError("missing " + str(event))


def web(event, context):
    return {"statusCode": 418, "headers": {"x-teapot": "yes"}, "body": event.get("body") or "",
            "isBase64Encoded": event["isBase64Encoded"]}


def plain(event, context):
    return ["a", event["rawQueryString"]]


def unjsonable(event, context):
    return {1, 2}
'''
_counter = itertools.count()
KEY = "x3Tq9vZ_invoke-key-for-tests-0123456789abcd"
KEYED = {"x-unicompute-key": KEY}


@pytest.fixture
def load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], Any]]:
    """``load("handlers.echo", triggers=..., key=...)``: the shim module as a fresh function
    instance would import it (user code in ``tmp_path``), with ``UNICOMPUTE_TRIGGERS`` and
    the invoke key ``KEY`` set (``key=None``: none)."""
    module_name = f"uc_handlers_{next(_counter)}"
    (tmp_path / f"{module_name}.py").write_text(HANDLERS)
    for name, content in shim_files("gcp_functions").items():  # as the package holds them
        (tmp_path / name).write_bytes(content)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("K_SERVICE", "shim-test")
    monkeypatch.setenv("UNICOMPUTE_MEMORY_MB", "512")
    monkeypatch.setenv("UNICOMPUTE_TIMEOUT_S", "30")
    loaded: list[str] = []

    def loader(handler: str, triggers: str = "http,schedule,queue",
               key: str | None = KEY) -> ModuleType:
        monkeypatch.setenv("UNICOMPUTE_HANDLER", handler.replace("handlers", module_name))
        monkeypatch.setenv("UNICOMPUTE_TRIGGERS", triggers)
        if key is None:
            monkeypatch.delenv("UNICOMPUTE_INVOKE_KEY", raising=False)
        else:
            monkeypatch.setenv("UNICOMPUTE_INVOKE_KEY", key)
        name = f"uc_shim_{next(_counter)}"
        spec = importlib.util.spec_from_file_location(name, tmp_path / "unicompute_shim.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        loaded.append(name)
        return module

    yield loader
    for name in [*loaded, module_name]:
        sys.modules.pop(name, None)


def request(path: str = "/", *, method: str = "POST", body: bytes | str | None = None,
            headers: dict[str, str] | None = None, query: str = "") -> Request:
    builder = EnvironBuilder(path=path, method=method, data=body, headers=headers or {},
                             query_string=query)
    return Request(builder.get_environ())


def keyed_invoke(body: str | None = None) -> Request:
    """A direct invoke that carries the function's key."""
    return request("/_unicompute/invoke", body=body, headers=KEYED)


def answer(result: Any) -> tuple[Any, int, dict[str, str]]:
    body, status, headers = result
    return body, status, headers


# -- direct invokes -----------------------------------------------------------------------------
def test_direct_invoke_returns_result_logs_and_cold_start(load: Callable[[str], Any],
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    shim = load("handlers.echo")
    first = answer(shim.unicompute_entry(request(
        "/_unicompute/invoke", body=json.dumps({"n": 1}),
        headers={"content-type": "application/json", "Function-Execution-Id": "exec-1",
                 **KEYED})))
    second = answer(shim.unicompute_entry(request("/_unicompute/invoke", body="[2]",
                                                  headers=KEYED)))
    doc = json.loads(first[0])
    assert first[1] == 200 and first[2]["x-unicompute-request-id"] == "exec-1"
    assert doc["ok"] is True and doc["requestId"] == "exec-1"
    assert doc["result"]["event"] == {"n": 1}
    assert doc["result"]["function"] == "shim-test" and doc["result"]["memory"] == 512
    assert 0 < doc["result"]["remaining"] <= 30_000
    assert doc["result"]["request_id"] == "exec-1"
    assert 'got {"n": 1}' in doc["logs"] and "INFO logged for exec-1" in doc["logs"]
    assert doc["coldStart"] is True and doc["durationMs"] >= 0
    again = json.loads(second[0])
    assert again["coldStart"] is False and again["result"]["event"] == [2]
    assert "got [2]" not in doc["logs"] and "got [1]" not in again["logs"]
    # What the call printed still reaches the platform's log (stdout).
    assert 'got {"n": 1}' in capsys.readouterr().out


def test_direct_invoke_reports_handler_exception(load: Callable[[str], Any]) -> None:
    shim = load("handlers.fail")
    body, status, _ = answer(shim.unicompute_entry(keyed_invoke("7")))
    doc = json.loads(body)
    assert status == 200 and doc["ok"] is False
    assert (doc["errorType"], doc["errorMessage"]) == ("KeyError", "'missing 7'")
    assert any('raise KeyError("missing "' in line for line in doc["stackTrace"])
    assert doc["logs"].startswith("[ERROR] KeyError: 'missing 7'\nTraceback (most recent")


def test_direct_invoke_reports_unimportable_handler(load: Callable[[str], Any]) -> None:
    shim = load("handlers.missing")  # the module loads, the function is not there
    doc = json.loads(answer(shim.unicompute_entry(keyed_invoke("1")))[0])
    assert doc["ok"] is False and doc["errorType"] == "ImportError"
    assert "Handler 'missing' missing on module" in doc["errorMessage"]
    broken = load("no_such_module.handler")
    doc = json.loads(answer(broken.unicompute_entry(keyed_invoke()))[0])
    assert doc["errorType"] == "ImportError" and "No module named" in doc["errorMessage"]


def test_result_json_cannot_hold_is_a_failure(load: Callable[[str], Any]) -> None:
    shim = load("handlers.unjsonable")
    doc = json.loads(answer(shim.unicompute_entry(keyed_invoke()))[0])
    assert doc["ok"] is False and doc["errorType"] == "TypeError"


# -- HTTP trigger -------------------------------------------------------------------------------
def test_http_event_is_lambdas_url_event(load: Callable[[str], Any]) -> None:
    shim = load("handlers.echo")
    body, status, headers = answer(shim.unicompute_entry(request(
        "/orders/7", body='{"n": 4}', query="a=1&a=2&b=x",
        headers={"content-type": "application/json", "X-Forwarded-For": "203.0.113.9, 10.0.0.1",
                 "User-Agent": "tester"})))
    assert status == 200 and headers == {"content-type": "application/json"}
    event = json.loads(body)["event"]
    assert (event["version"], event["routeKey"], event["rawPath"]) == ("2.0", "$default",
                                                                      "/orders/7")
    assert event["rawQueryString"] == "a=1&a=2&b=x"
    assert event["queryStringParameters"] == {"a": "1,2", "b": "x"}
    assert event["body"] == '{"n": 4}' and event["isBase64Encoded"] is False
    assert event["headers"]["content-type"] == "application/json"
    http = event["requestContext"]["http"]
    assert (http["method"], http["path"], http["sourceIp"], http["userAgent"]) == (
        "POST", "/orders/7", "203.0.113.9", "tester")
    assert event["requestContext"]["timeEpoch"] > 0


def test_http_status_headers_and_binary_bodies(load: Callable[[str], Any]) -> None:
    shim = load("handlers.web")
    raw = bytes(range(256))
    body, status, headers = answer(shim.unicompute_entry(request(
        "/", body=raw, headers={"content-type": "application/octet-stream"})))
    assert (status, headers["x-teapot"]) == (418, "yes")
    assert body == raw  # base64 in the event, decoded again by isBase64Encoded
    plain = load("handlers.plain")
    body, status, _ = answer(plain.unicompute_entry(request("/x", method="GET", query="q=1")))
    assert (status, json.loads(body)) == (200, ["a", "q=1"])
    assert "queryStringParameters" not in json.loads(answer(load("handlers.echo").unicompute_entry(
        request("/", method="GET")))[0])["event"]


def test_http_handler_failure_is_500(load: Callable[[str], Any],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    shim = load("handlers.fail")
    body, status, _ = answer(shim.unicompute_entry(request("/")))
    assert (status, body) == (500, "Internal Server Error")
    assert "KeyError" in capsys.readouterr().err


# -- schedule and queue events --------------------------------------------------------------------
@pytest.fixture
def metadata_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A metadata server (``GCE_METADATA_HOST``) of project ``proj-9`` in ``asia-east1``; the
    paths it was asked, with their ``Metadata-Flavor``."""
    asked: list[str] = []
    values = {"/computeMetadata/v1/project/project-id": "proj-9",
              "/computeMetadata/v1/instance/region": "projects/1234/regions/asia-east1"}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(f"{self.path} {self.headers.get('Metadata-Flavor')}")
            body = values.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("GCE_METADATA_HOST", f"127.0.0.1:{server.server_address[1]}")
    yield asked
    server.shutdown()
    server.server_close()


def test_scheduler_call_gives_the_schedule_event(load: Callable[[str], Any],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:9")  # no metadata server
    shim = load("handlers.echo")
    seen: list[Any] = []
    shim._user_handler = lambda event, context: seen.append(event)
    _, status = shim.unicompute_entry(request(
        "/_unicompute/schedule", body=json.dumps({"function": "f", "schedule": "rate(5 minutes)"}),
        headers={"X-CloudScheduler": "true", "X-CloudScheduler-JobName": "uc-f-1234abcd",
                 "X-CloudScheduler-ScheduleTime": "2026-01-02T03:04:00Z", **KEYED}))
    assert status == 204
    assert [{k: v for k, v in e.items() if k != "id"} for e in seen] == [{
        "version": "0", "detail-type": "Scheduled Event", "source": "unicompute.schedule",
        "account": "", "time": "2026-01-02T03:04:00Z", "region": "",
        "resources": ["uc-f-1234abcd"], "detail": {"schedule": "rate(5 minutes)"}}]


def test_scheduler_call_naming_its_job_gives_project_and_region(
        load: Callable[[str], Any]) -> None:
    shim = load("handlers.echo")
    seen: list[Any] = []
    shim._user_handler = lambda event, context: seen.append(event)
    job = "projects/proj-1/locations/europe-west1/jobs/uc-f-1234abcd"
    for _ in range(2):  # Cloud Scheduler retrying the same occurrence
        _, status = shim.unicompute_entry(request(
            "/_unicompute/schedule",
            body=json.dumps({"function": "f", "schedule": "cron(0 3 * * ? *)", "job": job}),
            headers={"X-CloudScheduler-JobName": "uc-f-1234abcd",
                     "X-CloudScheduler-ScheduleTime": "2026-01-02T03:00:00.000000Z", **KEYED}))
        assert status == 204
    first, retry = seen
    assert (first["account"], first["region"], first["resources"]) == (
        "proj-1", "europe-west1", [job])
    assert first["time"] == "2026-01-02T03:00:00Z" and first["id"] == retry["id"]


def test_scheduler_call_without_its_job_asks_the_metadata_server_once(
        load: Callable[[str], Any], metadata_server: list[str]) -> None:
    shim = load("handlers.echo")
    seen: list[Any] = []
    shim._user_handler = lambda event, context: seen.append(event)
    for _ in range(2):
        shim.unicompute_entry(request(
            "/_unicompute/schedule", body=json.dumps({"schedule": "rate(1 hour)"}),
            headers={"X-CloudScheduler-JobName": "uc-f-1234abcd", **KEYED}))
    assert [(e["account"], e["region"], e["resources"]) for e in seen] == [
        ("proj-9", "asia-east1", ["uc-f-1234abcd"])] * 2
    assert metadata_server == ["/computeMetadata/v1/project/project-id Google",
                               "/computeMetadata/v1/instance/region Google"]


def test_scheduled_handler_failure_is_logged_as_lambda_does(
        load: Callable[[str], Any], capsys: pytest.CaptureFixture[str]) -> None:
    shim = load("handlers.fail")
    _, status = shim.unicompute_entry(request(
        "/_unicompute/schedule", body=json.dumps({"schedule": "rate(1 hour)"}), headers=KEYED))
    err = capsys.readouterr().err.splitlines()
    assert status == 500
    assert err[0].startswith("[ERROR] KeyError: \"missing {") and "Scheduled Event" in err[0]
    assert err[1] == "Traceback (most recent call last):"
    assert any('raise KeyError("missing " + str(event))' in line for line in err)


def _pubsub_data(text: str) -> dict[str, Any]:
    return {"message": {"data": base64.b64encode(text.encode()).decode(),
                        "attributes": {"kind": "order"}, "messageId": "m-1",
                        "publishTime": "2026-01-02T03:04:05.123Z"},
            "subscription": "projects/p/subscriptions/eventarc-sub"}


EXPECTED_RECORDS = {"Records": [{
    "messageId": "m-1", "body": "hello queue",
    "attributes": {"kind": "order", "publishTime": "2026-01-02T03:04:05.123Z"},
    "eventSource": "gcp:pubsub", "eventSourceARN": "projects/p/topics/orders"}]}


def test_binary_cloud_event_request_gives_records(load: Callable[[str], Any]) -> None:
    shim = load("handlers.echo")
    seen: list[Any] = []
    shim._user_handler = lambda event, context: seen.append((event, context.request_id))
    _, status = shim.unicompute_entry(request("/", body=json.dumps(_pubsub_data("hello queue")),
                                              headers={
        "content-type": "application/json", "ce-id": "evt-1", "ce-specversion": "1.0",
        "ce-source": "//pubsub.googleapis.com/projects/p/topics/orders",
        "ce-type": "google.cloud.pubsub.topic.v1.messagePublished"}))
    assert status == 204 and seen == [(EXPECTED_RECORDS, "evt-1")]


def test_cloud_event_object_gives_records_and_failures_raise(load: Callable[[str], Any]
                                                             ) -> None:
    shim = load("handlers.echo")
    seen: list[Any] = []
    shim._user_handler = lambda event, context: seen.append(event)
    event = CloudEvent({"type": "google.cloud.pubsub.topic.v1.messagePublished",
                        "source": "//pubsub.googleapis.com/projects/p/topics/orders",
                        "id": "evt-2"}, _pubsub_data("hello queue"))
    assert shim.unicompute_entry(event) is None
    core = CoreCloudEvent({"type": "google.cloud.pubsub.topic.v1.messagePublished",
                           "source": "//pubsub.googleapis.com/projects/p/topics/orders",
                           "id": "evt-3", "specversion": "1.0"}, _pubsub_data("hello queue"))
    assert shim.unicompute_entry(core) is None
    assert seen == [EXPECTED_RECORDS, EXPECTED_RECORDS]
    failing = load("handlers.fail")
    with pytest.raises(KeyError):  # the framework answers 500: Pub/Sub delivers it again
        failing.unicompute_entry(event)


def test_failing_cloud_event_request_is_500(load: Callable[[str], Any]) -> None:
    shim = load("handlers.fail")
    structured = {"specversion": "1.0", "id": "e", "type": "t",
                  "source": "//pubsub.googleapis.com/projects/p/topics/orders",
                  "data": _pubsub_data("x")}
    body, status = shim.unicompute_entry(request(
        "/", body=json.dumps(structured),
        headers={"content-type": "application/cloudevents+json"}))
    assert (status, body) == (500, "Internal Server Error")


# -- who may call what --------------------------------------------------------------------------
def _recording(shim: ModuleType) -> list[Any]:
    """Replace the shim's handler with one that records each event it gets."""
    seen: list[Any] = []

    def handler(event: Any, context: Any) -> dict[str, Any]:
        seen.append(event)
        return {"ran": True}

    shim._user_handler = handler  # type: ignore[attr-defined]
    return seen


CLOUD_EVENT_HEADERS = {
    "content-type": "application/json", "ce-id": "evt-9", "ce-specversion": "1.0",
    "ce-source": "//pubsub.googleapis.com/projects/p/topics/orders",
    "ce-type": "google.cloud.pubsub.topic.v1.messagePublished"}


@pytest.mark.parametrize(("path", "headers", "status"), [
    ("/_unicompute/invoke", {}, 401),
    ("/_unicompute/invoke", {"x-unicompute-key": KEY[:-1] + "?"}, 403),
    ("/_unicompute/invoke", {"x-unicompute-key": KEY + "x"}, 403),
    ("/_unicompute/invoke", {"x-unicompute-key": "é"}, 403),
    ("/_unicompute/schedule", {"X-CloudScheduler": "true"}, 401),
    ("/_unicompute/schedule", {"x-unicompute-key": "guess"}, 403),
    ("/_unicompute/anything", {}, 401),
])
def test_private_paths_refuse_without_the_key(load: Callable[[str], Any], path: str,
                                              headers: dict[str, str], status: int) -> None:
    shim = load("handlers.fail")  # its traceback would be in an invoke's answer
    seen = _recording(shim)
    body, got, _ = answer(shim.unicompute_entry(request(path, body='{"n": 1}',
                                                        headers=headers)))
    assert got == status and seen == []
    assert "Traceback" not in body and "ran" not in body and KEY not in body


def test_a_function_without_a_key_refuses_every_private_call(load: Callable[..., Any]
                                                             ) -> None:
    shim = load("handlers.echo", key=None)
    seen = _recording(shim)
    for key in ("", KEY):
        status = answer(shim.unicompute_entry(request(
            "/_unicompute/invoke", headers={"x-unicompute-key": key} if key else {})))[1]
        assert status in (401, 403)
    assert seen == []


def test_the_key_is_taken_out_of_the_environment(load: Callable[[str], Any]) -> None:
    import os

    shim = load("handlers.echo")
    assert "UNICOMPUTE_INVOKE_KEY" not in os.environ
    doc = json.loads(answer(shim.unicompute_entry(request(
        "/_unicompute/invoke", body="1", headers=KEYED)))[0])
    assert doc["ok"] is True and KEY not in json.dumps(doc)


def test_keyed_private_paths_serve_only_what_the_function_has(load: Callable[..., Any]
                                                              ) -> None:
    shim = load("handlers.echo", triggers="http")
    seen = _recording(shim)
    for path, method in (("/_unicompute/schedule", "POST"), ("/_unicompute/invoke", "GET"),
                         ("/_unicompute/other", "POST")):
        assert answer(shim.unicompute_entry(request(path, method=method,
                                                    headers=KEYED)))[1] == 404
    assert seen == []
    # ... while a keyed direct invoke runs whatever the triggers.
    assert json.loads(answer(shim.unicompute_entry(request(
        "/_unicompute/invoke", body="5", headers=KEYED)))[0])["result"] == {"ran": True}
    assert seen == [5]


def test_cloud_event_headers_on_an_http_function_are_plain_http(load: Callable[..., Any]
                                                                ) -> None:
    shim = load("handlers.echo", triggers="http")
    seen = _recording(shim)
    status = answer(shim.unicompute_entry(request(
        "/", body=json.dumps(_pubsub_data("forged")), headers=CLOUD_EVENT_HEADERS)))[1]
    assert status == 200
    (event,) = seen
    assert "Records" not in event and event["version"] == "2.0"
    assert event["headers"]["ce-type"] == CLOUD_EVENT_HEADERS["ce-type"]
    structured = {"specversion": "1.0", "id": "e", "type": "t", "source": "s",
                  "data": _pubsub_data("forged")}
    shim.unicompute_entry(request("/", body=json.dumps(structured),
                                  headers={"content-type": "application/cloudevents+json"}))
    assert "Records" not in seen[1] and seen[1]["version"] == "2.0"


def test_without_an_http_trigger_only_events_and_keyed_calls_run(load: Callable[..., Any]
                                                                 ) -> None:
    shim = load("handlers.echo", triggers="schedule")
    seen = _recording(shim)
    for headers in ({}, CLOUD_EVENT_HEADERS):
        status = answer(shim.unicompute_entry(request(
            "/", body=json.dumps(_pubsub_data("x")), headers=headers)))[1]
        assert status == 404
    event = CloudEvent({"type": "google.cloud.pubsub.topic.v1.messagePublished",
                        "source": "//pubsub.googleapis.com/projects/p/topics/orders",
                        "id": "evt-2"}, _pubsub_data("x"))
    with pytest.raises(PermissionError):
        shim.unicompute_entry(event)
    assert seen == []
    _, status = shim.unicompute_entry(request(
        "/_unicompute/schedule", body=json.dumps({"schedule": "rate(1 hour)"}), headers=KEYED))
    assert status == 204 and seen[0]["source"] == "unicompute.schedule"
    queue = load("handlers.echo", triggers="queue")
    seen = _recording(queue)
    assert queue.unicompute_entry(request(
        "/", body=json.dumps(_pubsub_data("hello queue")),
        headers=CLOUD_EVENT_HEADERS)) == ("", 204)
    assert answer(queue.unicompute_entry(request("/", body="plain")))[1] == 404
    assert [e["Records"][0]["body"] for e in seen] == ["hello queue"]
