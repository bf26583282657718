"""The AWS fake: images in every region, reset, serving over HTTP, cleaning up after itself."""

from __future__ import annotations

import os

import boto3
import pytest
from moto.ec2.models import amis

from unicompute.mocks.aws import AwsFake, seed_images
from unicompute.providers.aws import open_provider

UBUNTU_NOBLE = "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-*-server-*"


def noble_images(client: object) -> set[str]:
    answer = client.describe_images(  # type: ignore[attr-defined]
        Owners=["099720109477"], Filters=[{"Name": "name", "Values": [UBUNTU_NOBLE]}]
    )
    return {image["Name"] for image in answer["Images"]}


def test_images_exist_in_every_region_and_leave_with_the_fake() -> None:
    before = len(amis.AMIS)
    with AwsFake() as fake:
        assert fake.active
        assert len(amis.AMIS) == before + len(seed_images())
        for region in ("us-east-1", "eu-central-1"):
            client = boto3.client("ec2", region_name=region)
            assert len(noble_images(client)) == 4  # two builds, two architectures
            windows = client.describe_images(
                Owners=["801119661308"],
                Filters=[{"Name": "name", "Values": ["Windows_Server-2022-English-Full-Base-*"]}],
            )["Images"]
            assert {i["Platform"] for i in windows} == {"windows"}
    assert len(amis.AMIS) == before
    assert not fake.active


def test_reset_forgets_resources_but_keeps_images() -> None:
    with AwsFake() as fake:
        client = boto3.client("ec2", region_name="us-east-1")
        client.create_key_pair(KeyName="k")
        fake.reset()
        assert client.describe_key_pairs()["KeyPairs"] == []
        assert len(noble_images(client)) == 4


def test_each_start_is_empty() -> None:
    with AwsFake():
        boto3.client("ec2", region_name="us-east-1").create_key_pair(KeyName="k")
    with AwsFake():
        assert boto3.client("ec2", region_name="us-east-1").describe_key_pairs()["KeyPairs"] == []


def test_serve_over_http_without_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    fake = AwsFake()
    before = len(amis.AMIS)
    url = fake.serve()
    try:
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
        drivers = open_provider("us-west-2", {"endpoint_url": url, "poll_interval": 0})
        image = drivers.compute.resolve_image("ubuntu-24.04", arch="arm64")
        assert image.name.endswith("arm64-server-20241004")
        assert "us-west-2a" in {z.name for z in drivers.compute.zones()}
        drivers.close()
    finally:
        fake.shutdown_server()
    assert fake.endpoint_url is None
    assert len(amis.AMIS) == before


def test_whole_catalog_is_cached_and_filtered_requests_are_not() -> None:
    from moto.ec2.responses.instances import InstanceResponse

    original = InstanceResponse.describe_instance_types
    with AwsFake():
        assert InstanceResponse.describe_instance_types is not original
        client = boto3.client("ec2", region_name="eu-west-1")
        first = client.describe_instance_types()["InstanceTypes"]
        second = client.describe_instance_types()["InstanceTypes"]
        assert len(first) > 1000 and first == second
        graviton = client.describe_instance_types(
            Filters=[{"Name": "instance-type", "Values": ["t4g.*"]}]
        )["InstanceTypes"]
        assert sorted(t["InstanceType"] for t in graviton)[:2] == ["t4g.2xlarge", "t4g.large"]
        (micro,) = client.describe_instance_types(InstanceTypes=["t3.micro"])["InstanceTypes"]
        assert micro["InstanceType"] == "t3.micro"
    assert InstanceResponse.describe_instance_types is original


def test_serving_and_in_process_share_state() -> None:
    fake = AwsFake()
    url = fake.serve()
    try:
        remote = boto3.client(
            "ec2",
            region_name="us-east-1",
            endpoint_url=url,
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        remote.create_key_pair(KeyName="over-http")
        fake.start()
        local = boto3.client("ec2", region_name="us-east-1")
        assert [k["KeyName"] for k in local.describe_key_pairs()["KeyPairs"]] == ["over-http"]
        fake.stop()
        assert [k["KeyName"] for k in remote.describe_key_pairs()["KeyPairs"]] == ["over-http"]
    finally:
        fake.stop()
        fake.shutdown_server()


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        ("web*", ["web", "web1", "web*"], ["we", "aweb"]),
        ("web\\*", ["web*"], ["web1", "web"]),
        ("a?c", ["abc", "a?c"], ["ac", "abbc"]),
        ("a\\?c", ["a?c"], ["abc"]),
        ("C:\\\\x", ["C:\\x"], ["C:\\\\x"]),
        ("web[1]", ["web[1]"], ["web1"]),  # EC2 has no character classes
    ],
)
def test_filter_values_are_read_like_ec2(
    pattern: str, matches: list[str], misses: list[str]
) -> None:
    import re

    from unicompute.mocks.aws._fidelity import ec2_filter_to_re

    regex = re.compile(ec2_filter_to_re(pattern))
    assert [v for v in matches if regex.match(v)] == matches
    assert [v for v in misses if regex.match(v)] == []


def test_ec2_behaviour_moto_lacks_comes_and_goes_with_the_fake() -> None:
    from moto.ec2 import utils

    with AwsFake():
        client = boto3.client("ec2", region_name="us-east-1")
        image = client.describe_images(Owners=["099720109477"])["Images"][0]["ImageId"]
        launched = client.run_instances(
            ImageId=image,
            MinCount=2,
            MaxCount=2,
            ClientToken="token-1",
            TagSpecifications=[
                {"ResourceType": "network-interface", "Tags": [{"Key": "k", "Value": "v"}]}
            ],
        )["Instances"]
        client.run_instances(ImageId=image, MinCount=1, MaxCount=1, ClientToken="token-2")
        by_token = client.describe_instances(
            Filters=[{"Name": "client-token", "Values": ["token-1"]}]
        )["Reservations"]
        assert sorted(i["InstanceId"] for r in by_token for i in r["Instances"]) == sorted(
            i["InstanceId"] for i in launched
        )
        interfaces = client.describe_network_interfaces(
            NetworkInterfaceIds=[i["NetworkInterfaces"][0]["NetworkInterfaceId"] for i in launched]
        )["NetworkInterfaces"]
        assert [i["TagSet"] for i in interfaces] == [[{"Key": "k", "Value": "v"}]] * 2
    assert "client-token" not in utils.filter_dict_attribute_mapping


def test_a_security_group_in_use_cannot_be_deleted_until_its_instance_is_gone() -> None:
    from botocore.exceptions import ClientError

    with AwsFake():
        client = boto3.client("ec2", region_name="us-east-1")
        image = client.describe_images(Owners=["099720109477"])["Images"][0]["ImageId"]
        group = client.create_security_group(GroupName="g", Description="d")["GroupId"]
        instance = client.run_instances(ImageId=image, MinCount=1, MaxCount=1,
                                        SecurityGroupIds=[group])["Instances"][0]["InstanceId"]
        with pytest.raises(ClientError) as caught:
            client.delete_security_group(GroupId=group)
        assert caught.value.response["Error"]["Code"] == "DependencyViolation"
        client.terminate_instances(InstanceIds=[instance])
        client.delete_security_group(GroupId=group)
        assert group not in {g["GroupId"] for g in client.describe_security_groups()[
            "SecurityGroups"]}


def test_fake_hides_the_users_aws_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    from unicompute._models import LaunchPlan, VMSpec

    # A profile the fake cannot find made moto (and connecting) fail with ProfileNotFound.
    monkeypatch.setenv("AWS_PROFILE", "nonexistent")
    monkeypatch.setenv("AWS_DEFAULT_PROFILE", "nonexistent-too")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/config")
    monkeypatch.delenv("AWS_SHARED_CREDENTIALS_FILE", raising=False)
    names = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")
    before = {name: os.environ.get(name) for name in names}
    fake = AwsFake().start()
    try:
        assert "AWS_PROFILE" not in os.environ and "AWS_DEFAULT_PROFILE" not in os.environ
        assert os.environ["AWS_CONFIG_FILE"] == os.environ["AWS_SHARED_CREDENTIALS_FILE"]
        assert not os.path.isfile(os.environ["AWS_CONFIG_FILE"])  # no settings to read
        drivers = open_provider("us-east-1", {"poll_interval": 0})
        size = drivers.compute.get_size("t3.micro")
        image = drivers.compute.resolve_image("debian-12", arch=size.arch)
        spec = VMSpec(name="hidden", size=size, image=image)
        (vm,) = drivers.compute.launch(LaunchPlan(spec=spec, size=size, image=image, count=1))
        assert drivers.compute.get_vm(vm.id).name == "hidden"
        drivers.close()
    finally:
        fake.stop()
    assert {name: os.environ.get(name) for name in names} == before
