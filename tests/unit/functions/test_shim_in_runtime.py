"""The example function, packaged with the Lambda shim, run by the local runtime in a worker
process with a Lambda context: what a deploy ships is what runs."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from unicompute._packaging import build_package
from unicompute.mocks.runtime import LocalRuntime, WorkerConfig

EXAMPLE = Path(__file__).parents[3] / "examples" / "functions" / "hello"


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    with LocalRuntime() as rt:
        yield rt


def unpack(source: Path, target: Path) -> str:
    package = build_package(source, shim="aws_lambda", max_bytes=10**8)
    zipfile.ZipFile(io.BytesIO(package.zip_bytes)).extractall(target)
    return str(target)


def test_example_runs_through_the_shim(runtime: LocalRuntime, tmp_path: Path) -> None:
    code_dir = unpack(EXAMPLE, tmp_path)
    runtime.register("hello", WorkerConfig(
        code_dir=code_dir, entry="unicompute_shim.handler", function_name="hello",
        memory_mb=256, env={"UNICOMPUTE_HANDLER": "app.handler", "GREETING": "hi"}))
    result = runtime.invoke("hello", b'{"name": "ada"}')
    assert result.ok, result
    out = json.loads(result.payload)
    assert out["greeting"] == "hi, ada!" and out["function"] == "hello"
    assert out["memory_mb"] == 256 and out["request_id"] == result.request_id
    assert 0 < out["remaining_ms"] <= 3000
    assert "INFO greeting ada" in result.logs


def test_a_missing_handler_is_an_import_failure(runtime: LocalRuntime, tmp_path: Path) -> None:
    code_dir = unpack(EXAMPLE, tmp_path)
    runtime.register("broken", WorkerConfig(
        code_dir=code_dir, entry="unicompute_shim.handler", function_name="broken",
        env={"UNICOMPUTE_HANDLER": "app.nope"}))
    result = runtime.invoke("broken", b"{}")
    assert not result.ok
    assert result.error_type == "Runtime.ImportModuleError"
    assert "Handler 'nope' missing on module 'app'" in (result.error_message or "")
