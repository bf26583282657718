"""The behaviour every provider's function API must show, as one pytest suite.

Subclass :class:`FunctionConformance` in a test module; the ``cloud`` fixture decides the
provider::

    @pytest.mark.clouds("aws")
    class TestAWSFunctions(FunctionConformance):
        pass

Every function a test deploys has a fresh name and is deleted afterwards, even when the test
fails. Providers without ``Capability.FUNCTIONS`` are skipped explicitly.

The schedule, queue and log-window tests need the platform to move: time to pass, a message
to be put on a queue and delivered. How differs per cloud and per fake, so those steps are the
hooks :meth:`FunctionConformance.advance_time`, :meth:`~FunctionConformance.prepare_queue` and
:meth:`~FunctionConformance.send_to_queue`; the base class skips the tests that need a hook a
subclass does not give. :func:`running_fake` finds the fake the ``cloud`` fixture runs::

    @pytest.mark.clouds("aws")
    class TestAWSFunctions(FunctionConformance):
        def advance_time(self, cloud, seconds):
            fake = running_fake(cloud.provider)
            fake.clock.advance(seconds)
            fake.functions.drain(30)
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from .. import _errors as errors
from .._cloud import Cloud
from .._function_models import (
    FunctionSpec,
    FunctionState,
    HttpTrigger,
    LogLine,
    QueueTrigger,
    ScheduleTrigger,
)
from .._functions import Function
from ..driver import Capability

#: How :data:`SOURCE`'s ``record`` handler starts the log line holding the event it got.
EVENT_MARK = "conformance event "
#: Handlers of the conformance function, one source tree for every cloud.
SOURCE = '''\
import json
import os
import time


def handler(event, context):
    print("conformance says", event.get("n"))
    return {"doubled": event["n"] * 2, "function": context.function_name,
            "request_id": context.request_id, "memory_mb": context.memory_mb,
            "remaining_ok": 0 < context.remaining_time_ms() <= 60_000}


def fail(event, context):
    raise ValueError("conformance failure " + str(event.get("n")))


def slow(event, context):
    time.sleep(5)
    return "too late"


def environment(event, context):
    return {"mode": os.environ.get("MODE"), "secret": os.environ.get(event["secret"])}


def http(event, context):
    n = json.loads(event.get("body") or "{}")["n"]
    return {"statusCode": 201, "headers": {"content-type": "application/json"},
            "body": json.dumps({"doubled": n * 2})}


def chatty(event, context):
    for line in (1, 2, 3):
        print(event["run"], "line", line)
    return event["run"]


def record(event, context):
    print(EVENT_MARK + json.dumps(event, sort_keys=True))
''' + f"\n\nEVENT_MARK = {EVENT_MARK!r}\n"
#: A variable set in the caller's process that no function may see.
SECRET_VARIABLE = "UC_CONFORMANCE_CALLER_SECRET"


def running_fake(provider: str) -> Any:
    """The fake of ``provider`` in this process's running ``mock_cloud()`` (the one the
    ``cloud`` fixture starts), for the hooks of a subclass; skips the test when no fake runs
    (``--unicompute-live``: the hooks drive fakes only)."""
    from ..mocks import running_mock

    running = running_mock()
    if running is None or provider not in running.providers:
        pytest.skip(f"no {provider} fake is running: this step drives the fake's clock and "
                    "queues, which a live cloud does not offer")
    return running.fake(provider)


def events_in(lines: list[LogLine]) -> list[Any]:
    """The events :data:`SOURCE`'s ``record`` handler logged, oldest first."""
    return [json.loads(line.message.split(EVENT_MARK, 1)[1].strip()) for line in lines
            if EVENT_MARK in line.message]


class FunctionConformance:
    """Portable function behaviour, identical on every provider.

    Set ``runs_code = False`` in a subclass for a fake that holds functions but does not run
    them, ``serves_urls = False`` for one whose HTTP trigger URLs plain HTTP cannot reach: the
    tests that need it are then skipped, with that reason.
    """

    runs_code = True
    serves_urls = True

    # -- hooks: how the platform is moved (override per provider) ----------------------------
    def advance_time(self, cloud: Cloud, seconds: int) -> None:
        """Let ``seconds`` of the platform's time pass, and return once what became due then
        (schedules firing, queue messages made visible again) has run."""
        pytest.skip(f"{type(self).__name__} does not say how to move {cloud.provider}'s time: "
                    "override advance_time")

    def prepare_queue(self, cloud: Cloud, queue: str) -> None:
        """Make ``queue`` something a :class:`QueueTrigger` may name before the deploy (create
        it where the cloud needs the queue to exist first; nothing where the deploy does)."""
        pytest.skip(f"{type(self).__name__} does not say how to make a {cloud.provider} "
                    "queue: override prepare_queue")

    def send_to_queue(self, cloud: Cloud, queue: str, body: str) -> None:
        """Put one message with ``body`` on ``queue``, and return once the platform has
        delivered it to the functions the queue triggers."""
        pytest.skip(f"{type(self).__name__} does not say how to send to a {cloud.provider} "
                    "queue: override send_to_queue")

    @pytest.fixture
    def executing(self) -> None:
        if not self.runs_code:
            pytest.skip("this fake stores functions but does not run their code")

    @pytest.fixture
    def source(self, tmp_path: Path) -> Path:
        (tmp_path / "app.py").write_text(SOURCE)
        return tmp_path

    @pytest.fixture
    def names(self, cloud: Cloud) -> Iterator[list[str]]:
        """Names of the functions a test deploys; deleted afterwards whatever happened."""
        if Capability.FUNCTIONS.value not in cloud.capabilities:
            pytest.skip(f"{cloud.provider} does not declare the functions capability")
        made: list[str] = []
        yield made
        if cloud.closed:
            return
        for name in made:
            with contextlib.suppress(errors.NotFound):
                cloud.functions.delete(name)

    @pytest.fixture
    def spec(self, names: list[str], source: Path) -> FunctionSpec:
        name = f"conf-fn-{uuid.uuid4().hex[:10]}"
        names.append(name)
        return FunctionSpec(name=name, runtime="python3.12", handler="app.handler",
                            source=source, memory_mb=256, timeout_s=30, env={"MODE": "conf"},
                            tags={"conformance-run": name})

    @pytest.fixture
    def deployed(self, cloud: Cloud, spec: FunctionSpec) -> Function:
        return cloud.functions.deploy(spec)

    @staticmethod
    def variant(spec: FunctionSpec, **changes: Any) -> FunctionSpec:
        fields = {f: getattr(spec, f) for f in spec.__dataclass_fields__}
        fields.update(changes)
        return FunctionSpec(**fields)

    # -- lifecycle ----------------------------------------------------------------------------
    def test_deploy_reports_the_spec(self, cloud: Cloud, spec: FunctionSpec,
                                     deployed: Function) -> None:
        assert (deployed.name, deployed.runtime, deployed.handler) == (
            spec.name, spec.runtime, spec.handler)
        assert (deployed.memory_mb, deployed.timeout_s) == (256, 30)
        assert deployed.state is FunctionState.ACTIVE
        assert dict(deployed.env) == {"MODE": "conf"}
        assert dict(deployed.tags) == dict(spec.tags)
        assert deployed.triggers == () and deployed.url is None
        assert cloud.functions.get(spec.name) == deployed
        assert [f.name for f in cloud.functions.list(tags=dict(spec.tags))] == [spec.name]

    def test_redeploy_changes_only_on_change(self, cloud: Cloud, spec: FunctionSpec,
                                             deployed: Function) -> None:
        assert cloud.functions.deploy(spec).version == deployed.version
        bigger = cloud.functions.deploy(self.variant(spec, memory_mb=512, env={"MODE": "b"}))
        assert bigger.version != deployed.version
        assert (bigger.memory_mb, dict(bigger.env)) == (512, {"MODE": "b"})

    def test_delete(self, cloud: Cloud, spec: FunctionSpec, deployed: Function) -> None:
        cloud.functions.delete(spec.name)
        with pytest.raises(errors.NotFound):
            cloud.functions.get(spec.name)
        with pytest.raises(errors.NotFound):
            cloud.functions.delete(spec.name)
        assert list(cloud.functions.list(tags=dict(spec.tags))) == []

    def test_triggers_are_added_and_removed(self, cloud: Cloud, spec: FunctionSpec,
                                            deployed: Function) -> None:
        triggers = (HttpTrigger(), ScheduleTrigger("rate(5 minutes)"))
        with_triggers = cloud.functions.deploy(self.variant(spec, triggers=triggers))
        assert with_triggers.triggers == triggers
        assert with_triggers.url is not None and with_triggers.url.startswith("https://")
        without = cloud.functions.deploy(spec)
        assert without.triggers == () and without.url is None

    def test_bad_specs_are_rejected_and_nothing_is_made(self, cloud: Cloud,
                                                        spec: FunctionSpec) -> None:
        limits = cloud.functions.limits
        for changes, field in (
            ({"memory_mb": limits.max_memory_mb + 1}, "memory_mb"),
            ({"timeout_s": limits.max_timeout_s + 1}, "timeout_s"),
            ({"name": "not a name!"}, "name"),
            ({"source": spec.source_path / "missing"}, "source"),
        ):
            with pytest.raises(errors.InvalidRequest) as info:
                cloud.functions.deploy(self.variant(spec, **changes))
            assert info.value.field == field
        with pytest.raises(errors.NotFound):
            cloud.functions.get(spec.name)

    # -- invoking -----------------------------------------------------------------------------
    def test_invoke_returns_the_result(self, deployed: Function, spec: FunctionSpec,
            executing: None) -> None:
        out = deployed.invoke({"n": 21})
        assert out.status_code == 200
        assert out.result["doubled"] == 42
        assert out.result["function"] == spec.name
        assert out.result["memory_mb"] == 256 and out.result["remaining_ok"] is True
        assert out.request_id and out.result["request_id"] == out.request_id
        assert "conformance says 21" in out.logs
        assert out.duration_ms is not None and out.duration_ms >= 0

    def test_first_invoke_is_cold_then_warm(self, deployed: Function,
            executing: None) -> None:
        first, second = deployed.invoke({"n": 1}), deployed.invoke({"n": 2})
        assert (first.cold_start, second.cold_start) == (True, False)

    def test_async_and_dry_run(self, deployed: Function) -> None:
        assert deployed.invoke({"n": 1}, mode="async").status_code == 202
        dry = deployed.invoke({"n": 1}, mode="dry_run")
        assert (dry.status_code, dry.result) == (204, None)

    def test_oversized_payload_is_rejected(self, cloud: Cloud, deployed: Function) -> None:
        too_big = "x" * cloud.functions.limits.max_async_payload_bytes
        with pytest.raises(errors.InvalidRequest) as info:
            deployed.invoke(too_big, mode="async")
        assert info.value.field == "payload"

    def test_handler_exception(self, cloud: Cloud, spec: FunctionSpec,
            executing: None) -> None:
        fn = cloud.functions.deploy(self.variant(spec, handler="app.fail"))
        with pytest.raises(errors.FunctionError) as info:
            fn.invoke({"n": 7})
        error = info.value
        assert (error.error_type, error.native_type) == ("Unhandled", "ValueError")
        assert "conformance failure 7" in error.message
        assert 'raise ValueError("conformance failure "' in error.remote_traceback
        assert error.invocation is not None and error.invocation.status_code == 200
        assert error.resource == spec.name and not error.retryable

    def test_timeout(self, cloud: Cloud, spec: FunctionSpec,
            executing: None) -> None:
        fn = cloud.functions.deploy(self.variant(spec, handler="app.slow", timeout_s=1))
        with pytest.raises(errors.FunctionError) as info:
            fn.invoke({})
        assert info.value.error_type == "Timeout"

    def test_import_failure(self, cloud: Cloud, spec: FunctionSpec,
            executing: None) -> None:
        fn = cloud.functions.deploy(self.variant(spec, handler="app.missing"))
        with pytest.raises(errors.FunctionError) as info:
            fn.invoke({})
        assert info.value.error_type == "ImportError"

    def test_environment_is_the_declared_one(self, cloud: Cloud, spec: FunctionSpec,
                                             monkeypatch: pytest.MonkeyPatch,
                                             executing: None) -> None:
        monkeypatch.setenv(SECRET_VARIABLE, "caller-only")
        fn = cloud.functions.deploy(self.variant(spec, handler="app.environment"))
        assert fn.invoke({"secret": SECRET_VARIABLE}).result == {"mode": "conf", "secret": None}

    def test_http_trigger_answers_plain_http(self, cloud: Cloud, spec: FunctionSpec,
            executing: None) -> None:
        if not self.serves_urls:
            pytest.skip("this fake does not answer HTTP trigger URLs over plain HTTP")
        requests = pytest.importorskip("requests")
        fn = cloud.functions.deploy(self.variant(spec, handler="app.http",
                                                 triggers=(HttpTrigger(),)))
        assert fn.url is not None
        answer = requests.post(fn.url, data='{"n": 4}', timeout=30,
                               headers={"content-type": "application/json"})
        assert (answer.status_code, answer.json()) == (201, {"doubled": 8})

    # -- logs ---------------------------------------------------------------------------------
    def test_logs_hold_printed_lines_in_written_order(self, cloud: Cloud, spec: FunctionSpec,
                                                      executing: None) -> None:
        fn = cloud.functions.deploy(self.variant(spec, handler="app.chatty"))
        run = f"run-{uuid.uuid4().hex[:8]}"
        assert fn.invoke({"run": run}).result == run
        lines = fn.logs()
        assert [line.timestamp_ms for line in lines] == sorted(
            line.timestamp_ms for line in lines)
        assert [line.message.strip() for line in lines if run in line.message] == [
            f"{run} line 1", f"{run} line 2", f"{run} line 3"]

    def test_logs_since_leave_out_earlier_lines(self, cloud: Cloud, spec: FunctionSpec,
                                                executing: None) -> None:
        fn = cloud.functions.deploy(self.variant(spec, handler="app.chatty"))
        first, second = (f"run-{uuid.uuid4().hex[:8]}" for _ in range(2))
        fn.invoke({"run": first})
        earlier = [line for line in fn.logs() if first in line.message]
        assert len(earlier) == 3
        self.advance_time(cloud, 60)
        fn.invoke({"run": second})
        since_ms = max(line.timestamp_ms for line in earlier) + 1
        since = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=since_ms)
        later = fn.logs(since=since)
        assert all(line.timestamp_ms >= since_ms for line in later)
        assert [line.message.strip() for line in later if first in line.message] == []
        assert [line.message.strip() for line in later if second in line.message] == [
            f"{second} line 1", f"{second} line 2", f"{second} line 3"]

    # -- event triggers -----------------------------------------------------------------------
    def test_schedule_trigger_fires_as_time_passes(self, cloud: Cloud, spec: FunctionSpec,
                                                   executing: None) -> None:
        schedule = ScheduleTrigger("rate(5 minutes)")
        fn = cloud.functions.deploy(self.variant(spec, handler="app.record",
                                                 triggers=(schedule,)))
        assert fn.triggers == (schedule,)
        assert events_in(fn.logs()) == []
        self.advance_time(cloud, 5 * 60 + 1)
        events = events_in(fn.logs())
        # Every five minutes from the deploy (EventBridge) or on the clock's five-minute marks
        # (cron): once or twice in five minutes and a second.
        assert 1 <= len(events) <= 2, events
        for event in events:
            # What every cloud's scheduled event holds: EventBridge's ``source``, ``time`` (an
            # ISO 8601 instant) and ``detail``, which the other clouds' shims give in the
            # portable event.
            assert isinstance(event["source"], str) and event["source"]
            assert isinstance(event["detail"], dict)
            assert datetime.fromisoformat(event["time"]).tzinfo is not None, event["time"]

    def test_queue_trigger_delivers_each_message_once(self, cloud: Cloud, spec: FunctionSpec,
                                                      executing: None) -> None:
        queue = f"conf-q-{uuid.uuid4().hex[:10]}"
        self.prepare_queue(cloud, queue)
        fn = cloud.functions.deploy(self.variant(spec, handler="app.record",
                                                 triggers=(QueueTrigger(queue),)))
        assert fn.triggers == (QueueTrigger(queue),)
        body = json.dumps({"order": uuid.uuid4().hex, "note": "h\u00e9llo, w\u00f6rld"},
                          ensure_ascii=False)
        self.send_to_queue(cloud, queue, body)
        events = events_in(fn.logs())
        assert len(events) == 1, events
        (record,) = events[0]["Records"]  # SQS-shaped, one message
        assert record["body"] == body
        assert isinstance(record["messageId"], str) and record["messageId"]
        assert isinstance(record["attributes"], dict)
        assert isinstance(record["eventSource"], str) and record["eventSource"]
        assert queue in record["eventSourceARN"]
        self.advance_time(cloud, 10 * 60)  # a handled message was deleted: it never comes back
        assert len(events_in(fn.logs())) == 1
