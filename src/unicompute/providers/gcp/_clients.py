"""Opening the GCP provider: config checking, credentials, the ``compute_v1`` clients, and the
:class:`Context` every driver shares.

Imported by :func:`unicompute.providers.gcp.open_provider` on first use, so that importing the
package (for ``Options``) does not import google-cloud-compute.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import google.auth
from google.api_core.client_options import ClientOptions
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import AnonymousCredentials, Credentials
from google.cloud import compute_v1

from ... import _config
from ..._errors import InvalidRequest, Unauthenticated
from ..._waiting import Poller
from ...driver import Capability, Limits, ProviderDrivers
from .convert import PROVIDER
from .errors import translate_error
from .options import Options

DEFAULT_REGION = "us-central1"
#: The shape of a GCE region (us-central1, europe-west1, northamerica-northeast2 ...); only the
#: shape is checked, so regions newer than this code still work.
_REGION_NAME = re.compile(r"[a-z]+-[a-z]+[0-9]{1,2}")
_ZONE_NAME = re.compile(r"[a-z]+-[a-z]+[0-9]{1,2}-[a-z]")
#: Project ids: 6-30 lower-case letters, digits and hyphens (plus legacy ``domain:`` prefixes).
_PROJECT_ID = re.compile(r"(?:[a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]")
CONFIG_KEYS = frozenset({"project", "zone", "endpoint_url", "poll_interval"})

#: Seconds between operation polls on real GCE.
DEFAULT_POLL_INTERVAL = 2.0
#: How long a driver waits for one GCE operation before giving up.
DEFAULT_WAIT_TIMEOUT = 900.0
#: Seconds one HTTP request may take; ``operations.wait`` holds a request for up to 2 minutes.
REQUEST_TIMEOUT = 60.0
WAIT_REQUEST_TIMEOUT = 130.0


class Clients:
    """The ``compute_v1`` REST clients of one provider, created on first use, all with the same
    credentials and ``client_options`` (so operation polling reaches the same endpoint as the
    call that started the operation — see ``operations.py``)."""

    def __init__(self, credentials: Credentials, endpoint: str | None) -> None:
        self._credentials = credentials
        self._options = ClientOptions(api_endpoint=endpoint) if endpoint else None
        self._made: list[Any] = []

    def _make(self, cls: type[Any]) -> Any:
        client = cls(credentials=self._credentials, transport="rest",
                     client_options=self._options)
        self._made.append(client)
        return client

    @cached_property
    def instances(self) -> compute_v1.InstancesClient:
        client: compute_v1.InstancesClient = self._make(compute_v1.InstancesClient)
        return client

    @cached_property
    def zone_operations(self) -> compute_v1.ZoneOperationsClient:
        client: compute_v1.ZoneOperationsClient = self._make(compute_v1.ZoneOperationsClient)
        return client

    @cached_property
    def region_operations(self) -> compute_v1.RegionOperationsClient:
        client: compute_v1.RegionOperationsClient = self._make(
            compute_v1.RegionOperationsClient)
        return client

    @cached_property
    def global_operations(self) -> compute_v1.GlobalOperationsClient:
        client: compute_v1.GlobalOperationsClient = self._make(
            compute_v1.GlobalOperationsClient)
        return client

    @cached_property
    def firewalls(self) -> compute_v1.FirewallsClient:
        client: compute_v1.FirewallsClient = self._make(compute_v1.FirewallsClient)
        return client

    @cached_property
    def networks(self) -> compute_v1.NetworksClient:
        client: compute_v1.NetworksClient = self._make(compute_v1.NetworksClient)
        return client

    @cached_property
    def subnetworks(self) -> compute_v1.SubnetworksClient:
        client: compute_v1.SubnetworksClient = self._make(compute_v1.SubnetworksClient)
        return client

    @cached_property
    def images(self) -> compute_v1.ImagesClient:
        client: compute_v1.ImagesClient = self._make(compute_v1.ImagesClient)
        return client

    @cached_property
    def machine_types(self) -> compute_v1.MachineTypesClient:
        client: compute_v1.MachineTypesClient = self._make(compute_v1.MachineTypesClient)
        return client

    @cached_property
    def regions(self) -> compute_v1.RegionsClient:
        client: compute_v1.RegionsClient = self._make(compute_v1.RegionsClient)
        return client

    @cached_property
    def projects(self) -> compute_v1.ProjectsClient:
        client: compute_v1.ProjectsClient = self._make(compute_v1.ProjectsClient)
        return client

    @cached_property
    def disks(self) -> compute_v1.DisksClient:
        client: compute_v1.DisksClient = self._make(compute_v1.DisksClient)
        return client

    @cached_property
    def snapshots(self) -> compute_v1.SnapshotsClient:
        client: compute_v1.SnapshotsClient = self._make(compute_v1.SnapshotsClient)
        return client

    def close(self) -> None:
        made, self._made = self._made, []
        for client in made:
            with contextlib.suppress(Exception):
                client.transport.close()


@dataclass(kw_only=True)
class Context:
    """One project and region: the clients and the policy of every call and wait.

    ``rpc`` holds the keyword arguments of every SDK call: ``retry=None`` (retries are the
    portable layer's job; the SDK's default would repeat a 503 for 10 minutes) and a timeout.
    Every wait polls on :attr:`poller`: ``poll_interval`` seconds (the provider's
    ``poll_interval`` setting) between polls, on ``clock`` and ``sleep``.
    """

    clients: Clients
    project: str
    region: str
    zone: str | None = None
    poll_interval: float = DEFAULT_POLL_INTERVAL
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _zones: list[str] | None = field(default=None, repr=False)

    @property
    def poller(self) -> Poller:
        """The schedule of the waits (:meth:`Poller.every` of ``poll_interval``)."""
        return Poller.every(self.poll_interval, clock=self.clock, sleep=self.sleep)

    @property
    def rpc(self) -> dict[str, Any]:
        return {"retry": None, "timeout": REQUEST_TIMEOUT}

    def zone_names(self) -> list[str]:
        """The region's zones, sorted (read once: from ``regions.get``)."""
        if self._zones is None:
            region = self.clients.regions.get(project=self.project, region=self.region,
                                               **self.rpc)
            self._zones = sorted(z.rstrip("/").rsplit("/", 1)[-1] for z in region.zones)
        return list(self._zones)

    def default_zone(self) -> str:
        """The ``zone`` setting, else the region's first zone."""
        if self.zone is not None:
            if self.zone not in self.zone_names():
                raise InvalidRequest(f"no zone {self.zone!r} in {self.region}", field="zone",
                                     provider=PROVIDER)
            return self.zone
        return self.zone_names()[0]


def open_provider(
    region: str | None,
    config: Mapping[str, object],
    *,
    limits: Limits,
    capabilities: frozenset[Capability],
    connection: Connection | None = None,
) -> ProviderDrivers:
    """The GCP drivers for ``region``; ``config`` as described in the package docstring.
    ``connection`` (from :func:`connect` of the same ``config``) saves looking the credentials
    up again when the caller has them already."""
    from .compute import GceCompute
    from .disks import GceVolumes
    from .keys import GceKeys

    settings = _check_config(config)
    region = region or os.environ.get("CLOUDSDK_COMPUTE_REGION") or DEFAULT_REGION
    if not _REGION_NAME.fullmatch(region):
        raise InvalidRequest(f"{region!r} is not a GCE region name (e.g. us-central1)",
                             field="region", provider=PROVIDER, operation="connect")
    zone = settings.zone
    if zone is not None and not zone.startswith(f"{region}-"):
        raise InvalidRequest(f"zone {zone!r} is not in region {region}", field="zone",
                             provider=PROVIDER, operation="connect")
    if connection is None:
        credentials, project = _credentials(settings.endpoint, settings.project)
    else:
        credentials, project = connection.credentials, connection.project
    clients = Clients(credentials, settings.endpoint)
    ctx = Context(clients=clients, project=project, region=region, zone=zone,
                  poll_interval=settings.poll_interval)
    return ProviderDrivers(
        provider=PROVIDER,
        region=region,
        compute=GceCompute(ctx),
        limits=limits,
        translate_error=translate_error,
        capabilities=capabilities,
        volumes=GceVolumes(ctx),
        keys=GceKeys(ctx),
        options_type=Options,
        close=clients.close,
    )


@dataclass(frozen=True)
class Connection:
    """What every GCP driver of one ``config`` shares: the checked settings and the
    credentials and project found for them (looked up once, by :func:`connect`)."""

    credentials: Credentials = field(repr=False)
    project: str
    endpoint: str | None
    poll_interval: float


def connect(config: Mapping[str, object]) -> Connection:
    """Check ``config`` and find its credentials and project (``InvalidRequest`` naming the
    setting, ``Unauthenticated`` when there are none)."""
    settings = _check_config(config)
    credentials, project = _credentials(settings.endpoint, settings.project)
    return Connection(credentials=credentials, project=project, endpoint=settings.endpoint,
                      poll_interval=settings.poll_interval)


def _credentials(endpoint: str | None, project: str | None) -> tuple[Credentials, str]:
    """Credentials and project: Application Default Credentials (``google.auth.default()``);
    for a plain-http endpoint (a local fake) anonymous ones, so no token is ever sent in the
    clear. The ``project`` setting wins over the one ADC found."""
    found_project: str | None = None
    credentials: Credentials
    if endpoint is not None and endpoint.startswith("http://"):
        credentials = AnonymousCredentials()  # type: ignore[no-untyped-call]
        found_project = os.environ.get("GOOGLE_CLOUD_PROJECT")
    else:
        try:
            credentials, found_project = google.auth.default(
                scopes=["https://www.googleapis.com/auth/cloud-platform"])
        except auth_exceptions.DefaultCredentialsError as exc:
            error = translate_error(exc, "connect")
            assert error is not None
            raise error from exc
    chosen = project or found_project
    if not chosen:
        raise Unauthenticated(
            "no GCP project: pass connect('gcp', project=...), set GOOGLE_CLOUD_PROJECT, or "
            "use credentials that name one", provider=PROVIDER, operation="connect")
    if not _PROJECT_ID.fullmatch(chosen):
        raise InvalidRequest(f"{chosen!r} is not a GCP project id", field="project",
                             provider=PROVIDER, operation="connect")
    return credentials, chosen


@dataclass(frozen=True)
class _Settings:
    project: str | None
    zone: str | None
    endpoint: str | None
    poll_interval: float


def _check_config(config: Mapping[str, object]) -> _Settings:
    _config.check_known(config, CONFIG_KEYS, provider=PROVIDER)
    zone = _config.optional_str(config, "zone", provider=PROVIDER)
    if zone is not None and not _ZONE_NAME.fullmatch(zone):
        raise InvalidRequest(f"{zone!r} is not a GCE zone name (e.g. us-central1-a)",
                             field="zone", provider=PROVIDER)
    return _Settings(
        project=_config.optional_str(config, "project", provider=PROVIDER),
        zone=zone,
        endpoint=_config.endpoint_url(config, provider=PROVIDER),
        poll_interval=_config.seconds(config, "poll_interval", DEFAULT_POLL_INTERVAL,
                                      provider=PROVIDER),
    )
