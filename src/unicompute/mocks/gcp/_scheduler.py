"""Cloud Scheduler v1 (``cloudscheduler.googleapis.com/v1/projects/{p}/locations/{l}/jobs``):
create, get, list (paged), patch (``updateMask``), delete, ``:pause``, ``:resume``, ``:run``.

Jobs fire as the fake's clock advances: every ``ENABLED`` job runs once per instant its
unix-cron ``schedule`` (in its ``timeZone``) matched in the interval just passed, counted from
when it was created or resumed. An ``httpTarget`` aimed at a function URI is delivered to that
function through the run host, as Cloud Scheduler sends it: the job's method, headers and body,
``User-Agent: Google-Cloud-Scheduler``, ``X-CloudScheduler: true``,
``X-CloudScheduler-JobName``, ``X-CloudScheduler-ScheduleTime`` and, with ``oidcToken``,
``Authorization: Bearer <ID token>``. ``status`` holds the last attempt's outcome
(``{}`` on 2xx, else ``{"code": <google.rpc.Code>}``) and ``lastAttemptTime`` its time. A
target outside the fake (another host, ``pubsubTarget``, App Engine) is not called: its
attempt is recorded as ``UNAVAILABLE``. Failed attempts are not retried.

``enabled = False`` is a project where the Cloud Scheduler API is disabled: every call answers
403 ``PERMISSION_DENIED`` with Google's ``ErrorInfo`` reason ``SERVICE_DISABLED`` (and the
``Help`` link to enable it), as the real API does; no job fires.
"""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from werkzeug.routing import Map, Rule
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request, Response

from .._kernel import FakeClock, Faults, HttpError, IdFactory, json_response
from ._catalog import zone_regions
from ._functions_build import project_number
from ._functions_common import RPC_CODES, GoogleApi, api_error, bad_request
from ._scheduler_cron import CronError, parse

SCHEDULER_URL = "https://cloudscheduler.googleapis.com"
_P = "/v1/projects/<project>/locations/<location>/jobs"
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,500}")
_METHODS = ("HTTP_METHOD_UNSPECIFIED", "POST", "GET", "HEAD", "PUT", "DELETE", "PATCH",
            "OPTIONS")
_STATES = ("STATE_UNSPECIFIED", "ENABLED", "PAUSED", "DISABLED", "UPDATE_FAILED")
_DEFAULT_RETRY = {"maxRetryDuration": "0s", "minBackoffDuration": "5s",
                  "maxBackoffDuration": "3600s", "maxDoublings": 5}
_HTTP_STATUS_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 409: 10, 429: 8, 500: 13, 501: 12,
                      503: 14, 504: 4}

#: ``deliver(uri, method, headers, body) -> HTTP status`` or ``None`` when not served here.
Deliver = Callable[[str, str, dict[str, str], bytes], int | None]


@dataclass
class _Job:
    body: dict[str, Any]
    since: datetime


class SchedulerApp(GoogleApi):
    url_map = Map([
        Rule(_P, methods=["POST"], endpoint="jobs_create"),
        Rule(_P, methods=["GET"], endpoint="jobs_list"),
        Rule(f"{_P}/<job>", methods=["GET"], endpoint="jobs_get"),
        Rule(f"{_P}/<job>", methods=["DELETE"], endpoint="jobs_delete"),
        Rule(f"{_P}/<job>", methods=["PATCH"], endpoint="jobs_patch"),
        Rule(f"{_P}/<job>:pause", methods=["POST"], endpoint="jobs_pause"),
        Rule(f"{_P}/<job>:resume", methods=["POST"], endpoint="jobs_resume"),
        Rule(f"{_P}/<job>:run", methods=["POST"], endpoint="jobs_run"),
    ], strict_slashes=False)

    def __init__(self, *, clock: FakeClock, ids: IdFactory, faults: Faults,
                 tokens: set[str], deliver: Deliver, mint: Callable[[str, str], str]) -> None:
        super().__init__(clock=clock, ids=ids, faults=faults, tokens=tokens)
        self.jobs: dict[str, _Job] = {}
        #: ``False``: the API is disabled in the project (see the module docstring).
        self.enabled = True
        self._deliver = deliver
        self._mint = mint
        clock.on_advance(self._on_advance)

    def _on_advance(self, _: float) -> None:
        if self.enabled:
            self.fire_due()

    def reset_state(self) -> None:
        self.jobs.clear()
        self.requests.clear()
        self.enabled = True

    def authenticate(self, request: Request) -> None:
        super().authenticate(request)
        if not self.enabled:
            match = re.match(r"/v1/projects/([^/]+)/", request.path)
            raise service_disabled(project_number(match[1] if match else ""))

    def _stamp(self, moment: datetime | None = None) -> str:
        return (moment or self.clock.now()).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def _job(self, project: str, location: str, job: str) -> _Job:
        name = f"projects/{project}/locations/{location}/jobs/{job}"
        found = self.jobs.get(name)
        if found is None:
            raise api_error(404, "Job not found.")
        return found

    # -- validation --------------------------------------------------------------------------
    def _check(self, body: dict[str, Any]) -> None:
        for path, names in (("state", _STATES),):
            value = body.get(path)
            if isinstance(value, int):
                body[path] = names[value] if 0 <= value < len(names) else value
        targets = [k for k in ("httpTarget", "pubsubTarget", "appEngineHttpTarget")
                   if body.get(k)]
        if len(targets) != 1:
            raise bad_request("A job must have exactly one target.", "job.target")
        schedule = body.get("schedule")
        if not schedule:
            raise bad_request("Schedule or time zone is invalid.", "job.schedule")
        try:
            parse(str(schedule), str(body.get("timeZone") or "Etc/UTC"))
        except CronError:
            raise bad_request("Schedule or time zone is invalid.", "job.schedule") from None
        http = body.get("httpTarget")
        if http:
            uri = urlsplit(str(http.get("uri", "")))
            if uri.scheme not in ("http", "https") or not uri.netloc:
                raise bad_request("HttpTarget.uri must be an absolute http(s) URL.",
                                  "job.http_target.uri")
            method = http.get("httpMethod", "POST")
            if isinstance(method, int):
                method = _METHODS[method] if 0 <= method < len(_METHODS) else method
            if method not in _METHODS:
                raise bad_request(f"Invalid http_method: {method!r}",
                                  "job.http_target.http_method")
            http["httpMethod"] = "POST" if method == "HTTP_METHOD_UNSPECIFIED" else method
            if "body" in http and http["httpMethod"] not in ("POST", "PUT", "PATCH"):
                raise bad_request("HTTP body is allowed only for POST, PUT and PATCH.",
                                  "job.http_target.body")
            try:
                base64.b64decode(str(http.get("body", "")), validate=True)
            except ValueError:
                raise bad_request("Invalid body: not base64", "job.http_target.body") from None
            if http.get("oidcToken") and http.get("oauthToken"):
                raise bad_request("Only one of oidc_token and oauth_token may be set.",
                                  "job.http_target")
        deadline = str(body.get("attemptDeadline", "180s"))
        match = re.fullmatch(r"(\d+)(?:\.\d+)?s", deadline)
        if match is None or not 15 <= int(match[1]) <= 1800:
            raise bad_request("attempt_deadline must be between 15 seconds and 30 minutes.",
                              "job.attempt_deadline")

    def _complete(self, body: dict[str, Any]) -> None:
        body.setdefault("timeZone", "Etc/UTC")
        body.setdefault("attemptDeadline", "180s")
        body.setdefault("retryConfig", copy.deepcopy(_DEFAULT_RETRY))
        http = body.get("httpTarget")
        if http:
            http.setdefault("headers", {})["User-Agent"] = "Google-Cloud-Scheduler"
            if http.get("oidcToken") and not http["oidcToken"].get("audience"):
                http["oidcToken"]["audience"] = http["uri"]
        body["userUpdateTime"] = self._stamp()
        self._next(body)

    def _next(self, body: dict[str, Any]) -> None:
        if body.get("state") != "ENABLED":
            body.pop("scheduleTime", None)
            return
        cron = parse(body["schedule"], body["timeZone"])
        now = self.clock.now()
        upcoming = cron.between(now, now + timedelta(days=366), limit=1)
        if upcoming:
            body["scheduleTime"] = self._stamp(upcoming[0])

    # -- endpoints ---------------------------------------------------------------------------
    def jobs_create(self, request: Request, project: str, location: str) -> Response:
        if location not in set(zone_regions().values()):
            raise api_error(404, f"Location {location} is not found.")
        body = self.body(request)
        name = str(body.get("name", ""))
        parent = f"projects/{project}/locations/{location}"
        match = re.fullmatch(re.escape(parent) + r"/jobs/(.+)", name)
        if match is None or not _JOB_ID.fullmatch(match[1]):
            raise bad_request(f"Job name must be formatted: \"{parent}/jobs/<job_id>\".",
                              "job.name")
        if name in self.jobs:
            raise api_error(409, f"Job {name} already exists.")
        self._check(body)
        body["state"] = "ENABLED"
        body.pop("status", None)
        self._complete(body)
        self.jobs[name] = _Job(body, self.clock.now())
        return json_response(body)

    def jobs_get(self, request: Request, project: str, location: str, job: str) -> Response:
        return json_response(self._job(project, location, job).body)

    def jobs_list(self, request: Request, project: str, location: str) -> Response:
        prefix = f"projects/{project}/locations/{location}/jobs/"
        size = self.page_size(request, 500, 500)
        names = sorted(n for n in self.jobs if n.startswith(prefix))
        start = 0
        token = request.args.get("pageToken", "")
        if token:
            try:
                start = int(base64.urlsafe_b64decode(token).decode())
            except ValueError:
                raise bad_request("Invalid page token", "page_token") from None
        page = names[start:start + size]
        body: dict[str, Any] = {"jobs": [self.jobs[n].body for n in page]} if page else {}
        if start + size < len(names):
            body["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
        return json_response(body)

    def jobs_delete(self, request: Request, project: str, location: str, job: str) -> Response:
        found = self._job(project, location, job)
        del self.jobs[found.body["name"]]
        return json_response({})

    def jobs_patch(self, request: Request, project: str, location: str, job: str) -> Response:
        found = self._job(project, location, job)
        update = self.body(request)
        merged = copy.deepcopy(found.body)
        mask = [p for p in request.args.get("updateMask", "").split(",") if p]
        for key in mask or [k for k in update if k not in ("name", "state", "status")]:
            head = key.split(".")[0]
            if head in update:
                merged[head] = update[head]
            else:
                merged.pop(head, None)
        self._check(merged)
        self._complete(merged)
        found.body = merged
        return json_response(merged)

    def _set_state(self, project: str, location: str, job: str, state: str) -> Response:
        found = self._job(project, location, job)
        if state == "ENABLED" and found.body["state"] != "ENABLED":
            found.since = self.clock.now()
        found.body["state"] = state
        self._next(found.body)
        return json_response(found.body)

    def jobs_pause(self, request: Request, project: str, location: str, job: str) -> Response:
        return self._set_state(project, location, job, "PAUSED")

    def jobs_resume(self, request: Request, project: str, location: str, job: str) -> Response:
        return self._set_state(project, location, job, "ENABLED")

    def jobs_run(self, request: Request, project: str, location: str, job: str) -> Response:
        found = self._job(project, location, job)
        self._attempt(found, self.clock.now())
        return json_response(found.body)

    # -- firing ------------------------------------------------------------------------------
    def fire_due(self) -> int:
        """Run every attempt due by now (the clock listener); how many ran."""
        now = self.clock.now()
        ran = 0
        for job in list(self.jobs.values()):
            if job.body.get("state") != "ENABLED":
                continue
            cron = parse(job.body["schedule"], job.body["timeZone"])
            due = cron.between(job.since, now)
            job.since = now
            for moment in due:
                self._attempt(job, moment)
                ran += 1
            self._next(job.body)
        return ran

    def _attempt(self, job: _Job, moment: datetime) -> None:
        body = job.body
        http = body.get("httpTarget")
        status: int | None = None
        if http:
            headers = dict(http.get("headers", {}))
            headers.update({"X-CloudScheduler": "true",
                            "X-CloudScheduler-JobName": body["name"].rpartition("/")[2],
                            "X-CloudScheduler-ScheduleTime": self._stamp(moment)})
            oidc = http.get("oidcToken")
            if oidc:
                headers["Authorization"] = "Bearer " + self._mint(
                    oidc.get("audience") or http["uri"], oidc.get("serviceAccountEmail", ""))
            status = self._deliver(http["uri"], http["httpMethod"], headers,
                                   base64.b64decode(http.get("body", "")))
        body["lastAttemptTime"] = self._stamp(moment)
        if status is None:
            body["status"] = {"code": RPC_CODES["UNAVAILABLE"]}
        elif 200 <= status < 300:
            body["status"] = {}
        else:
            body["status"] = {"code": _HTTP_STATUS_CODES.get(status, RPC_CODES["UNKNOWN"])}


def service_disabled(number: str) -> HttpError:
    """Google's answer to a call of the Cloud Scheduler API in project ``number`` where the API
    is disabled."""
    service = SCHEDULER_URL.removeprefix("https://")
    activation = (f"https://console.developers.google.com/apis/api/{service}/overview"
                  f"?project={number}")
    message = (f"Cloud Scheduler API has not been used in project {number} before or it is "
               f"disabled. Enable it by visiting {activation} then retry. If you enabled this "
               "API recently, wait a few minutes for the action to propagate to our systems and "
               "retry.")
    return api_error(403, message, status_name="PERMISSION_DENIED", details=[
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "SERVICE_DISABLED",
         "domain": "googleapis.com",
         "metadata": {"service": service, "consumer": f"projects/{number}",
                      "serviceTitle": "Cloud Scheduler API", "containerInfo": number,
                      "activationUrl": activation}},
        {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
         "message": message},
        {"@type": "type.googleapis.com/google.rpc.Help", "links": [
            {"description": "Google developers console API activation", "url": activation}]},
    ])


def request_for(uri: str, method: str, headers: dict[str, str], body: bytes) -> Request:
    """A werkzeug request for delivering to an app in-process."""
    parts = urlsplit(uri)
    environ = EnvironBuilder(path=parts.path or "/", base_url=f"{parts.scheme}://{parts.netloc}",
                             query_string=parts.query, method=method, headers=list(headers.items()),
                             data=body).get_environ()
    return Request(environ)
