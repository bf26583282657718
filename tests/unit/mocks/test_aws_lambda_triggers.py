"""Lambda triggers under mock_cloud(): function URLs, EventBridge schedules, SQS mappings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import boto3
import pytest
import requests
from botocore.exceptions import ClientError
from zips import zip_of

from unicompute.mocks import MockCloud, mock_cloud

REGION = "us-east-1"


def create(lam: Any, files: dict[str, str]) -> dict[str, Any]:
    """A Python 3.12 function ``fn`` with ``files`` as its package."""
    role = boto3.client("iam", region_name=REGION).create_role(
        RoleName="exec", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    return lam.create_function(  # type: ignore[no-any-return]
        FunctionName="fn", Runtime="python3.12", Role=role, Handler="app.handler",
        Code={"ZipFile": zip_of(files)})

RECORDER = '''
import json
def handler(event, context):
    print("EVENT " + json.dumps(event))
    if "rawPath" in event:
        if event["rawPath"] == "/plain":
            return {"plain": True}
        method = event["requestContext"]["http"]["method"]
        body = {"path": event["rawPath"], "query": event.get("queryStringParameters"),
                "body": event.get("body"), "version": event["version"]}
        return {"statusCode": 201, "headers": {"X-Seen": method},
                "body": json.dumps(body), "cookies": ["a=1"]}
    if "Records" in event and any(r["body"] == "poison" for r in event["Records"]):
        raise ValueError("poison")
    return {"ok": True}
'''


@pytest.fixture
def mock() -> Iterator[MockCloud]:
    with mock_cloud(["aws"]) as running:
        yield running


@pytest.fixture
def lam(mock: MockCloud) -> Any:
    return boto3.client("lambda", region_name=REGION)


def events_seen(function: str = "fn") -> list[dict[str, Any]]:
    logs = boto3.client("logs", region_name=REGION)
    try:
        found = logs.filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
    except ClientError:
        return []
    return [json.loads(e["message"][len("EVENT "):]) for e in found
            if e["message"].startswith("EVENT ")]


def test_function_url_runs_the_function_with_the_v2_event(lam):
    create(lam, {"app.py": RECORDER})
    url = lam.create_function_url_config(FunctionName="fn", AuthType="NONE")["FunctionUrl"]
    response = requests.post(url.rstrip("/") + "/items/7?x=1&x=2", data="hello",
                             headers={"Content-Type": "text/plain"}, timeout=5)
    assert response.status_code == 201
    assert response.headers["X-Seen"] == "POST"
    assert response.headers["Set-Cookie"] == "a=1"
    assert response.json() == {"path": "/items/7", "query": {"x": "1,2"}, "body": "hello",
                               "version": "2.0"}
    event = events_seen()[0]
    assert event["routeKey"] == "$default" and event["rawQueryString"] == "x=1&x=2"
    assert event["requestContext"]["http"]["method"] == "POST"
    assert event["headers"]["content-type"] == "text/plain"
    assert event["isBase64Encoded"] is False
    plain = requests.get(url.rstrip("/") + "/plain", timeout=5)
    assert plain.status_code == 200 and plain.json() == {"plain": True}
    assert plain.headers["Content-Type"] == "application/json"


def test_function_url_with_aws_iam_needs_a_sigv4_request(lam):
    create(lam, {"app.py": RECORDER})
    url = lam.create_function_url_config(FunctionName="fn", AuthType="AWS_IAM")["FunctionUrl"]
    denied = requests.get(url, timeout=5)
    assert denied.status_code == 403 and denied.json() == {"Message": "Forbidden"}
    assert events_seen() == []
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    credentials = boto3.Session().get_credentials()
    signed = AWSRequest(method="GET", url=url.rstrip("/") + "/plain")
    SigV4Auth(credentials, "lambda", REGION).add_auth(signed)
    allowed = requests.get(url.rstrip("/") + "/plain", headers=dict(signed.headers), timeout=5)
    assert allowed.status_code == 200 and allowed.json() == {"plain": True}


def test_function_url_error_is_502(lam):
    create(lam, {"app.py": "def handler(e, c):\n    raise RuntimeError('x')\n"})
    url = lam.create_function_url_config(FunctionName="fn", AuthType="NONE")["FunctionUrl"]
    assert requests.get(url, timeout=5).status_code == 502


def test_schedule_fires_as_the_clock_advances(lam, mock):
    arn = create(lam, {"app.py": RECORDER})["FunctionArn"]
    events = boto3.client("events", region_name=REGION)
    rule = events.put_rule(Name="every5", ScheduleExpression="rate(5 minutes)")["RuleArn"]
    events.put_targets(Rule="every5", Targets=[{"Id": "1", "Arn": arn}])
    mock.aws.clock.advance(299)
    assert mock.aws.functions.drain(10) and events_seen() == []
    mock.aws.clock.advance(1)
    mock.aws.clock.advance(600)
    assert mock.aws.functions.drain(10)
    seen = sorted(events_seen(), key=lambda e: e["time"])  # async runs finish in any order
    assert [e["time"] for e in seen] == [
        "2026-01-01T00:05:00Z", "2026-01-01T00:10:00Z", "2026-01-01T00:15:00Z"]
    assert seen[0]["detail-type"] == "Scheduled Event" and seen[0]["source"] == "aws.events"
    assert seen[0]["resources"] == [rule] and seen[0]["detail"] == {}


def test_cron_schedule_and_invalid_expressions(lam, mock):
    arn = create(lam, {"app.py": RECORDER})["FunctionArn"]
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name="hourly", ScheduleExpression="cron(30 * * * ? *)")
    events.put_targets(Rule="hourly", Targets=[{"Id": "1", "Arn": arn}])
    mock.aws.clock.advance(3 * 3600)
    assert mock.aws.functions.drain(10)
    assert sorted(e["time"] for e in events_seen()) == [
        "2026-01-01T00:30:00Z", "2026-01-01T01:30:00Z", "2026-01-01T02:30:00Z"]
    for bad in ("rate(5 minute)", "rate(1 minutes)", "cron(0 12 * * *)",
                "cron(0 12 * * MON *)", "cron(61 * * * ? *)", "cron(0 12 L * L *)",
                "cron(0 12 ? * MON#6 *)", "cron(0 12 32W * ? *)", "cron(0 12 ? * 8L *)",
                "cron(0 12 L-31 * ? *)", "cron(0 12 1-5W * ? *)"):
        with pytest.raises(ClientError) as caught:
            events.put_rule(Name="bad", ScheduleExpression=bad)
        assert caught.value.response["Error"]["Code"] == "ValidationException", bad
        assert caught.value.response["Error"]["Message"] == (
            "Parameter ScheduleExpression is not valid.")


def test_sqs_mapping_delivers_batches_on_poll_and_keeps_failures(lam, mock):
    create(lam, {"app.py": RECORDER})
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName="jobs", Attributes={"VisibilityTimeout": "30"})
    queue_url = queue["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName="fn", BatchSize=2)
    for n in range(5):
        sqs.send_message(QueueUrl=queue_url, MessageBody=f"m{n}")
    assert events_seen() == []  # nothing is delivered until the fake polls
    assert mock.aws.functions.poll() == 3
    batches = events_seen()
    assert [len(b["Records"]) for b in batches] == [2, 2, 1]
    record = batches[0]["Records"][0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == queue_arn
    assert record["awsRegion"] == REGION and record["body"] == "m0"
    assert {"messageId", "receiptHandle", "attributes", "md5OfBody"} <= set(record)
    assert "Messages" not in sqs.receive_message(QueueUrl=queue_url, VisibilityTimeout=0)

    sqs.send_message(QueueUrl=queue_url, MessageBody="poison")
    assert mock.aws.functions.poll() == 0
    mock.aws.clock.advance(10)
    assert len(events_seen()) == 4  # still in flight: not delivered again
    mock.aws.clock.advance(25)  # the visibility timeout passed: the advance polls again
    assert len(events_seen()) == 5
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"])
    assert attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"


@pytest.mark.parametrize(("field", "expected"), [
    ("L * ? *", ["2026-01-31", "2026-02-28", "2026-03-31"]),
    ("L-2 * ? *", ["2026-01-29", "2026-02-26", "2026-03-29"]),
    ("LW * ? *", ["2026-01-30", "2026-02-27", "2026-03-31"]),
    # The 15th of Feb and Mar 2026 is a Sunday: the nearest weekday is Monday the 16th.
    ("15W * ? *", ["2026-01-15", "2026-02-16", "2026-03-16"]),
    # 1 Feb 2026 is a Sunday (-> Monday 2nd); 1 Aug 2026 a Saturday (-> Monday 3rd, same month).
    ("1W FEB,AUG ? *", ["2026-02-02", "2026-08-03"]),
    # 31W only fires in months with a 31st; 31 May 2026 is a Sunday (-> Friday 29th).
    ("31W 1-6 ? *", ["2026-01-30", "2026-03-31", "2026-05-29"]),
    ("? * MON#2 *", ["2026-01-12", "2026-02-09", "2026-03-09"]),
    ("? * 2#1,FRI#1 *", None),  # '#' takes one day, not a list
    ("? * 6L *", ["2026-01-30", "2026-02-27", "2026-03-27"]),
    ("? * FRIL *", ["2026-01-30", "2026-02-27", "2026-03-27"]),
    ("? 1 L *", ["2026-01-03", "2026-01-10", "2026-01-17", "2026-01-24", "2026-01-31"]),
])
def test_cron_special_days_fire_on_the_days_eventbridge_picks(lam, mock, field, expected):
    """EventBridge's L, W and # wildcards: accepted by PutRule and fired on the right days."""
    arn = create(lam, {"app.py": RECORDER})["FunctionArn"]
    events = boto3.client("events", region_name=REGION)
    expression = f"cron(0 9 {field})"
    if expected is None:
        with pytest.raises(ClientError) as caught:
            events.put_rule(Name="special", ScheduleExpression=expression)
        assert caught.value.response["Error"]["Code"] == "ValidationException"
        return
    events.put_rule(Name="special", ScheduleExpression=expression)
    events.put_targets(Rule="special", Targets=[{"Id": "1", "Arn": arn}])
    last = expected[-1]
    days = (date.fromisoformat(last) - date(2026, 1, 1)).days + 1
    mock.aws.clock.advance(days * 86400)
    assert mock.aws.functions.drain(10)
    assert sorted(e["time"] for e in events_seen()) == [f"{d}T09:00:00Z" for d in expected]
