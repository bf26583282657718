"""``mock.aws.functions``: the handle on the Lambda functions the AWS fake runs locally, and
the fake's clock-driven event sources (EventBridge schedules, SQS mappings)."""

from __future__ import annotations

import contextlib
from typing import Any

from .._kernel.clock import FakeClock
from ..runtime import LocalRuntime
from ._lambda import LambdaRunner
from ._lambda_states import Failure, mark, state_patches
from ._queues import QueuePoller, pull_model_patch
from ._schedules import Scheduler, validation_patch


class FunctionsHandle:
    """What a test drives.

    * :meth:`drain` waits for the asynchronous invocations that are due (``Event`` invokes,
      schedules). A failed one is retried as Lambda does, about 1 minute and then 2 minutes
      later: ``clock.advance(60)`` makes the first retry due, ``clock.advance(120)`` more the
      second; :attr:`waiting_retries` counts those not yet due.
    * :meth:`poll` delivers queued SQS messages to mapped functions (see ``_queues``).
    * Each ``clock.advance(s)`` fires due EventBridge schedules (see ``_schedules``), then polls.
    * :attr:`runtime` is the :class:`~unicompute.mocks.runtime.LocalRuntime` running them.
    * :meth:`fail` makes a function look as Lambda shows a failed create or update.
    """

    def __init__(self, runner: LambdaRunner, clock: FakeClock) -> None:
        self._runner = runner
        self.clock = clock
        self._scheduler = Scheduler(clock, self._fire)
        self._poller = QueuePoller(runner, clock)
        self._patches: list[Any] = []
        clock.on_advance(self._on_advance)

    @property
    def active(self) -> bool:
        return bool(self._patches)

    @property
    def runtime(self) -> LocalRuntime:
        return self._runner.runtime

    def drain(self, timeout: float | None = 30.0) -> bool:
        """Wait until every asynchronous invocation that is due finished (retries wait for
        the clock); ``False`` if ``timeout`` seconds passed first."""
        return self._runner.drain(timeout)

    @property
    def waiting_retries(self) -> int:
        """Retries of failed asynchronous invocations waiting for the clock to reach them."""
        return self._runner.runtime.waiting_retries if self.active else 0

    def poll(self) -> int:
        """Deliver the visible messages of every SQS event source mapping (see ``_queues``);
        the number of batches handled successfully."""
        return self._poller.poll() if self.active else 0

    def fail(self, function: str, reason: str = "The function could not be provisioned.", *,
             update: bool = False, code: str = "InternalError",
             region: str = "us-east-1") -> None:
        """Make ``function`` (a name in ``region`` of the fake's account, or an ARN) look as
        Lambda leaves a function whose create (``update=False``: ``State: Failed``) or last
        update (``update=True``: ``LastUpdateStatus: Failed``) failed, with ``reason`` and the
        reason ``code``; see ``_lambda_states``. ``KeyError`` if there is no such function."""
        from moto.awslambda_simple.models import lambda_simple_backends
        from moto.core.models import DEFAULT_ACCOUNT_ID

        account, name = DEFAULT_ACCOUNT_ID, function
        if function.startswith("arn:"):
            parts = function.split(":")
            region, account, name = parts[3], parts[4], parts[6]
        try:
            fn = lambda_simple_backends[account][region].get_function(name)
        except Exception as exc:
            raise KeyError(f"no function {function!r} in {region}") from exc
        mark(fn, Failure(kind="update" if update else "create", reason=reason, code=code))

    # -- lifetime (AwsFake) ------------------------------------------------------------------
    def start(self) -> None:
        """Patch moto so functions run, schedules validate and SQS mappings are polled."""
        if self._patches:
            return
        patches = [*self._runner.patches(), *state_patches(), validation_patch(),
                   pull_model_patch()]
        started: list[Any] = []
        try:
            for patch in patches:
                patch.start()
                started.append(patch)
        except BaseException:
            for patch in reversed(started):
                patch.stop()
            raise
        self._scheduler.reset()
        self._patches = started

    def stop(self) -> None:
        """Undo :meth:`start` and kill every worker."""
        patches, self._patches = self._patches, []
        for patch in reversed(patches):
            patch.stop()
        self.reset()

    def reset(self) -> None:
        """Kill every worker, forget every unpacked package and schedule position."""
        self._runner.reset()
        self._scheduler.reset()
        self._poller.reset()

    # -- event sources ------------------------------------------------------------------------
    def _on_advance(self, now: float) -> None:
        if not self.active:
            return
        self._scheduler.advance(now)
        self._poller.poll()

    def _fire(self, function_arn: str, event: bytes) -> None:
        from moto.awslambda_simple.models import lambda_simple_backends

        parts = function_arn.split(":")
        region, account, name = parts[3], parts[4], parts[6]
        qualifier = parts[7] if len(parts) > 7 else None
        # A target whose function is gone is skipped, as EventBridge drops the event.
        with contextlib.suppress(Exception):
            fn = lambda_simple_backends[account][region].get_function(name, qualifier)
            self._runner.run_async(fn, event)
