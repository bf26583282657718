"""What the drivers of one open Libcloud cloud share: the ``NodeDriver``, names, the operations
it supports, and how long waits poll."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..._errors import Unsupported
from ..._waiting import Poller
from ...driver import Capability

#: Seconds between polls unless the ``poll_interval`` setting says otherwise.
DEFAULT_POLL_INTERVAL = 2.0


@dataclass(kw_only=True)
class Context:
    """``provider`` is unicompute's name (``"libcloud:ec2"``), ``name`` Libcloud's (``"ec2"``).

    ``operations`` are the keys of :data:`.capabilities.OPERATIONS` the driver implements.
    Every wait and retry polls on :attr:`poller`: ``poll_interval`` seconds (the provider's
    ``poll_interval`` setting) between polls, on ``clock`` and ``sleep``.
    """

    provider: str
    name: str
    region: str
    driver: Any
    operations: frozenset[str]
    capabilities: frozenset[Capability]
    poll_interval: float = DEFAULT_POLL_INTERVAL
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    #: VMs per page of ``list_vms``; Libcloud returns whole lists, which are sliced.
    page_size: int = 100
    #: Seconds to retry calls that fail only until an earlier change settles (EC2: a new
    #: security group not known yet).
    consistency_timeout: float = 60.0
    #: Seconds to retry deleting a security group a just-terminated VM still holds.
    group_delete_timeout: float = 180.0

    @property
    def poller(self) -> Poller:
        """The schedule of the waits (:meth:`Poller.every` of ``poll_interval``)."""
        return Poller.every(self.poll_interval, clock=self.clock, sleep=self.sleep)

    def require(self, operation: str, portable_operation: str | None = None) -> None:
        """``Unsupported`` naming the provider and operation unless the driver implements
        ``operation``."""
        if operation not in self.operations:
            shown = portable_operation or operation
            raise Unsupported(
                f"the Libcloud {self.name} driver does not support {shown}",
                provider=self.provider,
                operation=shown,
            )

    def unsupported(self, what: str, operation: str) -> Unsupported:
        return Unsupported(
            f"unicompute cannot {what} on Libcloud's {self.name} driver",
            provider=self.provider,
            operation=operation,
        )
