"""Data-plane requests: endpoint_url rewriting with the real Host, and failures reported
without the URL's query (where a ``code=`` key could be)."""

import socket
from typing import Any

import pytest

from unicompute import ProviderError
from unicompute.providers.azure.functions_clients import FunctionClients


def settings(endpoint: str | None) -> dict[str, Any]:
    return {"subscription_id": "00000000-0000-0000-0000-000000000001", "resource_group": "rg",
            "region": "eastus", "endpoint_url": endpoint, "credential": object(),
            "poll_interval": 0, "retry_total": 0, "create_resource_group": True,
            "vm_timeout": 1, "operation_timeout": 1}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_host_is_a_transient_provider_error_without_query() -> None:
    clients = FunctionClients(settings(f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(ProviderError) as info:
        clients.request("POST", "https://app.azurewebsites.net/api/x?code=SECRETKEY", data=b"{}",
                        timeout=5)
    assert info.value.retryable and "SECRETKEY" not in str(info.value)
    assert "app.azurewebsites.net/api/x" in str(info.value)
    clients.close()


def test_endpoint_url_keeps_path_and_query_and_sets_host(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    clients = FunctionClients(settings("http://127.0.0.1:9"))
    sent: dict[str, Any] = {}

    def fake_request(method: str, url: str, **kwargs: Any) -> str:
        sent.update(method=method, url=url, **kwargs)
        return "answer"

    monkeypatch.setattr(clients.http, "request", fake_request)
    assert clients.request("GET", "https://a.scm.azurewebsites.net/api/deployments/latest?x=1",
                           headers={"Authorization": "Bearer t"}) == "answer"
    assert sent["url"] == "http://127.0.0.1:9/api/deployments/latest?x=1"
    assert sent["headers"] == {"Authorization": "Bearer t", "Host": "a.scm.azurewebsites.net"}
    assert sent["allow_redirects"] is False
    assert clients.token("https://management.azure.com/.default") == "unicompute-placeholder"
