"""The AWS Lambda shim, run from a built package the way Lambda imports it."""

from __future__ import annotations

import importlib
import io
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from unicompute._packaging import build_package
from unicompute.shims import HANDLER_ENV, SHIM_MODULE


class LambdaContext:
    function_name = "fn"
    aws_request_id = "req-1"
    memory_limit_in_mb = "256"

    def get_remaining_time_in_millis(self) -> int:
        return 2900


@pytest.fixture
def unpacked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Where a package is extracted; on sys.path, and its modules forgotten afterwards."""
    root = tmp_path / "task"
    monkeypatch.syspath_prepend(str(root))
    before = set(sys.modules)
    yield root
    for name in set(sys.modules) - before:
        del sys.modules[name]


def load(source: Path, unpacked: Path, handler: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    package = build_package(source, shim="aws_lambda", max_bytes=10**8)
    zipfile.ZipFile(io.BytesIO(package.zip_bytes)).extractall(unpacked)
    monkeypatch.setenv(HANDLER_ENV, handler)
    return importlib.import_module(SHIM_MODULE)


def test_shim_calls_the_user_handler_with_the_portable_context(
    tmp_path: Path, unpacked: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    src = tmp_path / "src"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "__init__.py").write_text("")
    (src / "pkg" / "main.py").write_text(
        "def run(event, context):\n"
        "    context.logger.info('hello %s', event['n'])\n"
        "    return {'n': event['n'] + 1, 'fn': context.function_name,\n"
        "            'id': context.request_id, 'mem': context.memory_mb,\n"
        "            'left': context.remaining_time_ms(), 'raw': type(context.raw).__name__}\n")
    shim = load(src, unpacked, "pkg.main.run", monkeypatch)
    assert shim.handler({"n": 1}, LambdaContext()) == {
        "n": 2, "fn": "fn", "id": "req-1", "mem": 256, "left": 2900, "raw": "LambdaContext"}
    assert "INFO hello 1" in capsys.readouterr().out


def test_a_missing_module_fails_at_import(
    tmp_path: Path, unpacked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text("import not_installed_anywhere\n")
    with pytest.raises(ImportError, match="not_installed_anywhere"):
        load(src, unpacked, "app.handler", monkeypatch)


def test_a_missing_handler_fails_at_import(
    tmp_path: Path, unpacked: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "app.py").write_text("def other(event, context):\n    return 1\n")
    with pytest.raises(ImportError, match="Handler 'handler' missing on module 'app'"):
        load(src, unpacked, "app.handler", monkeypatch)
