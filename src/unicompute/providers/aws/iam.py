"""Execution roles for Lambda functions: created when the user gives none, deleted with the
function.

A role is named ``uc-fn-<function>-<hex>``, trusts ``lambda.amazonaws.com``, carries the
function's tags plus ``unicompute:managed=true`` and has the ``AWSLambdaBasicExecutionRole``
managed policy (write its own logs). Where IAM does not offer that policy (a partition or a fake
without AWS-managed policies) an inline policy with the same permissions is put instead. Queue
triggers add an inline policy allowing exactly their queues to be read.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from ._context import error_code
from .convert import tag_list

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

BASIC_POLICY = "service-role/AWSLambdaBasicExecutionRole"
#: Inline policies unicompute puts on roles it creates.
BASIC_INLINE = "unicompute-basic-execution"
QUEUES_INLINE = "unicompute-queues"

_TRUST = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }],
})
_BASIC_STATEMENTS: list[dict[str, object]] = [{
    "Effect": "Allow",
    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
    "Resource": "*",
}]
_QUEUE_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]


def role_name_for(function_name: str) -> str:
    """A fresh role name for ``function_name`` (IAM allows 64 characters)."""
    return f"uc-fn-{function_name[:48]}-{secrets.token_hex(4)}"


def _partition(role_arn: str) -> str:
    return role_arn.split(":")[1] if role_arn.count(":") >= 5 else "aws"


def create_role(iam: IAMClient, name: str, tags: Mapping[str, str]) -> str:
    """Create role ``name`` for Lambda with basic execution rights; its ARN. On failure the role
    is deleted again."""
    arn = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=_TRUST,
        Description="Execution role of a function deployed by unicompute",
        Tags=tag_list(tags),  # type: ignore[arg-type]
    )["Role"]["Arn"]
    try:
        policy = f"arn:{_partition(arn)}:iam::aws:policy/{BASIC_POLICY}"
        try:
            iam.attach_role_policy(RoleName=name, PolicyArn=policy)
        except ClientError as exc:
            if error_code(exc) != "NoSuchEntity":
                raise
            put_inline(iam, name, BASIC_INLINE, _BASIC_STATEMENTS)
    except BaseException:
        delete_role(iam, name)
        raise
    return arn


def put_inline(iam: IAMClient, role: str, policy: str, statements: list[dict[str, object]]
               ) -> None:
    document = json.dumps({"Version": "2012-10-17", "Statement": statements})
    iam.put_role_policy(RoleName=role, PolicyName=policy, PolicyDocument=document)


def allow_queues(iam: IAMClient, role: str, queue_arns: Iterable[str]) -> bool:
    """Let ``role`` read exactly ``queue_arns`` (none: remove the permission); whether the role's
    policy changed."""
    arns = sorted(set(queue_arns))
    current = _inline(iam, role, QUEUES_INLINE)
    if not arns:
        if current is None:
            return False
        iam.delete_role_policy(RoleName=role, PolicyName=QUEUES_INLINE)
        return True
    statements: list[dict[str, object]] = [
        {"Effect": "Allow", "Action": _QUEUE_ACTIONS, "Resource": arns}]
    if current == statements:
        return False
    put_inline(iam, role, QUEUES_INLINE, statements)
    return True


def _inline(iam: IAMClient, role: str, policy: str) -> object | None:
    try:
        document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
    except ClientError as exc:
        if error_code(exc) == "NoSuchEntity":
            return None
        raise
    parsed = json.loads(document) if isinstance(document, str) else document
    return parsed.get("Statement") if isinstance(parsed, dict) else None


def delete_role(iam: IAMClient, name: str) -> None:
    """Detach, delete the inline policies of, and delete role ``name``; gone already is fine."""
    try:
        for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        iam.delete_role(RoleName=name)
    except ClientError as exc:
        if error_code(exc) != "NoSuchEntity":
            raise
