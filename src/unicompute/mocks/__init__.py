"""Offline fakes of the clouds, which the official SDKs talk to unchanged.

``with mock_cloud(): ...`` (or ``@mock_cloud()`` on a function) makes SDK clients created inside
the block, and ``unicompute.connect(...)``, talk to in-process emulators: AWS to moto. Nothing
leaves the machine and no credentials are needed. Each entry starts from empty state.
:class:`MockServer` serves the same fakes over HTTP on 127.0.0.1 for other processes.
"""

from __future__ import annotations

from ._cloud import MOCKABLE_PROVIDERS, MockCloud, mock_cloud, running_mock
from ._server import MockServer

__all__ = ["MOCKABLE_PROVIDERS", "MockCloud", "MockServer", "mock_cloud", "running_mock"]
