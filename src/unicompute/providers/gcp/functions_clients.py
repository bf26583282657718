"""What the Cloud Functions driver talks through: the ``functions_v2`` and ``scheduler_v1``
REST clients, an authorized ``requests`` session for the APIs without a client here (Cloud Run
IAM, Cloud Logging), a plain session for the data plane (the upload URL, the function URI), ID
tokens for the function URI, and the wait policy.

With ``endpoint_url`` (a fake, ``unicompute mock-server``), every client talks to it, and
every plain-HTTP request goes to ``endpoint_url`` plus the original path and query with the
original host in the ``Host`` header (:meth:`FunctionClients.route`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import requests
from google.api_core import exceptions as core
from google.api_core.client_options import ClientOptions
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import AnonymousCredentials, Credentials
from google.auth.transport.requests import AuthorizedSession
from google.auth.transport.requests import Request as AuthRequest
from google.cloud import functions_v2, scheduler_v1

from ..._errors import Unauthenticated
from ..._waiting import Poller
from .convert import PROVIDER

#: Seconds one control-plane request may take.
REQUEST_TIMEOUT = 60.0
#: Seconds the upload of a package may take.
UPLOAD_TIMEOUT = 300.0
#: How long the driver waits for one Cloud Functions operation it must see finished (a delete,
#: a change of triggers).
OPERATION_TIMEOUT = 900.0
RUN_API = "https://run.googleapis.com"
LOGGING_API = "https://logging.googleapis.com"
#: How long an ID token fetched for an audience is reused (Google's last an hour).
_ID_TOKEN_REUSE_S = 50 * 60


class FunctionClients:
    """One project and region's clients, each made on first use and closed by :meth:`close`.
    ``poll_interval`` spaces the polls of :meth:`wait_operation` on ``clock``/``sleep``."""

    def __init__(self, *, credentials: Credentials, project: str, region: str,
                 endpoint: str | None, poll_interval: float,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.credentials = credentials
        self.project = project
        self.region = region
        self.endpoint = endpoint.rstrip("/") if endpoint else None
        self.poll_interval = poll_interval
        self.clock = clock
        self.sleep = sleep
        self._options = ClientOptions(api_endpoint=endpoint) if endpoint else None
        self._made: list[Any] = []
        self._tokens: dict[str, tuple[str, float]] = {}

    # -- clients ------------------------------------------------------------------------------
    @property
    def rpc(self) -> dict[str, Any]:
        """Keyword arguments of every SDK call: no SDK retries (the portable layer retries) and
        a timeout."""
        return {"retry": None, "timeout": REQUEST_TIMEOUT}

    @property
    def poller(self) -> Poller:
        return Poller.every(self.poll_interval, clock=self.clock, sleep=self.sleep)

    @property
    def parent(self) -> str:
        return f"projects/{self.project}/locations/{self.region}"

    def function_path(self, name: str) -> str:
        return f"{self.parent}/functions/{name}"

    @cached_property
    def functions(self) -> functions_v2.FunctionServiceClient:
        client = functions_v2.FunctionServiceClient(
            credentials=self.credentials, transport="rest", client_options=self._options)
        self._made.append(client)
        return client

    @cached_property
    def scheduler(self) -> scheduler_v1.CloudSchedulerClient:
        client = scheduler_v1.CloudSchedulerClient(
            credentials=self.credentials, transport="rest", client_options=self._options)
        self._made.append(client)
        return client

    @cached_property
    def api(self) -> requests.Session:
        """Authorized session for Google APIs called as plain REST (Cloud Run, Logging)."""
        session = AuthorizedSession(self.credentials)  # type: ignore[no-untyped-call]
        self._made.append(session)
        return session

    @cached_property
    def data(self) -> requests.Session:
        """Session for the upload URL and the function URI (credentials added per request)."""
        session = requests.Session()
        self._made.append(session)
        return session

    def close(self) -> None:
        made, self._made = self._made, []
        for item in made:
            with contextlib.suppress(Exception):
                if isinstance(item, requests.Session):
                    item.close()
                else:
                    item.transport.close()

    # -- plain HTTP ---------------------------------------------------------------------------
    def route(self, url: str) -> tuple[str, dict[str, str]]:
        """Where to send a request for ``url``, and the headers that go with it: ``url``
        itself, or with ``endpoint_url`` set, the same path and query on it with ``Host``
        naming ``url``'s host."""
        if self.endpoint is None:
            return url, {}
        parts = urlsplit(url)
        target = self.endpoint + (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return target, {"Host": parts.netloc}

    def call_api(self, method: str, url: str, *, json: Any = None,
                 timeout: float = REQUEST_TIMEOUT) -> Any:
        """A Google REST call through :attr:`api`; the answer's JSON. A failure raises the
        ``google.api_core`` exception of its status (as the SDKs do)."""
        target, headers = self.route(url)
        response = self.api.request(method, target, json=json, headers=headers,
                                    timeout=timeout)
        if response.status_code >= 400:
            raise core.from_http_response(response)  # type: ignore[no-untyped-call]
        return response.json() if response.content else {}

    def id_token(self, audience: str) -> str | None:
        """An ID token for ``audience`` (the function URI), or ``None`` with anonymous
        credentials (a local fake). User credentials give the ``id_token`` of their last
        refresh; others ask google-auth (service-account key files, the metadata server).
        ``Unauthenticated`` when none can be made."""
        if isinstance(self.credentials, AnonymousCredentials):
            return None
        kept = self._tokens.get(audience)
        if kept is not None and kept[1] > self.clock():
            return kept[0]
        token = self._user_id_token() or self._fetched_id_token(audience)
        self._tokens[audience] = (token, self.clock() + _ID_TOKEN_REUSE_S)
        return token

    def _user_id_token(self) -> str | None:
        if not hasattr(self.credentials, "id_token"):
            return None
        if not self.credentials.valid or getattr(self.credentials, "id_token", None) is None:
            self.credentials.refresh(AuthRequest(self.data))  # type: ignore[no-untyped-call]
        token = getattr(self.credentials, "id_token", None)
        return str(token) if token else None

    def _fetched_id_token(self, audience: str) -> str:
        from google.oauth2 import id_token

        try:
            return str(id_token.fetch_id_token(AuthRequest(self.data), audience))  # type: ignore[no-untyped-call]
        except auth_exceptions.GoogleAuthError as exc:
            raise Unauthenticated(
                f"cannot make an ID token to call {audience}: use user credentials "
                "(gcloud auth application-default login), a service-account key or the "
                f"metadata server ({exc})", provider=PROVIDER, operation="functions.invoke",
            ) from exc

    # -- operations ---------------------------------------------------------------------------
    def wait_operation(self, operation: Any, *, what: str,
                       timeout: float = OPERATION_TIMEOUT) -> Any:
        """Poll the ``api_core`` long-running ``operation`` until done (at most ``timeout``
        seconds on :attr:`poller`); its result, or the exception it failed with."""
        self.poller.until(lambda: operation.done(retry=None), bool, timeout=timeout,
                          what=what)
        error = operation.exception()
        if error is not None:
            raise error
        return operation.result()
