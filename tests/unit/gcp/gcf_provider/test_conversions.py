"""Cloud Functions provider pieces that make no call: EventBridge → unix-cron, the GCP checks
of a spec, Function messages ↔ portable records, update masks, invoke answers, log entries and
the endpoint routing of plain-HTTP requests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from google.auth.credentials import AnonymousCredentials
from google.cloud import functions_v2

import unicompute as uc
from unicompute._function_models import FunctionPackage, FunctionSpec, check_spec
from unicompute.providers.gcp import LIMITS
from unicompute.providers.gcp.functions_clients import FunctionClients
from unicompute.providers.gcp.functions_convert import (
    function_info,
    function_labels,
    invoke_key,
    memory_mb,
    platform_failure,
)
from unicompute.providers.gcp.functions_deploy import (
    config_changes,
    is_public,
    new_function,
)
from unicompute.providers.gcp.functions_invoke import log_filter, outcome, timestamp_ms
from unicompute.providers.gcp.functions_limits import FUNCTION_LIMITS, check_plan, topic_of
from unicompute.providers.gcp.unix_cron import unix_cron


def clients(endpoint: str | None = None) -> FunctionClients:
    return FunctionClients(credentials=AnonymousCredentials(), project="proj-1",  # type: ignore[no-untyped-call]
                           region="us-central1", endpoint=endpoint, poll_interval=0)


def spec(tmp_path: Path, **changes: Any) -> FunctionSpec:
    fields: dict[str, Any] = {"name": "thumb", "runtime": "python3.12", "handler": "app.handler",
                              "source": tmp_path, "memory_mb": 256, "timeout_s": 30,
                              "env": {"MODE": "fast"}, "tags": {"team": "media"}}
    fields.update(changes)
    return FunctionSpec(**fields)


# -- schedules ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("expression", "cron"), [
    ("rate(1 minute)", "* * * * *"),
    ("rate(5 minutes)", "*/5 * * * *"),
    ("rate(30 minutes)", "*/30 * * * *"),
    ("rate(60 minutes)", "0 * * * *"),
    ("rate(1 hour)", "0 * * * *"),
    ("rate(6 hours)", "0 */6 * * *"),
    ("rate(1 day)", "0 0 * * *"),
    ("cron(0 12 * * ? *)", "0 12 * * *"),
    ("cron(0/15 8-17 ? * MON-FRI *)", "0,15,30,45 8-17 * * 1-5"),
    ("cron(5 0 1,15 JAN,jul ? *)", "5 0 1,15 1,7 *"),
    ("cron(0 0 ? * 1,7 *)", "0 0 * * 0,6"),  # EventBridge SUN=1, SAT=7; unix-cron 0 and 6
    ("cron(10 3 ? * SUN *)", "10 3 * * 0"),
])
def test_eventbridge_schedules_become_unix_cron(expression: str, cron: str) -> None:
    assert unix_cron(expression) == cron


@pytest.mark.parametrize("expression", [
    "rate(7 minutes)", "rate(90 minutes)", "rate(5 hours)", "rate(2 days)",
    "cron(0 0 L * ? *)", "cron(0 0 15W * ? *)", "cron(0 0 ? * MON#2 *)", "cron(0 0 ? * 6L *)",
    "cron(0 0 * * ? 2030)",
])
def test_schedules_unix_cron_cannot_say_are_refused(expression: str) -> None:
    with pytest.raises(uc.InvalidRequest) as info:
        unix_cron(expression)
    assert info.value.field == "triggers"


# -- checks ------------------------------------------------------------------------------------
def test_limits_are_the_providers(tmp_path: Path) -> None:
    assert LIMITS.functions is FUNCTION_LIMITS
    assert FUNCTION_LIMITS.runtimes == {"python3.11", "python3.12", "python3.13"}
    assert FUNCTION_LIMITS.max_timeout_s == 3600 and FUNCTION_LIMITS.max_memory_mb == 32768
    assert FUNCTION_LIMITS.names.check("thumb-1") is None
    for bad in ("Thumb", "1thumb", "thumb-", "a" * 64, "th_umb"):
        assert FUNCTION_LIMITS.names.check(bad) is not None


@pytest.mark.parametrize(("changes", "field"), [
    ({"tags": {"Team": "media"}}, "tags"),
    ({"tags": {"team": "Media Group"}}, "tags"),
    ({"env": {"X_GOOGLE_THING": "1"}}, "env"),
    ({"triggers": (uc.QueueTrigger("a-topic"), uc.QueueTrigger("b-topic"))}, "triggers"),
    ({"triggers": (uc.QueueTrigger("a-topic"),), "timeout_s": 541}, "timeout_s"),
    ({"triggers": (uc.QueueTrigger("goog-topic"),)}, "triggers.queue"),
    ({"triggers": (uc.QueueTrigger("projects/p/topics/x/extra"),)}, "triggers.queue"),
    ({"triggers": (uc.ScheduleTrigger("rate(7 minutes)"),)}, "triggers"),
    # A public URL would take forged Pub/Sub deliveries (they arrive at that URL).
    ({"triggers": (uc.HttpTrigger(), uc.QueueTrigger("orders"))}, "triggers"),
])
def test_gcp_only_refusals_name_the_field(tmp_path: Path, changes: dict[str, Any],
                                          field: str) -> None:
    with pytest.raises(uc.InvalidRequest) as info:
        check_plan(spec(tmp_path, **changes))
    assert info.value.field == field


def test_event_functions_may_run_540_s_and_http_ones_3600(tmp_path: Path) -> None:
    check_plan(spec(tmp_path, triggers=(uc.QueueTrigger("orders"),), timeout_s=540))
    check_plan(spec(tmp_path, triggers=(uc.HttpTrigger(auth="key"), uc.QueueTrigger("orders"))))
    check_plan(spec(tmp_path, triggers=(uc.HttpTrigger(),), timeout_s=3600))


def test_topics() -> None:
    assert topic_of("orders", "proj-1") == "projects/proj-1/topics/orders"
    assert topic_of("projects/other/topics/orders") == "projects/other/topics/orders"


# -- messages ↔ records ------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "mb"), [("256Mi", 256), ("1Gi", 1024), ("256M", 256),
                                          ("2G", 2048), ("268435456", 256), ("", 256)])
def test_memory_quantities(text: str, mb: int) -> None:
    assert memory_mb(text) == mb


def deployed(tmp_path: Path, **changes: Any) -> functions_v2.Function:
    """The Function of ``spec`` as Cloud Functions answers once it is active."""
    made = spec(tmp_path, **changes)
    package = FunctionPackage(zip_bytes=b"zip", sha256=bytes(range(32)))
    fn = new_function(clients(), made, functions_v2.StorageSource(bucket="b", object_="o"),
                      package)
    fn.state = functions_v2.Function.State.ACTIVE  # type: ignore[assignment]
    fn.service_config.uri = "https://thumb-abc-uc.a.run.app"
    fn.service_config.service = "projects/proj-1/locations/us-central1/services/thumb"
    fn.service_config.revision = "thumb-00001-abc"
    fn.service_config.environment_variables["LOG_EXECUTION_ID"] = "true"
    if made.concurrency is None:
        fn.service_config.max_instance_count = 100
    return fn


def test_function_round_trips_to_the_spec(tmp_path: Path) -> None:
    fn = deployed(tmp_path, triggers=(uc.HttpTrigger(auth="key"), uc.QueueTrigger("orders", 5)),
                  concurrency=3, timeout_s=60)
    assert fn.build_config.runtime == "python312"
    assert fn.build_config.entry_point == "unicompute_entry"
    assert fn.build_config.environment_variables["GOOGLE_FUNCTION_SOURCE"] == \
        "unicompute_shim.py"
    assert fn.service_config.available_memory == "256Mi"
    assert fn.event_trigger.pubsub_topic == "projects/proj-1/topics/orders"
    assert fn.service_config.max_instance_count == 3
    info = function_info(fn, schedules=("rate(5 minutes)",))
    assert (info.name, info.runtime, info.handler, info.memory_mb, info.timeout_s) == (
        "thumb", "python3.12", "app.handler", 256, 60)
    assert dict(info.env) == {"MODE": "fast"} and dict(info.tags) == {"team": "media"}
    assert info.state is uc.FunctionState.ACTIVE and info.concurrency == 3
    assert info.code_sha256 == bytes(range(32))
    assert info.url == "https://thumb-abc-uc.a.run.app"
    assert info.triggers == (uc.HttpTrigger(auth="key"), uc.ScheduleTrigger("rate(5 minutes)"),
                             uc.QueueTrigger("orders", 5))
    assert function_info(fn).triggers is None
    # The JSON a listing carries parses back strictly.
    again = functions_v2.Function.from_json(functions_v2.Function.to_json(fn),
                                            ignore_unknown_fields=False)
    assert function_info(again).version == info.version


def test_without_http_trigger_there_is_no_url(tmp_path: Path) -> None:
    info = function_info(deployed(tmp_path), schedules=())
    assert info.url is None and info.triggers == () and info.concurrency is None


def test_states(tmp_path: Path) -> None:
    fn = deployed(tmp_path)
    fn.state = functions_v2.Function.State.DEPLOYING  # type: ignore[assignment]
    assert function_info(fn).state is uc.FunctionState.UPDATING
    fn.service_config.revision = ""
    assert function_info(fn).state is uc.FunctionState.PENDING
    fn.state = functions_v2.Function.State.FAILED  # type: ignore[assignment]
    fn.state_messages.append(functions_v2.StateMessage(message="Build failed: boom"))
    info = function_info(fn)
    assert (info.state, info.state_reason) == (uc.FunctionState.FAILED, "Build failed: boom")
    assert not info.recreate_to_repair


def test_identical_spec_needs_no_patch(tmp_path: Path) -> None:
    fn = deployed(tmp_path)
    assert config_changes(spec(tmp_path), fn)[1] == []


def test_patch_names_only_what_differs(tmp_path: Path) -> None:
    fn = deployed(tmp_path)
    patch, paths = config_changes(spec(tmp_path, memory_mb=512, env={"MODE": "b"}), fn)
    assert paths == ["service_config.available_memory", "service_config.environment_variables"]
    assert patch.service_config.available_memory == "512Mi"
    assert patch.service_config.environment_variables["MODE"] == "b"
    assert patch.service_config.environment_variables["UNICOMPUTE_MEMORY_MB"] == "512"
    _, paths = config_changes(spec(tmp_path, tags={"team": "web"}, concurrency=2), fn)
    assert paths == ["service_config.max_instance_count", "labels"]
    capped = deployed(tmp_path, concurrency=2)
    patch, paths = config_changes(spec(tmp_path), capped)
    assert patch.service_config.max_instance_count == 100  # back to the default cap
    assert paths == ["service_config.max_instance_count", "labels"]


def test_labels_carry_tags_and_bookkeeping(tmp_path: Path) -> None:
    labels = function_labels(spec(tmp_path, triggers=(uc.HttpTrigger(),), concurrency=4))
    assert labels == {"team": "media", "unicompute--managed": "true",
                      "unicompute--http": "none", "unicompute--concurrency": "4"}


def test_public_policy() -> None:
    assert is_public({"bindings": [{"role": "roles/run.invoker", "members": ["allUsers"]}]})
    assert not is_public({"bindings": [{"role": "roles/run.admin", "members": ["allUsers"]}]})
    assert not is_public({"etag": "BwX"})


# -- invocations -------------------------------------------------------------------------------
def response(status: int, body: Any, headers: dict[str, str] | None = None
             ) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    answer._content = body if isinstance(body, bytes) else json.dumps(body).encode()
    answer.headers.update(headers or {})
    return answer


def test_shim_answers_become_invocations() -> None:
    ok = outcome("f", response(200, {"ok": True, "result": {"a": 1}, "requestId": "r1",
                                      "durationMs": 1.5, "coldStart": True, "logs": "hi\n"}))
    assert (ok.status_code, json.loads(ok.payload), ok.request_id) == (200, {"a": 1}, "r1")
    assert (ok.duration_ms, ok.cold_start, ok.logs, ok.error) == (1.5, True, "hi\n", None)
    failed = outcome("f", response(200, {"ok": False, "errorType": "ValueError",
                                         "errorMessage": "bad", "stackTrace": ["l1", "l2"],
                                         "requestId": "r2", "coldStart": False}))
    assert failed.error is not None and failed.status_code == 200
    assert (failed.error.error_type, failed.error.native_type, failed.error.message,
            failed.error.traceback) == ("Unhandled", "ValueError", "bad", ("l1", "l2"))
    imported = outcome("f", response(200, {"ok": False, "errorType": "ImportError"}))
    assert imported.error is not None and imported.error.error_type == "ImportError"


@pytest.mark.parametrize(("status", "body", "kind"), [
    (504, b"upstream request timeout", "Timeout"),
    (503, b"Memory limit of 256 MiB exceeded with 300 MiB used.", "OutOfMemory"),
    (500, b"Internal Server Error", "Crashed"),
    (503, b"Service Unavailable", "Crashed"),
])
def test_platform_answers_are_failures(status: int, body: bytes, kind: str) -> None:
    info = outcome("f", response(status, body))
    assert info.error is not None and info.error.error_type == kind
    assert info.status_code == status
    assert platform_failure(404, "") is None


@pytest.mark.parametrize(("status", "error"), [
    (403, uc.PermissionDenied), (401, uc.Unauthenticated), (404, uc.NotFound),
    (429, uc.Throttled), (400, uc.ProviderError),
])
def test_platform_refusals_raise(status: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        outcome("f", response(status, b"<html>Error: Forbidden</html>"))


# -- logs and routing --------------------------------------------------------------------------
def test_log_filter_and_timestamps() -> None:
    text = log_filter(clients(), "thumb", 1_767_322_800_123)
    assert text == ('resource.type="cloud_run_revision" AND resource.labels.service_name='
                    '"thumb" AND resource.labels.location="us-central1" AND '
                    'timestamp>="2026-01-02T03:00:00.123Z"')
    assert timestamp_ms("2026-01-02T03:00:00.123456789Z") == 1_767_322_800_123
    assert timestamp_ms("2026-01-02T04:00:00+01:00") == 1_767_322_800_000
    assert timestamp_ms("yesterday") == 0


def test_plain_http_goes_to_the_endpoint_with_the_real_host() -> None:
    assert clients().route("https://x-1-uc.a.run.app/_unicompute/invoke") == (
        "https://x-1-uc.a.run.app/_unicompute/invoke", {})
    routed = clients("http://127.0.0.1:9999/").route(
        "https://storage.googleapis.com/bucket/obj?X-Goog-Signature=abc")
    assert routed == ("http://127.0.0.1:9999/bucket/obj?X-Goog-Signature=abc",
                      {"Host": "storage.googleapis.com"})
    assert clients().id_token("https://x") is None  # anonymous: no token is sent


@pytest.mark.parametrize(("url", "headers", "operation", "named"), [
    ("https://cloudfunctions.googleapis.com/v2/projects/p/locations/l/functions", {},
     "functions.deploy", "Cloud Functions"),
    ("https://cloudscheduler.googleapis.com/v1/projects/p/locations/l/jobs", {},
     "functions.deploy", "Cloud Scheduler"),
    ("http://127.0.0.1:8123/v2/entries:list", {"Host": "logging.googleapis.com"},
     "functions.logs", "Cloud Logging"),
    ("https://fn-abcdefghij-uc.a.run.app/_unicompute/invoke", {}, "functions.invoke",
     "the function's URL (fn-abcdefghij-uc.a.run.app)"),
    ("https://compute.googleapis.com/compute/v1/projects/p/zones/z/instances", {}, "launch",
     "Compute Engine"),
    ("https://user:secret@example.test:8443/x", {}, "functions.invoke", "example.test:8443"),
])
def test_connection_errors_name_the_api(url: str, headers: dict[str, str], operation: str,
                                        named: str) -> None:
    import requests

    from unicompute.providers.gcp.errors import translate_error

    request = requests.Request("POST", url, headers=headers).prepare()
    for exc, said in ((requests.ConnectionError("refused", request=request),
                       f"cannot reach {named} (ConnectionError)"),
                      (requests.ReadTimeout("slow", request=request),
                       f"no answer from {named} in time (ReadTimeout)")):
        error = translate_error(exc, operation)
        assert error is not None
        assert said in str(error)
        assert "secret" not in str(error)


def test_connection_error_without_a_request_names_the_operation_s_api() -> None:
    import requests

    from unicompute.providers.gcp.errors import translate_error

    assert "cannot reach Cloud Functions" in str(
        translate_error(requests.ConnectionError("refused"), "functions.invoke"))
    assert "cannot reach Compute Engine" in str(
        translate_error(requests.ConnectionError("refused"), "launch"))


def test_environment_size_is_gcf_s_measure(tmp_path: Path) -> None:
    """GCF counts the bytes of every runtime variable's name and value (unicompute's own
    included: the handler, memory, timeout, triggers and the 43-character invoke key), which
    can exceed 32 KiB when the portable JSON measure does not."""
    from unicompute._function_models import check_spec, env_json_bytes
    from unicompute.shims import HANDLER_ENV

    base = spec(tmp_path, env={})
    own = {HANDLER_ENV: base.handler, "UNICOMPUTE_MEMORY_MB": "256",
           "UNICOMPUTE_TIMEOUT_S": "30", "UNICOMPUTE_TRIGGERS": "",
           "UNICOMPUTE_INVOKE_KEY": "k" * 43}
    own_bytes = sum(len(k) + len(v) for k, v in own.items())
    room = 32 * 1024 - own_bytes - len("BIG")
    at_limit = spec(tmp_path, env={"BIG": "x" * room})
    check_spec(at_limit, FUNCTION_LIMITS, None)
    with pytest.raises(uc.InvalidRequest) as info:
        check_spec(spec(tmp_path, env={"BIG": "x" * (room + 1)}), FUNCTION_LIMITS, None)
    assert info.value.field == "env"
    # The portable (JSON) measure lets through what GCF refuses.
    overhead = env_json_bytes({"BIG": "", HANDLER_ENV: base.handler})
    fits_json = spec(tmp_path, env={"BIG": "x" * (32 * 1024 - overhead)})
    assert env_json_bytes({**fits_json.env, HANDLER_ENV: base.handler}) == 32 * 1024
    with pytest.raises(uc.InvalidRequest):
        check_spec(fits_json, FUNCTION_LIMITS, None)


# -- the invoke key -----------------------------------------------------------------------------
def test_each_function_gets_its_own_random_key(tmp_path: Path) -> None:
    first, second = deployed(tmp_path), deployed(tmp_path)
    keys = [fn.service_config.environment_variables["UNICOMPUTE_INVOKE_KEY"]
            for fn in (first, second)]
    assert keys[0] != keys[1] and all(len(key) == 43 for key in keys)
    assert invoke_key(first) == keys[0]


def test_updates_keep_the_key_and_add_a_missing_one(tmp_path: Path) -> None:
    fn = deployed(tmp_path)
    key = invoke_key(fn)
    patch, paths = config_changes(spec(tmp_path, env={"MODE": "slow"}), fn)
    assert paths == ["service_config.environment_variables"]
    assert patch.service_config.environment_variables["UNICOMPUTE_INVOKE_KEY"] == key
    del fn.service_config.environment_variables["UNICOMPUTE_INVOKE_KEY"]
    patch, paths = config_changes(spec(tmp_path), fn)
    assert paths == ["service_config.environment_variables"]
    fresh = patch.service_config.environment_variables["UNICOMPUTE_INVOKE_KEY"]
    assert len(fresh) == 43 and fresh != key


def test_the_key_is_never_shown(tmp_path: Path) -> None:
    from unicompute.providers.gcp.functions_invoke import Target
    from unicompute.providers.gcp.scheduler import JobTarget

    fn = deployed(tmp_path, triggers=(uc.HttpTrigger(),))
    key = invoke_key(fn)
    assert key is not None
    info = function_info(fn, schedules=())
    assert key not in repr(info) and key not in str(dict(info.env))
    assert key not in repr(Target("https://x.a.run.app", 60, key))
    assert key not in repr(JobTarget("https://x.a.run.app", key, "sa@p.iam", 60))


def test_triggers_variable_names_the_kinds(tmp_path: Path) -> None:
    from unicompute.providers.gcp.functions_convert import trigger_kinds

    assert trigger_kinds(spec(tmp_path)) == ""
    assert trigger_kinds(spec(tmp_path, triggers=(
        uc.QueueTrigger("q-1"), uc.ScheduleTrigger("rate(1 hour)"),
        uc.HttpTrigger(auth="key")))) == "http,schedule,queue"


def test_the_workload_tag_is_a_label_and_the_users_while_bookkeeping_is_hidden(
    tmp_path: Path
) -> None:
    """``unicompute:workload`` (as on VMs) is an ordinary tag: stored as the label
    ``unicompute--workload`` and shown in ``FunctionInfo.tags``; unicompute's bookkeeping
    labels (managed, http, concurrency, batch size) are not shown."""
    tags = {"team": "media", "unicompute:workload": "shop"}
    triggers = (uc.HttpTrigger(auth="key"), uc.QueueTrigger("jobs"))
    made = spec(tmp_path, tags=tags, triggers=triggers, concurrency=3)
    check_spec(made, FUNCTION_LIMITS, None)
    labels = function_labels(made)
    assert labels["unicompute--workload"] == "shop"
    assert set(labels) == {"team", "unicompute--workload", "unicompute--managed",
                           "unicompute--http", "unicompute--concurrency",
                           "unicompute--batch-size"}
    fn = deployed(tmp_path, tags=tags, triggers=triggers, concurrency=3)
    assert dict(function_info(fn).tags) == tags
