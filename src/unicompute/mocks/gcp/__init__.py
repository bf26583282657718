"""The GCP fake: a Compute Engine v1 emulator the official ``google-cloud-compute`` clients
talk to unchanged.

In-process (what ``mock_cloud(["gcp"])`` does)::

    with mock_cloud(["gcp"]):
        client = compute_v1.InstancesClient()          # default endpoint and credentials
        op = client.insert(project=project, zone="us-central1-a", instance_resource=vm)
        op.result()                                    # DONE already: no polling

:meth:`GcpFake.start` points Application Default Credentials at a fake ``authorized_user`` file
(refreshed against the fake's ``https://oauth2.googleapis.com/token``), sets
``GOOGLE_CLOUD_PROJECT`` and ``CLOUDSDK_CORE_PROJECT`` to :data:`FAKE_PROJECT`, points
``CLOUDSDK_CONFIG`` at an empty directory and hides the metadata-server, mTLS and universe
variables (see :meth:`GcpFake.environment`), so ``google.auth.default()`` answers fake
credentials and the project, and nothing reads the user's gcloud setup. :meth:`GcpFake.routes`
names ``https://compute.googleapis.com`` and ``https://oauth2.googleapis.com``; the kernel's
Interceptor routes every ``requests`` session (google-auth's ``AuthorizedSession`` included) to
them. The API requires ``Authorization: Bearer`` with a token the fake issued (401 otherwise).

Out of process (``unicompute mock-server`` or :meth:`GcpFake.serve`)::

    endpoint = fake.serve()                            # http://127.0.0.1:PORT
    opts = ClientOptions(api_endpoint=endpoint)
    creds = AnonymousCredentials()
    instances = compute_v1.InstancesClient(client_options=opts, credentials=creds)
    zone_ops = compute_v1.ZoneOperationsClient(client_options=opts, credentials=creds)
    op = instances.insert_unary(project=..., zone=..., instance_resource=vm)
    zone_ops.wait(project=..., zone=..., operation=op.name)

The loopback server accepts anonymous requests (as Google's own emulators do). Beware the
``ExtendedOperation`` trap: ``insert(...).result()`` polls through a ``ZoneOperationsClient``
the library builds with the *default* endpoint, so over ``serve()`` it only works while
operations finish at once (the default); with stepped operations use ``*_unary`` calls plus
operation clients built with the same ``client_options``. In-process, the library's own polls
reach the fake anyway.

Behaviour worth knowing:

* Operations are done in their first response by default. ``fake.operations.mode =
  "stepped"`` keeps them ``RUNNING`` until polled ``fake.operations.polls_to_finish`` times
  (default 2) or until ``fake.clock.advance(fake.operations.step_seconds)``; meanwhile
  instances show ``PROVISIONING``/``STAGING`` (insert, start), ``STOPPING`` (stop, delete).
  ``operations.wait`` blocks on GCE until ``DONE`` or two minutes; here it finishes an
  operation due within ``fake.operations.wait_seconds`` (120) of fake time at once, without
  moving the clock, and answers one due later ``RUNNING`` (see ``_lro``). Finished operations
  are remembered up to ``fake.operations.keep_finished`` (10,000); an older one, like a deleted
  one, answers 404 ``notFound`` and leaves the listings, as GCE answers an unknown operation.
* Timestamps are RFC 3339 in US Pacific time with that day's offset (``-08:00`` in winter,
  ``-07:00`` in summer), read from ``fake.clock``.
* Bad references (machine type, image, network, subnetwork, disk type) and bad bodies are
  rejected synchronously with GCE's status, ``reason`` and message, before anything is
  stored. A fault armed as ``operation:<endpoint>`` (e.g.
  ``fake.faults.fail_next("operation:instances_insert", status=403, code="QUOTA_EXCEEDED",
  message="Quota 'CPUS' exceeded.  Limit: 24.0 in region us-central1.")``) lets the call
  be accepted and fails its operation instead (``httpErrorStatusCode``,
  ``httpErrorMessage`` and ``error.errors`` set, so ``result()`` raises) after undoing what
  it created. Faults named by endpoint (``instances_insert``…, see
  :class:`~._app.ComputeApp`) fail the HTTP call itself.
* Lists take ``filter`` (see ``_filter``), ``maxResults`` (≤ 500), ``pageToken`` and
  ``orderBy`` (``name`` — the default — or ``creationTimestamp desc``, the two GCE supports).
* ``projects.get`` answers the project (with ``commonInstanceMetadata``) and
  ``projects.setCommonInstanceMetadata`` changes project-wide metadata under the same rules as
  instance metadata (fingerprint, key and size checks) as a global operation.
* ``fake.app.requests`` logs what the API received; ``fake.clock`` is the fake time.
* :meth:`GcpFake.seed_instances` puts many running instances straight into the store (for
  benchmarks and big-list tests).

This module never imports ``unicompute.providers``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..._errors import InvalidRequest
from .._kernel import EnvOverride, FakeClock, Faults, IdFactory, Listener
from ._app import ComputeApp
from ._base import FAKE_PROJECT
from ._catalog import zone_regions
from ._errors import RATE_LIMITED
from ._functions import FunctionsHandle, HostDispatcher
from ._run_host_tokens import IdTokenApp
from ._token import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

    from .._kernel import Operations

COMPUTE_URL = "https://compute.googleapis.com"
TOKEN_URL = "https://oauth2.googleapis.com"

__all__ = ["COMPUTE_URL", "FAKE_PROJECT", "TOKEN_URL", "ComputeApp", "GcpFake"]


class GcpFake:
    """One Compute Engine emulator with its own state, clock, ids and faults.

    ``start()``/``stop()`` apply and undo the environment that makes default credentials work
    (the in-process routing itself is installed by ``mock_cloud()`` from :meth:`routes`);
    ``serve()``/``shutdown_server()`` run the same app on 127.0.0.1; ``reset()`` forgets every
    resource, operation, fault and logged request. Not re-entrant.
    """

    def __init__(self, *, clock: FakeClock | None = None, seed: int = 0) -> None:
        self.clock = clock or FakeClock()
        self.faults = Faults(seed=seed, throttled=RATE_LIMITED)
        self.tokens: set[str] = set()
        #: The Compute API WSGI app (``fake.app.requests`` is its request log).
        self.app = ComputeApp(clock=self.clock, ids=IdFactory(seed), faults=self.faults,
                              tokens=self.tokens)
        #: Cloud Functions 2nd gen and what it needs (see ``_functions``).
        self.functions = FunctionsHandle(clock=self.clock, ids=IdFactory(seed + 2),
                                         faults=self.faults, tokens=self.tokens)
        self.token_app = IdTokenApp(self.tokens, self.functions.id_tokens,
                                    ids=IdFactory(seed + 1))
        self.project = FAKE_PROJECT
        self._env: EnvOverride | None = None
        self._tempdir: str | None = None
        self._listener = Listener("GcpFake")

    @property
    def operations(self) -> Operations:
        """The operation tracker: set ``.mode = "stepped"`` to make operations take time."""
        return self.app.operations

    # -- in-process ----------------------------------------------------------------------------
    def environment(self, credentials_file: str, gcloud_dir: str) -> dict[str, str | None]:
        """The variables :meth:`start` sets (``None``: removed while the fake runs)."""
        return {
            "GOOGLE_APPLICATION_CREDENTIALS": credentials_file,
            "GOOGLE_CLOUD_PROJECT": FAKE_PROJECT,
            "CLOUDSDK_CORE_PROJECT": FAKE_PROJECT,
            "GCLOUD_PROJECT": None,
            "CLOUDSDK_CONFIG": gcloud_dir,
            "GOOGLE_CLOUD_QUOTA_PROJECT": None,
            "GCE_METADATA_HOST": None,
            "GCE_METADATA_ROOT": None,
            "GCE_METADATA_IP": None,
            "GOOGLE_API_USE_CLIENT_CERTIFICATE": "false",
            "GOOGLE_API_USE_MTLS_ENDPOINT": "never",
            "GOOGLE_CLOUD_UNIVERSE_DOMAIN": None,
            "CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE": None,
        }

    def start(self) -> GcpFake:
        """Make default credentials resolve to the fake (see the module docstring)."""
        if self._env is not None:
            raise RuntimeError("this GcpFake is already started")
        tempdir = tempfile.mkdtemp(prefix="unicompute-gcp-")
        try:
            credentials = os.path.join(tempdir, "application_default_credentials.json")
            with open(credentials, "w", encoding="utf-8") as handle:
                json.dump({"type": "authorized_user", "client_id": CLIENT_ID,
                           "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN,
                           "token_uri": f"{TOKEN_URL}/token",
                           "quota_project_id": FAKE_PROJECT}, handle)
            gcloud = os.path.join(tempdir, "gcloud")
            os.mkdir(gcloud)
            env = EnvOverride(self.environment(credentials, gcloud))
            env.apply()
        except BaseException:
            shutil.rmtree(tempdir, ignore_errors=True)
            raise
        self._env = env
        self._tempdir = tempdir
        return self

    def stop(self) -> None:
        """Restore the environment, remove the credentials file and (unless a server still
        runs) drop the state."""
        if self._env is None:
            return
        env, self._env = self._env, None
        env.restore()
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None
        if not self._listener.running:
            self.reset()

    def reset(self) -> None:
        self.app.reset_state()
        self.functions.reset()

    def routes(self) -> Mapping[str, WSGIApplication]:
        return {COMPUTE_URL: self.app, TOKEN_URL: self.token_app, **self.functions.routes()}

    # -- over HTTP -----------------------------------------------------------------------------
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve the Compute API on ``host:port`` (0: any free port); its base URL, for
        ``ClientOptions(api_endpoint=...)``. Requests whose ``Host`` names an emulated Google
        host (a function URI, the upload host, ``run.googleapis.com``...) go to that host's app,
        the others by path (``/compute/v1``, ``/v2/projects/.../functions``...)."""
        app = HostDispatcher(
            self.app, [*self.functions.hosts(), ("oauth2.googleapis.com", self.token_app)],
            [*self.functions.paths(), ("/token", self.token_app)])
        return self._listener.start(app, host, port)

    def shutdown_server(self) -> None:
        self._listener.stop()

    # -- seeding -------------------------------------------------------------------------------
    def seed_instances(self, count: int, *, zone: str = "us-central1-a",
                       project: str = FAKE_PROJECT, name_prefix: str = "seed",
                       machine_type: str = "e2-medium",
                       labels: Mapping[str, str] | Callable[[int], Mapping[str, str]] | None
                       = None) -> list[str]:
        """Store ``count`` RUNNING instances named ``{name_prefix}-{i:06d}`` directly (no
        HTTP, no operations), each with a boot disk from debian-12 on the ``default`` network;
        ``labels`` is a mapping or a function of the index. Returns the names. The same
        checks as ``instances.insert`` apply (a rejected body raises the fake's
        ``HttpError``); a bad ``zone`` or ``count`` raises ``InvalidRequest``."""
        region = zone_regions().get(zone)
        if region is None:
            raise InvalidRequest(f"no such zone: {zone!r}", field="zone")
        if not isinstance(count, int) or count < 0:
            raise InvalidRequest("must be an int >= 0", field="count")
        names = []
        with self.app.lock:
            state = self.app.project(project)
            for index in range(count):
                name = f"{name_prefix}-{index:06d}"
                given = labels(index) if callable(labels) else labels
                body: dict[str, Any] = {
                    "name": name,
                    "machineType": f"zones/{zone}/machineTypes/{machine_type}",
                    "disks": [{"boot": True, "autoDelete": True, "initializeParams": {
                        "sourceImage": "projects/debian-cloud/global/images/family/debian-12"}}],
                    "networkInterfaces": [{"network": "global/networks/default"}],
                    "labels": dict(given or {}),
                }
                instance, _ = self.app.new_instance(state, zone, region, body)
                self.app._running(instance)
                names.append(name)
        return names
