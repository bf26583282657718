"""What the Azure Functions driver talks through: the ARM clients (``azure-mgmt-web``,
``azure-mgmt-storage``, the generic resources client), each made on first use, and plain HTTP
to the data planes (Kudu, the function host, the Application Insights query API).

Data-plane requests carry their own credential: a bearer token of the scope the service wants
(Kudu: ARM's, App Insights: its own) or a function key, never both, and never a real token
over plain HTTP. With ``endpoint_url`` (a fake served on 127.0.0.1) every data-plane request
goes to that base URL with the real host name in the ``Host`` header.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.web import WebSiteManagementClient

from ..._errors import ProviderError, Timeout
from ._context import Context
from .convert import PROVIDER

if TYPE_CHECKING:
    import requests
    from azure.core.credentials import TokenCredential

#: OAuth scopes of the data planes that take Entra tokens.
ARM_SCOPE = "https://management.azure.com/.default"
INSIGHTS_SCOPE = "https://api.applicationinsights.io/.default"
#: Seconds a data-plane request may take (a sync invoke runs up to the 230 s HTTP cap).
DATA_PLANE_TIMEOUT_S = 260.0


class FunctionClients:
    """One subscription, resource group and region's clients for functions. ``settings`` are
    the checked provider config (``_session._check_config``)."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self._settings = dict(settings)
        self.subscription_id: str = settings["subscription_id"]
        self.resource_group: str = settings["resource_group"]
        self.region: str = settings["region"]
        self.endpoint_url: str | None = settings["endpoint_url"]
        self._made: list[Any] = []

    @cached_property
    def credential(self) -> TokenCredential:
        given: TokenCredential | None = self._settings["credential"]
        if given is not None:
            return given
        from azure.identity import DefaultAzureCredential

        return DefaultAzureCredential()

    def _kwargs(self) -> dict[str, Any]:
        from ._session import _PlaceholderBearer

        kwargs: dict[str, Any] = {"polling_interval": self._settings["poll_interval"],
                                  "retry_total": self._settings["retry_total"]}
        if self.endpoint_url is not None:
            kwargs["base_url"] = self.endpoint_url
            if self.endpoint_url.startswith("http://"):
                kwargs["authentication_policy"] = _PlaceholderBearer()
        return kwargs

    @cached_property
    def web(self) -> WebSiteManagementClient:
        client = WebSiteManagementClient(self.credential, self.subscription_id, **self._kwargs())
        self._made.append(client)
        return client

    @cached_property
    def storage(self) -> StorageManagementClient:
        client = StorageManagementClient(self.credential, self.subscription_id, **self._kwargs())
        self._made.append(client)
        return client

    @cached_property
    def ctx(self) -> Context:
        """The Azure provider's context (resource group creation, long-running operation
        waits, the generic resources client) over this config."""
        from ._session import _create_clients

        clients = _create_clients({**self._settings, "credential": self.credential})
        self._made.append(clients)
        s = self._settings
        return Context(clients=clients, subscription_id=self.subscription_id,
                       resource_group=self.resource_group,
                       create_resource_group=s["create_resource_group"], region=self.region,
                       poll_interval=s["poll_interval"], vm_timeout=s["vm_timeout"],
                       operation_timeout=s["operation_timeout"])

    @cached_property
    def http(self) -> requests.Session:
        import requests

        session = requests.Session()
        self._made.append(session)
        return session

    def close(self) -> None:
        for client in self._made:
            client.close()
        self._made.clear()
        for name in ("web", "storage", "ctx", "http"):
            self.__dict__.pop(name, None)

    # -- data plane -----------------------------------------------------------------------------
    def token(self, scope: str) -> str:
        """A bearer token for ``scope``; a placeholder when the endpoint is plain HTTP."""
        from ._session import PLACEHOLDER_TOKEN

        if self.endpoint_url is not None and self.endpoint_url.startswith("http://"):
            return PLACEHOLDER_TOKEN
        return self.credential.get_token(scope).token

    def request(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
                data: bytes | None = None, timeout: float = DATA_PLANE_TIMEOUT_S
                ) -> requests.Response:
        """``method url`` over plain HTTP; with ``endpoint_url`` sent to it with ``Host`` set
        to ``url``'s host. Redirects are not followed (a key must not travel elsewhere)."""
        sent = dict(headers or {})
        target = url
        if self.endpoint_url is not None:
            parts = urlsplit(url)
            sent["Host"] = parts.netloc
            target = self.endpoint_url + parts.path + (f"?{parts.query}" if parts.query else "")
        import requests

        try:
            return self.http.request(method, target, headers=sent, data=data, timeout=timeout,
                                     allow_redirects=False)
        except requests.Timeout as exc:
            raise Timeout(f"{parts_of(url)} did not answer within {timeout:g} s",
                          provider=PROVIDER, transient=True) from exc
        except requests.RequestException as exc:
            # The exception's text holds the URL (never a key: keys travel in headers).
            raise ProviderError(f"could not reach {parts_of(url)}: {type(exc).__name__}",
                                provider=PROVIDER, transient=True) from exc


def parts_of(url: str) -> str:
    """``host/path`` of ``url`` (no query: it could hold a ``code=`` key)."""
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"
