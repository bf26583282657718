"""Opening the Cloud Functions driver: credentials are looked up once for the compute and
functions drivers, and never shown."""

from __future__ import annotations

from typing import Any

import google.auth
import pytest

from unicompute.mocks import MockCloud
from unicompute.providers import gcp
from unicompute.providers.gcp import _clients
from unicompute.providers.gcp.functions import attach, open_functions


def counting_adc(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = google.auth.default

    def default(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(google.auth, "default", default)
    return calls


def test_one_connection_serves_compute_and_functions(mock: MockCloud,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting_adc(monkeypatch)
    config = {"poll_interval": 0}
    connection = _clients.connect(config)
    drivers = _clients.open_provider("us-central1", config, limits=gcp.LIMITS,
                                     capabilities=gcp.CAPABILITIES, connection=connection)
    drivers = attach(drivers, connection)
    try:
        assert drivers.functions is not None
        assert drivers.functions.list_functions(page_token=None).items == []
        assert drivers.compute is not None
    finally:
        drivers.close()
    assert len(calls) == 1


def test_connection_repr_hides_credentials(mock: MockCloud) -> None:
    connection = _clients.connect({})
    assert "credentials" not in repr(connection)
    assert "token" not in repr(connection).lower()
    functions = open_functions("us-central1", connection)
    try:
        assert functions.clients.credentials is connection.credentials
        assert functions.clients.project == connection.project
    finally:
        functions.close()
