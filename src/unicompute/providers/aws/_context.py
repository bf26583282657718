"""What the AWS drivers share: the EC2 client, the region, and the polling policy."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from botocore.exceptions import ClientError

from ..._errors import NotFound, Timeout
from ..._waiting import Poller
from ...driver import MANAGED_TAG
from .convert import PROVIDER, tag_list

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.literals import ResourceTypeType
    from mypy_boto3_ec2.type_defs import InstanceTypeDef, TagSpecificationTypeDef

T = TypeVar("T")

#: Where the AWS provider logs what it could not clean up.
LOG = logging.getLogger("unicompute.providers.aws")

#: Seconds between polls on real AWS.
DEFAULT_POLL_INTERVAL = 5.0
#: How long a driver waits for one EC2 state change before giving up.
DEFAULT_WAIT_TIMEOUT = 900.0
#: How long a driver waits for EC2's eventual consistency: a resource just created becoming
#: visible to the other API calls (DescribeInstances, AuthorizeSecurityGroupIngress ...).
DEFAULT_CONSISTENCY_TIMEOUT = 60.0
#: How long deleting a security group is retried while EC2 still holds it for a terminated
#: instance (``DependencyViolation``); the network interface is usually released in seconds.
DEFAULT_GROUP_DELETE_TIMEOUT = 180.0

#: What EC2 answers for an instance id it does not know (yet).
INSTANCE_NOT_FOUND = "InvalidInstanceID.NotFound"


def error_code(exc: ClientError) -> str:
    """The EC2 error code of a ``ClientError``."""
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: ClientError) -> str:
    """The message EC2 sent with a ``ClientError``."""
    return str(exc.response.get("Error", {}).get("Message", ""))


@dataclass(frozen=True, kw_only=True)
class Context:
    """One region's EC2 client and the polling policy of every wait done through it.

    Every wait polls on :attr:`poller`: every ``poll_interval`` seconds (the provider's
    ``poll_interval`` config: a fixed delay between polls), on ``clock`` and ``sleep``.
    """

    client: EC2Client
    region: str
    poll_interval: float = DEFAULT_POLL_INTERVAL
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT
    consistency_timeout: float = DEFAULT_CONSISTENCY_TIMEOUT
    group_delete_timeout: float = DEFAULT_GROUP_DELETE_TIMEOUT
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    @property
    def poller(self) -> Poller:
        """The schedule of the waits: ``poll_interval`` between polls, no backoff; with a zero
        interval (a fake that answers at once) at most
        :data:`unicompute._waiting.ZERO_DELAY_ATTEMPTS` attempts."""
        return Poller.every(self.poll_interval, clock=self.clock, sleep=self.sleep)

    def live_instance(self, vm_id: str) -> InstanceTypeDef:
        """The instance ``vm_id``; ``NotFound`` if it is unknown or terminated.

        EC2 keeps terminated instances listed for a while; the portable contract counts them as
        gone. One call, no retry: a missing id fails at once.
        """
        instance = self.instance_including_terminated(vm_id)
        if instance.get("State", {}).get("Name") == "terminated":
            raise NotFound(f"VM {vm_id} does not exist", provider=PROVIDER, resource=vm_id)
        return instance

    def instance_including_terminated(self, vm_id: str) -> InstanceTypeDef:
        """The instance ``vm_id`` in whatever state, ``terminated`` included, while EC2 still
        lists it; EC2's ``InvalidInstanceID.NotFound`` (``NotFound``) when it does not know the
        id. One call, no retry."""
        answer = self.client.describe_instances(InstanceIds=[vm_id])
        for reservation in answer["Reservations"]:
            for instance in reservation.get("Instances", []):
                if instance.get("InstanceId") == vm_id:
                    return instance
        raise NotFound(f"VM {vm_id} does not exist", provider=PROVIDER, resource=vm_id)

    def retry_while(
        self,
        codes: frozenset[str],
        call: Callable[[], T],
        *,
        timeout: float | None = None,
        when: Callable[[ClientError], bool] | None = None,
    ) -> T:
        """``call()``, repeated on :attr:`poller` while it fails with one of ``codes`` (and, if
        given, ``when(error)`` holds).

        For calls that fail until an earlier change settles (deleting a security group while the
        terminated instance's network interface is still being released; using an id EC2 has
        just issued). After ``timeout`` (default ``wait_timeout``) the last error is raised.
        """

        def settling(exc: Exception) -> bool:
            return (
                isinstance(exc, ClientError)
                and error_code(exc) in codes
                and (when is None or when(exc))
            )

        return self.poller.retry(
            call, retry_on=settling, timeout=self.wait_timeout if timeout is None else timeout
        )

    def wait_visible(self, instance_ids: list[str]) -> list[InstanceTypeDef]:
        """The instances, once DescribeInstances knows every one of them.

        Just after RunInstances, EC2 may answer ``InvalidInstanceID.NotFound`` for a while
        (eventual consistency). ``Timeout`` after ``consistency_timeout``.
        """

        def fetch() -> list[InstanceTypeDef]:
            try:
                answer = self.client.describe_instances(InstanceIds=instance_ids)
            except ClientError as exc:
                if error_code(exc) != INSTANCE_NOT_FOUND:
                    raise
                return []
            return [i for r in answer["Reservations"] for i in r.get("Instances", [])]

        def listed(found: list[InstanceTypeDef]) -> bool:
            return {i["InstanceId"] for i in found} >= set(instance_ids)

        def timed_out(_: object) -> Timeout:
            return Timeout(
                f"EC2 still does not list the new instances {', '.join(instance_ids)} "
                f"after {self.consistency_timeout:g} s",
                provider=PROVIDER,
                resource=", ".join(instance_ids),
            )

        return self.poller.until(
            fetch, listed, timeout=self.consistency_timeout, what="the new instances",
            timed_out=timed_out,
        )

    def wait_terminated(self, instance_ids: Iterable[str], *, timeout: float | None = None
                        ) -> None:
        """Poll until every instance is ``terminated`` or no longer listed.

        Every other state (``pending``, ``stopping``, ``shutting-down`` ...) means "not yet":
        unlike boto3's ``instance_terminated`` waiter, which gives up at once on ``pending`` or
        ``stopping``. ``Timeout`` naming the instances after ``timeout`` seconds (default
        ``wait_timeout``).
        """
        ids = list(instance_ids)
        limit = self.wait_timeout if timeout is None else timeout

        def not_terminated() -> list[str]:
            pages = self.client.get_paginator("describe_instances").paginate(
                Filters=[{"Name": "instance-id", "Values": ids}]
            )
            return sorted(
                instance["InstanceId"]
                for page in pages
                for reservation in page["Reservations"]
                for instance in reservation.get("Instances", [])
                if instance.get("State", {}).get("Name") != "terminated"
            )

        def timed_out(remaining: list[str]) -> Timeout:
            return Timeout(
                f"instance {', '.join(remaining)} did not reach 'terminated' within {limit:g} s",
                provider=PROVIDER,
                resource=", ".join(remaining),
            )

        self.poller.until(
            not_terminated, lambda remaining: not remaining, timeout=limit,
            what="the instances to terminate", timed_out=timed_out,
        )


def managed_tags(name: str | None, tags: Mapping[str, str]) -> dict[str, str]:
    """``tags`` plus ``Name`` (when given) and the managed marker."""
    result = dict(tags)
    if name:
        result["Name"] = name
    result[MANAGED_TAG] = "true"
    return result


def tag_spec(resource_type: ResourceTypeType, tags: Mapping[str, str]) -> TagSpecificationTypeDef:
    """One ``TagSpecifications`` entry."""
    return {"ResourceType": resource_type, "Tags": tag_list(tags)}
