"""The boto clients the Lambda driver uses (Lambda, IAM, EventBridge, SQS, CloudWatch Logs),
created on first use from one botocore session, and its timing policy."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar, cast

import botocore.session
from botocore.exceptions import ClientError

from ..._waiting import Poller
from ._context import error_code, error_message

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient

T = TypeVar("T")

#: How long a call is repeated while IAM has not yet propagated a new role or policy to Lambda.
IAM_PROPAGATION_TIMEOUT = 60.0
#: Attempts of such a retry when polling without delay (a fake answers at once).
_ZERO_DELAY_ATTEMPTS = 3


class FunctionClients:
    """One region's clients, each created when first used and closed by :meth:`close`.

    ``poll_interval`` is the pause between the attempts of :meth:`retry_propagation`, on
    ``clock`` and ``sleep`` (see :attr:`poller`).
    """

    def __init__(
        self,
        *,
        session: botocore.session.Session,
        region: str,
        endpoint_url: str | None,
        poll_interval: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._session = session
        self.region = region
        self._endpoint_url = endpoint_url
        self.poll_interval = poll_interval
        self.clock = clock
        self.sleep = sleep
        self._made: list[Any] = []

    @property
    def poller(self) -> Poller:
        """The schedule of :meth:`retry_propagation`: ``poll_interval`` between attempts; with
        a zero interval (a fake that answers at once) at most :data:`_ZERO_DELAY_ATTEMPTS`."""
        return Poller.every(self.poll_interval, clock=self.clock, sleep=self.sleep,
                            zero_delay_attempts=_ZERO_DELAY_ATTEMPTS)

    def _client(self, service: str) -> Any:
        from ._session import create_client

        client = create_client(self._session, service, self.region, self._endpoint_url)
        self._made.append(client)
        return client

    @cached_property
    def lambda_(self) -> LambdaClient:
        return cast("LambdaClient", self._client("lambda"))

    @cached_property
    def iam(self) -> IAMClient:
        return cast("IAMClient", self._client("iam"))

    @cached_property
    def events(self) -> EventBridgeClient:
        return cast("EventBridgeClient", self._client("events"))

    @cached_property
    def sqs(self) -> SQSClient:
        return cast("SQSClient", self._client("sqs"))

    @cached_property
    def logs(self) -> Any:
        return self._client("logs")

    def close(self) -> None:
        for client in self._made:
            client.close()
        self._made.clear()

    def retry_propagation(self, call: Callable[[], T], *, hint: str) -> T:
        """``call()``, repeated on :attr:`poller` while Lambda rejects it with
        ``InvalidParameterValueException`` whose message contains ``hint`` (IAM is eventually
        consistent: a role created seconds ago "cannot be assumed by Lambda", a policy just put
        is not yet seen), for at most :data:`IAM_PROPAGATION_TIMEOUT` seconds; then the last
        error is raised (it may be the caller's mistake, not propagation: a role Lambda may
        never assume)."""

        def propagating(exc: Exception) -> bool:
            return (isinstance(exc, ClientError)
                    and error_code(exc) == "InvalidParameterValueException"
                    and hint in error_message(exc))

        return self.poller.retry(call, retry_on=propagating, timeout=IAM_PROPAGATION_TIMEOUT)
