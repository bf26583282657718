"""``fake.functions`` (``mock.gcp.functions``): Cloud Functions 2nd gen in the GCP fake.

Public handle API (:class:`FunctionsHandle`)::

    fns = mock.gcp.functions
    fns.publish(topic, data, attributes=None) -> list[str]   # message ids; delivers now
    fns.id_token(audience) -> str          # an ID token the function URIs accept
    fns.names() -> list[str]               # full names of every function (any state)
    fns.topics -> set[str]                 # Pub/Sub topics (projects/p/topics/t)
    fns.jobs() -> list[str]                # Cloud Scheduler job names
    fns.log_lines(function_id) -> list[str]   # what the function's container wrote
    fns.runtime                            # the LocalRuntime running the containers
    fns.operations                         # the kernel Operations (.mode = "stepped")
    fns.api.requests / fns.host.requests   # request logs (control plane / function URIs)

What the official clients reach (in-process through :meth:`routes`, or over ``fake.serve()``
where requests for the data-plane hosts carry their real hostname in ``Host``):

* ``https://cloudfunctions.googleapis.com/v2``: functions create/get/list/patch/delete,
  ``:generateUploadUrl``, runtimes, operations get/list (``_functions_api``);
* ``https://storage.googleapis.com``: the ``PUT`` of the zip to the upload URL
  (``_functions_source``);
* ``https://*.a.run.app`` and ``https://*.cloudfunctions.net``: the function URIs
  (``_run_host``), and ``https://run.googleapis.com/v2/...services/{s}:getIamPolicy|
  :setIamPolicy``: who may call them (``_run_host_admin``);
* ``https://cloudscheduler.googleapis.com/v1``: jobs, fired as ``fake.clock`` advances
  (``_scheduler``); ``https://pubsub.googleapis.com/v1``: topics and ``:publish``
  (``_pubsub``); ``https://logging.googleapis.com/v2/entries:list``: the functions' log lines
  (``_logging``).

The token endpoint adds an ``id_token`` to refresh answers (``_run_host_tokens``).
This module never imports ``unicompute.providers``.
"""

from __future__ import annotations

import base64
import fnmatch
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from ..._errors import InvalidRequest
from .._kernel import FakeClock, Faults, IdFactory, Operations
from ..runtime import LocalRuntime
from ._functions_api import FunctionsApp
from ._functions_source import STORAGE_HOST, STORAGE_URL, SourceStore
from ._logging import LOGGING_URL, LoggingApp
from ._pubsub import PUBSUB_URL, PubSubApp, topic_name
from ._run_host import LEGACY_ROUTE, ROUTE, RunHost
from ._run_host_admin import RUN_URL, RunAdminApp
from ._run_host_tokens import IdTokens
from ._scheduler import SCHEDULER_URL, SchedulerApp, request_for

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

FUNCTIONS_URL = "https://cloudfunctions.googleapis.com"


class FunctionsHandle:
    """The functions side of one GCP fake (see the module docstring)."""

    def __init__(self, *, clock: FakeClock, ids: IdFactory, faults: Faults,
                 tokens: set[str]) -> None:
        self.clock = clock
        self.ids = ids
        self._runtime: LocalRuntime | None = None
        self.id_tokens = IdTokens(ids)
        self.sources = SourceStore(clock=clock, ids=ids)
        self.api = FunctionsApp(clock=clock, ids=ids, faults=faults, tokens=tokens,
                                runtime=self._get_runtime, sources=self.sources)
        self.host = RunHost(self.api, self._get_runtime, self.id_tokens)
        self.run_admin = RunAdminApp(self.api, clock=clock, ids=ids, faults=faults,
                                     tokens=tokens)
        self.logging = LoggingApp(clock=clock, ids=ids, faults=faults, tokens=tokens)
        self.host.log_sink = self.logging.record
        self.scheduler = SchedulerApp(clock=clock, ids=ids, faults=faults, tokens=tokens,
                                      deliver=self._deliver, mint=self._mint)
        self.pubsub = PubSubApp(self.api, self.host, clock=clock, ids=ids, faults=faults,
                                tokens=tokens)
        self.api.on_change = self.pubsub.on_function

    # -- public --------------------------------------------------------------------------------
    @property
    def runtime(self) -> LocalRuntime:
        return self._get_runtime()

    @property
    def operations(self) -> Operations:
        return self.api.operations

    def id_token(self, audience: str) -> str:
        """An ID token for ``audience`` that every function URI accepts."""
        return self.id_tokens.mint(audience, now=self.clock.start.timestamp()
                                   + self.clock.time())

    def names(self) -> list[str]:
        return sorted(self.api.functions)

    def publish(self, topic: str, data: bytes | str,
                attributes: Mapping[str, str] | None = None) -> list[str]:
        """Publish one message to ``topic`` (``projects/p/topics/t`` or a bare id in the
        fake's project) and deliver it now to every function triggered by it (see
        ``_pubsub``); the message ids. ``InvalidRequest`` (``topic``) if the topic does not
        exist."""
        from ._base import FAKE_PROJECT

        name = topic_name(topic, FAKE_PROJECT)
        if name not in self.pubsub.topics:
            raise InvalidRequest(f"no such topic: {name}", field="topic")
        raw = data.encode() if isinstance(data, str) else bytes(data)
        message = {"data": base64.b64encode(raw).decode(), "attributes": dict(attributes or {})}
        with self.pubsub.lock:
            return self.pubsub.publish(name, [message])

    @property
    def topics(self) -> set[str]:
        return set(self.pubsub.topics)

    def jobs(self) -> list[str]:
        return sorted(self.scheduler.jobs)

    def log_lines(self, function_id: str) -> list[str]:
        """The log lines (``textPayload``) of every function named ``function_id``."""
        return self.logging.lines(function_id)

    # -- wiring --------------------------------------------------------------------------------
    def _deliver(self, uri: str, method: str, headers: dict[str, str],
                 body: bytes) -> int | None:
        request = request_for(uri, method, headers, body)
        record, _ = self.host.find(request.host or "", request.path)
        if record is None:
            return None
        return self.host.answer(request).status_code

    def _mint(self, audience: str, email: str) -> str:
        return self.id_tokens.mint(audience, email or "service-account@unicompute-fake."
                                   "iam.gserviceaccount.com")

    # -- lifetime ------------------------------------------------------------------------------
    def _get_runtime(self) -> LocalRuntime:
        if self._runtime is None or self._runtime.closed:
            self._runtime = LocalRuntime(self.clock)
        return self._runtime

    def reset(self) -> None:
        """Forget every function, upload, job, topic and log line; kill every worker."""
        self.api.reset_state()
        self.sources.reset_state()
        self.host.requests.clear()
        self.run_admin.requests.clear()
        self.logging.reset_state()
        self.scheduler.reset_state()
        self.pubsub.reset_state()
        if self._runtime is not None:
            self._runtime.close()
            self._runtime = None

    def routes(self) -> dict[str, WSGIApplication]:
        return {FUNCTIONS_URL: self.api, STORAGE_URL: self.sources, ROUTE: self.host,
                LEGACY_ROUTE: self.host, RUN_URL: self.run_admin, LOGGING_URL: self.logging,
                SCHEDULER_URL: self.scheduler, PUBSUB_URL: self.pubsub}

    def hosts(self) -> list[tuple[str, WSGIApplication]]:
        """Host patterns and their apps, for dispatching a served request by ``Host``."""
        return [("*.a.run.app", self.host), ("*.cloudfunctions.net", self.host),
                (STORAGE_HOST, self.sources), ("run.googleapis.com", self.run_admin),
                ("logging.googleapis.com", self.logging),
                ("cloudscheduler.googleapis.com", self.scheduler),
                ("pubsub.googleapis.com", self.pubsub),
                ("cloudfunctions.googleapis.com", self.api)]

    def paths(self) -> list[tuple[str, WSGIApplication]]:
        """Path patterns (``fnmatch``) and their apps, for a served request whose ``Host`` is
        the server's own."""
        return [("/v2/projects/*/locations/*/functions*", self.api),
                ("/v2/projects/*/locations/*/operations*", self.api),
                ("/v2/projects/*/locations/*/runtimes*", self.api),
                ("/v2/projects/*/locations/*/services/*", self.run_admin),
                ("/v2/entries:list", self.logging),
                ("/v1/projects/*/locations/*/jobs*", self.scheduler),
                ("/v1/projects/*/topics/*", self.pubsub)]


class HostDispatcher:
    """One WSGI app for ``fake.serve()``: a request whose ``Host`` names a Google host the
    fake emulates goes to that host's app; any other goes by path, then to ``default``."""

    def __init__(self, default: WSGIApplication,
                 hosts: Iterable[tuple[str, WSGIApplication]],
                 paths: Iterable[tuple[str, WSGIApplication]]) -> None:
        self.default = default
        self.hosts = list(hosts)
        self.paths = list(paths)

    def pick(self, environ: Mapping[str, object]) -> WSGIApplication:
        host = str(environ.get("HTTP_HOST", "")).lower().split(":")[0]
        for pattern, app in self.hosts:
            if fnmatch.fnmatchcase(host, pattern):
                return app
        path = str(environ.get("PATH_INFO", ""))
        for pattern, app in self.paths:
            if fnmatch.fnmatchcase(path, pattern):
                return app
        return self.default

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse,
                 ) -> Iterable[bytes]:
        return self.pick(environ)(environ, start_response)
