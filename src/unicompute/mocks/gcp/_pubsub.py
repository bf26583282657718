"""Pub/Sub topics and the Eventarc push that feeds event-triggered functions.

A function whose ``eventTrigger.pubsubTopic`` names a topic gets each message published to it
as one binary-mode CloudEvent ``POST`` to its URI (``ce-id`` = the message id, ``ce-source``
``//pubsub.googleapis.com/projects/{p}/topics/{t}``, ``ce-type``
``google.cloud.pubsub.topic.v1.messagePublished``, ``ce-specversion: 1.0``, ``ce-time``;
body ``{"message": {"data", "attributes", "messageId", "publishTime"}, "subscription"}``),
with the trigger's identity (an ID token: the invoker check passes). A 2xx answer acks it;
otherwise, under ``RETRY_POLICY_RETRY``, it is redelivered on each clock advance at least
10 s after the previous attempt (doubling up to 600 s), for up to 7 days; under
``RETRY_POLICY_DO_NOT_RETRY`` it is dropped. GCF creates the topic of a trigger when it is
missing, as it does.

REST (``pubsub.googleapis.com/v1``): ``PUT/GET/DELETE projects/{p}/topics/{t}`` and
``POST projects/{p}/topics/{t}:publish`` (``{"messages": [{"data", "attributes"}]}`` →
``{"messageIds": [...]}``).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from ..._errors import InvalidRequest
from .._kernel import FakeClock, Faults, IdFactory, json_response
from ._functions_api import PUBSUB_EVENT, FunctionRecord, FunctionsApp
from ._functions_common import GoogleApi, api_error, bad_request
from ._run_host import RunHost
from ._scheduler import request_for

PUBSUB_URL = "https://pubsub.googleapis.com"
RETENTION_S = 7 * 24 * 3600
_TOPIC = re.compile(r"[A-Za-z][-A-Za-z0-9_.~+%]{2,254}")


@dataclass
class _Pending:
    function: str
    message: dict[str, Any]
    topic: str
    attempts: int
    due: float
    first: float


class PubSubApp(GoogleApi):
    url_map = Map([
        Rule("/v1/projects/<project>/topics/<topic>", methods=["PUT"], endpoint="topics_create"),
        Rule("/v1/projects/<project>/topics/<topic>", methods=["GET"], endpoint="topics_get"),
        Rule("/v1/projects/<project>/topics/<topic>", methods=["DELETE"],
             endpoint="topics_delete"),
        Rule("/v1/projects/<project>/topics/<topic>:publish", methods=["POST"],
             endpoint="topics_publish"),
    ], strict_slashes=False)

    def __init__(self, functions: FunctionsApp, host: RunHost, *, clock: FakeClock,
                 ids: IdFactory, faults: Faults, tokens: set[str]) -> None:
        super().__init__(clock=clock, ids=ids, faults=faults, tokens=tokens)
        self.functions = functions
        self.host = host
        self.topics: set[str] = set()
        self.pending: list[_Pending] = []
        clock.on_advance(self._on_advance)

    def _on_advance(self, _: float) -> None:
        self.redeliver()

    def reset_state(self) -> None:
        self.topics.clear()
        self.pending.clear()
        self.requests.clear()

    def on_function(self, record: FunctionRecord, event: str) -> None:
        """Create a trigger's missing topic; forget a deleted function's redeliveries."""
        trigger = record.body.get("eventTrigger") or {}
        if event == "active" and trigger.get("pubsubTopic"):
            self.topics.add(trigger["pubsubTopic"])
        elif event == "deleted":
            self.pending = [p for p in self.pending if p.function != record.name]

    # -- publishing --------------------------------------------------------------------------
    def publish(self, topic: str, messages: list[Mapping[str, Any]]) -> list[str]:
        """Publish ``messages`` (``{"data": b64, "attributes": {...}}``) to the topic (full
        name) and deliver them now; their ids."""
        ids = []
        for given in messages:
            message = {"data": given.get("data", ""), "attributes": dict(
                given.get("attributes") or {}), "messageId": self.ids.number(16),
                "publishTime": self.clock.iso()}
            if not message["attributes"]:
                del message["attributes"]
            ids.append(message["messageId"])
            for record in self._subscribers(topic):
                pending = _Pending(record.name, message, topic, 0, self.clock.time(),
                                   self.clock.time())
                self._attempt(pending)
        return ids

    def _subscribers(self, topic: str) -> list[FunctionRecord]:
        return [r for r in list(self.functions.functions.values())
                if (r.body.get("eventTrigger") or {}).get("pubsubTopic") == topic
                and r.body["eventTrigger"].get("eventType") == PUBSUB_EVENT
                and r.serving is not None]

    def _attempt(self, pending: _Pending) -> None:
        record = self.functions.functions.get(pending.function)
        if record is None or record.serving is None:
            return
        message = pending.message
        uri = record.body["serviceConfig"]["uri"]
        project = record.project
        topic_id = pending.topic.rpartition("/")[2]
        subscription = (f"projects/{project}/subscriptions/eventarc-{record.location}-"
                        f"{record.function_id}-sub-{topic_id[:20]}")
        headers = {
            "Content-Type": "application/json", "ce-id": message["messageId"],
            "ce-source": f"//pubsub.googleapis.com/{pending.topic}", "ce-specversion": "1.0",
            "ce-type": PUBSUB_EVENT, "ce-time": message["publishTime"],
            "Authorization": "Bearer " + self.host.id_tokens.mint(uri),
            "User-Agent": "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)",
        }
        body = json.dumps({"message": message, "subscription": subscription}).encode()
        request = request_for(uri + "/", "POST", headers, body)
        status = self.host.invoke(record, request, "/", body).status_code
        pending.attempts += 1
        retry = record.body["eventTrigger"].get("retryPolicy") == "RETRY_POLICY_RETRY"
        if 200 <= status < 300 or not retry:
            return
        if self.clock.time() - pending.first >= RETENTION_S:
            return
        pending.due = self.clock.time() + min(600.0, 10.0 * 2 ** (pending.attempts - 1))
        self.pending.append(pending)

    def redeliver(self) -> int:
        """Retry the deliveries that are due; how many were attempted."""
        now = self.clock.time()
        due = [p for p in self.pending if p.due <= now]
        self.pending = [p for p in self.pending if p.due > now]
        for pending in due:
            self._attempt(pending)
        return len(due)

    # -- REST --------------------------------------------------------------------------------
    def _name(self, project: str, topic: str) -> str:
        if not _TOPIC.fullmatch(topic) or topic.lower().startswith("goog"):
            raise bad_request(f"Invalid [topics] name: (name={topic})", "name")
        return f"projects/{project}/topics/{topic}"

    def topics_create(self, request: Request, project: str, topic: str) -> Response:
        name = self._name(project, topic)
        if name in self.topics:
            raise api_error(409, "Resource already exists in the project (resource=" +
                            topic + ").")
        self.topics.add(name)
        return json_response({"name": name})

    def topics_get(self, request: Request, project: str, topic: str) -> Response:
        name = self._name(project, topic)
        if name not in self.topics:
            raise api_error(404, f"Resource not found (resource={topic}).")
        return json_response({"name": name})

    def topics_delete(self, request: Request, project: str, topic: str) -> Response:
        name = self._name(project, topic)
        if name not in self.topics:
            raise api_error(404, f"Resource not found (resource={topic}).")
        self.topics.discard(name)
        return json_response({})

    def topics_publish(self, request: Request, project: str, topic: str) -> Response:
        name = self._name(project, topic)
        if name not in self.topics:
            raise api_error(404, f"Resource not found (resource={topic}).")
        messages = self.body(request).get("messages")
        if not isinstance(messages, list) or not messages:
            raise bad_request("The request contains no messages.", "messages")
        for message in messages:
            if not isinstance(message, dict) or not (message.get("data")
                                                     or message.get("attributes")):
                raise bad_request("Some messages are empty: a message needs data or "
                                  "attributes.", "messages")
            try:
                base64.b64decode(str(message.get("data", "")), validate=True)
            except ValueError:
                raise bad_request("Invalid data: not base64", "messages.data") from None
        return json_response({"messageIds": self.publish(name, messages)})


def topic_name(topic: str, project: str) -> str:
    """``topic`` as a full name (a bare id is taken in ``project``); ``InvalidRequest``
    naming ``topic`` when it is neither."""
    if re.fullmatch(r"projects/[^/]+/topics/[^/]+", topic):
        return topic
    if _TOPIC.fullmatch(topic):
        return f"projects/{project}/topics/{topic}"
    raise InvalidRequest(f"not a topic name: {topic!r}", field="topic")
