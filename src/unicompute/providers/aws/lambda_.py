"""AWS Lambda as a :class:`~unicompute.driver.FunctionDriver`.

Every function unicompute deploys has the Lambda handler ``unicompute_shim.handler`` and the
user's handler in ``UNICOMPUTE_HANDLER``; it is tagged with the user's tags plus
``unicompute:managed=true`` and, when unicompute created its execution role,
``unicompute:role=<role name>`` (the role is deleted with the function). Triggers are in
:mod:`.lambda_triggers`, roles in :mod:`.iam`, answer parsing in :mod:`.lambda_convert`.
"""

from __future__ import annotations

import base64
from collections import deque
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from ..._function_models import FunctionInfo, FunctionPlan, InvocationInfo, InvokeMode, LogLine
from ..._models import Page
from ...driver import MANAGED_TAG
from ...shims import HANDLER_ENV
from . import iam, lambda_triggers
from ._context import error_code
from .lambda_clients import FunctionClients
from .lambda_convert import (
    ROLE_TAG,
    SHIM_HANDLER,
    failure,
    function_info,
    parse_report,
    user_tags,
)
from .options import Options

_INVOCATION_TYPES = {"sync": "RequestResponse", "async": "Event", "dry_run": "DryRun"}
#: What Lambda answers while IAM has not yet propagated a new execution role.
_ROLE_NOT_READY = "cannot be assumed by Lambda"
_PAGE_SIZE = 50


def _managed(tags: Mapping[str, str]) -> dict[str, str]:
    return {**tags, MANAGED_TAG: "true"}


def open_functions(region: str, config: Mapping[str, object]) -> LambdaFunctions:
    """The Lambda driver of ``region`` for the provider ``config`` (already checked by
    ``open_provider``: ``endpoint_url``, ``profile``, ``poll_interval``). No client is created
    before the first function call."""
    from ._session import check_config, new_session

    endpoint_url, profile, poll_interval = check_config(config)
    clients = FunctionClients(session=new_session(profile), region=region,
                              endpoint_url=endpoint_url, poll_interval=poll_interval)
    return LambdaFunctions(clients)


class LambdaFunctions:
    """Functions of one region, over the clients of :class:`FunctionClients`."""

    def __init__(self, clients: FunctionClients) -> None:
        self._clients = clients

    @property
    def clients(self) -> FunctionClients:
        return self._clients

    # -- reading ----------------------------------------------------------------------------
    def get_function(self, name: str) -> FunctionInfo:
        answer = self._clients.lambda_.get_function(FunctionName=name)
        arn = answer["Configuration"]["FunctionArn"]
        current = lambda_triggers.read(self._clients, name, arn)
        url = str(current.url["FunctionUrl"]) if current.url is not None else None
        return function_info(answer, tags=answer.get("Tags", {}), url=url,
                             triggers=current.portable())

    def list_functions(self, *, page_token: str | None) -> Page[FunctionInfo]:
        lam = self._clients.lambda_
        answer = (lam.list_functions(MaxItems=_PAGE_SIZE, Marker=page_token) if page_token
                  else lam.list_functions(MaxItems=_PAGE_SIZE))
        items: list[FunctionInfo] = []
        for configuration in answer.get("Functions", []):
            try:
                tags = lam.list_tags(Resource=configuration["FunctionArn"])["Tags"]
            except ClientError as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    continue  # deleted since the listing
                raise
            items.append(function_info({"Configuration": configuration}, tags=tags))
        return Page(items=items, next_token=answer.get("NextMarker"))

    # -- deploying --------------------------------------------------------------------------
    def create_function(self, plan: FunctionPlan) -> FunctionInfo:
        spec = plan.spec
        options = spec.options if isinstance(spec.options, Options) else Options()
        lambda_triggers.queue_arns(self._clients, spec.triggers)  # the queues must exist
        tags = _managed(spec.tags)
        role_arn, role_name = options.role_arn, None
        if role_arn is None:
            role_name = iam.role_name_for(spec.name)
            role_arn = iam.create_role(self._clients.iam, role_name, tags)
            tags[ROLE_TAG] = role_name
        lam = self._clients.lambda_
        created = False
        try:
            variables = {**spec.env, HANDLER_ENV: spec.handler}
            self._clients.retry_propagation(
                lambda: lam.create_function(
                    FunctionName=spec.name, Runtime=spec.runtime,  # type: ignore[arg-type]
                    Role=role_arn, Handler=SHIM_HANDLER,
                    Code={"ZipFile": plan.package.zip_bytes}, Timeout=spec.timeout_s,
                    MemorySize=spec.memory_mb, Environment={"Variables": variables},
                    Tags=tags, PackageType="Zip", Publish=False,
                    Description="Deployed by unicompute"),
                hint=_ROLE_NOT_READY)
            created = True
            if spec.concurrency is not None:
                lam.put_function_concurrency(FunctionName=spec.name,
                                             ReservedConcurrentExecutions=spec.concurrency)
            answer = lam.get_function(FunctionName=spec.name)
        except BaseException:
            if created:
                self._delete_quietly(spec.name)
            if role_name is not None:
                iam.delete_role(self._clients.iam, role_name)
            raise
        return function_info(answer, tags=answer.get("Tags", tags))

    def _delete_quietly(self, name: str) -> None:
        try:
            self._clients.lambda_.delete_function(FunctionName=name)
        except ClientError as exc:
            lambda_triggers.LOG.warning("could not delete half-created function %s: %s",
                                        name, exc)

    def update_code(self, plan: FunctionPlan, current: FunctionInfo) -> bool:
        # The first step of an update: a missing trigger queue is found before any change.
        lambda_triggers.queue_arns(self._clients, plan.spec.triggers)
        if current.code_sha256 == plan.package.sha256:
            return False
        self._clients.lambda_.update_function_code(FunctionName=plan.spec.name,
                                                   ZipFile=plan.package.zip_bytes)
        return True

    def update_config(self, plan: FunctionPlan, current: FunctionInfo) -> bool:
        """Converge settings, role and tags on the spec. Without ``options.role_arn`` the
        function runs under a role unicompute made: one is created (and the function tagged
        with it) when it runs under a user's role; with it, the role unicompute made is
        deleted once unused. A user's role is never deleted. A role this call created is
        deleted again if the update fails."""
        spec = plan.spec
        options = spec.options if isinstance(spec.options, Options) else Options()
        lam = self._clients.lambda_
        raw: Mapping[str, Any] = current.raw or {}
        configuration: Mapping[str, Any] = raw.get("Configuration", {})
        now_tags: dict[str, str] = dict(raw.get("Tags", {}))
        arn = configuration.get("FunctionArn", spec.name)
        desired: dict[str, Any] = {
            "Runtime": spec.runtime, "Handler": SHIM_HANDLER, "MemorySize": spec.memory_mb,
            "Timeout": spec.timeout_s,
        }
        changes = {k: v for k, v in desired.items() if configuration.get(k) != v}
        variables = {**spec.env, HANDLER_ENV: spec.handler}
        if configuration.get("Environment", {}).get("Variables", {}) != variables:
            changes["Environment"] = {"Variables": variables}
        old_role = now_tags.get(ROLE_TAG)
        made: str | None = None
        if options.role_arn is not None:
            role_arn = options.role_arn
        else:
            role_arn, made = self._own_role(spec.name, arn, configuration.get("Role"),
                                            old_role, spec.tags)
            if made is not None:
                now_tags[ROLE_TAG] = made
        if configuration.get("Role") != role_arn:
            changes["Role"] = role_arn
        try:
            if changes:
                self._clients.retry_propagation(
                    lambda: lam.update_function_configuration(FunctionName=spec.name, **changes),
                    hint=_ROLE_NOT_READY)
        except BaseException:
            if made is not None:
                self._forget_role(arn, made, restore=old_role)
            raise
        if options.role_arn is not None and old_role is not None:
            # The user now names the role: the one unicompute made is no longer used.
            self._delete_own_role(old_role)
            now_tags.pop(ROLE_TAG, None)
            lam.untag_resource(Resource=arn, TagKeys=[ROLE_TAG])
        if current.concurrency != spec.concurrency:
            if spec.concurrency is None:
                lam.delete_function_concurrency(FunctionName=spec.name)
            else:
                lam.put_function_concurrency(FunctionName=spec.name,
                                             ReservedConcurrentExecutions=spec.concurrency)
        wanted = _managed(spec.tags)
        keep = {k: v for k, v in now_tags.items() if k == ROLE_TAG}
        stale = [k for k in now_tags if k not in wanted and k not in keep]
        added = {k: v for k, v in wanted.items() if now_tags.get(k) != v}
        if stale:
            lam.untag_resource(Resource=arn, TagKeys=stale)
        if added:
            lam.tag_resource(Resource=arn, Tags=added)
        return bool(changes)

    def _own_role(self, name: str, function_arn: str, running: object, tagged: str | None,
                  tags: Mapping[str, str]) -> tuple[str, str | None]:
        """The ARN of the role unicompute made for function ``name`` (``tagged``, when the
        function names one that still exists), and the name of a role created now (``None``
        if none was). A created role is tagged on the function before it is used, so a
        deploy cut short leaves a role the next deploy or delete finds."""
        iam_client = self._clients.iam
        if tagged is not None:
            if isinstance(running, str) and running.endswith(f":role/{tagged}"):
                return running, None
            try:
                return str(iam_client.get_role(RoleName=tagged)["Role"]["Arn"]), None
            except ClientError as exc:
                if error_code(exc) != "NoSuchEntity":
                    raise
        role_name = iam.role_name_for(name)
        role_arn = iam.create_role(iam_client, role_name, _managed(tags))
        try:
            self._clients.lambda_.tag_resource(Resource=function_arn,
                                               Tags={ROLE_TAG: role_name})
        except BaseException:
            iam.delete_role(iam_client, role_name)
            raise
        return role_arn, role_name

    def _forget_role(self, function_arn: str, role: str, *, restore: str | None) -> None:
        """Undo :meth:`_own_role`'s creation of ``role``: the function's role tag goes back to
        ``restore`` (or away) and the role is deleted; failures are logged, not raised."""
        lam = self._clients.lambda_
        try:
            if restore is None:
                lam.untag_resource(Resource=function_arn, TagKeys=[ROLE_TAG])
            else:
                lam.tag_resource(Resource=function_arn, Tags={ROLE_TAG: restore})
            iam.delete_role(self._clients.iam, role)
        except ClientError as exc:
            lambda_triggers.LOG.warning("could not delete role %s made for a failed update: %s",
                                        role, exc)

    def sync_triggers(self, plan: FunctionPlan, current: FunctionInfo) -> None:
        raw: Mapping[str, Any] = current.raw or {}
        tags: Mapping[str, str] = raw.get("Tags", {})
        lambda_triggers.sync(
            self._clients, name=plan.spec.name,
            function_arn=raw["Configuration"]["FunctionArn"], triggers=plan.spec.triggers,
            tags=_managed(user_tags(tags)), own_role=tags.get(ROLE_TAG))

    def delete_function(self, name: str) -> None:
        lam = self._clients.lambda_
        answer = lam.get_function(FunctionName=name)
        tags: Mapping[str, str] = answer.get("Tags", {})
        arn = answer["Configuration"]["FunctionArn"]
        lambda_triggers.remove_all(self._clients, name,
                                   lambda_triggers.read(self._clients, name, arn))
        # The role goes before the function, whose tag names it: if a step fails, the next
        # delete finds what is left from the function (a role deleted after it would leak).
        role = tags.get(ROLE_TAG)
        if role is not None:
            self._delete_own_role(role)
        try:
            lam.delete_function(FunctionName=name)
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise

    def _delete_own_role(self, role: str) -> None:
        """Delete ``role`` if it carries unicompute's managed tag (never a user's role)."""
        try:
            role_tags = self._clients.iam.list_role_tags(RoleName=role)["Tags"]
        except ClientError as exc:
            if error_code(exc) == "NoSuchEntity":
                return
            raise
        if {"Key": MANAGED_TAG, "Value": "true"} in role_tags:
            iam.delete_role(self._clients.iam, role)

    # -- running ----------------------------------------------------------------------------
    def invoke(self, name: str, payload: bytes, mode: InvokeMode) -> InvocationInfo:
        lam = self._clients.lambda_
        if mode == "sync":
            answer = lam.invoke(FunctionName=name, InvocationType="RequestResponse",
                                LogType="Tail", Payload=payload)
        else:
            answer = lam.invoke(FunctionName=name, Payload=payload,
                                InvocationType=_INVOCATION_TYPES[mode])  # type: ignore[arg-type]
        stream = answer.get("Payload")
        body = stream.read() if stream is not None else b""
        logs = base64.b64decode(answer.get("LogResult") or "").decode("utf-8", "replace")
        duration, billed, cold = parse_report(logs)
        function_error = answer.get("FunctionError")
        return InvocationInfo(
            status_code=int(answer["StatusCode"]),
            payload=body,
            request_id=answer.get("ResponseMetadata", {}).get("RequestId"),
            error=failure(body, function_error) if function_error else None,
            logs=logs,
            duration_ms=duration,
            billed_ms=billed,
            cold_start=cold,
        )

    def logs(self, name: str, *, since_ms: int | None, limit: int) -> list[LogLine]:
        kwargs: dict[str, Any] = {"logGroupName": f"/aws/lambda/{name}"}
        if since_ms is not None:
            kwargs["startTime"] = since_ms
        lines: deque[LogLine] = deque(maxlen=limit)
        try:
            for page in self._clients.logs.get_paginator("filter_log_events").paginate(**kwargs):
                for event in page.get("events", []):
                    lines.append(LogLine(timestamp_ms=int(event.get("timestamp", 0)),
                                         message=str(event.get("message", "")).rstrip("\n")))
        except ClientError as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return []
            raise
        return sorted(lines, key=lambda line: line.timestamp_ms)

    def close(self) -> None:
        self._clients.close()
