"""Fault injection in the AWS fake: ``mock_cloud().aws.faults``."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.core.botocore_stubber import BotocoreStubber
from zips import zip_of

import unicompute as uc
from unicompute.mocks import MockCloud, MockServer, mock_cloud
from unicompute.mocks._kernel.faults import Faults as KernelFaults
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


def _zip() -> bytes:
    return zip_of({"app.py": "def handler(event, context):\n    return event\n"})


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


def test_an_error_rate_fails_a_repeatable_fraction_with_the_chosen_code() -> None:
    def outcomes(faults: Faults) -> list[bool]:
        faults.clear()
        faults.error_rate("DescribeVpcs", 0.5, seed=7)
        ec2 = _ec2()
        result = []
        for _ in range(20):
            try:
                ec2.describe_vpcs()
                result.append(True)
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "InternalError"
                assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 500
                result.append(False)
        return result

    with mock_cloud(["aws"]) as fake:
        first = outcomes(fake.aws.faults)
        assert 0 < first.count(False) < 20
        assert outcomes(fake.aws.faults) == first
        assert _ec2().describe_subnets()["Subnets"]  # other operations are untouched
        fake.aws.faults.error_rate("DescribeVpcs", 0)  # removes the rule
        assert all(_ec2().describe_vpcs()["Vpcs"] for _ in range(5))
        with pytest.raises(uc.InvalidRequest) as caught:
            fake.aws.faults.error_rate(None, 1.5)
        assert caught.value.field == "rate"


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
        (lambda: faults.throttle(times=0), "times"),
        (lambda: faults.throttle(rate=0.5, times=2), "times"),
        (lambda: faults.throttle(seed="1"), "seed"),  # type: ignore[arg-type]
    ]:
        with pytest.raises(uc.InvalidRequest) as caught:
            call()
        assert caught.value.field == field


def test_only_requests_moto_answers_take_faults() -> None:
    with mock_cloud():
        assert _moto_answers(f"https://ec2.{REGION}.amazonaws.com/")
        # e.g. a client pointed at AwsFake.serve(): the HTTP mode has no faults
        assert not _moto_answers("http://127.0.0.1:5000/")


# -- every protocol, in-process ------------------------------------------------------------------
def test_each_service_answers_a_fault_in_its_own_protocol_and_status() -> None:
    with mock_cloud() as fake:
        faults = fake.aws.faults
        iam = boto3.client("iam", region_name=REGION, config=ONE_ATTEMPT)
        sts = boto3.client("sts", region_name=REGION, config=ONE_ATTEMPT)
        events = boto3.client("events", region_name=REGION, config=ONE_ATTEMPT)
        lambda_ = boto3.client("lambda", region_name=REGION, config=ONE_ATTEMPT)

        # query protocol (IAM): the model's status for the code, botocore's modeled exception
        faults.fail_next("iam:GetRole", "NoSuchEntity", message="The role with name r cannot "
                         "be found.")
        with pytest.raises(iam.exceptions.NoSuchEntityException) as caught:
            iam.get_role(RoleName="r")
        assert caught.value.response["Error"] == {
            "Type": "Sender", "Code": "NoSuchEntity",
            "Message": "The role with name r cannot be found."}
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        faults.throttle("sts:GetCallerIdentity")
        with pytest.raises(ClientError) as caught:
            sts.get_caller_identity()
        assert caught.value.response["Error"]["Code"] == "Throttling"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

        # JSON protocol (EventBridge)
        faults.throttle("ListRules")
        with pytest.raises(ClientError) as caught:
            events.list_rules()
        assert caught.value.response["Error"] == {"Code": "ThrottlingException",
                                                  "Message": "Rate exceeded"}
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

        # REST-JSON (Lambda): X-Amzn-ErrorType and the model's status
        faults.throttle("lambda:*")
        with pytest.raises(lambda_.exceptions.TooManyRequestsException) as caught:
            lambda_.list_functions()
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
        faults.throttle("lambda:*", rate=0)
        faults.fail_next("ListFunctions", "ServiceException")
        with pytest.raises(lambda_.exceptions.ServiceException) as caught:
            lambda_.list_functions()
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert lambda_.list_functions()["Functions"] == []

        # None means EC2 only; the other services were not touched by it
        faults.clear()
        faults.throttle()
        assert iam.list_roles()["Roles"] == []
        with pytest.raises(ClientError):
            _ec2().describe_vpcs()
        assert faults.calls("ListRoles") == 1 and faults.calls("Describe*") == 1


def test_throttle_times_throttles_exactly_the_next_calls_like_the_other_fakes() -> None:
    with mock_cloud() as fake:
        faults, ec2 = fake.aws.faults, _ec2()
        lambda_ = boto3.client("lambda", region_name=REGION, config=ONE_ATTEMPT)
        faults.throttle("DescribeVpcs", times=2)
        faults.throttle("ListFunctions", times=1)
        for _ in range(2):
            with pytest.raises(ClientError) as caught:
                ec2.describe_vpcs()
            assert caught.value.response["Error"]["Code"] == "RequestLimitExceeded"
        assert ec2.describe_vpcs()["Vpcs"]
        with pytest.raises(lambda_.exceptions.TooManyRequestsException):
            lambda_.list_functions()
        assert lambda_.list_functions()["Functions"] == []
        assert faults.calls("DescribeVpcs") == 3 and faults.calls("ListFunctions") == 2


def test_a_failure_beats_a_throttle_and_a_narrower_throttle_beats_a_wider_one() -> None:
    with mock_cloud() as fake:
        faults, ec2 = fake.aws.faults, _ec2()
        faults.throttle()  # every EC2 call
        faults.fail_next("DescribeVpcs", "InternalError")  # armed later, used first
        codes = []
        for _ in range(2):
            with pytest.raises(ClientError) as caught:
                ec2.describe_vpcs()
            codes.append(caught.value.response["Error"]["Code"])
        assert codes == ["InternalError", "RequestLimitExceeded"]
        faults.throttle("DescribeVpcs", rate=0.0)  # removes a rule never set: still throttled
        with pytest.raises(ClientError):
            ec2.describe_vpcs()
        faults.throttle("DescribeVpcs", rate=0.5, seed=3)  # narrower: overrides the 1.0
        outcomes = []
        for _ in range(20):
            try:
                ec2.describe_vpcs()
                outcomes.append(True)
            except ClientError:
                outcomes.append(False)
        assert 0 < outcomes.count(False) < 20
        faults.throttle("DescribeVpcs", rate=0.0)  # back to the wider one
        with pytest.raises(ClientError):
            ec2.describe_vpcs()
        faults.throttle(rate=0)
        assert ec2.describe_vpcs()["Vpcs"]


# -- over HTTP: mock-server ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def served() -> Iterator[tuple[AwsFake, str]]:
    with MockServer() as server:
        aws = server.fake("aws")
        assert isinstance(aws, AwsFake)
        yield aws, server.endpoints["aws"]


def _served_client(service: str, endpoint: str) -> Any:
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint, config=ONE_ATTEMPT,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def test_faults_reach_clients_of_the_served_fake(served: tuple[AwsFake, str]) -> None:
    aws, endpoint = served
    aws.faults.clear()
    ec2 = _served_client("ec2", endpoint)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    aws.faults.fail_next("RunInstances", "InsufficientInstanceCapacity")
    with pytest.raises(ClientError) as caught:
        ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, ClientToken="tok-1")
    response = caught.value.response
    assert response["Error"]["Code"] == "InsufficientInstanceCapacity"
    assert response["Error"]["Message"].startswith("We currently do not have sufficient")
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert response["ResponseMetadata"]["RequestId"]
    assert ec2.describe_instances()["Reservations"] == []  # moto never saw it
    assert aws.faults.calls[-2] == ("RunInstances", aws.faults.calls[-2].params)
    assert aws.faults.calls[-2].params["ClientToken"] == "tok-1"
    # the body of a request that passes reaches moto intact
    launched = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, ClientToken="tok-2")
    instance_id = launched["Instances"][0]["InstanceId"]

    aws.faults.throttle("DescribeInstances")
    with pytest.raises(ClientError) as caught:
        ec2.describe_instances(InstanceIds=[instance_id])
    assert caught.value.response["Error"]["Code"] == "RequestLimitExceeded"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    aws.faults.clear()
    aws.faults.latency(0.05, "DescribeInstances")
    started = time.perf_counter()
    assert ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
    assert time.perf_counter() - started >= 0.05
    assert aws.faults.calls == [("DescribeInstances", {"InstanceId.1": instance_id})]
    ec2.terminate_instances(InstanceIds=[instance_id])
    aws.faults.clear()


def test_served_rest_calls_are_named_by_their_path(served: tuple[AwsFake, str]) -> None:
    aws, endpoint = served
    aws.faults.clear()
    iam, lambda_ = _served_client("iam", endpoint), _served_client("lambda", endpoint)
    role = iam.create_role(RoleName="fault-fn-role", AssumeRolePolicyDocument="{}")["Role"]
    lambda_.create_function(FunctionName="fault-fn", Runtime="python3.12", Role=role["Arn"],
                            Handler="app.handler", Code={"ZipFile": _zip()})
    aws.faults.fail_next("GetFunctionConfiguration", "ResourceNotFoundException",
                         message="Function not found")
    assert lambda_.get_function(FunctionName="fault-fn")["Configuration"]  # another path
    with pytest.raises(lambda_.exceptions.ResourceNotFoundException) as caught:
        lambda_.get_function_configuration(FunctionName="fault-fn")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert caught.value.response["Error"]["Message"] == "Function not found"
    assert lambda_.get_function_configuration(FunctionName="fault-fn")["FunctionName"]
    assert [c.operation for c in aws.faults.calls][-4:] == [
        "CreateFunction", "GetFunction", "GetFunctionConfiguration", "GetFunctionConfiguration"]
    assert aws.faults.calls("CreateRole") == 1
    lambda_.delete_function(FunctionName="fault-fn")
    iam.delete_role(RoleName="fault-fn-role")
    aws.faults.clear()


def test_a_client_in_another_process_meets_the_faults(served: tuple[AwsFake, str]) -> None:
    aws, endpoint = served
    aws.faults.clear()
    aws.faults.fail_next("DescribeVpcs", "Unavailable", times=2)
    script = (
        "import sys, boto3, botocore.config, botocore.exceptions\n"
        "ec2 = boto3.client('ec2', region_name='us-east-1', endpoint_url=sys.argv[1],\n"
        "    aws_access_key_id='x', aws_secret_access_key='y',\n"
        "    config=botocore.config.Config(retries={'total_max_attempts': 1}))\n"
        "for _ in range(3):\n"
        "    try:\n"
        "        print(len(ec2.describe_vpcs()['Vpcs']))\n"
        "    except botocore.exceptions.ClientError as exc:\n"
        "        meta = exc.response['ResponseMetadata']\n"
        "        print(exc.response['Error']['Code'], meta['HTTPStatusCode'])\n"
    )
    done = subprocess.run([sys.executable, "-c", script, endpoint], capture_output=True,
                          text=True, timeout=60, check=True)
    assert done.stdout.split("\n")[:3] == ["Unavailable 503", "Unavailable 503", "1"]
    assert aws.faults.calls("DescribeVpcs") == 3
    aws.faults.clear()


def test_unsigned_requests_to_the_server_pass_unlogged(served: tuple[AwsFake, str]) -> None:
    aws, endpoint = served
    aws.faults.clear()
    aws.faults.throttle("*")
    with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=10) as answer:
        assert answer.status == 200
    assert aws.faults.calls == []
    aws.faults.clear()


# -- the kernel's additions the AWS fake stands on -----------------------------------------------
def test_kernel_faults_log_calls_with_params_only_when_asked() -> None:
    quiet, kept = KernelFaults(), KernelFaults(log_size=2)
    for faults in (quiet, kept):
        faults.check("a", {"x": 1})
        faults.record("b")
        faults.check("c", {"y": 2})
    assert quiet.log == [] and quiet.calls("b") == 1
    assert kept.log == [("b", {}), ("c", {"y": 2})]  # the last two
    kept.clear()
    assert kept.log == [] and kept.calls("c") == 0


def test_kernel_rates_are_seeded_per_rule_replaced_and_outranked() -> None:
    def outcomes(faults: KernelFaults) -> list[bool]:
        return [faults.check("svc:op") is not None for _ in range(40)]

    faults = KernelFaults(seed=1)
    faults.error_rate("*", 0.5, seed=9)
    first = outcomes(faults)
    faults.error_rate("*", 0.5, seed=9)  # replaces, and restarts the draws
    assert outcomes(faults) == first and 5 < first.count(True) < 35
    faults.error_rate("svc:*", 0.0)  # nothing to remove: "*" still applies
    faults.error_rate("*:op", 1.0, code="Narrow")  # more specific than "*"
    assert {faults.check("svc:op").code for _ in range(5)} == {"Narrow"}  # type: ignore[union-attr]
    faults.fail_next("svc:op", status=500, code="Counted")  # counted rules come first
    fault = faults.check("svc:op")
    assert fault is not None and fault.code == "Counted"


def test_kernel_latency_is_the_most_specific_patterns_and_zero_removes_it() -> None:
    slept: list[float] = []
    faults = KernelFaults(sleep=slept.append)
    faults.latency("*", 0.5)
    faults.latency("ec2:Describe*", 0.1)
    faults.check("ec2:DescribeVpcs")
    faults.check("lambda:Invoke")
    faults.latency("ec2:Describe*", 0)
    faults.check("ec2:DescribeVpcs")
    assert slept == [0.1, 0.5, 0.5]
