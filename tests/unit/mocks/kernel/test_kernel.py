"""The shared emulator kernel: store paging, faults, operations, and both ways in."""

from __future__ import annotations

import pytest
import requests
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from unicompute.mocks._kernel import (
    EmulatorApp,
    FakeClock,
    Faults,
    HttpError,
    IdFactory,
    Interceptor,
    Operations,
    Store,
    json_response,
    serve,
)
from unicompute.mocks._kernel.store import casefold


def test_store_pages_resume_across_inserts_and_deletes() -> None:
    store: Store[int] = Store()
    for i in range(10):
        store.put(f"k{i}", i)
    first, token = store.page(4)
    assert first == [0, 1, 2, 3] and token is not None
    store.pop("k4")  # removed before its page is read
    store.put("k10", 10)  # added while paging: comes at the end
    second, token = store.page(4, token)
    assert second == [5, 6, 7, 8]
    third, token = store.page(4, token)
    assert third == [9, 10] and token is None


def test_store_filter_and_case_insensitive_keys() -> None:
    store: Store[str] = Store(casefold)
    store.put("VM1", "a")
    assert store.put("vm1", "b") is False  # same resource, replaced in place
    assert store.get("Vm1") == "b" and len(store) == 1
    store.put("vm2", "c")
    assert store.page(10, where=lambda v: v != "b") == (["c"], None)
    with pytest.raises(ValueError):
        store.page(10, "bogus")


def test_faults_fail_next_then_clear() -> None:
    faults = Faults()
    faults.fail_next("vm_get", status=500, code="Boom", times=2)
    assert faults.check("vm_get") is not None
    assert faults.check("vm_list") is None
    assert faults.check("vm_get") is not None
    assert faults.check("vm_get") is None
    assert faults.calls("vm_get") == 3


def test_faults_error_rate_is_seeded() -> None:
    def run() -> list[bool]:
        faults = Faults(seed=7)
        faults.error_rate("op", 0.5)
        return [faults.check("op") is not None for _ in range(50)]

    outcomes = run()
    assert outcomes == run() and 10 < sum(outcomes) < 40


def test_operations_instant_and_stepped() -> None:
    clock = FakeClock()
    ops = Operations(clock, IdFactory())
    done: list[str] = []
    op = ops.start(lambda: done.append("x") or None)
    assert op.status == "succeeded" and done == ["x"]

    ops.mode = "stepped"
    ops.polls_to_finish = 3
    op = ops.start(lambda: None)
    assert not op.done
    assert ops.get(op.id) is not None and not op.done
    clock.advance(5)  # enough fake time passed: the next poll finishes it
    got = ops.get(op.id)
    assert got is not None and got.status == "succeeded"


class _Echo(EmulatorApp):
    url_map = Map([Rule("/things/<name>", endpoint="get_thing", methods=["GET"])])

    def get_thing(self, request: Request, name: str) -> Response:
        if name == "missing":
            raise HttpError(404, "NotFound", "no such thing", target=name)
        return json_response({"name": name, "q": request.args.get("q")})

    def error_response(self, error: HttpError) -> Response:
        return json_response({"error": {"code": error.code, "message": error.message}},
                             error.status)


def test_interceptor_routes_sessions_by_prefix_and_uninstalls() -> None:
    app = _Echo()
    original = requests.Session.get_adapter
    interceptor = Interceptor({"https://fake.example.com": app})
    interceptor.install()
    try:
        session = requests.Session()
        got = session.get("https://FAKE.example.com/things/a?q=1")
        assert got.status_code == 200 and got.json() == {"name": "a", "q": "1"}
        missing = requests.get("https://fake.example.com/things/missing")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "NotFound"
        app.faults.fail_next("get_thing", status=503, code="ServerBusy")
        assert session.get("https://fake.example.com/things/a").status_code == 503
        with pytest.raises(RuntimeError):
            Interceptor({}).install()
    finally:
        interceptor.uninstall()
    assert interceptor.adapter_for("https://fake.example.com/x") is not None
    assert requests.Session.get_adapter is original
    assert [r.status for r in app.requests] == [200, 404, 503]


def test_served_over_a_socket_on_loopback() -> None:
    served = serve(_Echo())
    try:
        assert served.url.startswith("http://127.0.0.1:")
        assert requests.get(f"{served.url}/things/b", timeout=5).json()["name"] == "b"
    finally:
        served.shutdown()


def test_interceptor_host_wildcards_and_path_prefixes() -> None:
    app = _Echo()
    interceptor = Interceptor({"https://*.lambda.example.com": app,
                               "http://metadata.example/computeMetadata": app})
    assert interceptor.adapter_for("https://abc.lambda.example.com/x") is not None
    assert interceptor.adapter_for("https://lambda.example.com/x") is None
    assert interceptor.adapter_for("http://abc.lambda.example.com/x") is None
    assert interceptor.adapter_for("http://metadata.example/computeMetadata/v1/x") is not None
    assert interceptor.adapter_for("http://metadata.example/other") is None
