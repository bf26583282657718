"""Waiting for Compute Engine operations, through the provider's own operation clients.

The SDK's ``insert()``/``delete()`` return an ``ExtendedOperation`` whose ``result()`` polls
through an operations client the SDK builds *without* the caller's ``client_options``: against a
fake or any custom endpoint it would poll ``compute.googleapis.com``. So the drivers call the
``*_unary`` methods, which return the raw :class:`compute_v1.Operation`, and wait here with the
zone, region or global operations client of :class:`~._clients.Clients` (same endpoint, same
credentials).

An operation is finished when its ``status`` is ``DONE``; it failed when it carries
``httpErrorStatusCode``/``httpErrorMessage`` or ``error.errors``, and then :func:`check` raises
the ``google.api_core`` exception the SDK itself would raise (``from_http_status``), with the
operation's errors attached so ``errors.py`` can map their codes (``QUOTA_EXCEEDED``,
``ZONE_RESOURCE_POOL_EXHAUSTED`` ...).
"""

from __future__ import annotations

from google.api_core import exceptions as core
from google.cloud import compute_v1

from ..._errors import Timeout
from ._clients import WAIT_REQUEST_TIMEOUT, Context
from .convert import PROVIDER, last_segment

DONE = compute_v1.Operation.Status.DONE


def is_done(op: compute_v1.Operation) -> bool:
    return op.status == DONE


def check(op: compute_v1.Operation) -> compute_v1.Operation:
    """``op`` if it did not fail; else the google-api-core exception for its error."""
    errors = list(op.error.errors)
    status = op.http_error_status_code
    if not status and not op.http_error_message and not errors:
        return op
    message = op.http_error_message or "operation failed"
    details = "; ".join(e.message for e in errors if e.message)
    if details:
        message = f"{message}: {details}"
    target = op.target_link.rsplit("/compute/v1/", 1)[-1]
    text = f"{op.operation_type or 'operation'} {target}: {message}"
    if status:
        raise core.from_http_status(status, text, errors=errors)  # type: ignore[no-untyped-call]
    raise core.GoogleAPICallError(text, errors=errors)  # type: ignore[no-untyped-call]


def poll(ctx: Context, op: compute_v1.Operation, timeout: float) -> compute_v1.Operation:
    """One ``operations.wait`` call on ``op``'s scope (GCE answers when the operation is done
    or after up to 2 minutes, whichever comes first)."""
    request_timeout = max(1.0, min(timeout, WAIT_REQUEST_TIMEOUT))
    if op.zone:
        return ctx.clients.zone_operations.wait(
            project=ctx.project, zone=last_segment(op.zone), operation=op.name, retry=None,
            timeout=request_timeout)
    if op.region:
        return ctx.clients.region_operations.wait(
            project=ctx.project, region=last_segment(op.region), operation=op.name,
            retry=None, timeout=request_timeout)
    return ctx.clients.global_operations.wait(
        project=ctx.project, operation=op.name, retry=None, timeout=request_timeout)


def wait(ctx: Context, op: compute_v1.Operation, *, timeout: float | None = None
         ) -> compute_v1.Operation:
    """Wait until ``op`` is DONE and :func:`check` it; ``Timeout`` naming the operation after
    ``timeout`` seconds (default ``ctx.wait_timeout``) on ``ctx.clock``. The operation goes on
    in GCE after a timeout.

    Polls on ``ctx.poller``: the first ``operations.wait`` call at once (GCE holds it until the
    operation is done), the next ones ``poll_interval`` seconds apart; each call may last the
    time left, up to :data:`WAIT_REQUEST_TIMEOUT`.
    """
    if is_done(op):
        return check(op)
    limit = ctx.wait_timeout if timeout is None else timeout
    deadline = ctx.clock() + limit

    def timed_out(_: object) -> Timeout:
        target = last_segment(op.target_link)
        return Timeout(
            f"GCE operation {op.name} ({op.operation_type} {target}) is not done after "
            f"{round(limit, 2):g} s", provider=PROVIDER, resource=target)

    if limit <= 0:
        raise timed_out(op)
    done = ctx.poller.until(
        lambda: poll(ctx, op, max(0.0, deadline - ctx.clock())), is_done,
        timeout=limit, what=f"GCE operation {op.name}", timed_out=timed_out)
    return check(done)


def wait_all(ctx: Context, ops: list[compute_v1.Operation], *, timeout: float | None = None
             ) -> list[BaseException]:
    """Wait for every operation (sharing one ``timeout`` on ``ctx.clock``); the errors of those
    that failed, in order. A timeout is raised at once."""
    limit = ctx.wait_timeout if timeout is None else timeout
    deadline = ctx.clock() + limit
    failures: list[BaseException] = []
    for op in ops:
        try:
            wait(ctx, op, timeout=max(0.0, deadline - ctx.clock()))
        except core.GoogleAPICallError as exc:
            failures.append(exc)
    return failures
