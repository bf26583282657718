"""Schedule triggers as Cloud Scheduler jobs.

A ``ScheduleTrigger`` of function ``fn`` is the job ``uc-{fn}-{digest}`` (the digest of the
function and the expression, so the same trigger always maps to the same job) in the
function's region: unix-cron from :mod:`.unix_cron`, time zone UTC, an HTTP target
``{function uri}/_unicompute/schedule`` called with an OIDC token of the function's service
account, and the body ``{"function": fn, "schedule": "<EventBridge expression>"}`` (which the
shim turns into the portable schedule event, and from which the trigger is read back). Only
jobs with that prefix whose body names the function are unicompute's.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import timedelta

from google.api_core import exceptions as core
from google.cloud import scheduler_v1

from .functions_clients import FunctionClients
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


def read(clients: FunctionClients, function: str) -> dict[str, str]:
    """Job id → EventBridge expression of every job unicompute made for ``function``."""
    prefix = f"uc-{function}-"
    found: dict[str, str] = {}
    request = scheduler_v1.ListJobsRequest(parent=clients.parent, page_size=_PAGE_SIZE)
    for job in clients.scheduler.list_jobs(request=request, **clients.rpc):
        short = job.name.rsplit("/", 1)[-1]
        if not short.startswith(prefix):
            continue
        try:
            body = json.loads(job.http_target.body or b"{}")
        except ValueError:
            continue
        if isinstance(body, dict) and body.get("function") == function and body.get("schedule"):
            found[short] = str(body["schedule"])
    return found


def create(clients: FunctionClients, *, function: str, expression: str, uri: str,
           service_account: str, timeout_s: int) -> str:
    """Create the job of ``expression`` calling the function at ``uri``; its id."""
    job = job_id(function, expression)
    target = scheduler_v1.HttpTarget(
        uri=uri.rstrip("/") + SCHEDULE_PATH,
        http_method=scheduler_v1.HttpMethod.POST,
        headers={"content-type": "application/json"},
        body=json.dumps({"function": function, "schedule": expression}).encode(),
    )
    if service_account:
        target.oidc_token = scheduler_v1.OidcToken(service_account_email=service_account,
                                                   audience=uri)
    deadline = max(15, min(timeout_s, MAX_ATTEMPT_DEADLINE_S))
    clients.scheduler.create_job(
        parent=clients.parent,
        job=scheduler_v1.Job(
            name=job_path(clients, job), description=f"Schedule of function {function} "
            "(unicompute)", schedule=unix_cron(expression), time_zone="Etc/UTC",
            http_target=target, attempt_deadline=timedelta(seconds=deadline)),
        **clients.rpc)
    return job


def delete(clients: FunctionClients, job: str) -> None:
    """Delete job ``job``; one already gone is not an error."""
    with contextlib.suppress(core.NotFound):
        clients.scheduler.delete_job(name=job_path(clients, job), **clients.rpc)


def sync(clients: FunctionClients, *, function: str, wanted: tuple[str, ...], uri: str,
         service_account: str, timeout_s: int, current: Mapping[str, str]) -> None:
    """Make the function's jobs exactly those of the ``wanted`` expressions; jobs this call
    created are deleted again if it fails."""
    desired = {job_id(function, expression): expression for expression in wanted}
    made: list[str] = []
    try:
        for job, expression in desired.items():
            if job not in current:
                made.append(create(clients, function=function, expression=expression, uri=uri,
                                   service_account=service_account, timeout_s=timeout_s))
    except BaseException:
        for job in made:
            try:
                delete(clients, job)
            except core.GoogleAPICallError as exc:
                LOG.warning("could not delete schedule job %s of %s: %s", job, function, exc)
        raise
    for job in current.keys() - desired.keys():
        delete(clients, job)
