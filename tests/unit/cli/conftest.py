"""Running the ``unicompute`` command in-process, against an AWS fake that outlives one command.

``fake`` starts the in-process fake for the test (emptied by ``reset`` between tests): commands run
without ``--mock`` then talk to it, so state carries from one command to the next (launch, then
status, then destroy). Commands run with ``--mock`` get their own, empty fake instead; they live
in modules that do not use ``fake``, so that fakes are never nested.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner, Result

from unicompute import Size
from unicompute.cli import main
from unicompute.mocks import MockCloud, mock_cloud


@pytest.fixture(scope="module")
def _shared_fake() -> Iterator[MockCloud]:
    with mock_cloud() as fakes:
        yield fakes


@pytest.fixture(scope="module", autouse=True)
def _catalog_read_once() -> Iterator[None]:
    """Every command opens a new cloud, and reading moto's ~1,400 instance types takes seconds;
    the catalog is static, so the AWS provider's reader is memoized per region for these tests.
    """
    from unicompute.providers.aws import sizes

    read = sizes.list_sizes
    catalogs: dict[str, list[Size]] = {}

    def list_sizes(client: Any, region: str) -> list[Size]:
        if region not in catalogs:
            catalogs[region] = read(client, region)
        return list(catalogs[region])

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sizes, "list_sizes", list_sizes)
        yield


@pytest.fixture
def fake(_shared_fake: MockCloud) -> MockCloud:
    _shared_fake.reset()
    return _shared_fake


@pytest.fixture
def cli() -> Callable[..., Result]:
    """``cli(*args)`` runs ``unicompute ARGS`` in-process; stdout and stderr are kept apart."""

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), prog_name="unicompute")

    return run


@pytest.fixture(scope="session", autouse=True)
def _mock_server_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """``--mock`` commands share a background mock server: in a directory of the tests' own,
    and always stopped at the end."""
    from unicompute.cli.mock_state import stop_server

    directory = tmp_path_factory.mktemp("mock")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UNICOMPUTE_MOCK_DIR", str(directory))
        try:
            yield
        finally:
            stop_server(directory)
