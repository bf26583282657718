"""Lambda triggers: a function URL (``HttpTrigger``), EventBridge schedule rules
(``ScheduleTrigger``) and SQS event source mappings (``QueueTrigger``).

Schedule rules are named ``uc-<function>-<digest>`` from the function and the expression, so the
same trigger always maps to the same rule; only rules with that prefix that target the function
are unicompute's. Every SQS mapping of a function counts as one of its queue triggers.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from botocore.exceptions import ClientError

from ..._errors import InvalidRequest
from ..._function_models import HttpTrigger, QueueTrigger, ScheduleTrigger, Trigger
from ._context import error_code
from .convert import tag_list
from .iam import allow_queues
from .lambda_clients import FunctionClients

LOG = logging.getLogger("unicompute.providers.aws")

URL_STATEMENTS = ("uc-url-public", "uc-url-invoke")
_AUTH = {"none": "NONE", "key": "AWS_IAM"}
_AUTH_BACK = {v: k for k, v in _AUTH.items()}
_NOT_FOUND = frozenset({"ResourceNotFoundException", "AWS.SimpleQueueService.NonExistentQueue",
                        "QueueDoesNotExist"})
#: What Lambda says while IAM has not yet propagated a queue permission to a new role.
_QUEUE_PERMISSION_HINT = "execution role does not have permissions"


@dataclass(kw_only=True)
class CurrentTriggers:
    """What a function has now: URL config, unicompute's schedule rules (name → expression),
    SQS mappings (queue ARN → mapping)."""

    url: Mapping[str, Any] | None = None
    rules: dict[str, str] = field(default_factory=dict)
    mappings: dict[str, Mapping[str, Any]] = field(default_factory=dict)

    def portable(self) -> tuple[Trigger, ...]:
        found: list[Trigger] = []
        if self.url is not None:
            found.append(HttpTrigger(auth=_AUTH_BACK.get(str(self.url.get("AuthType")), "key")))  # type: ignore[arg-type]
        found.extend(ScheduleTrigger(expr) for _, expr in sorted(self.rules.items()))
        found.extend(QueueTrigger(arn.rsplit(":", 1)[-1], int(m.get("BatchSize", 10)))
                     for arn, m in sorted(self.mappings.items()))
        return tuple(found)


def rule_prefix(function: str) -> str:
    return f"uc-{function[:32]}-"


def rule_name(function: str, expression: str) -> str:
    digest = hashlib.sha256(f"{function}\n{expression}".encode()).hexdigest()[:12]
    return f"{rule_prefix(function)}{digest}"


def _ignore_missing(call: Callable[[], object]) -> None:
    try:
        call()
    except ClientError as exc:
        if error_code(exc) not in _NOT_FOUND:
            raise


def read(clients: FunctionClients, name: str, function_arn: str) -> CurrentTriggers:
    """The function's current triggers."""
    current = CurrentTriggers()
    try:
        current.url = clients.lambda_.get_function_url_config(FunctionName=name)
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise
    prefix = rule_prefix(name)
    paginator = clients.events.get_paginator("list_rule_names_by_target")
    for page in paginator.paginate(TargetArn=function_arn):
        for rule in page.get("RuleNames", []):
            if rule.startswith(prefix):
                expression = clients.events.describe_rule(Name=rule).get("ScheduleExpression")
                if expression:
                    current.rules[rule] = expression
    mappings = clients.lambda_.get_paginator("list_event_source_mappings")
    for listing in mappings.paginate(FunctionName=name):
        for mapping in listing.get("EventSourceMappings", []):
            arn = str(mapping.get("EventSourceArn", ""))
            if arn.startswith("arn:") and ":sqs:" in arn:
                current.mappings[arn] = mapping
    return current


def queue_arn(clients: FunctionClients, queue: str) -> str:
    """The ARN of ``queue`` (a name or an ARN); ``InvalidRequest`` if there is no such queue."""
    if queue.startswith("arn:"):
        return queue
    try:
        url = clients.sqs.get_queue_url(QueueName=queue)["QueueUrl"]
        attributes = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
    except ClientError as exc:
        if error_code(exc) in _NOT_FOUND:
            raise InvalidRequest(f"no SQS queue {queue!r} in {clients.region}",
                                 field="triggers.queue") from exc
        raise
    return attributes["Attributes"]["QueueArn"]


def queue_arns(clients: FunctionClients, triggers: tuple[Trigger, ...]) -> dict[str, int]:
    """Queue ARN → batch size of the queue triggers (the queues must exist)."""
    return {queue_arn(clients, t.queue): t.batch_size
            for t in triggers if isinstance(t, QueueTrigger)}


def sync(
    clients: FunctionClients,
    *,
    name: str,
    function_arn: str,
    triggers: tuple[Trigger, ...],
    tags: Mapping[str, str],
    own_role: str | None,
) -> None:
    """Make the function's triggers exactly ``triggers``; on failure delete what this call
    created. ``own_role`` is the execution role unicompute created, which gets read access to
    exactly the trigger queues."""
    queues = queue_arns(clients, triggers)
    current = read(clients, name, function_arn)
    http = next((t for t in triggers if isinstance(t, HttpTrigger)), None)
    schedules = {rule_name(name, t.expression): t.expression
                 for t in triggers if isinstance(t, ScheduleTrigger)}
    undo: list[Callable[[], object]] = []
    try:
        if own_role is not None:
            allow_queues(clients.iam, own_role, queues)
        if http is not None:
            _sync_url(clients, name, http, current.url, undo)
        for rule, expression in schedules.items():
            if rule not in current.rules:
                _create_rule(clients, name, function_arn, rule, expression, tags, undo)
        for arn, batch in queues.items():
            existing = current.mappings.get(arn)
            if existing is None:
                _create_mapping(clients, name, arn, batch, undo)
            elif int(existing.get("BatchSize", 10)) != batch:
                clients.lambda_.update_event_source_mapping(UUID=existing["UUID"],
                                                            BatchSize=batch)
    except BaseException:
        for step in reversed(undo):
            try:
                step()
            except ClientError as exc:
                LOG.warning("could not undo a trigger of %s: %s", name, exc)
        raise
    if http is None and current.url is not None:
        remove_url(clients, name)
    for rule in current.rules.keys() - schedules.keys():
        remove_rule(clients, name, rule)
    for arn in current.mappings.keys() - queues.keys():
        _delete_mapping(clients, str(current.mappings[arn]["UUID"]))


def remove_all(clients: FunctionClients, name: str, current: CurrentTriggers) -> None:
    """Delete every trigger in ``current`` (the function itself is left)."""
    for mapping in current.mappings.values():
        _delete_mapping(clients, str(mapping["UUID"]))
    for rule in current.rules:
        remove_rule(clients, name, rule)
    if current.url is not None:
        remove_url(clients, name)


def _sync_url(
    clients: FunctionClients,
    name: str,
    http: HttpTrigger,
    current: Mapping[str, Any] | None,
    undo: list[Callable[[], object]],
) -> None:
    auth = _AUTH[http.auth]
    lam = clients.lambda_
    if current is None:
        lam.create_function_url_config(FunctionName=name, AuthType=auth)  # type: ignore[arg-type]
        undo.append(lambda: remove_url(clients, name))
    elif current.get("AuthType") != auth:
        lam.update_function_url_config(FunctionName=name, AuthType=auth)  # type: ignore[arg-type]
    else:
        return
    if auth == "NONE":
        # Public URLs need both grants (since October 2025 for InvokeFunction).
        lam.add_permission(FunctionName=name, StatementId=URL_STATEMENTS[0],
                           Action="lambda:InvokeFunctionUrl", Principal="*",
                           FunctionUrlAuthType="NONE")
        lam.add_permission(FunctionName=name, StatementId=URL_STATEMENTS[1],
                           Action="lambda:InvokeFunction", Principal="*",
                           InvokedViaFunctionUrl=True)
    else:
        _remove_url_permissions(clients, name)


def _delete_mapping(clients: FunctionClients, uuid: str) -> None:
    _ignore_missing(partial(clients.lambda_.delete_event_source_mapping, UUID=uuid))


def _remove_url_permissions(clients: FunctionClients, name: str) -> None:
    for statement in URL_STATEMENTS:
        _ignore_missing(partial(clients.lambda_.remove_permission, FunctionName=name,
                                StatementId=statement))


def remove_url(clients: FunctionClients, name: str) -> None:
    _remove_url_permissions(clients, name)
    _ignore_missing(lambda: clients.lambda_.delete_function_url_config(FunctionName=name))


def _create_rule(
    clients: FunctionClients,
    name: str,
    function_arn: str,
    rule: str,
    expression: str,
    tags: Mapping[str, str],
    undo: list[Callable[[], object]],
) -> None:
    arn = clients.events.put_rule(
        Name=rule, ScheduleExpression=expression, State="ENABLED",
        Description=f"Schedule of function {name} (unicompute)",
        Tags=tag_list(tags),  # type: ignore[arg-type]
    )["RuleArn"]
    undo.append(lambda: remove_rule(clients, name, rule))
    clients.lambda_.add_permission(
        FunctionName=name, StatementId=rule, Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com", SourceArn=arn)
    clients.events.put_targets(Rule=rule, Targets=[{"Id": "function", "Arn": function_arn}])


def remove_rule(clients: FunctionClients, name: str, rule: str) -> None:
    _ignore_missing(lambda: clients.events.remove_targets(Rule=rule, Ids=["function"]))
    _ignore_missing(lambda: clients.events.delete_rule(Name=rule))
    _ignore_missing(lambda: clients.lambda_.remove_permission(FunctionName=name,
                                                              StatementId=rule))


def _create_mapping(
    clients: FunctionClients, name: str, arn: str, batch: int,
    undo: list[Callable[[], object]],
) -> None:
    mapping = clients.retry_propagation(
        lambda: clients.lambda_.create_event_source_mapping(
            EventSourceArn=arn, FunctionName=name, BatchSize=batch, Enabled=True),
        hint=_QUEUE_PERMISSION_HINT)
    undo.append(partial(_delete_mapping, clients, mapping["UUID"]))


__all__ = ["CurrentTriggers", "queue_arns", "read", "remove_all", "sync"]
