"""Fault injection in the AWS fake: ``mock_cloud().aws.faults``."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.core.botocore_stubber import BotocoreStubber

import unicompute as uc
from unicompute.mocks import MockCloud, mock_cloud
from unicompute.mocks.aws import AwsFake, Faults
from unicompute.mocks.aws._faults import _moto_answers

REGION = "us-east-1"
#: One attempt per call, so that botocore's own retries do not blur what a test counts.
ONE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1})


def _ec2() -> Any:
    return boto3.client("ec2", region_name=REGION, config=ONE_ATTEMPT)


def _spec(name: str) -> uc.VMSpec:
    return uc.VMSpec(name=name, size="t3.micro", image="ubuntu-24.04", open_ports=[22])


def _ops(fake: MockCloud) -> list[str]:
    return [call.operation for call in fake.aws.faults.calls]


def _connect() -> uc.Cloud:
    cloud = uc.connect("aws", region=REGION)
    cloud.poller = uc.Poller(interval=0, sleep=lambda s: None)
    return cloud


def test_failed_run_instances_is_capacity_unavailable_and_leaves_nothing_behind() -> None:
    with mock_cloud() as fake, _connect() as cloud:
        fake.aws.faults.fail_next("RunInstances", "InsufficientInstanceCapacity", times=2)
        for _ in range(2):
            with pytest.raises(uc.CapacityUnavailable) as caught:
                cloud.vms.launch(_spec("web"))
            assert caught.value.retryable
            original = caught.value.as_(ClientError)
            assert original.response["Error"]["Code"] == "InsufficientInstanceCapacity"
            assert original.response["ResponseMetadata"]["HTTPStatusCode"] == 500  # as EC2
        assert _ops(fake).count("RunInstances") == 2  # launch does not retry a write
        ec2 = _ec2()
        assert ec2.describe_instances()["Reservations"] == []
        groups = ec2.describe_security_groups(
            Filters=[{"Name": "group-name", "Values": ["uc-*"]}]
        )["SecurityGroups"]
        assert groups == []
        # after `times` failures RunInstances works again
        vm = cloud.vms.launch(_spec("web"))
        assert [v.id for v in cloud.vms.list()] == [vm.id]


def test_a_throttled_read_is_retried_by_unicompute_until_it_succeeds() -> None:
    with mock_cloud() as fake, _connect() as cloud:
        vm = cloud.vms.launch(_spec("db"))
        faults = fake.aws.faults
        faults.clear()
        faults.fail_next("DescribeInstances", "RequestLimitExceeded", times=2)
        assert vm.refresh().id == vm.id
        assert _ops(fake) == ["DescribeInstances"] * 3

        faults.clear()
        faults.throttle("DescribeInstances")  # every call: unicompute gives up after 4 attempts
        with pytest.raises(uc.Throttled) as caught:
            vm.refresh()
        assert caught.value.retryable
        assert _ops(fake) == ["DescribeInstances"] * 4


def test_a_throttled_write_raises_throttled_once_and_changes_nothing() -> None:
    with mock_cloud() as fake, _connect() as cloud:
        vm = cloud.vms.launch(_spec("app"))
        fake.aws.faults.clear()
        fake.aws.faults.throttle("StopInstances")
        with pytest.raises(uc.Throttled) as caught:
            vm.stop()
        assert caught.value.retryable
        assert caught.value.operation == "vms.stop"
        assert _ops(fake).count("StopInstances") == 1
        assert vm.refresh().state == uc.VMState.RUNNING  # moto never saw the request


def test_a_raw_boto3_client_sees_ec2_errors_whenever_it_was_created() -> None:
    with mock_cloud() as fake:
        before = _ec2()
        faults = fake.aws.faults
        faults.fail_next("DescribeVpcs", "RequestLimitExceeded")
        faults.fail_next("DescribeVpcs", "InternalError")
        faults.fail_next("DescribeVpcs", "InvalidVpcID.NotFound", message="The vpc 'x' does not "
                         "exist", status=404)
        after = _ec2()
        expected = [
            ("RequestLimitExceeded", 503, "Request limit exceeded."),
            ("InternalError", 500, "An internal error has occurred."),
            ("InvalidVpcID.NotFound", 404, "The vpc 'x' does not exist"),
        ]
        for client, (code, status, message) in zip([before, after, before], expected,
                                                   strict=True):
            with pytest.raises(ClientError) as caught:
                client.describe_vpcs()
            response = caught.value.response
            assert response["Error"] == {"Code": code, "Message": message}
            assert response["ResponseMetadata"]["HTTPStatusCode"] == status
            assert response["ResponseMetadata"]["RequestId"]
        vpc_id = after.describe_vpcs()["Vpcs"][0]["VpcId"]  # the queue is used up
        # the log has every request, with its parameters as sent (EC2: flat query fields)
        assert after.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
        assert faults.calls[-1] == ("DescribeVpcs", {"VpcId.1": vpc_id})
        assert [c.operation for c in faults.calls] == ["DescribeVpcs"] * 5
        image = after.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        faults.fail_next("RunInstances", "InsufficientInstanceCapacity")
        with pytest.raises(ClientError):
            after.run_instances(ImageId=image, MinCount=1, MaxCount=1, ClientToken="tok")
        assert faults.calls[-1].operation == "RunInstances"
        assert faults.calls[-1].params["ClientToken"] == "tok"
        assert after.describe_instances()["Reservations"] == []


def test_a_seeded_throttle_fails_a_repeatable_fraction_of_calls() -> None:
    def outcomes(faults: Faults) -> list[bool]:
        faults.clear()
        faults.throttle(rate=0.5, seed=42)
        ec2 = _ec2()
        result = []
        for _ in range(20):
            try:
                ec2.describe_vpcs()
                result.append(True)
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "RequestLimitExceeded"
                result.append(False)
        return result

    with mock_cloud() as fake:
        first = outcomes(fake.aws.faults)
        assert 0 < first.count(False) < 20
        assert outcomes(fake.aws.faults) == first
        fake.aws.faults.throttle(rate=0)  # removes the rule
        assert _ec2().describe_vpcs()["Vpcs"]


def test_clear_reset_and_leaving_the_mock_remove_every_fault() -> None:
    original = BotocoreStubber.__call__
    with mock_cloud() as fake:
        assert BotocoreStubber.__call__ is not original
        faults = fake.aws.faults
        ec2 = _ec2()
        faults.throttle()
        faults.latency(0.01)
        faults.fail_next("DescribeVpcs", "InternalError", times=3)
        with pytest.raises(ClientError):
            ec2.describe_vpcs()
        faults.clear()
        assert faults.calls == []
        assert ec2.describe_vpcs()["Vpcs"]
        faults.throttle()
        fake.reset()
        assert ec2.describe_vpcs()["Vpcs"]
        assert [c.operation for c in faults.calls] == ["DescribeVpcs"]
        faults.throttle()
        aws: AwsFake = fake.aws
    assert BotocoreStubber.__call__ is original
    assert aws.faults.calls == []
    with mock_cloud() as fresh:
        assert _ec2().describe_vpcs()["Vpcs"]
        assert fresh.aws.faults is not aws.faults


def test_latency_delays_the_chosen_operation() -> None:
    with mock_cloud() as fake:
        ec2 = _ec2()
        ec2.describe_vpcs()  # warm up
        fake.aws.faults.latency(0.05, "DescribeVpcs")
        started = time.perf_counter()
        ec2.describe_vpcs()
        assert time.perf_counter() - started >= 0.05
        fake.aws.faults.latency(0, "DescribeVpcs")
        fake.aws.faults.latency(0.05)
        fake.aws.faults.latency(0.0, "DescribeSubnets")  # removing a rule never set is fine
        started = time.perf_counter()
        ec2.describe_subnets()
        assert time.perf_counter() - started >= 0.05


def test_bad_settings_are_rejected_naming_the_field() -> None:
    faults = Faults()
    for call, field in [
        (lambda: faults.fail_next("run_instances", "InternalError"), "operation"),
        (lambda: faults.fail_next("RunInstances", ""), "code"),
        (lambda: faults.fail_next("RunInstances", "InternalError", times=0), "times"),
        (lambda: faults.fail_next("RunInstances", "InternalError", status=200), "status"),
        (lambda: faults.throttle(rate=1.5), "rate"),
        (lambda: faults.latency(-1), "seconds"),
    ]:
        with pytest.raises(uc.InvalidRequest) as caught:
            call()
        assert caught.value.field == field


def test_only_requests_moto_answers_take_faults() -> None:
    with mock_cloud():
        assert _moto_answers(f"https://ec2.{REGION}.amazonaws.com/")
        # e.g. a client pointed at AwsFake.serve(): the HTTP mode has no faults
        assert not _moto_answers("http://127.0.0.1:5000/")
