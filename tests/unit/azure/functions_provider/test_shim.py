"""The Azure shim (``function_app.py``) under the real ``azure.functions`` library: packaged by
``build_package``, indexed as the host indexes it, and its functions called as the host calls
them. Each case runs in a fresh interpreter (the shim reads app settings at import)."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from unicompute import HttpTrigger, InvalidRequest, QueueTrigger, ScheduleTrigger
from unicompute._packaging import build_package
from unicompute.providers.azure.functions_convert import triggers_json

pytest.importorskip("azure.functions")

SOURCE = '''\
import json
import time

def record(event, context):
    print("EVENT " + json.dumps(event))

def handler(event, context):
    print("handling", event)
    context.logger.info("via logger")
    return {"event": event, "name": context.function_name, "id": context.request_id,
            "memory": context.memory_mb, "left_ok": 0 < context.remaining_time_ms() <= 2000}

def fail(event, context):
    raise ValueError("bad " + str(event))

def slow(event, context):
    time.sleep(3)

def web(event, context):
    return {"statusCode": 201, "headers": {"x-a": "b"}, "body": event["body"].upper()}
'''

DRIVER = '''\
import json, sys
import azure.functions as func
import function_app

class Ctx:
    invocation_id = "inv-42"

functions = {f.get_function_name(): f for f in function_app.app.get_functions()}
out = {"functions": {}}
for name, f in functions.items():
    out["functions"][name] = [
        {"type": b.type, "route": getattr(b, "route", None),
         "auth": getattr(getattr(b, "auth_level", None), "name", None),
         "schedule": getattr(b, "schedule", None),
         "queue": getattr(b, "queue_name", None)} for b in f.get_bindings()]
case = json.loads(sys.argv[1])
if case.get("invoke") is not None:
    req = func.HttpRequest("POST", "https://h/api/unicompute/invoke/fn",
                           body=json.dumps(case["invoke"]).encode(), headers={})
    answer = functions["uc-invoke-fn"].get_user_function()(req, Ctx())
    out["invoke"] = {"status": answer.status_code, "headers": dict(answer.headers),
                     "body": json.loads(answer.get_body())}
if case.get("http") is not None:
    req = func.HttpRequest("POST", "https://h/api/fn?x=1", body=case["http"].encode(),
                           headers={"User-Agent": "t"}, params={"x": "1"})
    answer = functions["fn"].get_user_function()(req, Ctx())
    out["http"] = {"status": answer.status_code, "headers": dict(answer.headers),
                   "body": answer.get_body().decode()}
if case.get("queue") is not None:
    msg = func.QueueMessage(id="m-1", body=case["queue"].encode())
    name = [n for n in functions if n.startswith("uc-queue-")][0]
    try:
        functions[name].get_user_function()(msg, Ctx())
        out["queue"] = "ok"
    except Exception as exc:
        out["queue"] = "raised " + str(exc)
if case.get("timer") is not None:
    from azure.functions.timer import TimerRequest
    timer = TimerRequest(past_due=False, schedule={"AdjustForDST": True},
                         schedule_status=case["timer"])
    name = [n for n in functions if n.startswith("uc-timer-")][0]
    try:
        functions[name].get_user_function()(timer, Ctx())
        out["timer"] = "ok"
    except Exception as exc:
        out["timer"] = "raised " + str(exc)
print("@@" + json.dumps(out))
'''


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    (source / "app.py").write_text(SOURCE)
    package = build_package(source, shim="azure_functions", max_bytes=10**8)
    target = tmp_path / "wwwroot"
    with zipfile.ZipFile(__import__("io").BytesIO(package.zip_bytes)) as archive:
        archive.extractall(target)
    (target / "driver.py").write_text(DRIVER)
    return target


#: What Azure sets for every app (App Service's read-only variables).
SITE_ENV = {"WEBSITE_SITE_NAME": "fn", "WEBSITE_RESOURCE_GROUP": "rg-1",
            "WEBSITE_OWNER_NAME": "0b1f6471-1bf0-4dda-aec3-111122223333+rg-1-EastUSwebspace-Linux",
            "REGION_NAME": "East US"}


def run(app_dir: Path, handler: str, triggers: tuple[Any, ...], case: dict[str, Any],
        site: dict[str, str] | None = None) -> dict[str, Any]:
    """What the driver reports for ``case``, plus ``stderr``: what the app wrote there."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("UNICOMPUTE_", "WEBSITE_", "REGION_NAME"))}
    env.update({"UNICOMPUTE_HANDLER": handler, "UNICOMPUTE_FUNCTION": "fn",
                "UNICOMPUTE_MEMORY_MB": "256", "UNICOMPUTE_TIMEOUT_S": "2",
                "UNICOMPUTE_TRIGGERS": triggers_json("fn", triggers), **(site or {})})
    done = subprocess.run([sys.executable, "driver.py", json.dumps(case)], cwd=app_dir,
                          env=env, capture_output=True, text=True, timeout=60, check=True)
    line = [x for x in done.stdout.splitlines() if x.startswith("@@")][-1]
    return {**json.loads(line[2:]), "stdout": done.stdout, "stderr": done.stderr}


def test_package_layout(app_dir: Path, tmp_path: Path) -> None:
    assert {"function_app.py", "host.json", "app.py"} <= {p.name for p in app_dir.iterdir()}
    assert not (app_dir / "unicompute_shim.py").exists()
    host = json.loads((app_dir / "host.json").read_text())
    assert host["version"] == "2.0"
    (tmp_path / "src" / "function_app.py").write_text("")
    with pytest.raises(InvalidRequest) as info:
        build_package(tmp_path / "src", shim="azure_functions", max_bytes=10**8)
    assert info.value.field == "source" and "function_app.py" in str(info.value)


def test_functions_indexed_per_trigger(app_dir: Path) -> None:
    triggers = (HttpTrigger(auth="key"), ScheduleTrigger("rate(5 minutes)"),
                QueueTrigger("jobs", 4))
    functions = run(app_dir, "app.handler", triggers, {})["functions"]
    assert set(functions) == {"uc-invoke-fn", "uc-async-fn", "fn", "uc-timer-1", "uc-queue-2"}
    invoke = functions["uc-invoke-fn"][0]
    assert (invoke["type"], invoke["route"], invoke["auth"]) == (
        "httpTrigger", "unicompute/invoke/fn", "FUNCTION")
    assert functions["fn"][0]["auth"] == "FUNCTION"
    assert functions["uc-timer-1"][0]["schedule"] == "0 */5 * * * *"
    assert functions["uc-queue-2"][0]["queue"] == "jobs"
    anonymous = run(app_dir, "app.handler", (HttpTrigger(),), {})["functions"]["fn"]
    assert anonymous[0]["auth"] == "ANONYMOUS"


def test_invoke_returns_result_logs_and_context(app_dir: Path) -> None:
    out = run(app_dir, "app.handler", (), {"invoke": {"n": 1}})["invoke"]
    assert out["status"] == 200
    body = out["body"]
    assert body["ok"] is True
    assert body["result"] == {"event": {"n": 1}, "name": "fn", "id": "inv-42", "memory": 256,
                              "left_ok": True}
    assert "handling {'n': 1}" in body["logs"] and "INFO via logger" in body["logs"]
    assert out["headers"]["x-unicompute-request-id"] == "inv-42"
    assert out["headers"]["x-unicompute-cold-start"] == "true"
    assert float(out["headers"]["x-unicompute-duration-ms"]) >= 0


@pytest.mark.parametrize(("handler", "error_type", "message"), [
    ("app.fail", "ValueError", "bad 7"),
    ("app.missing", "ImportModuleError", "missing"),
    ("nomodule.handler", "ImportModuleError", "nomodule"),
    ("app.slow", "Timeout", "2 seconds"),
])
def test_invoke_failures(app_dir: Path, handler: str, error_type: str, message: str) -> None:
    out = run(app_dir, handler, (), {"invoke": 7})
    body = out["invoke"]["body"]
    assert body["ok"] is False and body["errorType"] == error_type
    assert message in body["errorMessage"]
    # The function's log (stderr, which the host keeps) and the answer's logs say what failed,
    # as Lambda's runtime logs it, though the host sees a succeeded HTTP call.
    logged = f"[ERROR] {error_type}: {body['errorMessage']}\n"
    assert logged in out["stderr"] and body["logs"].startswith(logged)
    if error_type == "ValueError":
        assert any('raise ValueError("bad "' in line for line in body["stackTrace"])
        assert 'raise ValueError("bad " + str(event))' in body["logs"]
        assert f"{logged}Traceback (most recent call last):\n" in out["stderr"]


def test_http_trigger_speaks_lambda_url_format(app_dir: Path) -> None:
    out = run(app_dir, "app.web", (HttpTrigger(),), {"http": "abc"})["http"]
    assert (out["status"], out["body"], out["headers"].get("x-a")) == (201, "ABC", "b")
    event = run(app_dir, "app.handler", (HttpTrigger(),), {"http": "q"})["http"]
    sent = json.loads(event["body"])["event"]
    assert sent["version"] == "2.0" and sent["rawPath"] == "/api/fn"
    assert sent["rawQueryString"] == "x=1" and sent["queryStringParameters"] == {"x": "1"}
    assert sent["body"] == "q" and sent["headers"]["user-agent"] == "t"
    assert sent["requestContext"]["http"]["method"] == "POST"


def test_queue_message_becomes_sqs_records(app_dir: Path) -> None:
    ok = run(app_dir, "app.handler", (QueueTrigger("jobs"),), {"queue": "hello"})
    assert ok["queue"] == "ok"
    failed = run(app_dir, "app.fail", (QueueTrigger("jobs"),), {"queue": "x"})
    assert failed["queue"].startswith("raised ValueError")


def _printed_event(out: dict[str, Any]) -> dict[str, Any]:
    """The event ``app.record`` printed."""
    line = next(x for x in out["stdout"].splitlines() if x.startswith("EVENT "))
    return dict(json.loads(line[len("EVENT "):]))


def test_timer_gives_eventbridges_scheduled_event(app_dir: Path) -> None:
    status = {"Last": "2026-01-02T03:00:00+00:00", "Next": "2026-01-02T03:05:00+00:00",
              "LastUpdated": "2026-01-02T03:00:00.0100000+00:00"}
    triggers = (ScheduleTrigger("rate(5 minutes)"),)
    out = run(app_dir, "app.record", triggers, {"timer": status}, SITE_ENV)
    assert out["timer"] == "ok"
    event = _printed_event(out)
    assert {k: v for k, v in event.items() if k != "id"} == {
        "version": "0", "detail-type": "Scheduled Event", "source": "unicompute.schedule",
        "account": "0b1f6471-1bf0-4dda-aec3-111122223333", "time": "2026-01-02T03:05:00Z",
        "region": "eastus", "detail": {"schedule": "rate(5 minutes)"},
        "resources": ["/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/rg-1"
                      "/providers/Microsoft.Web/sites/fn/functions/uc-timer-0"]}
    again = _printed_event(run(app_dir, "app.record", triggers, {"timer": status}, SITE_ENV))
    assert again["id"] == event["id"]  # the same occurrence, the same id


def test_timer_without_site_variables_or_status(app_dir: Path) -> None:
    out = run(app_dir, "app.record", (ScheduleTrigger("rate(1 hour)"),),
              {"timer": {"Last": "0001-01-01T00:00:00"}})
    event = _printed_event(out)
    assert (event["account"], event["region"], event["resources"]) == (
        "", "", ["fn/functions/uc-timer-0"])
    assert len(event["time"]) == 20 and event["time"].endswith("Z")


def test_timer_failure_is_logged_and_fails_the_invocation(app_dir: Path) -> None:
    out = run(app_dir, "app.fail", (ScheduleTrigger("rate(1 hour)"),), {"timer": {}})
    assert out["timer"].startswith("raised ValueError: bad {")
    assert "[ERROR] ValueError: bad {" in out["stderr"]
    assert "Traceback (most recent call last):" in out["stderr"]
