"""Schedule triggers as Cloud Scheduler jobs.

A ``ScheduleTrigger`` of function ``fn`` is the job ``uc-{fn}-{digest}`` (the digest of the
function and the expression, so the same trigger always maps to the same job) in the
function's region: unix-cron from :mod:`.unix_cron`, time zone UTC, an HTTP target
``{function uri}/_unicompute/schedule`` called with an OIDC token of the function's service
account and the function's invoke key (header ``x-unicompute-key``: the shim refuses the path
without it, so a public function's URL cannot be used to forge schedule events), an attempt
deadline following the function's timeout, and the body
``{"function": fn, "schedule": "<EventBridge expression>"}`` (which the shim turns into the
portable schedule event, and from which the trigger is read back). Only jobs with that prefix
whose body names the function are unicompute's. A job whose target or deadline no longer
matches the function (a new timeout, a re-created function) is updated by :func:`sync`.

Where the Cloud Scheduler API is disabled (403 ``SERVICE_DISABLED``), there can be no jobs:
reading answers none, so functions without schedules work there; creating one fails with
Google's error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from google.api_core import exceptions as core
from google.cloud import scheduler_v1

from .functions_clients import FunctionClients
from .functions_convert import INVOKE_KEY_HEADER
from .unix_cron import unix_cron

LOG = logging.getLogger("unicompute.providers.gcp")
SCHEDULE_PATH = "/_unicompute/schedule"
#: Cloud Scheduler's longest attempt deadline for HTTP targets.
MAX_ATTEMPT_DEADLINE_S = 1800
_PAGE_SIZE = 500


def job_id(function: str, expression: str) -> str:
    digest = hashlib.sha256(f"{function}\n{expression}".encode()).hexdigest()[:8]
    return f"uc-{function}-{digest}"


def job_path(clients: FunctionClients, job: str) -> str:
    return f"{clients.parent}/jobs/{job}"


@dataclass(frozen=True)
class JobTarget:
    """What a function's jobs call: its URI with its invoke key, as its service account,
    within ``deadline_s``."""

    uri: str
    key: str = field(repr=False)
    service_account: str
    deadline_s: int


@dataclass(frozen=True)
class JobState:
    """One job unicompute made: its EventBridge expression and what it calls."""

    expression: str
    target: JobTarget


def attempt_deadline(timeout_s: int) -> int:
    """The attempt deadline of a function's jobs: its timeout, within Cloud Scheduler's
    15 s-30 min."""
    return max(15, min(timeout_s, MAX_ATTEMPT_DEADLINE_S))


def _service_disabled(exc: core.GoogleAPICallError) -> bool:
    """Whether ``exc`` says the API is disabled in the project (403, over REST ``Forbidden``,
    with the ``ErrorInfo`` reason ``SERVICE_DISABLED``)."""
    return isinstance(exc, core.Forbidden | core.PermissionDenied) \
        and exc.reason == "SERVICE_DISABLED"


def read(clients: FunctionClients, function: str) -> dict[str, JobState]:
    """Job id → state of every job unicompute made for ``function`` (none where the Cloud
    Scheduler API is disabled)."""
    prefix = f"uc-{function}-"
    found: dict[str, JobState] = {}
    request = scheduler_v1.ListJobsRequest(parent=clients.parent, page_size=_PAGE_SIZE)
    try:
        jobs = list(clients.scheduler.list_jobs(request=request, **clients.rpc))
    except (core.Forbidden, core.PermissionDenied) as exc:
        if _service_disabled(exc):
            return {}
        raise
    for job in jobs:
        short = job.name.rsplit("/", 1)[-1]
        if not short.startswith(prefix):
            continue
        try:
            body = json.loads(job.http_target.body or b"{}")
        except ValueError:
            continue
        if isinstance(body, dict) and body.get("function") == function and body.get("schedule"):
            found[short] = JobState(str(body["schedule"]), _target_of(job))
    return found


def _target_of(job: scheduler_v1.Job) -> JobTarget:
    http = job.http_target
    headers = {k.lower(): v for k, v in http.headers.items()}
    uri = http.uri
    if uri.endswith(SCHEDULE_PATH):
        uri = uri[:-len(SCHEDULE_PATH)]
    deadline = job.attempt_deadline
    return JobTarget(uri=uri, key=headers.get(INVOKE_KEY_HEADER, ""),
                     service_account=http.oidc_token.service_account_email,
                     deadline_s=int(deadline.total_seconds()) if deadline else 180)


def _http_target(function: str, expression: str, target: JobTarget) -> scheduler_v1.HttpTarget:
    http = scheduler_v1.HttpTarget(
        uri=target.uri.rstrip("/") + SCHEDULE_PATH,
        http_method=scheduler_v1.HttpMethod.POST,
        headers={"content-type": "application/json", INVOKE_KEY_HEADER: target.key},
        body=json.dumps({"function": function, "schedule": expression}).encode(),
    )
    if target.service_account:
        http.oidc_token = scheduler_v1.OidcToken(
            service_account_email=target.service_account, audience=target.uri)
    return http


def create(clients: FunctionClients, *, function: str, expression: str,
           target: JobTarget) -> str:
    """Create the job of ``expression`` calling the function at ``target``; its id."""
    job = job_id(function, expression)
    clients.scheduler.create_job(
        parent=clients.parent,
        job=scheduler_v1.Job(
            name=job_path(clients, job), description=f"Schedule of function {function} "
            "(unicompute)", schedule=unix_cron(expression), time_zone="Etc/UTC",
            http_target=_http_target(function, expression, target),
            attempt_deadline=timedelta(seconds=target.deadline_s)),
        **clients.rpc)
    return job


def update(clients: FunctionClients, *, function: str, job: str, expression: str,
           target: JobTarget) -> None:
    """Point job ``job`` at ``target`` (its HTTP target and attempt deadline)."""
    clients.scheduler.update_job(
        job=scheduler_v1.Job(name=job_path(clients, job),
                             http_target=_http_target(function, expression, target),
                             attempt_deadline=timedelta(seconds=target.deadline_s)),
        update_mask={"paths": ["http_target", "attempt_deadline"]},
        **clients.rpc)


def delete(clients: FunctionClients, job: str) -> None:
    """Delete job ``job``; one already gone is not an error."""
    with contextlib.suppress(core.NotFound):
        clients.scheduler.delete_job(name=job_path(clients, job), **clients.rpc)


def sync(clients: FunctionClients, *, function: str, wanted: tuple[str, ...],
         target: JobTarget, current: Mapping[str, JobState]) -> None:
    """Make the function's jobs exactly those of the ``wanted`` expressions, each calling
    ``target``; jobs this call created are deleted again if it fails."""
    desired = {job_id(function, expression): expression for expression in wanted}
    made: list[str] = []
    try:
        for job, expression in desired.items():
            if job not in current:
                made.append(create(clients, function=function, expression=expression,
                                   target=target))
            elif current[job].target != target:
                update(clients, function=function, job=job, expression=expression,
                       target=target)
    except BaseException:
        for job in made:
            try:
                delete(clients, job)
            except core.GoogleAPICallError as exc:
                LOG.warning("could not delete schedule job %s of %s: %s", job, function, exc)
        raise
    for job in current.keys() - desired.keys():
        delete(clients, job)
