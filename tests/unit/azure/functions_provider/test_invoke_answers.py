"""How the function host's answers become InvocationInfo or errors (no network: the
answers are built here as the host sends them)."""

import json
from typing import Any

import pytest

from unicompute import Conflict, ProviderError, Throttled, Unauthenticated
from unicompute.providers.azure.functions_invoke import _epoch_ms
from unicompute.providers.azure.functions_invoke import outcome as host_outcome


class Answer:
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None
                 ) -> None:
        self.status_code = status
        self.content = json.dumps(body).encode() if body is not None else b""
        self.text = self.content.decode()
        self.headers = headers or {}

    def json(self) -> Any:
        return json.loads(self.content)


def outcome(answer: Answer, mode: str = "sync") -> Any:
    return host_outcome("fn", mode, answer)  # type: ignore[arg-type]


def test_success_carries_result_logs_and_timing() -> None:
    info = outcome(Answer(200, {"ok": True, "result": {"a": 1}, "logs": "hi\n"}, {
        "x-unicompute-request-id": "r1", "x-unicompute-duration-ms": "12.5",
        "x-unicompute-cold-start": "false"}))
    assert json.loads(info.payload) == {"a": 1} and info.error is None
    assert (info.request_id, info.logs, info.duration_ms, info.cold_start) == (
        "r1", "hi\n", 12.5, False)


@pytest.mark.parametrize(("native", "portable"), [
    ("ValueError", "Unhandled"), ("Timeout", "Timeout"),
    ("ImportModuleError", "ImportError"), ("MemoryError", "OutOfMemory")])
def test_handler_failures_map_to_portable_types(native: str, portable: str) -> None:
    info = outcome(Answer(200, {"ok": False, "errorType": native, "errorMessage": "m",
                                "stackTrace": ["line 1"], "logs": ""}))
    assert info.status_code == 200 and info.error is not None
    assert (info.error.error_type, info.error.native_type, info.error.traceback) == (
        portable, native, ("line 1",))


def test_host_failure_without_the_shims_document_is_a_crash() -> None:
    info = outcome(Answer(500))
    assert info.error is not None and info.error.error_type == "Crashed"


@pytest.mark.parametrize("body", [["not", "the", "shim"], {"status": "up"}, "text"])
def test_a_200_that_is_not_the_shims_document_is_a_crash(body: Any) -> None:
    answer = Answer(200, body)
    if body == "text":
        answer.content, answer.text = b"<html>ok</html>", "<html>ok</html>"
    info = outcome(answer)
    assert info.error is not None and info.error.error_type == "Crashed"
    assert "200" in info.error.message


@pytest.mark.parametrize(("status", "error"), [
    (401, Unauthenticated), (404, Conflict), (429, Throttled)])
def test_platform_refusals_raise(status: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        outcome(Answer(status))


def test_async_wants_202() -> None:
    assert outcome(Answer(202), "async").status_code == 202
    with pytest.raises(ProviderError):
        outcome(Answer(500), "async")


def test_app_insights_timestamps() -> None:
    assert _epoch_ms("2026-01-01T00:00:01.2345678Z") == 1767225601234
    assert _epoch_ms("2026-01-01T00:00:01Z") == 1767225601000
