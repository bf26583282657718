"""SQS event source mappings, polled when the test says so.

moto delivers a message to a mapped function the moment it is sent; Lambda polls. While the
fake runs, a new mapping is kept off moto's queue (so sending only enqueues) and
:meth:`QueuePoller.poll` — ``mock.aws.functions.poll()``, also run on every clock advance —
delivers what is visible, in batches of at most ``BatchSize``, as the SQS event, invoking the
function synchronously. A batch the function handled is deleted; after a failed one the
messages stay in flight for the queue's visibility timeout on the fake clock, then become
visible again (and are delivered by a later poll).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from unittest import mock

from .._kernel.clock import FakeClock

if TYPE_CHECKING:
    from ._lambda import LambdaRunner

#: Real seconds a received message stays invisible to moto; the fake clock decides sooner.
_IN_FLIGHT_S = 3600


@dataclass
class _InFlight:
    account: str
    region: str
    queue: str
    receipt_handle: str
    visible_at: float


def pull_model_patch() -> Any:
    """A ``mock.patch`` (not started) keeping new SQS mappings off moto's queues."""
    from moto.awslambda_simple.models import LambdaSimpleBackend

    original = LambdaSimpleBackend.create_event_source_mapping

    def create_event_source_mapping(backend: Any, spec: dict[str, Any]) -> Any:
        esm = original(backend, spec)
        if str(esm.event_source_arn).startswith("arn:aws:sqs:"):
            from moto.sqs.models import sqs_backends

            for queue in sqs_backends[backend.account_id][backend.region_name].queues.values():
                if queue.queue_arn == esm.event_source_arn:
                    queue.lambda_event_source_mappings.pop(esm.function_arn, None)
        return esm

    return mock.patch.object(LambdaSimpleBackend, "create_event_source_mapping",
                             create_event_source_mapping)


class QueuePoller:
    """Delivers SQS messages to mapped functions; owned by one AwsFake."""

    def __init__(self, runner: LambdaRunner, clock: FakeClock) -> None:
        self._runner = runner
        self.clock = clock
        self._in_flight: list[_InFlight] = []

    def reset(self) -> None:
        self._in_flight = []

    def poll(self) -> int:
        """Deliver every visible message of every enabled SQS mapping; the number of batches
        the functions handled successfully."""
        from moto.awslambda_simple.models import lambda_simple_backends

        self._release()
        delivered = 0
        for account in list(lambda_simple_backends.keys()):
            for region, backend in list(lambda_simple_backends[account].items()):
                for esm in list(backend._event_source_mappings.values()):
                    arn = str(esm.event_source_arn)
                    if esm.enabled and arn.startswith("arn:aws:sqs:"):
                        delivered += self._drain_queue(backend, esm, account, region)
        return delivered

    def _drain_queue(self, backend: Any, esm: Any, account: str, region: str) -> int:
        from moto.core.exceptions import JsonRESTError
        from moto.sqs.models import sqs_backends

        sqs: Any = sqs_backends[account][region]
        name = str(esm.event_source_arn).rsplit(":", 1)[-1]
        try:
            queue: Any = sqs.get_queue(name)
        except Exception:  # the queue was deleted; Lambda would disable the mapping
            return 0
        fn = backend.get_function(esm.function_arn)
        delivered = 0
        while True:
            messages = sqs.receive_message(name, int(esm.batch_size), 0, _IN_FLIGHT_S)
            if not messages:
                return delivered
            event = {"Records": [_record(m, esm.event_source_arn, region) for m in messages]}
            try:
                result = self._runner.run(fn, json.dumps(event).encode())
            except JsonRESTError:  # throttled: the messages go back for the next poll
                for message in messages:
                    sqs.change_message_visibility(name, message.receipt_handle, 0)
                return delivered
            if result.ok:
                for message in messages:
                    sqs.delete_message(name, message.receipt_handle)
                delivered += 1
                continue
            visible_at = self.clock.time() + float(queue.visibility_timeout)
            self._in_flight.extend(
                _InFlight(account, region, name, m.receipt_handle, visible_at) for m in messages)
            return delivered

    def _release(self) -> None:
        """Make messages whose visibility timeout passed on the fake clock visible again."""
        from moto.sqs.models import sqs_backends

        now = self.clock.time()
        due = [m for m in self._in_flight if m.visible_at <= now]
        self._in_flight = [m for m in self._in_flight if m.visible_at > now]
        for message in due:
            backend: Any = sqs_backends[message.account][message.region]
            try:
                backend.change_message_visibility(
                    message.queue, message.receipt_handle, 0)
            except Exception:  # deleted meanwhile, or the queue is gone
                continue


def _record(message: Any, queue_arn: str, region: str) -> dict[str, Any]:
    """One SQS record of the Lambda event."""
    attributes = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
        "SenderId": str(message.sender_id),
        "ApproximateFirstReceiveTimestamp": str(message.approximate_first_receive_timestamp),
    }
    if message.group_id is not None:
        attributes["MessageGroupId"] = message.group_id
    if message.deduplication_id is not None:
        attributes["MessageDeduplicationId"] = message.deduplication_id
    return {
        "messageId": message.id, "receiptHandle": message.receipt_handle,
        "body": message.body, "attributes": attributes,
        "messageAttributes": _message_attributes(message.message_attributes),
        "md5OfBody": message.body_md5, "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn, "awsRegion": region,
    }


def _message_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """SQS message attributes in the Lambda event's camelCase shape."""
    out: dict[str, Any] = {}
    for name, value in (attributes or {}).items():
        out[name] = {"stringValue": value.get("string_value"),
                     "binaryValue": value.get("binary_value"),
                     "stringListValues": [], "binaryListValues": [],
                     "dataType": value.get("data_type")}
    return out
