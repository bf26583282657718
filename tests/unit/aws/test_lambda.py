"""The Lambda driver through the portable API, on moto: deploy, update, no-op re-deploy,
triggers, delete, undo of half-made deploys, validation before any call."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

import unicompute as uc
from unicompute.mocks.aws import AwsFake
from unicompute.providers.aws.options import Options

REGION = "us-east-1"


@pytest.fixture(scope="module")
def cloud(fake: AwsFake) -> Iterator[uc.Cloud]:
    with uc.connect("aws", region=REGION, poll_interval=0) as opened:
        yield opened


@pytest.fixture
def name() -> str:
    return f"fn-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def source(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text("def handler(event, context):\n    return event\n")
    return tmp_path


def client(service: str) -> Any:
    return boto3.client(service, region_name=REGION)


def operations(fake: AwsFake) -> list[str]:
    return [call.operation for call in fake.faults.calls]


def role_names() -> set[str]:
    return {role["RoleName"] for role in client("iam").list_roles()["Roles"]}


def make_spec(name: str, source: Path, **changes: Any) -> uc.FunctionSpec:
    fields: dict[str, Any] = {"name": name, "runtime": "python3.12", "handler": "app.handler",
                              "source": source}
    fields.update(changes)
    return uc.FunctionSpec(**fields)


def test_deploy_creates_a_tagged_function_with_its_own_role(
    cloud: uc.Cloud, name: str, source: Path
) -> None:
    fn = cloud.functions.deploy(make_spec(name, source, memory_mb=256, timeout_s=10,
                                          env={"MODE": "fast"}, tags={"team": "web"},
                                          concurrency=3))
    assert (fn.name, fn.runtime, fn.handler, fn.memory_mb, fn.timeout_s) == (
        name, "python3.12", "app.handler", 256, 10)
    assert fn.state is uc.FunctionState.ACTIVE
    assert dict(fn.env) == {"MODE": "fast"} and dict(fn.tags) == {"team": "web"}
    assert fn.concurrency == 3 and fn.triggers == () and fn.url is None
    native = client("lambda").get_function(FunctionName=name)
    configuration = native["Configuration"]
    assert configuration["Handler"] == "unicompute_shim.handler"
    assert configuration["Environment"]["Variables"]["UNICOMPUTE_HANDLER"] == "app.handler"
    assert native["Tags"]["unicompute:managed"] == "true"
    role = native["Tags"]["unicompute:role"]
    assert role.startswith(f"uc-fn-{name}-") and configuration["Role"].endswith(f"/{role}")
    iam = client("iam")
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert {"Key": "unicompute:managed", "Value": "true"} in iam.list_role_tags(
        RoleName=role)["Tags"]
    fn.delete()
    assert role not in role_names()
    with pytest.raises(uc.NotFound):
        cloud.functions.get(name)


def test_redeploy_of_identical_code_and_config_changes_nothing(
    cloud: uc.Cloud, fake: AwsFake, name: str, source: Path
) -> None:
    spec = make_spec(name, source, env={"MODE": "1"}, triggers=[uc.HttpTrigger()])
    first = cloud.functions.deploy(spec)
    fake.faults.clear()
    again = cloud.functions.deploy(spec)
    writes = [op for op in operations(fake) if not op.startswith(("Get", "List", "Describe"))]
    assert writes == []
    assert again.version == first.version and again.url == first.url
    cloud.functions.delete(name)


def test_update_changes_only_what_differs(
    cloud: uc.Cloud, fake: AwsFake, name: str, source: Path
) -> None:
    first = cloud.functions.deploy(make_spec(name, source, tags={"a": "1", "b": "2"}))
    fake.faults.clear()
    second = cloud.functions.deploy(make_spec(name, source, memory_mb=512, env={"XY": "y"},
                                              tags={"a": "1", "c": "3"}, concurrency=2))
    ops = operations(fake)
    assert "UpdateFunctionCode" not in ops and "UpdateFunctionConfiguration" in ops
    assert second.memory_mb == 512 and dict(second.env) == {"XY": "y"}
    assert dict(second.tags) == {"a": "1", "c": "3"} and second.concurrency == 2
    assert second.version != first.version
    (source / "app.py").write_text("def handler(event, context):\n    return 1\n")
    fake.faults.clear()
    third = cloud.functions.deploy(make_spec(name, source, memory_mb=512, env={"XY": "y"},
                                             tags={"a": "1", "c": "3"}))
    ops = operations(fake)
    assert "UpdateFunctionCode" in ops and "UpdateFunctionConfiguration" not in ops
    assert third.version != second.version and third.concurrency is None
    cloud.functions.delete(name)


def test_triggers_are_created_changed_and_removed(
    cloud: uc.Cloud, name: str, source: Path
) -> None:
    sqs = client("sqs")
    queue_url = sqs.create_queue(QueueName=f"q-{name}")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url,
                                         AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    triggers = [uc.HttpTrigger(), uc.ScheduleTrigger("rate(5 minutes)"),
                uc.QueueTrigger(f"q-{name}", batch_size=5)]
    fn = cloud.functions.deploy(make_spec(name, source, triggers=triggers))
    assert fn.triggers == tuple(triggers)
    assert fn.url is not None and ".lambda-url.us-east-1.on.aws" in fn.url
    lam, events = client("lambda"), client("events")
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    rules = events.list_rule_names_by_target(TargetArn=arn)["RuleNames"]
    assert len(rules) == 1
    assert events.describe_rule(Name=rules[0])["ScheduleExpression"] == "rate(5 minutes)"
    policy = lam.get_policy(FunctionName=name)["Policy"]
    assert "events.amazonaws.com" in policy and "InvokeFunctionUrl" in policy
    mappings = lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"]
    assert [(m["EventSourceArn"], m["BatchSize"]) for m in mappings] == [(queue_arn, 5)]
    role = lam.get_function(FunctionName=name)["Tags"]["unicompute:role"]
    queue_policy = client("iam").get_role_policy(RoleName=role, PolicyName="unicompute-queues")
    assert queue_policy["PolicyDocument"]["Statement"][0]["Resource"] == [queue_arn]

    changed = cloud.functions.deploy(make_spec(
        name, source, triggers=[uc.HttpTrigger(auth="key"), uc.ScheduleTrigger("rate(1 hour)"),
                                uc.QueueTrigger(queue_arn, batch_size=7)]))
    assert changed.triggers == (uc.HttpTrigger(auth="key"), uc.ScheduleTrigger("rate(1 hour)"),
                                uc.QueueTrigger(f"q-{name}", batch_size=7))
    assert lam.get_function_url_config(FunctionName=name)["AuthType"] == "AWS_IAM"
    assert "InvokeFunctionUrl" not in lam.get_policy(FunctionName=name)["Policy"]
    assert [r for r in events.list_rule_names_by_target(TargetArn=arn)["RuleNames"]] != rules

    bare = cloud.functions.deploy(make_spec(name, source))
    assert bare.triggers == () and bare.url is None
    assert events.list_rule_names_by_target(TargetArn=arn)["RuleNames"] == []
    assert lam.list_event_source_mappings(FunctionName=name)["EventSourceMappings"] == []
    with pytest.raises(ClientError):
        lam.get_function_url_config(FunctionName=name)
    cloud.functions.delete(name)


def test_delete_removes_function_triggers_and_role(
    cloud: uc.Cloud, name: str, source: Path
) -> None:
    client("sqs").create_queue(QueueName=f"q-{name}")
    fn = cloud.functions.deploy(make_spec(name, source, triggers=[
        uc.HttpTrigger(), uc.ScheduleTrigger("rate(5 minutes)"), uc.QueueTrigger(f"q-{name}")]))
    role = client("lambda").get_function(FunctionName=name)["Tags"]["unicompute:role"]
    rules_before = {r["Name"] for r in client("events").list_rules()["Rules"]}
    cloud.functions.delete(name)
    assert role not in role_names()
    rules_after = {r["Name"] for r in client("events").list_rules()["Rules"]}
    assert len(rules_before - rules_after) == 1
    queue_arn_suffix = f":q-{name}"
    assert not [m for m in client("lambda").list_event_source_mappings()["EventSourceMappings"]
                if m["EventSourceArn"].endswith(queue_arn_suffix)]
    with pytest.raises(uc.NotFound):
        cloud.functions.delete(name)
    fn.delete()  # already gone: not an error


@pytest.mark.parametrize("failing", ["iam.delete_role", "lambda_.delete_function"])
def test_a_delete_that_fails_half_way_is_finished_by_the_next(
    cloud: uc.Cloud, name: str, source: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    roles = role_names()
    cloud.functions.deploy(make_spec(name, source, triggers=[
        uc.ScheduleTrigger("rate(5 minutes)"), uc.HttpTrigger()]))
    driver = cloud._ctx.drivers.functions
    service, method = failing.split(".")
    target = getattr(driver.clients, service)  # type: ignore[union-attr]
    original = getattr(target, method)
    refused: list[str] = []

    def refuse_once(**kwargs: Any) -> Any:
        if not refused:
            refused.append(method)
            raise ClientError({"Error": {"Code": "ServiceFailure", "Message": "down"}}, method)
        return original(**kwargs)

    monkeypatch.setattr(target, method, refuse_once)
    with pytest.raises(uc.UnicomputeError):
        cloud.functions.delete(name)
    assert refused
    cloud.functions.get(name)  # still there: the next delete can find what is left
    cloud.functions.delete(name)
    with pytest.raises(uc.NotFound):
        cloud.functions.get(name)
    assert role_names() == roles
    assert not [r for r in client("events").list_rules()["Rules"]
                if r["Name"].startswith(f"uc-{name}-")]


def test_an_update_naming_a_missing_queue_changes_nothing(
    cloud: uc.Cloud, fake: AwsFake, name: str, source: Path
) -> None:
    first = cloud.functions.deploy(make_spec(name, source))
    (source / "app.py").write_text("def handler(event, context):\n    return 2\n")
    fake.faults.clear()
    with pytest.raises(uc.InvalidRequest) as info:
        cloud.functions.deploy(make_spec(name, source, memory_mb=256,
                                         triggers=[uc.QueueTrigger(f"missing-{name}")]))
    assert info.value.field == "triggers.queue"
    writes = [op for op in operations(fake) if not op.startswith(("Get", "List", "Describe"))]
    assert writes == []
    again = cloud.functions.get(name)
    assert again.memory_mb == 128 and again.version == first.version
    cloud.functions.delete(name)


def test_a_given_role_is_used_and_kept(cloud: uc.Cloud, name: str, source: Path) -> None:
    iam = client("iam")
    arn = iam.create_role(RoleName=f"mine-{name}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    before = role_names()
    cloud.functions.deploy(make_spec(name, source, options=Options(role_arn=arn)))
    assert role_names() == before
    assert client("lambda").get_function(FunctionName=name)["Configuration"]["Role"] == arn
    cloud.functions.delete(name)
    assert f"mine-{name}" in role_names()


def test_switching_to_a_given_role_deletes_the_one_unicompute_made(
    cloud: uc.Cloud, name: str, source: Path
) -> None:
    cloud.functions.deploy(make_spec(name, source))
    made = client("lambda").get_function(FunctionName=name)["Tags"]["unicompute:role"]
    arn = client("iam").create_role(RoleName=f"mine-{name}",
                                    AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    cloud.functions.deploy(make_spec(name, source, options=Options(role_arn=arn)))
    assert made not in role_names()
    assert "unicompute:role" not in client("lambda").get_function(FunctionName=name)["Tags"]
    cloud.functions.delete(name)
    assert f"mine-{name}" in role_names()


def test_dropping_a_given_role_gives_the_function_its_own_and_keeps_the_users(
    cloud: uc.Cloud, fake: AwsFake, name: str, source: Path
) -> None:
    iam, lam = client("iam"), client("lambda")
    mine = iam.create_role(RoleName=f"mine-{name}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    queue_url = client("sqs").create_queue(QueueName=f"q-{name}")["QueueUrl"]
    queue_arn = client("sqs").get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    first = cloud.functions.deploy(make_spec(name, source, options=Options(role_arn=mine)))
    assert "unicompute:role" not in lam.get_function(FunctionName=name)["Tags"]

    spec = make_spec(name, source, triggers=[uc.QueueTrigger(f"q-{name}")])
    second = cloud.functions.deploy(spec)
    native = lam.get_function(FunctionName=name)
    own = native["Tags"]["unicompute:role"]
    assert own.startswith(f"uc-fn-{name}-")
    assert native["Configuration"]["Role"] == iam.get_role(RoleName=own)["Role"]["Arn"]
    assert {"Key": "unicompute:managed", "Value": "true"} in iam.list_role_tags(
        RoleName=own)["Tags"]
    queues = iam.get_role_policy(RoleName=own, PolicyName="unicompute-queues")
    assert queues["PolicyDocument"]["Statement"][0]["Resource"] == [queue_arn]
    assert second.version != first.version and f"mine-{name}" in role_names()

    fake.faults.clear()
    again = cloud.functions.deploy(spec)  # converged: nothing more to change
    writes = [op for op in operations(fake) if not op.startswith(("Get", "List", "Describe"))]
    assert writes == [] and again.version == second.version
    cloud.functions.delete(name)
    assert own not in role_names() and f"mine-{name}" in role_names()


def test_a_failed_switch_to_an_own_role_deletes_it_and_the_next_deploy_converges(
    cloud: uc.Cloud, name: str, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = client("iam").create_role(RoleName=f"mine-{name}",
                                     AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    cloud.functions.deploy(make_spec(name, source, options=Options(role_arn=mine)))
    roles = role_names()
    lam = cloud._ctx.drivers.functions.clients.lambda_  # type: ignore[union-attr]
    original = lam.update_function_configuration

    def refuse(**kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "ServiceException", "Message": "down"}},
                          "UpdateFunctionConfiguration")

    monkeypatch.setattr(lam, "update_function_configuration", refuse)
    with pytest.raises(uc.ProviderError):
        cloud.functions.deploy(make_spec(name, source))
    native = client("lambda").get_function(FunctionName=name)
    assert role_names() == roles and "unicompute:role" not in native["Tags"]
    assert native["Configuration"]["Role"] == mine
    monkeypatch.setattr(lam, "update_function_configuration", original)
    cloud.functions.deploy(make_spec(name, source))
    own = client("lambda").get_function(FunctionName=name)["Tags"]["unicompute:role"]
    assert client("lambda").get_function(FunctionName=name)["Configuration"]["Role"].endswith(
        f"/{own}")
    cloud.functions.delete(name)
    assert role_names() == roles


def test_deploy_repairs_a_function_whose_last_update_failed(
    cloud: uc.Cloud, fake: AwsFake, name: str, source: Path
) -> None:
    spec = make_spec(name, source, triggers=[uc.HttpTrigger()])
    first = cloud.functions.deploy(spec)
    fake.functions.fail(name, "Lambda could not update the function.", update=True)
    broken = cloud.functions.get(name)
    assert broken.state is uc.FunctionState.FAILED
    with pytest.raises(uc.Conflict):
        broken.invoke({"x": 1})
    fake.faults.clear()
    repaired = cloud.functions.deploy(spec)
    ops = operations(fake)
    # Updated in place (the code uploaded again makes Lambda retry), not recreated.
    assert "UpdateFunctionCode" in ops and "DeleteFunction" not in ops
    assert repaired.state is uc.FunctionState.ACTIVE and repaired.url == first.url
    assert repaired.invoke({"x": 1}).result == {"x": 1}
    cloud.functions.delete(name)


def test_a_repair_that_fails_again_is_a_conflict_with_the_reason(
    cloud: uc.Cloud, fake: AwsFake, name: str, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = make_spec(name, source)
    cloud.functions.deploy(spec)
    fake.functions.fail(name, "Still out of addresses.", update=True)
    driver = cloud._ctx.drivers.functions
    # Lambda accepts the new code but its update fails again.
    monkeypatch.setattr(driver, "update_code", lambda plan, current: True)
    with pytest.raises(uc.Conflict) as info:
        cloud.functions.deploy(spec)
    assert "Still out of addresses." in info.value.message
    monkeypatch.undo()
    cloud.functions.delete(name)


def test_deploy_recreates_a_function_whose_create_failed(
    cloud: uc.Cloud, fake: AwsFake, name: str, source: Path
) -> None:
    roles = role_names()
    spec = make_spec(name, source, triggers=[uc.HttpTrigger(), uc.ScheduleTrigger(
        "rate(5 minutes)")])
    cloud.functions.deploy(spec)
    fake.functions.fail(name, "The provided execution role does not have permissions.",
                        code="InsufficientRolePermissions")
    broken = cloud.functions.get(name)
    assert broken.state is uc.FunctionState.FAILED
    assert broken._info.state_reason == "The provided execution role does not have permissions."
    fake.faults.clear()
    repaired = cloud.functions.deploy(spec)
    ops = operations(fake)
    # Lambda's guide: a function whose create failed must be deleted and created again.
    assert ops.index("DeleteFunction") < ops.index("CreateFunction")
    assert repaired.state is uc.FunctionState.ACTIVE
    assert repaired.triggers == tuple(spec.triggers) and repaired.url is not None
    assert repaired.invoke({"y": 2}).result == {"y": 2}
    assert len(role_names() - roles) == 1  # the old role went with the old function
    cloud.functions.delete(name)
    assert role_names() == roles


def test_a_create_that_fails_half_way_is_undone(
    cloud: uc.Cloud, name: str, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver = cloud._ctx.drivers.functions
    lam = driver.clients.lambda_  # type: ignore[union-attr]

    def refuse(**kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "ServiceException", "Message": "down"}},
                          "CreateFunctionUrlConfig")

    monkeypatch.setattr(lam, "create_function_url_config", refuse)
    roles = role_names()
    with pytest.raises(uc.ProviderError) as info:
        cloud.functions.deploy(make_spec(name, source, triggers=[
            uc.ScheduleTrigger("rate(5 minutes)"), uc.HttpTrigger()]))
    assert info.value.retryable and info.value.resource == name
    with pytest.raises(uc.NotFound):
        cloud.functions.get(name)
    assert role_names() == roles
    assert not [r for r in client("events").list_rules()["Rules"]
                if r["Name"].startswith(f"uc-{name}-")]


def test_bad_input_is_rejected_before_any_call(
    cloud: uc.Cloud, fake: AwsFake, name: str, source: Path
) -> None:
    fake.faults.clear()
    for bad, field in [
        (make_spec("bad name", source), "name"),
        (make_spec(name, source, memory_mb=64), "memory_mb"),
        (make_spec(name, source, timeout_s=901), "timeout_s"),
        (make_spec(name, source / "missing"), "source"),
        (make_spec(name, source, env={"AWS_REGION": "x"}), "env"),
        (make_spec(name, source, tags={"cost center!": "1"}), "tags"),
        (make_spec(name, source, tags={"team": "a,b"}), "tags"),
    ]:
        with pytest.raises(uc.InvalidRequest) as info:
            cloud.functions.deploy(bad)
        assert info.value.field == field
    assert operations(fake) == []


def test_a_missing_queue_is_rejected_and_nothing_is_left(
    cloud: uc.Cloud, name: str, source: Path
) -> None:
    roles = role_names()
    with pytest.raises(uc.InvalidRequest) as info:
        cloud.functions.deploy(make_spec(name, source, triggers=[uc.QueueTrigger("no-such-q")]))
    assert info.value.field == "triggers.queue"
    assert role_names() == roles
    with pytest.raises(uc.NotFound):
        cloud.functions.get(name)


def test_get_list_and_not_found(cloud: uc.Cloud, name: str, source: Path) -> None:
    cloud.functions.deploy(make_spec(name, source, tags={"suite": name}))
    listed = list(cloud.functions.list(tags={"suite": name}))
    assert [f.name for f in listed] == [name] and listed[0].triggers is None
    assert listed[0].refresh().triggers == ()
    assert name in {f.name for f in cloud.functions.list()}
    with pytest.raises(uc.NotFound):
        cloud.functions.get(f"{name}-nope")
    with pytest.raises(uc.InvalidRequest):
        cloud.functions.get("")
    cloud.functions.delete(name)


def test_invoke_modes_and_payload_limits(cloud: uc.Cloud, name: str, source: Path) -> None:
    fn = cloud.functions.deploy(make_spec(name, source))
    assert fn.invoke({"k": 1}, mode="async").status_code == 202
    dry = fn.invoke({"k": 1}, mode="dry_run")
    assert (dry.status_code, dry.result) == (204, None)
    with pytest.raises(uc.InvalidRequest) as info:
        fn.invoke("x" * (1024 * 1024), mode="async")
    assert info.value.field == "payload"
    assert fn.logs() == [] or all(isinstance(line, uc.LogLine) for line in fn.logs())
    cloud.functions.delete(name)


def test_closed_cloud_and_missing_capability(fake: AwsFake) -> None:
    opened = uc.connect("aws", region=REGION, poll_interval=0)
    functions = opened.functions
    opened.close()
    with pytest.raises(uc.ClosedError):
        _ = opened.functions
    with pytest.raises(uc.ClosedError):
        functions.get("x")
