"""``mock.aws.functions``: the handle on the Lambda functions the AWS fake runs locally."""

from __future__ import annotations

from typing import Any

from .._kernel.clock import FakeClock
from ..runtime import LocalRuntime
from ._lambda import LambdaRunner


class FunctionsHandle:
    """What a test drives: :meth:`drain` waits for asynchronous invocations (``Event``
    invokes, schedules), :attr:`runtime` is the local runtime running every function."""

    def __init__(self, runner: LambdaRunner, clock: FakeClock) -> None:
        self._runner = runner
        self.clock = clock

    @property
    def runtime(self) -> LocalRuntime:
        return self._runner.runtime

    def drain(self, timeout: float | None = 30.0) -> bool:
        """Wait until every asynchronous invocation finished, retries included; ``False`` if
        ``timeout`` seconds passed first."""
        return self._runner.drain(timeout)

    def patches(self) -> list[Any]:
        """The moto patches (not started) that make functions run."""
        return self._runner.patches()

    def reset(self) -> None:
        """Kill every worker and forget every unpacked package."""
        self._runner.reset()
