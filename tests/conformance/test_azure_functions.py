"""The portable function conformance suite on Azure Functions, against the ARM fake and its
function hosts (the local runtime runs the shim's function_app.py)."""

import pytest

from unicompute import Cloud
from unicompute.testing import FunctionConformance
from unicompute.testing.functions_conformance import running_fake


@pytest.mark.clouds("azure")
class TestAzureFunctions(FunctionConformance):
    def advance_time(self, cloud: Cloud, seconds: int) -> None:
        fake = running_fake("azure")
        fake.clock.advance(seconds)  # fires due timer triggers, then polls the queues
        assert fake.functions.drain(30), "the fired timers did not finish in 30 s"

    def prepare_queue(self, cloud: Cloud, queue: str) -> None:
        """Nothing: a Storage queue trigger listens on its queue whether or not it exists."""
        running_fake("azure")

    def send_to_queue(self, cloud: Cloud, queue: str, body: str) -> None:
        fake = running_fake("azure")
        fake.functions.send(queue, body)
        assert fake.functions.poll() == 1
