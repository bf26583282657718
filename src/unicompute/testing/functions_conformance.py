"""The behaviour every provider's function API must show, as one pytest suite.

Subclass :class:`FunctionConformance` in a test module; the ``cloud`` fixture decides the
provider::

    @pytest.mark.clouds("aws")
    class TestAWSFunctions(FunctionConformance):
        pass

Every function a test deploys has a fresh name and is deleted afterwards, even when the test
fails. Providers without ``Capability.FUNCTIONS`` are skipped explicitly.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .. import _errors as errors
from .._cloud import Cloud
from .._function_models import FunctionSpec, FunctionState, HttpTrigger, ScheduleTrigger
from .._functions import Function
from ..driver import Capability

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
'''
#: A variable set in the caller's process that no function may see.
SECRET_VARIABLE = "UC_CONFORMANCE_CALLER_SECRET"


class FunctionConformance:
    """Portable function behaviour, identical on every provider.

    Set ``runs_code = False`` in a subclass for a fake that holds functions but does not run
    them, ``serves_urls = False`` for one whose HTTP trigger URLs plain HTTP cannot reach: the
    tests that need it are then skipped, with that reason.
    """

    runs_code = True
    serves_urls = True

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
