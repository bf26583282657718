"""AWS IMDS inside a fake EC2 instance: tokens, the tree, botocore's credential provider,
user data that runs once, console output and spot interruptions.

One mock and one EC2 client serve the module (each test launches its own instances and looks
only at them): a fresh mock costs boto3 a reload of the EC2 model."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import pytest
import requests
from botocore.credentials import create_credential_resolver
from moto.ec2.models.amis import AMIS

from unicompute.mocks import MockCloud, mock_cloud
from unicompute.mocks.metadata._boot import BootRun

SCRIPT = "#!/bin/sh\necho booted-$(cat /proc/sys/kernel/hostname >/dev/null; echo ok)\n" \
         "echo run >> \"$HOME/runs.txt\"\n"


@pytest.fixture(scope="module")
def mock() -> Iterator[MockCloud]:
    with mock_cloud(["aws"], run_user_data=True, user_data_timeout=20) as running:
        yield running


@pytest.fixture(scope="module")
def ec2(mock: MockCloud) -> Any:
    return boto3.client("ec2", region_name="us-east-1")


def launch(ec2: Any, **extra: Any) -> str:
    image = AMIS[0]["ami_id"]
    out = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="t3.micro",
                            **extra)
    return str(out["Instances"][0]["InstanceId"])


def boots(mock: MockCloud, instance_id: str) -> list[BootRun]:
    return [run for run in mock.boots("aws") if run.vm_id == instance_id]


def state(ec2: Any, instance_id: str) -> str:
    described = ec2.describe_instances(InstanceIds=[instance_id])
    return str(described["Reservations"][0]["Instances"][0]["State"]["Name"])


def token(base: str, ttl: str = "60") -> str:
    response = requests.put(f"{base}/latest/api/token",
                            headers={"X-aws-ec2-metadata-token-ttl-seconds": ttl}, timeout=2)
    assert response.status_code == 200, response.text
    assert response.headers["X-aws-ec2-metadata-token-ttl-seconds"] == ttl
    return response.text


def get(base: str, path: str, tok: str | None) -> requests.Response:
    headers = {} if tok is None else {"X-aws-ec2-metadata-token": tok}
    return requests.get(f"{base}/latest/{path}", headers=headers, timeout=2)


def test_identity_matches_the_control_plane(mock: MockCloud, ec2: Any) -> None:
    instance_id = launch(ec2, TagSpecifications=[{"ResourceType": "instance", "Tags": [
        {"Key": "app", "Value": "web"}]}], MetadataOptions={"InstanceMetadataTags": "enabled"})
    described = ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0][
        "Instances"][0]
    with mock.inside(instance_id) as box:
        tok = token(box.endpoint)
        assert get(box.endpoint, "meta-data/instance-id", tok).text == instance_id
        assert get(box.endpoint, "meta-data/instance-type", tok).text == "t3.micro"
        assert get(box.endpoint, "meta-data/ami-id", tok).text == described["ImageId"]
        assert get(box.endpoint, "meta-data/local-ipv4", tok).text == \
            described["PrivateIpAddress"]
        assert get(box.endpoint, "meta-data/mac", tok).text == \
            described["NetworkInterfaces"][0]["MacAddress"]
        assert get(box.endpoint, "meta-data/placement/availability-zone", tok).text == \
            described["Placement"]["AvailabilityZone"]
        assert get(box.endpoint, "meta-data/placement/region", tok).text == "us-east-1"
        assert get(box.endpoint, "meta-data/tags/instance/app", tok).text == "web"
        listing = get(box.endpoint, "meta-data/", tok).text.splitlines()
        assert "placement/" in listing and "instance-id" in listing
        # tags set later show up
        ec2.create_tags(Resources=[instance_id], Tags=[{"Key": "tier", "Value": "2"}])
        assert get(box.endpoint, "meta-data/tags/instance/tier", tok).text == "2"
        document = json.loads(get(box.endpoint, "dynamic/instance-identity/document", tok).text)
        assert document["instanceId"] == instance_id and document["region"] == "us-east-1"
        assert get(box.endpoint, "meta-data/no-such", tok).status_code == 404


def test_tags_only_when_enabled(mock: MockCloud, ec2: Any) -> None:
    instance_id = launch(ec2)
    with mock.inside(instance_id) as box:
        tok = token(box.endpoint)
        assert get(box.endpoint, "meta-data/tags/instance/", tok).status_code == 404
        assert "tags/" not in get(box.endpoint, "meta-data/", tok).text


def test_tokens_ttl_and_expiry(mock: MockCloud, ec2: Any) -> None:
    instance_id = launch(ec2)
    with mock.inside(instance_id) as box:
        base = box.endpoint
        for ttl in (None, "0", "21601", "abc", "-5"):
            headers = {} if ttl is None else {"X-aws-ec2-metadata-token-ttl-seconds": ttl}
            assert requests.put(f"{base}/latest/api/token", headers=headers,
                                timeout=2).status_code == 400, ttl
        assert requests.put(f"{base}/latest/api/token", timeout=2, headers={
            "X-aws-ec2-metadata-token-ttl-seconds": "60",
            "X-Forwarded-For": "10.0.0.1"}).status_code == 403
        assert get(base, "meta-data/instance-id", None).status_code == 401
        assert get(base, "meta-data/instance-id", "forged").status_code == 401
        tok = token(base, "21600")
        short = token(base, "1")
        assert get(base, "meta-data/instance-id", short).status_code == 200
        mock.aws.clock.advance(1)
        assert get(base, "meta-data/instance-id", short).status_code == 401
        assert get(base, "meta-data/instance-id", tok).status_code == 200
    with mock.inside(instance_id, aws_tokens="optional") as box:
        assert get(box.endpoint, "meta-data/instance-id", None).text == instance_id


def test_the_instance_metadata_options_rule(mock: MockCloud, ec2: Any) -> None:
    strict = launch(ec2, MetadataOptions={"HttpTokens": "required"})
    with mock.inside(strict, aws_tokens="optional") as box:
        assert get(box.endpoint, "meta-data/instance-id", None).status_code == 401
        assert get(box.endpoint, "meta-data/instance-id", token(box.endpoint)).text == strict
    off = launch(ec2, MetadataOptions={"HttpEndpoint": "disabled"})
    with mock.inside(off) as box:
        assert requests.put(f"{box.endpoint}/latest/api/token", timeout=2, headers={
            "X-aws-ec2-metadata-token-ttl-seconds": "60"}).status_code == 403
        ec2.modify_instance_metadata_options(InstanceId=off, HttpEndpoint="enabled")
        assert get(box.endpoint, "meta-data/instance-id", token(box.endpoint)).text == off


def test_botocore_instance_metadata_credentials(mock: MockCloud, ec2: Any) -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_role(RoleName="worker", AssumeRolePolicyDocument="{}")
    iam.create_instance_profile(InstanceProfileName="worker-profile")
    iam.add_role_to_instance_profile(InstanceProfileName="worker-profile", RoleName="worker")
    instance_id = launch(ec2, IamInstanceProfile={"Name": "worker-profile"})
    with mock.inside(instance_id):
        # botocore's own chain reads the endpoint variable through its session config
        provider = create_credential_resolver(botocore.session.Session()).get_provider(
            "iam-role")
        credentials = provider.load()
    assert credentials is not None and credentials.method == "iam-role"
    frozen = credentials.get_frozen_credentials()
    assert frozen.access_key.startswith("ASIA") and frozen.token


def test_user_data_runs_once_and_is_the_console(mock: MockCloud, ec2: Any) -> None:
    instance_id = launch(ec2, UserData=SCRIPT)
    with mock.inside(instance_id) as box:
        assert box.root is not None
        root = box.root
        assert get(box.endpoint, "user-data", token(box.endpoint)).text == SCRIPT
    ec2.reboot_instances(InstanceIds=[instance_id])
    ec2.stop_instances(InstanceIds=[instance_id])
    ec2.start_instances(InstanceIds=[instance_id])
    with open(f"{root}/runs.txt", encoding="utf-8") as handle:
        assert handle.read() == "run\n"
    [run] = boots(mock, instance_id)
    assert run.exit_code == 0 and "booted-ok" in run.output
    output = ec2.get_console_output(InstanceId=instance_id)["Output"]
    assert "booted-ok" in output and "Cloud-init" in output


def test_user_data_environment_holds_only_metadata(mock: MockCloud, ec2: Any) -> None:
    script = ("#!/bin/sh\nenv | sort\ncurl=$(command -v python3)\n"
              "python3 -c \"import os,urllib.request as u;"
              "r=u.Request(os.environ['AWS_EC2_METADATA_SERVICE_ENDPOINT']+'latest/api/token',"
              "method='PUT',headers={'X-aws-ec2-metadata-token-ttl-seconds':'5'});"
              "t=u.urlopen(r).read().decode();"
              "print('id='+u.urlopen(u.Request(os.environ['AWS_EC2_METADATA_SERVICE_ENDPOINT']"
              "+'latest/meta-data/instance-id',headers={'X-aws-ec2-metadata-token':t}))"
              ".read().decode())\"\n")
    instance_id = launch(ec2, UserData=script)
    [run] = boots(mock, instance_id)
    names = {line.split("=", 1)[0] for line in run.output.splitlines() if "=" in line
             and not line.startswith("id=")}
    assert "AWS_ACCESS_KEY_ID" not in names and "AWS_SECRET_ACCESS_KEY" not in names
    assert {"AWS_EC2_METADATA_SERVICE_ENDPOINT", "HOME", "PATH"} <= names
    assert f"id={instance_id}" in run.output


SPOT = {"InstanceMarketOptions": {"MarketType": "spot"}}


def test_spot_interruption_then_terminate(mock: MockCloud, ec2: Any) -> None:
    instance_id = launch(ec2, **SPOT)
    interruption = mock.interrupt(instance_id)
    with mock.inside(instance_id) as box:
        tok = token(box.endpoint, "300")
        notice = json.loads(get(box.endpoint, "meta-data/spot/instance-action", tok).text)
        assert notice["action"] == "terminate"
        assert notice["time"] == interruption.not_before.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert state(ec2, instance_id) == "running"
    mock.aws.clock.advance(119)
    assert not interruption.done
    mock.aws.clock.advance(1)
    assert state(ec2, instance_id) == "terminated"


def test_interrupt_stop_and_bad_action(mock: MockCloud, ec2: Any) -> None:
    from unicompute import InvalidRequest, NotFound

    instance_id = launch(ec2, **SPOT)
    with pytest.raises(InvalidRequest):
        mock.interrupt(instance_id, action="explode")
    with pytest.raises(NotFound):
        mock.interrupt("i-0123456789abcdef0")
    with pytest.raises(InvalidRequest, match="not a spot VM"):
        mock.interrupt(launch(ec2))  # EC2 interrupts Spot Instances only
    mock.interrupt(instance_id, action="stop").complete()
    assert state(ec2, instance_id) == "stopped"
    with pytest.raises(InvalidRequest, match="not running"):
        mock.interrupt(instance_id)
    # started again, the instance is no longer being interrupted
    ec2.start_instances(InstanceIds=[instance_id])
    with mock.inside(instance_id) as box:
        tok = token(box.endpoint)
        assert get(box.endpoint, "meta-data/spot/instance-action", tok).status_code == 404
        assert "spot/" not in get(box.endpoint, "meta-data/", tok).text


def test_user_data_base64_roundtrip_is_raw(mock: MockCloud, ec2: Any) -> None:
    instance_id = launch(ec2, UserData="plain text, not a script")
    assert boots(mock, instance_id) == []
    attribute = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    assert base64.b64decode(attribute["UserData"]["Value"]) == b"plain text, not a script"


def test_user_data_stays_out_of_reprs(mock: MockCloud, ec2: Any) -> None:
    from unicompute.mocks.metadata._vms import running

    instance_id = launch(ec2, UserData="#!/bin/sh\n# password=hunter2-s3cr3t\ntrue\n")
    [booting] = [b for b in running(mock.aws, "aws") if b.key == instance_id]
    assert booting.user_data is not None and b"hunter2" in booting.user_data
    assert "hunter2" not in repr(booting)
    assert "hunter2" not in repr(boots(mock, instance_id))
