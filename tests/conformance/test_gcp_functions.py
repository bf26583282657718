"""The portable function conformance suite on GCP Cloud Functions (2nd gen), against the GCP
fake (Cloud Functions v2, Cloud Scheduler, Cloud Run IAM, Logging) and the local runtime."""

import pytest

from unicompute import Cloud
from unicompute.testing import FunctionConformance
from unicompute.testing.functions_conformance import running_fake


@pytest.mark.clouds("gcp")
class TestGCPFunctions(FunctionConformance):
    def advance_time(self, cloud: Cloud, seconds: int) -> None:
        running_fake("gcp").clock.advance(seconds)  # runs the due Cloud Scheduler jobs

    def prepare_queue(self, cloud: Cloud, queue: str) -> None:
        """Nothing: as Cloud Functions does, the deploy makes the trigger's topic if missing."""
        running_fake("gcp")

    def send_to_queue(self, cloud: Cloud, queue: str, body: str) -> None:
        assert len(running_fake("gcp").functions.publish(queue, body)) == 1  # delivered now
