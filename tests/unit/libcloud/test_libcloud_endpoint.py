"""``endpoint_url`` on the Libcloud provider: mapped to the driver's ``host``/``port``/``secure``
where it takes them, refused otherwise; and the CLI's ``--endpoint`` pointing ``libcloud:ec2``
at the AWS fake served by ``unicompute mock-server``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import unicompute as uc
from unicompute.mocks import MockServer
from unicompute.providers.libcloud import _session

CREDS = {"key": "testing", "secret": "testing"}


@pytest.fixture(scope="module")
def aws_url() -> Iterator[str]:
    with MockServer() as server:
        yield server.endpoints["aws"]


def _ec2_args(**config: object) -> dict[str, object]:
    return _session.driver_arguments("ec2", _session.driver_class("ec2"), "us-east-1",
                                     {**CREDS, **config})


@pytest.mark.parametrize(("url", "host", "port", "secure"), [
    ("http://127.0.0.1:5000", "127.0.0.1", 5000, False),
    ("http://ec2.example.test", "ec2.example.test", 80, False),
    ("https://ec2.example.test", "ec2.example.test", 443, True),
    ("https://ec2.example.test:8443/", "ec2.example.test", 8443, True),
    ("http://[::1]:5000", "::1", 5000, False),
])
def test_endpoint_url_becomes_host_port_and_secure(
    url: str, host: str, port: int, secure: bool
) -> None:
    args = _ec2_args(endpoint_url=url)
    assert (args["host"], args["port"], args["secure"]) == (host, port, secure)
    assert "endpoint_url" not in args  # not a Libcloud argument


def test_the_driver_is_built_with_the_endpoints_host_and_port() -> None:
    """No request is made: the driver only remembers where to send them."""
    with uc.connect("libcloud:ec2", region="us-east-1", endpoint_url="https://ec2.example.test",
                    **CREDS) as cloud:
        connection: Any = cloud._ctx.drivers.compute.driver.connection  # type: ignore[attr-defined]
        assert (connection.host, connection.port, connection.secure) == (
            "ec2.example.test", 443, True)


@pytest.mark.parametrize("other", [{"host": "h"}, {"port": "5000"}, {"secure": "false"}])
def test_endpoint_url_with_host_port_or_secure_is_refused(other: dict[str, str]) -> None:
    with pytest.raises(uc.InvalidRequest) as caught:
        _ec2_args(endpoint_url="http://127.0.0.1:5000", **other)
    assert caught.value.field == "endpoint_url"
    assert next(iter(other)) in caught.value.message


@pytest.mark.parametrize("url", [
    "ftp://127.0.0.1", "http://", "http://u:pw@127.0.0.1", "http://127.0.0.1:port",
    "http://127.0.0.1:5000/v1", "http://127.0.0.1:5000/?token=s3cr3t", "",
])
def test_a_bad_endpoint_url_is_refused_without_echoing_it(url: str) -> None:
    with pytest.raises(uc.InvalidRequest) as caught:
        uc.connect("libcloud:ec2", region="us-east-1", endpoint_url=url, **CREDS)
    assert caught.value.field == "endpoint_url"
    for text in (str(caught.value), repr(caught.value)):
        assert "127.0.0.1" not in text and "s3cr3t" not in text and ":pw@" not in text


def test_a_driver_without_host_port_secure_refuses_endpoint_url() -> None:
    with pytest.raises(uc.InvalidRequest) as caught:
        uc.connect("libcloud:dummy", creds="0", endpoint_url="http://127.0.0.1:5000")
    assert caught.value.field == "endpoint_url"
    assert "host, port, secure" in caught.value.message
    with pytest.raises(uc.InvalidRequest) as unknown:  # and is not offered to it
        uc.connect("libcloud:dummy", creds="0", nonsense="1")
    assert "endpoint_url" not in unknown.value.message
    with pytest.raises(uc.InvalidRequest) as offered:  # but is to EC2's
        _ec2_args(nonsense="1")
    assert "endpoint_url" in offered.value.message


def test_url_form_endpoint_url_reaches_the_fake(aws_url: str) -> None:
    with uc.connect("libcloud:ec2", region="us-east-1", endpoint_url=aws_url,
                    **CREDS) as cloud:
        assert cloud.zones()[0].name == "us-east-1a"
