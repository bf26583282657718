"""Off-cloud detection: all three probes at once, an answer within about a second."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from unicompute import InvalidRequest, metadata

from .conftest import VARIABLES, closed_port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A 127.0.0.1 port that accepts connections and never answers: what a metadata address
    whose packets are dropped looks like to a client, the slowest case for detection."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


def _point_all(monkeypatch: pytest.MonkeyPatch, port: int) -> None:
    for provider, variable in VARIABLES.items():
        host = f"127.0.0.1:{port}"
        monkeypatch.setenv(variable, host if provider == "gcp" else f"http://{host}")


def test_off_cloud_with_silent_services_answers_none_within_about_a_second(
        monkeypatch: pytest.MonkeyPatch, silent_port: int) -> None:
    _point_all(monkeypatch, silent_port)
    started = time.monotonic()
    assert metadata.current() is None
    elapsed = time.monotonic() - started
    print(f"off-cloud detection, three silent services: {elapsed:.3f} s")
    # the three probes run at once: one timeout (1 s), not three
    assert 0.9 <= elapsed < 1.5


def test_off_cloud_with_refused_connections_answers_at_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    _point_all(monkeypatch, closed_port())
    started = time.monotonic()
    assert metadata.current() is None
    assert metadata.interruption_notice() is None
    assert metadata.cloud() is None
    assert time.monotonic() - started < 0.5


def test_shorter_timeout_is_honoured(monkeypatch: pytest.MonkeyPatch, silent_port: int) -> None:
    _point_all(monkeypatch, silent_port)
    started = time.monotonic()
    assert metadata.current(timeout=0.2) is None
    assert time.monotonic() - started < 0.6


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"timeout": 0}, "timeout"), ({"timeout": -1}, "timeout"), ({"timeout": "1"}, "timeout"),
    ({"provider": "ibm"}, "provider"),
])
def test_bad_arguments_name_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        metadata.current(**kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


def test_the_client_imports_no_cloud_sdk_nor_http_library() -> None:
    """It runs on VMs: ``unicompute.metadata`` needs the standard library only."""
    import subprocess
    import sys

    code = ("import sys, unicompute.metadata as m; m.current(timeout=0.2); "
            "print(sorted({n.split('.')[0] for n in sys.modules} & "
            "{'boto3', 'botocore', 'azure', 'google', 'libcloud', 'requests', 'urllib3'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=30)
    assert out.stdout.strip() == "[]"
