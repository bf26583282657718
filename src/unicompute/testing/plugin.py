"""pytest plugin: fixtures for testing code that uses unicompute, without a cloud account.

* ``mock_cloud`` — the running fakes (:class:`~unicompute.mocks.MockCloud`), fresh per test.
* ``cloud`` — an open :class:`~unicompute.Cloud` on a fake, closed after the test. Default
  provider ``aws``; ``@pytest.mark.clouds("aws", "azure", "gcp")`` runs the test once per
  provider. A provider without a fake is skipped with the reason.
* ``--unicompute-live`` makes ``cloud`` connect to the real cloud instead (your credentials, real
  charges); without it nothing leaves the machine.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .._cloud import Cloud, connect
from ..mocks import MOCKABLE_PROVIDERS, MockCloud
from .profiles import PROFILES, profile_for

LIVE_OPTION = "--unicompute-live"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        LIVE_OPTION,
        action="store_true",
        default=False,
        help="run unicompute `cloud` fixtures against real clouds (costs money)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "clouds(*providers): run the test once per provider with the `cloud` fixture",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("clouds")
    if marker is None or "cloud" not in metafunc.fixturenames:
        return
    providers = list(marker.args)
    if not providers or not all(isinstance(p, str) for p in providers):
        raise pytest.UsageError("@pytest.mark.clouds needs provider names, e.g. 'aws'")
    metafunc.parametrize("cloud", providers, indirect=True, ids=providers)


@pytest.fixture
def mock_cloud(request: pytest.FixtureRequest) -> Iterator[MockCloud]:
    """All fakes, started empty for this test and stopped after it."""
    if request.config.getoption(LIVE_OPTION):
        pytest.skip(f"mock_cloud is not used with {LIVE_OPTION}")
    with MockCloud() as fakes:
        yield fakes


@pytest.fixture
def cloud(request: pytest.FixtureRequest) -> Iterator[Cloud]:
    """An open cloud for the provider of this test's parameter (``aws`` by default)."""
    provider = getattr(request, "param", "aws")
    if request.config.getoption(LIVE_OPTION):
        region = PROFILES[provider].region if provider in PROFILES else None
        with connect(provider, region=region) as live:  # None: the provider's default region
            yield live
        return
    if provider not in MOCKABLE_PROVIDERS:
        pytest.skip(f"unicompute has no fake for {provider} yet")
    with MockCloud([provider]), connect(provider, region=profile_for(provider).region) as fake:
        yield fake
