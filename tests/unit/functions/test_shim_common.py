"""The portable runtime every shim imports (``shims/common.py``, packaged as
``unicompute_shim_common.py``): what it gives handlers and HTTP callers, the same on every
cloud, and that it (and every shim) runs where unicompute is not installed."""

from __future__ import annotations

import ast
import base64
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from unicompute._packaging import build_package
from unicompute.shims import COMMON_MODULE, common

SHIMS = Path(common.__file__).parent


# -- HTTP event -------------------------------------------------------------------------------
def event(body: bytes = b"", query: str = "", headers: list[tuple[str, str]] | None = None,
          peer: str = "") -> dict[str, Any]:
    return common.http_event(method="POST", path="/orders/7", query=query,
                             headers=headers or [], body=body, request_id="r-1",
                             protocol="HTTP/2.0", peer=peer)


def test_http_event_is_lambdas_function_url_event() -> None:
    got = event(b'{"n": 1}', "a=1&a=2&b=&c=x%20y", [
        ("Content-Type", "application/json"), ("X-Forwarded-For", "203.0.113.9, 10.0.0.1"),
        ("User-Agent", "tester"), ("Accept", "a/b"), ("accept", "c/d")], peer="10.9.9.9")
    assert (got["version"], got["routeKey"], got["rawPath"]) == ("2.0", "$default", "/orders/7")
    assert got["rawQueryString"] == "a=1&a=2&b=&c=x%20y"
    assert got["queryStringParameters"] == {"a": "1,2", "b": "", "c": "x y"}
    assert got["headers"] == {"content-type": "application/json", "accept": "a/b,c/d",
                              "x-forwarded-for": "203.0.113.9, 10.0.0.1", "user-agent": "tester"}
    assert (got["body"], got["isBase64Encoded"]) == ('{"n": 1}', False)
    assert got["requestContext"]["http"] == {"method": "POST", "path": "/orders/7",
                                             "protocol": "HTTP/2.0", "sourceIp": "203.0.113.9",
                                             "userAgent": "tester"}
    assert got["requestContext"]["requestId"] == "r-1"
    assert abs(got["requestContext"]["timeEpoch"] - time.time() * 1000) < 5000


def test_http_event_without_query_body_or_forwarding() -> None:
    got = event(peer="10.9.9.9")
    assert "queryStringParameters" not in got and "body" not in got
    assert got["isBase64Encoded"] is False
    assert got["requestContext"]["http"]["sourceIp"] == "10.9.9.9"


@pytest.mark.parametrize(("content_type", "body", "encoded"), [
    ("", b"plain words", False),
    ("text/plain; charset=utf-8", "héllo".encode(), False),
    ("application/x-www-form-urlencoded", b"a=1", False),
    ("application/octet-stream", b"abc", True),  # a binary type, even if it decodes
    ("text/plain", b"\xff\xfe\x00", True),  # a text type that is not UTF-8
])
def test_http_event_body_is_text_or_base64(content_type: str, body: bytes,
                                           encoded: bool) -> None:
    got = event(body, headers=[("content-type", content_type)] if content_type else [])
    assert got["isBase64Encoded"] is encoded
    sent = base64.b64decode(got["body"]) if encoded else got["body"].encode()
    assert sent == body


# -- HTTP answer ------------------------------------------------------------------------------
@pytest.mark.parametrize(("result", "expected"), [
    ({"n": 1}, (200, {"content-type": "application/json"}, b'{"n": 1}')),
    (["a", 2], (200, {"content-type": "application/json"}, b'["a", 2]')),
    (None, (200, {"content-type": "application/json"}, b"null")),
    ({"statusCode": 201, "headers": {"x-a": 1}, "body": "créé"},
     (201, {"x-a": "1"}, "créé".encode())),
    ({"statusCode": "404"}, (404, {}, b"")),
    ({"statusCode": 200, "body": None}, (200, {}, b"")),
    ({"statusCode": 200, "body": {"k": [1]}}, (200, {}, b'{"k": [1]}')),
    ({"statusCode": 200, "body": base64.b64encode(b"\x00\xff").decode(),
      "isBase64Encoded": True}, (200, {}, b"\x00\xff")),
    ({"statusCode": 302, "headers": {"location": "/x"}, "cookies": ["a=1", "b=2"]},
     (302, {"location": "/x", "set-cookie": "a=1"}, b"")),
])
def test_http_answer_follows_lambdas_url_rules(result: Any,
                                               expected: tuple[int, dict[str, str], bytes]
                                               ) -> None:
    assert common.http_answer(result) == expected


# -- context, logger, output capture ----------------------------------------------------------
def test_context_counts_down_and_logs_to_the_current_stdout() -> None:
    context = common.Context("native", function_name="fn-ctx", request_id="r-9",
                             memory_mb=512, remaining_ms=common.time_left(2.0))
    first = context.remaining_time_ms()
    time.sleep(0.05)
    assert 0 < context.remaining_time_ms() < first <= 2000
    assert (context.function_name, context.request_id, context.memory_mb, context.raw) == (
        "fn-ctx", "r-9", 512, "native")
    assert repr(context) == "Context(function_name='fn-ctx', request_id='r-9')"
    with common.captured_output() as logs:
        context.logger.info("hello %s", 1)
        context.logger.debug("not shown")
    assert logs == ["INFO hello 1\n"]
    assert common.time_left(0.0)() == 0


def test_capture_copies_each_threads_stdout_and_stderr_only(
        capsys: pytest.CaptureFixture[str]) -> None:
    barrier = threading.Barrier(2)
    captured: dict[str, list[str]] = {}

    def invocation(name: str) -> None:
        with common.captured_output() as logs:
            barrier.wait()
            for i in range(50):
                print(f"{name} {i}")
            print(f"{name} err", file=sys.stderr)
        captured[name] = logs

    threads = [threading.Thread(target=invocation, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print("outside")
    for name in ("a", "b"):
        text = "".join(captured[name])
        assert text == "".join(f"{name} {i}\n" for i in range(50)) + f"{name} err\n"
    # Everything still reached the real streams (the platform's log).
    out, err = capsys.readouterr()
    assert "a 49\n" in out and "b 0\n" in out and "outside\n" in out
    assert "a err\n" in err and "b err\n" in err


def test_capture_appends_to_the_list_given() -> None:
    into = ["before\n"]
    with common.captured_output(into) as logs:
        print("during")
    print("after")
    assert logs is into and into == ["before\n", "during", "\n"]


def test_cold_start_is_true_for_exactly_one_call() -> None:
    cold = common.ColdStart()
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(cold.first_call()))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


# -- handler loading and errors ---------------------------------------------------------------
def test_loading_handlers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "uc_common_app.py").write_text("def handler(event, context):\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert common.load_handler("uc_common_app.handler")(None, None) == 1
    with pytest.raises(ImportError, match="Handler 'other' missing on module 'uc_common_app'"):
        common.load_handler("uc_common_app.other")
    with pytest.raises(ModuleNotFoundError):
        common.load_handler("uc_no_such_module.handler")
    monkeypatch.setenv(common.HANDLER_ENV, "uc_common_app.handler")
    handler, failed = common.import_user_handler()
    assert failed is None and handler(None, None) == 1
    monkeypatch.delenv(common.HANDLER_ENV)
    handler, failed = common.import_user_handler()
    assert handler is None and isinstance(failed, ImportError)
    assert str(failed) == "UNICOMPUTE_HANDLER is not set"
    sys.modules.pop("uc_common_app", None)


def test_error_documents() -> None:
    try:
        raise KeyError("gone")
    except KeyError as exc:
        error = exc
    doc = common.error_document(error)
    assert (doc["errorType"], doc["errorMessage"]) == ("KeyError", "'gone'")
    assert doc["stackTrace"][0].startswith("Traceback") and "KeyError" in doc["stackTrace"][-1]
    named = common.error_document(error, "ImportModuleError", "Unable to import module 'x'")
    assert (named["errorType"], named["errorMessage"]) == ("ImportModuleError",
                                                            "Unable to import module 'x'")


#: The keys of EventBridge's scheduled event (what Lambda handlers get from a schedule rule).
EVENTBRIDGE_KEYS = {"version", "id", "detail-type", "source", "account", "time", "region",
                    "resources", "detail"}


def test_schedule_event_is_eventbridges_scheduled_event() -> None:
    at = common.schedule_event(schedule="rate(5 minutes)", resource="projects/p/locations/l/jobs/j",
                               region="l", account="p", when="2026-01-02T03:04:05Z")
    assert set(at) == EVENTBRIDGE_KEYS
    assert {k: v for k, v in at.items() if k != "id"} == {
        "version": "0", "detail-type": "Scheduled Event", "source": "unicompute.schedule",
        "account": "p", "time": "2026-01-02T03:04:05Z", "region": "l",
        "resources": ["projects/p/locations/l/jobs/j"], "detail": {"schedule": "rate(5 minutes)"}}
    assert str(uuid.UUID(at["id"])) == at["id"]


def test_schedule_event_ids_are_one_per_firing() -> None:
    def event_id(resource: str, when: str | None) -> str:
        return str(common.schedule_event(schedule="rate(1 hour)", resource=resource,
                                         region="r", when=when)["id"])

    firing = event_id("timer", "2026-01-02T03:00:00Z")
    assert firing == event_id("timer", "2026-01-02T03:00:00+00:00")  # a retry of that firing
    assert len({firing, event_id("timer", "2026-01-02T04:00:00Z"),
                event_id("other", "2026-01-02T03:00:00Z")}) == 3
    assert event_id("timer", None) != event_id("timer", None)


@pytest.mark.parametrize(("stamp", "expected"), [
    ("2026-01-02T03:05:00+00:00", "2026-01-02T03:05:00Z"),       # Azure's ScheduleStatus
    ("2026-01-02T04:05:00.0012345+01:00", "2026-01-02T03:05:00Z"),
    ("2026-01-02T03:05:00", "2026-01-02T03:05:00Z"),             # no offset: UTC
    ("2026-01-02T03:05:00.000000Z", "2026-01-02T03:05:00Z"),     # X-CloudScheduler-ScheduleTime
    ("0001-01-01T00:00:00", None), ("soon", None), ("", None), (None, None)])
def test_event_time_is_utc_to_the_second(stamp: str | None, expected: str | None) -> None:
    assert common.event_time(stamp) == expected


def test_schedule_event_without_a_time_is_now() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    got = common.schedule_event(schedule="rate(1 hour)", resource="t", region="r",
                                when="0001-01-01T00:00:00")
    stamp = datetime.strptime(got["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= stamp <= datetime.now(UTC) and got["account"] == ""


def test_error_document_leaves_out_the_shims_frames() -> None:
    def user_code() -> None:
        raise KeyError("gone")

    shim: dict[str, Any] = {}  # a shim's frame calling the handler, as in a package
    exec(compile("def call(handler, document):\n    try:\n        handler()\n"
                 "    except Exception as exc:\n        return document(exc)\n",
                 "/var/task/function_app.py", "exec"), shim)
    trace = "".join(shim["call"](user_code, common.error_document)["stackTrace"])
    assert trace.startswith("Traceback (most recent call last):\n")
    assert "function_app.py" not in trace and ", in user_code\n" in trace


def test_log_error_writes_lambdas_lines(capsys: pytest.CaptureFixture[str]) -> None:
    def fail() -> None:
        raise ValueError("no good")

    try:
        fail()
    except ValueError as exc:
        written = common.log_error(common.error_document(exc))
    lines = written.splitlines()
    assert lines[:2] == ["[ERROR] ValueError: no good", "Traceback (most recent call last):"]
    assert any('raise ValueError("no good")' in line for line in lines)
    assert capsys.readouterr().err == written
    timeout = common.log_error({"errorType": "Timeout", "errorMessage": "Task timed out after "
                                "3 seconds", "stackTrace": []})
    assert timeout == "[ERROR] Timeout: Task timed out after 3 seconds\n"
    framed = common.log_error({"errorType": "E", "errorMessage": "m",
                               "stackTrace": ['  File "app.py", line 1, in h\n']})
    assert framed.splitlines()[1:] == ["Traceback (most recent call last):",
                                       '  File "app.py", line 1, in h']


def test_queue_event_is_sqs_shaped() -> None:
    assert common.queue_event(message_id="m", body="b", attributes={"k": "v"},
                              event_source="azure:queue", source_id="jobs") == {"Records": [{
                                  "messageId": "m", "body": "b", "attributes": {"k": "v"},
                                  "eventSource": "azure:queue", "eventSourceARN": "jobs"}]}


def test_env_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, expected in (("256", 256.0), ("2.5", 2.5), ("", 7.0), ("lots", 7.0)):
        monkeypatch.setenv("UC_TEST_NUMBER", value)
        assert common.env_number("UC_TEST_NUMBER", 7) == expected
    monkeypatch.delenv("UC_TEST_NUMBER")
    assert common.env_number("UC_TEST_NUMBER", 7) == 7


# -- what runs on the clouds ------------------------------------------------------------------
def runtime_imports(path: Path) -> set[str]:
    """The top-level modules ``path`` imports when it runs (``TYPE_CHECKING`` blocks and
    relative imports excluded)."""
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING":
            node.body = []
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize(("shim", "platform"), [
    ("common", set()), ("aws_lambda", set()), ("azure_functions", {"azure"}),
    ("gcp_functions", {"functions_framework"}),
])
def test_shims_import_only_the_stdlib_their_platform_and_the_common_module(
        shim: str, platform: set[str]) -> None:
    imported = runtime_imports(SHIMS / f"{shim}.py")
    outside = imported - set(sys.stdlib_module_names)
    assert outside == platform | ({COMMON_MODULE} if shim != "common" else set())


@pytest.mark.parametrize("shim", ["aws_lambda", "azure_functions", "gcp_functions"])
def test_every_shims_package_is_deterministic(tmp_path: Path, shim: str) -> None:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return event\n")
    first = build_package(tmp_path, shim=shim, max_bytes=10**8)
    os.utime(tmp_path / "app.py", (1_000_000_000, 1_000_000_000))
    again = build_package(tmp_path, shim=shim, max_bytes=10**8)
    assert (again.zip_bytes, again.sha256) == (first.zip_bytes, first.sha256)
