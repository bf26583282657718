"""The Azure fake: an Azure Resource Manager emulator the official SDKs talk to unchanged.

``azure-mgmt-resource``, ``azure-mgmt-network`` and ``azure-mgmt-compute`` clients created inside
``mock_cloud()`` keep their real ``https://management.azure.com`` endpoint; the kernel's
:class:`~unicompute.mocks._kernel.Interceptor` answers it (and ``login.microsoftonline.com``)
in-process. :meth:`AzureFake.start` sets a fake service principal in the environment
(:data:`ENVIRONMENT`) and hides the user's own Azure identity settings, so::

    with mock_cloud(["azure"]):
        credential = DefaultAzureCredential()          # signs in to the fake AAD
        compute = ComputeManagementClient(credential, os.environ["AZURE_SUBSCRIPTION_ID"])

works with no network and no real secret. Any other ``TokenCredential`` works too: ARM accepts
any bearer token and answers 401 ``AuthenticationFailed`` without one.

Over HTTP (another process, ``unicompute mock-server``): :meth:`AzureFake.serve` returns
``http://127.0.0.1:PORT``. azure-core refuses bearer tokens over plain HTTP, so replace the
authentication policy with one that sets the header::

    from azure.core.pipeline.policies import SansIOHTTPPolicy

    class FakeBearer(SansIOHTTPPolicy):
        def on_request(self, request):
            request.http_request.headers["Authorization"] = "Bearer fake"

    compute = ComputeManagementClient(AzureCliCredential(), SUBSCRIPTION_ID, base_url=url,
                                      authentication_policy=FakeBearer())

(the credential is never used, but the client requires one).

What it emulates: resource groups (deleting one deletes its contents), VNets and subnets (CIDR
checks), public IPs (Static: an address at once; Dynamic: one while a running VM uses it,
released on deallocate or delete), NICs (private IPs from the subnet), NSGs and rules, VMs
(create/update, get with ``$expand=instanceView``, ``instanceView``, lists,
start/powerOff/deallocate/restart, delete), managed disks (Empty, FromImage, Copy; ``diskState``
follows the VM), snapshots, SSH public keys (``sshPublicKeys``), the ``vmSizes`` catalog and
marketplace images (``latest`` resolved at create). ARM semantics: case-insensitive names with
case kept, ``api-version`` required, ``If-None-Match: *``, absolute ``nextLink`` paging
(:attr:`ArmApp.page_size`, 50), ``$filter`` applied where ARM applies it (resource groups by
tag; VM lists by scale set) and refused as ARM refuses it elsewhere (:mod:`._filters`), ARM's
error bodies and codes.

Handles for tests: :attr:`AzureFake.clock` (fake time), :attr:`AzureFake.faults` (keyed by
endpoint name such as ``vm_put`` or ``vm_start``), :attr:`AzureFake.app` (``.requests`` is the
request log), :attr:`AzureFake.operations` (``operations.mode = "stepped"`` makes long-running
operations answer 201/202 with ``Azure-AsyncOperation``, ``Location`` and ``retry-after-ms: 1``
and finish after ``polls_to_finish`` polls or ``step_seconds`` of fake time; the default
``"instant"`` finishes everything in the first response, so SDK pollers never sleep) and
:meth:`AzureFake.seed_vms` (many VMs straight into the store, for benchmarks).

Azure Functions: ``Microsoft.Web`` plans (``FC1``, ``Y1``...) and function apps with their
app settings, keys and functions, ``Microsoft.Storage`` accounts (containers, queues), App
Insights components; the SCM deploy endpoints, the function hosts
(``https://{app}.azurewebsites.net/api/...``, ``/admin/functions/{fn}``) and the App Insights
query API run the deployed ``function_app.py`` in the local runtime (see
:mod:`._function_host`). :attr:`AzureFake.functions` is the test handle
(``send``/``poll``/``messages``/``logs``/``drain``; timers fire on ``clock.advance``; see
:mod:`._function_host_triggers`). Served over HTTP, requests whose ``Host`` is a function
app's, its SCM site's or ``api.applicationinsights.io`` go to those instead of ARM.

This package never imports ``unicompute.providers``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._kernel import EnvOverride, FakeClock, Faults, IdFactory, Listener, Operations
from ._aad import AadApp
from ._app import ArmApp
from ._boot_diagnostics import BOOT_BLOB_DOMAIN, BOOT_BLOB_HOSTS, BootBlobs
from ._function_host import INSIGHTS_HOST, ROUTES, FunctionHost
from ._function_host_apps import FunctionApps
from ._function_host_triggers import FunctionsHandle
from ._ids import AAD_HOST, ARM_HOST, CLIENT_ID, CLIENT_SECRET, SUBSCRIPTION_ID, TENANT_ID
from ._seed import seed_vms

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: Environment while the fake runs: the fake service principal and subscription are set; every
#: other variable azure-identity (or azure-core's cloud choice) reads is removed.
ENVIRONMENT: dict[str, str | None] = {
    "AZURE_TENANT_ID": TENANT_ID,
    "AZURE_CLIENT_ID": CLIENT_ID,
    "AZURE_CLIENT_SECRET": CLIENT_SECRET,
    "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION_ID,
    **dict.fromkeys((
        "AZURE_USERNAME", "AZURE_PASSWORD", "AZURE_CLIENT_CERTIFICATE_PATH",
        "AZURE_CLIENT_CERTIFICATE_PASSWORD", "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN",
        "AZURE_FEDERATED_TOKEN_FILE", "AZURE_AUTHORITY_HOST", "AZURE_REGIONAL_AUTHORITY_NAME",
        "AZURE_POD_IDENTITY_AUTHORITY_HOST", "AZURE_TOKEN_CREDENTIALS",
        "AZURE_IDENTITY_DISABLE_MULTITENANTAUTH", "AZURE_KUBERNETES_SNI_NAME",
        "AZURE_KUBERNETES_TOKEN_PROXY", "AZURE_KUBERNETES_CA_FILE", "AZURE_KUBERNETES_CA_DATA",
        "IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT",
        "MSI_ENDPOINT", "MSI_SECRET", "AZURE_SDK_CLOUD_CONF"), None),
}

__all__ = ["CLIENT_ID", "ENVIRONMENT", "SUBSCRIPTION_ID", "TENANT_ID", "ArmApp", "AzureFake"]


class AzureFake:
    """One ARM emulator (plus its AAD), in-process or served; state is per instance.

    ``start()``/``stop()`` set and restore :data:`ENVIRONMENT` and empty the state;
    :meth:`routes` is what ``mock_cloud()`` intercepts. Not re-entrant.
    """

    def __init__(self, *, clock: FakeClock | None = None, seed: int = 0) -> None:
        self.clock = clock or FakeClock()
        self.faults = Faults(seed=seed)
        self.app = ArmApp(clock=self.clock, ids=IdFactory(seed), faults=self.faults)
        self.aad = AadApp(clock=self.clock, ids=IdFactory(seed + 1))
        self._env = EnvOverride(ENVIRONMENT)
        self._started = False
        self._listener = Listener("AzureFake")
        self.function_apps = FunctionApps(self.app, self.clock)
        #: The Azure Functions handle (queues, timers, logs); see ``_function_host_triggers``.
        self.functions = FunctionsHandle(self.app, self.function_apps, self.clock)
        self.function_host = FunctionHost(self.app, self.function_apps)
        #: The boot-diagnostics blobs that ``retrieveBootDiagnosticsData`` links to.
        self.boot_blobs = BootBlobs(self.app)

    @property
    def operations(self) -> Operations:
        """The long-running operations; set ``.mode = "stepped"`` to see them in progress."""
        return self.app.operations

    @property
    def subscription_id(self) -> str:
        return SUBSCRIPTION_ID

    def start(self) -> AzureFake:
        if self._started:
            raise RuntimeError("this AzureFake is already started")
        self.reset()
        self._env.apply()
        self._started = True
        self.functions.active = True
        return self

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self.functions.active = False
        self._env.restore()
        self.reset()

    def reset(self) -> None:
        """Forget every resource, operation, fault and logged request; operations go back to
        ``"instant"`` (stepped ones finish after 2 polls or 1 s of fake time)."""
        self.functions.reset()
        self.app.clear()
        self.aad.requests.clear()
        self.app.operations.mode = "instant"
        self.app.operations.polls_to_finish = 2
        self.app.operations.step_seconds = 1.0

    def routes(self) -> dict[str, WSGIApplication]:
        routes: dict[str, WSGIApplication] = {ARM_HOST: self.app, AAD_HOST: self.aad}
        routes.update(dict.fromkeys(ROUTES, self.function_host))
        routes[BOOT_BLOB_HOSTS] = self.boot_blobs
        return routes

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve ARM over HTTP on ``host:port`` (0: any free port); returns its base URL.
        Requests whose ``Host`` is a function app's (``*.azurewebsites.net``) or
        ``api.applicationinsights.io`` reach the function hosts instead."""
        return self._listener.start(self._dispatch, host, port)

    def _dispatch(self, environ: WSGIEnvironment, start_response: StartResponse,
                  ) -> Iterable[bytes]:
        host = str(environ.get("HTTP_HOST", "")).split(":", 1)[0].lower()
        if host.endswith(".azurewebsites.net") or host == INSIGHTS_HOST:
            return self.function_host(environ, start_response)
        if host.startswith("md-") and host.endswith(BOOT_BLOB_DOMAIN):
            return self.boot_blobs(environ, start_response)
        return self.app(environ, start_response)

    def shutdown_server(self) -> None:
        self._listener.stop()

    def seed_vms(self, count: int, **kwargs: Any) -> list[str]:
        """Create ``count`` running VMs directly in the store; see :func:`._seed.seed_vms`."""
        return seed_vms(self.app, count, **kwargs)
