"""The two ways into the fakes: in-process ``mock_cloud()`` and the HTTP ``MockServer``."""

from __future__ import annotations

import boto3
import pytest

import unicompute as uc
from unicompute.mocks import MockCloud, MockServer, mock_cloud


def _spec(name: str) -> uc.VMSpec:
    return uc.VMSpec(name=name, size="t3.micro", image="ubuntu-24.04", open_ports=[22])


def test_server_serves_the_fake_on_loopback_to_another_client() -> None:
    with MockServer() as server:
        assert set(server.endpoints) == {"aws", "azure", "gcp"}
        assert all(url.startswith("http://127.0.0.1:") for url in server.endpoints.values())
        endpoint = server.endpoints["aws"]
        assert endpoint.startswith("http://127.0.0.1:")
        with uc.connect("aws", region="us-east-1", endpoint_url=endpoint) as cloud:
            vm = cloud.vms.launch(_spec("served"))
        # a plain boto3 client, as another program would use, sees the same state
        ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=endpoint,
                           aws_access_key_id="x", aws_secret_access_key="y")
        found = ec2.describe_instances(InstanceIds=[vm.id])["Reservations"][0]["Instances"]
        assert found[0]["InstanceType"] == "t3.micro"
    assert server.endpoints == {}


@pytest.mark.parametrize(
    ("ports", "field"),
    [({"aws": 70000}, "ports.aws"), ({"gcp": -1}, "ports.gcp"), ({"nocloud": 1}, "ports")],
)
def test_server_rejects_a_bad_port(ports: dict[str, int], field: str) -> None:
    with pytest.raises(uc.InvalidRequest) as caught:
        MockServer(ports=ports)
    assert caught.value.field == field


def test_each_mock_cloud_starts_empty_and_works_as_a_decorator() -> None:
    with mock_cloud(), uc.connect("aws", region="us-east-1") as cloud:
        cloud.vms.launch(_spec("first"))
        assert [vm.name for vm in cloud.vms.list()] == ["first"]

    @mock_cloud()
    def count_vms() -> int:
        with uc.connect("aws", region="us-east-1") as fresh:
            return sum(1 for _ in fresh.vms.list())

    assert count_vms() == 0


def test_reset_forgets_everything_and_unknown_providers_are_named() -> None:
    with mock_cloud() as fakes, uc.connect("aws", region="us-east-1") as cloud:
        cloud.vms.launch(_spec("gone"))
        fakes.reset()
        assert list(cloud.vms.list()) == []
    with pytest.raises(uc.InvalidRequest, match="no fake for 'vultr'") as caught:
        MockCloud(["vultr"])
    assert caught.value.field == "providers"


def test_mock_clouds_do_not_nest_and_a_failed_nesting_leaves_the_outer_one_working() -> None:
    with mock_cloud() as fakes, uc.connect("aws", region="us-east-1") as cloud:
        cloud.vms.launch(_spec("outer"))
        with pytest.raises(uc.InvalidRequest, match="already active"):
            fakes.start()
        with pytest.raises(uc.InvalidRequest, match="already active"), mock_cloud():
            pass
        assert [vm.name for vm in cloud.vms.list()] == ["outer"]
    with mock_cloud(), uc.connect("aws", region="us-east-1") as cloud:
        assert list(cloud.vms.list()) == []
