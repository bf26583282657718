"""The portable function conformance suite on AWS, against moto and the local runtime."""

import boto3
import pytest

from unicompute import Cloud
from unicompute.testing import FunctionConformance
from unicompute.testing.functions_conformance import running_fake


@pytest.mark.clouds("aws")
class TestAWSFunctions(FunctionConformance):
    def advance_time(self, cloud: Cloud, seconds: int) -> None:
        fake = running_fake("aws")
        fake.clock.advance(seconds)  # fires due EventBridge rules, then polls SQS mappings
        assert fake.functions.drain(30), "the fired schedules did not finish in 30 s"

    def prepare_queue(self, cloud: Cloud, queue: str) -> None:
        running_fake("aws")
        boto3.client("sqs", region_name=cloud.region).create_queue(QueueName=queue)

    def send_to_queue(self, cloud: Cloud, queue: str, body: str) -> None:
        fake = running_fake("aws")
        sqs = boto3.client("sqs", region_name=cloud.region)
        sqs.send_message(QueueUrl=sqs.get_queue_url(QueueName=queue)["QueueUrl"],
                         MessageBody=body)
        assert fake.functions.poll() == 1
