"""An open AWS cloud on the in-process fake, emptied before each test.

One fake and one cloud serve the whole module: the cloud's size catalog (slow to fetch from moto)
is read once, and ``MockCloud.reset()`` gives every test empty state.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import unicompute as uc
from unicompute.mocks import MockCloud, mock_cloud


@pytest.fixture(scope="module")
def _shared_aws() -> Iterator[tuple[MockCloud, uc.Cloud]]:
    with mock_cloud() as fakes, uc.connect("aws", region="us-east-1") as cloud:
        yield fakes, cloud


@pytest.fixture
def aws(_shared_aws: tuple[MockCloud, uc.Cloud]) -> uc.Cloud:
    fakes, cloud = _shared_aws
    fakes.reset()
    return cloud
