"""Packages: deterministic zips with the shim, requirements vendored, bad sources rejected."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

import pytest

import unicompute as uc
from unicompute._packaging import build_package
from unicompute.shims import COMMON_MODULE, SHIM_MODULE, shim_source

MAX = 50 * 1024 * 1024


def names(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()


def read(data: bytes, name: str) -> bytes:
    return zipfile.ZipFile(io.BytesIO(data)).read(name)


@pytest.fixture
def source(tmp_path: Path) -> Path:
    root = tmp_path / "fn"
    (root / "lib").mkdir(parents=True)
    (root / "app.py").write_text("def handler(event, context):\n    return event\n")
    (root / "lib" / "util.py").write_text("X = 1\n")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "app.cpython-312.pyc").write_bytes(b"junk")
    (root / ".git").mkdir()
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return root


def test_package_holds_source_and_shim_sorted(source: Path) -> None:
    package = build_package(source, shim="aws_lambda", max_bytes=MAX)
    assert names(package.zip_bytes) == ["app.py", "lib/util.py", f"{SHIM_MODULE}.py",
                                        f"{COMMON_MODULE}.py"]
    assert read(package.zip_bytes, f"{SHIM_MODULE}.py") == shim_source("aws_lambda")
    assert read(package.zip_bytes, f"{COMMON_MODULE}.py") == shim_source("common")
    assert package.sha256 == hashlib.sha256(package.zip_bytes).digest()


@pytest.mark.parametrize(("shim", "root"), [
    ("aws_lambda", {f"{SHIM_MODULE}.py"}),
    ("gcp_functions", {f"{SHIM_MODULE}.py"}),
    ("azure_functions", {"function_app.py", "host.json"}),
])
def test_every_shim_comes_with_the_common_module(source: Path, shim: str,
                                                 root: set[str]) -> None:
    package = build_package(source, shim=shim, max_bytes=MAX)
    added = set(names(package.zip_bytes)) - {"app.py", "lib/util.py"}
    assert added == root | {f"{COMMON_MODULE}.py"}
    assert read(package.zip_bytes, f"{COMMON_MODULE}.py") == shim_source("common")
    # ... and a source that holds a file of that name is refused, naming it.
    (source / f"{COMMON_MODULE}.py").write_text("")
    with pytest.raises(uc.InvalidRequest) as info:
        build_package(source, shim=shim, max_bytes=MAX)
    assert info.value.field == "source" and f"{COMMON_MODULE}.py" in str(info.value)


def test_identical_code_gives_identical_bytes(source: Path, tmp_path: Path) -> None:
    first = build_package(source, shim="aws_lambda", max_bytes=MAX)
    # Touching files (new mtimes) and copying the tree elsewhere changes nothing.
    copy = tmp_path / "copy"
    copy.mkdir()
    for path in source.rglob("*"):
        target = copy / path.relative_to(source)
        if path.is_dir():
            target.mkdir(exist_ok=True)
        else:
            target.write_bytes(path.read_bytes())
    second = build_package(copy, shim="aws_lambda", max_bytes=MAX)
    assert second.zip_bytes == first.zip_bytes
    (source / "app.py").write_text("def handler(event, context):\n    return 2\n")
    assert build_package(source, shim="aws_lambda", max_bytes=MAX).sha256 != first.sha256


def test_a_zip_source_is_repacked_deterministically(source: Path, tmp_path: Path) -> None:
    archive = tmp_path / "code.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.write(source / "lib" / "util.py", "lib/util.py")
        out.write(source / "app.py", "app.py")
    from_zip = build_package(archive, shim="aws_lambda", max_bytes=MAX)
    from_dir = build_package(source, shim="aws_lambda", max_bytes=MAX)
    assert from_zip.zip_bytes == from_dir.zip_bytes


def wheel(directory: Path, name: str, version: str, code: str) -> Path:
    """A minimal pure-Python wheel, built without network or build backends."""
    dist = f"{name}-{version}.dist-info"
    files = {
        f"{name}/__init__.py": code.encode(),
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
        f"{dist}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
                         b"Tag: py3-none-any\n",
    }
    record = [
        f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
        for path, data in files.items()
    ]
    files[f"{dist}/RECORD"] = ("\n".join([*record, f"{dist}/RECORD,,"]) + "\n").encode()
    path = directory / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as out:
        for member, data in files.items():
            out.writestr(member, data)
    return path


def test_requirements_are_vendored(source: Path) -> None:
    wheel(source, "tinylib", "1.0", "ANSWER = 42\n")
    (source / "requirements.txt").write_text("./tinylib-1.0-py3-none-any.whl\n")
    package = build_package(source, shim="aws_lambda", max_bytes=MAX)
    assert read(package.zip_bytes, "tinylib/__init__.py") == b"ANSWER = 42\n"
    assert "tinylib-1.0.dist-info/METADATA" in names(package.zip_bytes)
    assert not any(n.endswith(".pyc") for n in names(package.zip_bytes))
    again = build_package(source, shim="aws_lambda", max_bytes=MAX)
    assert again.zip_bytes == package.zip_bytes


def test_failing_requirements_name_the_source(source: Path) -> None:
    (source / "requirements.txt").write_text("./missing-1.0-py3-none-any.whl\n")
    with pytest.raises(uc.InvalidRequest) as info:
        build_package(source, shim="aws_lambda", max_bytes=MAX)
    assert info.value.field == "source"
    assert "pip could not install" in str(info.value)


@pytest.mark.parametrize("kind", ["missing", "file", "shim", "slip", "big", "badzip"])
def test_bad_sources(source: Path, tmp_path: Path, kind: str) -> None:
    target, limit = source, MAX
    if kind == "missing":
        target = tmp_path / "nope"
    elif kind == "file":
        target = source / "app.py"
    elif kind == "shim":
        (source / f"{SHIM_MODULE}.py").write_text("")
    elif kind == "slip":
        target = tmp_path / "evil.zip"
        with zipfile.ZipFile(target, "w") as out:
            out.writestr("../outside.py", "x")
    elif kind == "big":
        limit = 100
    elif kind == "badzip":
        target = tmp_path / "bad.zip"
        target.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(uc.InvalidRequest) as info:
        build_package(target, shim="aws_lambda", max_bytes=limit)
    assert info.value.field == "source"
    assert not (tmp_path / "outside.py").exists()
