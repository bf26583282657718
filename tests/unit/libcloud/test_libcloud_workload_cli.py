"""Workloads on Libcloud: ``unicompute launch/status/destroy examples/web.yaml`` with
``--cloud libcloud:ec2 --endpoint <AWS fake>``, Libcloud's own EC2 driver doing every call, and
what is left on the fake checked with boto3."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from click.testing import CliRunner, Result

from unicompute.cli import main
from unicompute.mocks import MockServer

EXAMPLE = str(Path(__file__).parents[3] / "examples" / "web.yaml")
WORKLOAD_TAG = ("unicompute:workload", "web-demo")


@pytest.fixture
def aws_url() -> Iterator[str]:
    with MockServer() as server:
        yield server.endpoints["aws"]


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="unicompute")


def _records(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert isinstance(records, list)
    return records


def _ec2(url: str) -> Any:
    return boto3.client("ec2", region_name="us-east-1", endpoint_url=url,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _tagged(ec2: Any) -> list[dict[str, Any]]:
    """Instances carrying the workload tag that are not terminated."""
    reservations = ec2.describe_instances(Filters=[
        {"Name": f"tag:{WORKLOAD_TAG[0]}", "Values": [WORKLOAD_TAG[1]]},
        {"Name": "instance-state-name",
         "Values": ["pending", "running", "stopping", "stopped", "shutting-down"]},
    ])["Reservations"]
    return [i for r in reservations for i in r["Instances"]]


def _tagged_groups(ec2: Any) -> dict[str, list[int]]:
    """Security groups carrying the workload tag: the ports each opens."""
    groups = ec2.describe_security_groups(Filters=[
        {"Name": f"tag:{WORKLOAD_TAG[0]}", "Values": [WORKLOAD_TAG[1]]}])["SecurityGroups"]
    return {g["GroupId"]: sorted(p["FromPort"] for p in g["IpPermissions"]) for g in groups}


def test_launch_status_destroy_on_libclouds_ec2_driver(aws_url: str) -> None:
    where = ("--cloud", "libcloud:ec2", "--region", "us-east-1", "--endpoint", aws_url,
             "--config", "key=testing", "--config", "secret=testing", "--json")
    ec2 = _ec2(aws_url)

    launched = _records(_run("launch", EXAMPLE, *where))
    assert sorted(vm["name"] for vm in launched) == ["web-demo-web-1", "web-demo-web-2"]
    for vm in launched:
        assert vm["state"] == "running"
        assert vm["tags"]["unicompute:workload"] == "web-demo"
        assert vm["tags"]["unicompute:group"] == "web"
        assert {vm["tags"]["team"], vm["tags"]["tier"]} == {"demo", "web"}
        # Chosen as the cheapest priced 2 vCPU / 4 GiB size: never one Libcloud prices at 0.
        assert vm["hourly_price"] > 0
    # What EC2 itself holds, read without Libcloud or unicompute.
    on_ec2 = {i["InstanceId"]: {t["Key"]: t["Value"] for t in i["Tags"]} for i in _tagged(ec2)}
    assert set(on_ec2) == {vm["id"] for vm in launched}
    assert all(tags["Name"].startswith("web-demo-web-") for tags in on_ec2.values())
    # One firewall per launch (a VM at a time here), opening the workload's ports.
    groups = _tagged_groups(ec2)
    assert {tags["unicompute:sg"] for tags in on_ec2.values()} == set(groups)
    assert all(ports == [80, 443] for ports in groups.values())

    status = _records(_run("status", EXAMPLE, *where))
    assert sorted(vm["id"] for vm in status) == sorted(on_ec2)

    gone = _records(_run("destroy", EXAMPLE, *where))
    assert sorted(vm["id"] for vm in gone) == sorted(on_ec2)
    assert {vm["state"] for vm in gone} == {"terminated"}
    assert _tagged(ec2) == []
    assert _tagged_groups(ec2) == {}  # each launch's firewall went with its VM
    assert _records(_run("status", EXAMPLE, *where)) == []
