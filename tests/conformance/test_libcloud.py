"""The portable conformance suite on ``libcloud:ec2``: Libcloud's own EC2 driver (its HTTP,
SigV4 signing and XML parsing) talking to the AWS fake served by ``unicompute mock-server``.

libcloud:ec2 declares every capability the suite tests (firewalls included), so no test is
skipped; a provider that declared fewer would see those skipped, each skip naming the
capability.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

import unicompute as uc
from unicompute.mocks import MockServer
from unicompute.testing import VMConformance


@pytest.fixture(scope="module")
def ec2_endpoint() -> Iterator[tuple[str, int]]:
    """One mock server for the module; tests isolate themselves with their run tags."""
    with MockServer() as server:
        parts = urlsplit(server.endpoints["aws"])
        assert parts.hostname is not None and parts.port is not None
        yield parts.hostname, parts.port


@pytest.fixture
def cloud(ec2_endpoint: tuple[str, int]) -> Iterator[uc.Cloud]:
    host, port = ec2_endpoint
    with uc.connect("libcloud:ec2", region="us-east-1", key="testing", secret="testing",
                    host=host, port=port, secure=False, poll_interval=0.05) as opened:
        yield opened


class TestLibcloudEc2Conformance(VMConformance):
    pass


def test_the_suite_runs_on_libclouds_ec2_driver(cloud: uc.Cloud) -> None:
    """Guard against a silently skipped suite: VMs come from Libcloud's EC2 driver."""
    from libcloud.compute.drivers.ec2 import EC2NodeDriver

    assert cloud.provider == "libcloud:ec2"
    vm = cloud.vms.launch(uc.VMSpec(name="probe", size="t3.micro", image="debian-12"))
    try:
        assert isinstance(vm.raw.driver, EC2NodeDriver)
        assert vm.tags["unicompute:managed"] == "true"
    finally:
        vm.terminate()


def test_url_form_and_wire_errors(ec2_endpoint: tuple[str, int]) -> None:
    host, port = ec2_endpoint
    url = (f"libcloud:ec2://us-east-1?key=testing&secret=testing&host={host}&port={port}"
           "&secure=false")
    with uc.connect(url) as cloud:
        assert cloud.region == "us-east-1"
        assert cloud.zones()[0].name == "us-east-1a"
        with pytest.raises(uc.NotFound) as caught:
            cloud.vms.get("i-0123456789abcdef0")
        # Refused by EC2 (moto), parsed from its XML by Libcloud, mapped by its code.
        assert "InvalidInstanceID.NotFound" in caught.value.message
        assert type(caught.value.original).__name__ == "BaseHTTPError"
