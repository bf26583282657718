"""Connection settings Libcloud takes through ``**kwargs`` (``timeout``, ``proxy_url``...) and
what a real network failure becomes, on Libcloud's EC2 driver."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

import unicompute as uc
from unicompute._waiting import Poller
from unicompute.providers.libcloud import _session

#: Retries of reads without the real pauses between them.
FAST_RETRIES = Poller(interval=0.01, max_interval=0.01)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_connection_settings_from_base_driver_kwargs_are_accepted() -> None:
    from libcloud.compute.providers import get_driver

    params = _session.driver_parameters(get_driver("ec2"))
    assert {"timeout", "retry_delay", "backoff", "proxy_url"} <= set(params)
    args = _session.driver_arguments("ec2", get_driver("ec2"), "us-east-1",
                                     {"key": "k", "secret": "s", "timeout": "2.5"})
    assert args["timeout"] == 2.5
    with pytest.raises(uc.InvalidRequest) as caught:
        _session.driver_arguments("ec2", get_driver("ec2"), "us-east-1",
                                  {"key": "k", "secret": "s", "timeout": "soon"})
    assert caught.value.field == "timeout"


def test_a_read_timeout_is_timeout_without_the_secret(silent_port: int) -> None:
    url = (f"libcloud:ec2://us-east-1?key=AKIAEXAMPLEKEYID&secret=wJalrXUtnFEMIEXAMPLE"
           f"&host=127.0.0.1&port={silent_port}&secure=false&timeout=0.2")
    with uc.connect(url) as cloud:
        assert cloud._ctx.drivers.compute.driver.connection.timeout == 0.2  # type: ignore[attr-defined]
        cloud.poller = FAST_RETRIES
        started = time.monotonic()
        with pytest.raises(uc.Timeout) as caught:
            cloud.vms.get("i-0123456789abcdef0")
        assert time.monotonic() - started < 10
    error = caught.value
    assert error.retryable
    assert error.operation == "vms.get"
    for text in (str(error), repr(error), error.message):
        assert "wJalrXUtnFEMIEXAMPLE" not in text
        assert "AKIAEXAMPLEKEYID" not in text


def test_a_refused_connection_is_a_transient_provider_error() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with uc.connect("libcloud:ec2", region="us-east-1", key="AKIAEXAMPLEKEYID",
                    secret="wJalrXUtnFEMIEXAMPLE", host="127.0.0.1", port=port,
                    secure=False) as cloud, pytest.raises(uc.ProviderError) as caught:
        cloud.poller = FAST_RETRIES
        cloud.vms.get("i-0123456789abcdef0")
    assert caught.value.retryable
    assert "connection failed" in caught.value.message
