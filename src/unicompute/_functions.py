"""Portable serverless functions: :class:`Functions` (one cloud's collection) and
:class:`Function`.

Validation, packaging, waiting between steps, undoing a half-made deploy, and turning a failed
invocation into :class:`~unicompute.FunctionError` happen here, once for every provider; the
driver (:class:`~unicompute.driver.FunctionDriver`) only talks to its cloud.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Any

from ._context import CloudContext
from ._errors import (
    Conflict,
    FunctionError,
    InvalidRequest,
    NotFound,
    ProviderError,
    UnicomputeError,
)
from ._function_models import (
    FunctionInfo,
    FunctionLimits,
    FunctionPlan,
    FunctionSpec,
    FunctionState,
    Invocation,
    InvocationInfo,
    InvokeMode,
    LogLine,
    Trigger,
    check_spec,
    encode_payload,
)
from ._launch_checks import check_id
from ._models import freeze_tags
from ._packaging import build_package
from ._waiting import check_timeout
from .driver import Capability, FunctionDriver

_log = logging.getLogger("unicompute")

#: States from which a function can be invoked or changed.
_READY = frozenset({FunctionState.ACTIVE, FunctionState.INACTIVE})
#: States in which the cloud is still applying a create or an update.
_BUSY = frozenset({FunctionState.PENDING, FunctionState.UPDATING})
#: Default seconds a deploy waits for the cloud to finish creating or updating the function.
DEPLOY_TIMEOUT = 600.0


def _driver(ctx: CloudContext, operation: str) -> FunctionDriver:
    ctx.require(Capability.FUNCTIONS, operation)
    driver = ctx.drivers.functions
    if driver is None:  # a provider that declares the capability without the driver
        raise ProviderError(f"{ctx.provider} declares functions but has no function driver",
                            provider=ctx.provider, operation=operation)
    return driver


def _limits(ctx: CloudContext) -> FunctionLimits:
    limits = ctx.drivers.limits.functions
    if limits is None:
        raise ProviderError(f"{ctx.provider} has no function limits", provider=ctx.provider)
    return limits


def _wait_settled(ctx: CloudContext, name: str, *, timeout: float, operation: str
                  ) -> FunctionInfo:
    """The function once no create or update is in progress (``ACTIVE``, ``INACTIVE``,
    ``FAILED`` or ``UNKNOWN``)."""
    driver = _driver(ctx, operation)
    return ctx.wait(
        lambda: ctx.call(operation, lambda: driver.get_function(name), resource=name,
                         idempotent=True),
        lambda info: info.state not in _BUSY,
        timeout=timeout, operation=operation, resource=name,
        what=f"function {name} to finish its last change",
    )


def _wait_ready(ctx: CloudContext, name: str, *, timeout: float, operation: str) -> FunctionInfo:
    """The function once it can be invoked and changed; ``Conflict`` if it went to FAILED."""
    driver = _driver(ctx, operation)

    def failed(info: FunctionInfo) -> None:
        if info.state is FunctionState.FAILED:
            raise Conflict(f"function {name} failed: {info.state_reason or 'no reason given'}",
                           provider=ctx.provider, operation=operation, resource=name)

    info = ctx.wait(
        lambda: ctx.call(operation, lambda: driver.get_function(name), resource=name,
                         idempotent=True),
        lambda info: info.state in _READY,
        timeout=timeout, operation=operation, resource=name, what=f"function {name} to be ready",
        check=failed,
    )
    return info


class Function:
    """One deployed function. Attributes reflect the last :meth:`refresh` (or the deploy or
    listing it came from)."""

    def __init__(self, ctx: CloudContext, info: FunctionInfo) -> None:
        self._ctx = ctx
        self._info = info

    # -- attributes -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._info.name

    @property
    def runtime(self) -> str:
        return self._info.runtime

    @property
    def handler(self) -> str:
        """The user's handler, ``module.function``."""
        return self._info.handler

    @property
    def memory_mb(self) -> int:
        return self._info.memory_mb

    @property
    def timeout_s(self) -> int:
        return self._info.timeout_s

    @property
    def state(self) -> FunctionState:
        return self._info.state

    @property
    def env(self) -> Mapping[str, str]:
        """The user's environment variables (the shim's own are not shown)."""
        return self._info.env

    @property
    def tags(self) -> Mapping[str, str]:
        return self._info.tags

    @property
    def url(self) -> str | None:
        """The HTTP trigger's URL; ``None`` without an :class:`~unicompute.HttpTrigger`."""
        return self._info.url

    @property
    def version(self) -> str | None:
        """Changes with every change of code or configuration; a re-deploy of the same code and
        configuration keeps it."""
        return self._info.version

    @property
    def concurrency(self) -> int | None:
        return self._info.concurrency

    @property
    def triggers(self) -> tuple[Trigger, ...] | None:
        """The triggers; ``None`` for a function read from a listing (``refresh()`` reads them)."""
        return self._info.triggers

    @property
    def provider(self) -> str:
        return self._ctx.provider

    @property
    def raw(self) -> Any:
        """The native SDK object this function was read from (escape hatch)."""
        return self._info.raw

    def __repr__(self) -> str:
        return (f"Function(provider={self.provider!r}, name={self.name!r}, "
                f"runtime={self.runtime!r}, state={self.state.value!r})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Function) and (other.provider, other.name) == (
            self.provider, self.name)

    def __hash__(self) -> int:
        return hash((self.provider, self.name))

    # -- actions ----------------------------------------------------------------------------
    def refresh(self) -> Function:
        """Re-read the function (with its triggers); ``NotFound`` once deleted."""
        driver = _driver(self._ctx, "functions.get")
        self._info = self._ctx.call("functions.get", lambda: driver.get_function(self.name),
                                    resource=self.name, idempotent=True)
        return self

    def invoke(self, payload: Any = None, *, mode: InvokeMode = "sync") -> Invocation:
        """Run the function with ``payload`` (anything JSON can encode).

        ``"sync"`` waits and returns the decoded result; ``"async"`` queues the event (the cloud
        retries a failing one) and returns at once; ``"dry_run"`` only checks the call would be
        allowed. A handler that raises, times out, cannot be imported, crashes or exceeds its
        memory raises :class:`~unicompute.FunctionError`. ``InvalidRequest`` (``payload``) when
        the payload is not JSON or exceeds the cloud's limit for ``mode``; ``Throttled`` when
        the function is at its concurrency limit.
        """
        operation = "functions.invoke"
        driver = _driver(self._ctx, operation)
        data = encode_payload(payload, mode, _limits(self._ctx))
        if self._info.state not in _READY:
            self._info = _wait_ready(self._ctx, self.name, timeout=DEPLOY_TIMEOUT,
                                     operation=operation)
        try:
            info = self._ctx.call(operation, lambda: driver.invoke(self.name, data, mode),
                                  resource=self.name)
        except Conflict:
            # The cloud is still applying a change, or reactivating an idle function.
            self._info = _wait_ready(self._ctx, self.name, timeout=DEPLOY_TIMEOUT,
                                     operation=operation)
            info = self._ctx.call(operation, lambda: driver.invoke(self.name, data, mode),
                                  resource=self.name)
        return self._outcome(info, mode)

    def _outcome(self, info: InvocationInfo, mode: InvokeMode) -> Invocation:
        result: Any = None
        if info.error is None and mode == "sync" and info.payload:
            try:
                result = json.loads(info.payload)
            except ValueError as exc:
                raise ProviderError("the function's result is not JSON", provider=self.provider,
                                    operation="functions.invoke", resource=self.name) from exc
        invocation = Invocation(
            result=result, status_code=info.status_code, logs=info.logs,
            duration_ms=info.duration_ms, billed_ms=info.billed_ms, cold_start=info.cold_start,
            request_id=info.request_id,
        )
        if info.error is not None:
            failure = info.error
            raise FunctionError(
                f"{failure.native_type}: {failure.message}",
                invocation=invocation, error_type=failure.error_type,
                native_type=failure.native_type, remote_traceback="\n".join(failure.traceback),
                provider=self.provider, operation="functions.invoke", resource=self.name,
            )
        return invocation

    def logs(self, *, since: datetime | None = None, limit: int = 100) -> list[LogLine]:
        """The function's most recent log lines (at most ``limit``, oldest first), written at or
        after ``since`` when given (an aware datetime)."""
        driver = _driver(self._ctx, "functions.logs")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 10_000:
            raise InvalidRequest("must be an int from 1 to 10000", field="limit")
        since_ms: int | None = None
        if since is not None:
            if not isinstance(since, datetime) or since.tzinfo is None:
                raise InvalidRequest("must be a timezone-aware datetime", field="since")
            since_ms = int(since.timestamp() * 1000)
        return self._ctx.call(
            "functions.logs", lambda: driver.logs(self.name, since_ms=since_ms, limit=limit),
            resource=self.name, idempotent=True)

    def delete(self) -> None:
        """Delete the function and all unicompute made for it; already gone is not an error."""
        with contextlib.suppress(NotFound):
            Functions(self._ctx).delete(self.name)


class Functions:
    """The serverless functions of one cloud (``cloud.functions``)."""

    def __init__(self, ctx: CloudContext) -> None:
        self._ctx = ctx

    @property
    def limits(self) -> FunctionLimits:
        """What deploys and invokes are checked against."""
        _driver(self._ctx, "functions.limits")
        return _limits(self._ctx)

    def deploy(self, spec: FunctionSpec, *, timeout: float = DEPLOY_TIMEOUT) -> Function:
        """Create the function, or update the one called ``spec.name`` to match ``spec``;
        returns once it is ready to invoke, with its triggers in place.

        Only what differs is changed: deploying identical code and configuration again makes no
        change (``version`` stays). The spec is checked and the package built before any call
        (``InvalidRequest`` naming the field). A create that fails part-way deletes what it
        made. A function in state ``FAILED`` is repaired: updated again, or deleted and created
        again where the cloud cannot update it (Lambda after a failed create); ``Conflict``
        with the cloud's reason if it fails once more. ``Timeout`` if the cloud takes longer
        than ``timeout`` seconds for one step.
        """
        operation = "functions.deploy"
        driver = _driver(self._ctx, operation)
        limits = _limits(self._ctx)
        checked = check_spec(spec, limits, self._ctx.drivers.options_type)
        seconds = check_timeout(timeout)
        package = build_package(checked.source_path, shim=limits.shim,
                                max_bytes=limits.max_package_bytes)
        plan = FunctionPlan(spec=checked, package=package)
        name = checked.name
        try:
            current: FunctionInfo | None = self._ctx.call(
                "functions.get", lambda: driver.get_function(name), resource=name,
                idempotent=True)
        except NotFound:
            current = None
        if current is None:
            return self._create(driver, plan, seconds)
        return self._update(driver, plan, seconds)

    def _update(self, driver: FunctionDriver, plan: FunctionPlan, timeout: float) -> Function:
        """Bring the existing function to ``plan``. A ``FAILED`` one is repaired: recreated
        when the cloud says it cannot be updated (``recreate_to_repair``), otherwise updated
        in place with its code uploaded again, which makes the cloud retry the change."""
        operation = "functions.deploy"
        name = plan.spec.name
        ready = _wait_settled(self._ctx, name, timeout=timeout, operation=operation)
        if ready.state is FunctionState.FAILED:
            _log.info("repairing failed function %s: %s", name,
                      ready.state_reason or "no reason given")
            if ready.recreate_to_repair:
                self._ctx.call("functions.delete", lambda: driver.delete_function(name),
                               resource=name)
                return self._create(driver, plan, timeout)
            ready = replace(ready, code_sha256=None)
        elif ready.state not in _READY:
            ready = _wait_ready(self._ctx, name, timeout=timeout, operation=operation)
        if self._ctx.call(operation, partial(driver.update_code, plan, ready), resource=name):
            ready = _wait_ready(self._ctx, name, timeout=timeout, operation=operation)
        if self._ctx.call(operation, partial(driver.update_config, plan, ready), resource=name):
            ready = _wait_ready(self._ctx, name, timeout=timeout, operation=operation)
        self._ctx.call(operation, partial(driver.sync_triggers, plan, ready), resource=name)
        return self.get(name)

    def _create(self, driver: FunctionDriver, plan: FunctionPlan, timeout: float) -> Function:
        operation = "functions.deploy"
        name = plan.spec.name
        self._ctx.call(operation, lambda: driver.create_function(plan), resource=name)
        try:
            ready = _wait_ready(self._ctx, name, timeout=timeout, operation=operation)
            self._ctx.call(operation, lambda: driver.sync_triggers(plan, ready), resource=name)
            return self.get(name)
        except BaseException as exc:
            try:
                self._ctx.call("functions.delete", lambda: driver.delete_function(name),
                               resource=name)
            except UnicomputeError as undo:
                _log.warning("could not delete half-deployed function %s: %s", name, undo)
            if isinstance(exc, UnicomputeError) and exc.resource is None:
                exc.resource = name
            raise

    def get(self, name: str) -> Function:
        """The function ``name`` with its triggers; ``NotFound`` if there is none."""
        check_id(name, "name")
        driver = _driver(self._ctx, "functions.get")
        info = self._ctx.call("functions.get", lambda: driver.get_function(name), resource=name,
                              idempotent=True)
        return Function(self._ctx, info)

    def list(self, *, tags: Mapping[str, str] | None = None) -> Iterator[Function]:
        """Every function of the region (lazily, page by page), or those carrying all ``tags``.
        Triggers are not read (``Function.triggers`` is ``None``; ``refresh()`` reads them)."""
        wanted = dict(freeze_tags(tags or {}))
        driver = _driver(self._ctx, "functions.list")
        return self._pages(driver, wanted)

    def _pages(self, driver: FunctionDriver, wanted: dict[str, str]) -> Iterator[Function]:
        token: str | None = None
        while True:
            page = self._ctx.call(
                "functions.list",
                partial(driver.list_functions, page_token=token), idempotent=True)
            for info in page.items:
                if dict(info.tags).items() >= wanted.items():
                    yield Function(self._ctx, info)
            if page.next_token is None:
                return
            token = page.next_token

    def delete(self, name: str) -> None:
        """Delete the function and everything unicompute made for it (triggers, permissions,
        the execution role it created); ``NotFound`` if there is no such function."""
        check_id(name, "name")
        driver = _driver(self._ctx, "functions.delete")
        self._ctx.call("functions.delete", lambda: driver.delete_function(name), resource=name)
