"""What the AWS drivers share: the EC2 client, the region, and the polling policy."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from botocore.exceptions import ClientError

from ..._errors import NotFound
from ...driver import MANAGED_TAG
from .convert import PROVIDER, tag_list

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.literals import ResourceTypeType
    from mypy_boto3_ec2.type_defs import (
        InstanceTypeDef,
        TagSpecificationTypeDef,
        WaiterConfigTypeDef,
    )

T = TypeVar("T")

#: Seconds between polls on real AWS.
DEFAULT_POLL_INTERVAL = 5.0
#: How long a driver waits for one EC2 state change before giving up.
DEFAULT_WAIT_TIMEOUT = 900.0
#: Attempts of a waiter whose poll interval is zero (a fake that answers at once).
_ZERO_DELAY_ATTEMPTS = 40


@dataclass(frozen=True, kw_only=True)
class Context:
    """One region's EC2 client and the polling policy of every wait done through it."""

    client: EC2Client
    region: str
    poll_interval: float = DEFAULT_POLL_INTERVAL
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT

    def waiter_config(self) -> WaiterConfigTypeDef:
        """boto3 ``WaiterConfig``: poll every ``poll_interval`` for up to ``wait_timeout``."""
        if self.poll_interval > 0:
            attempts = max(1, math.ceil(self.wait_timeout / self.poll_interval))
        else:
            attempts = _ZERO_DELAY_ATTEMPTS
        # botocore sleeps ``Delay`` seconds with time.sleep, so a float is fine at runtime.
        return {"Delay": self.poll_interval, "MaxAttempts": attempts}  # type: ignore[typeddict-item]

    def live_instance(self, vm_id: str) -> InstanceTypeDef:
        """The instance ``vm_id``; ``NotFound`` if it is unknown or terminated.

        EC2 keeps terminated instances listed for a while; the portable contract counts them as
        gone.
        """
        answer = self.client.describe_instances(InstanceIds=[vm_id])
        for reservation in answer["Reservations"]:
            for instance in reservation.get("Instances", []):
                if instance.get("State", {}).get("Name") != "terminated":
                    return instance
        raise NotFound(f"VM {vm_id} does not exist", provider=PROVIDER, resource=vm_id)

    def retry_while(self, codes: frozenset[str], call: Callable[[], T]) -> T:
        """``call()``, repeated every ``poll_interval`` while it fails with one of ``codes``.

        For calls that fail until an earlier change settles (deleting a security group while the
        terminated instance's network interface is still being released). After ``wait_timeout``
        the last error is raised.
        """
        deadline = time.monotonic() + self.wait_timeout
        attempts = 0
        while True:
            try:
                return call()
            except ClientError as exc:
                attempts += 1
                code = exc.response.get("Error", {}).get("Code", "")
                out_of_time = (
                    time.monotonic() >= deadline
                    if self.poll_interval > 0
                    else attempts >= _ZERO_DELAY_ATTEMPTS
                )
                if code not in codes or out_of_time:
                    raise
            time.sleep(self.poll_interval)


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
