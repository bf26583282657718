"""The fakes served over HTTP (``unicompute mock-server``), for clients in other processes."""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from typing import cast

from .._errors import InvalidRequest
from ._cloud import FAKES, MOCKABLE_PROVIDERS, new_fake
from ._fake import Fake
from ._kernel.clock import WallClock


def _check_port(port: object, field: str) -> int:
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise InvalidRequest("must be a TCP port or 0 for any free port", field=field)
    return port


class MockServer:
    """Serves every cloud's fake on ``host`` (127.0.0.1 unless asked otherwise), each on its
    own port: ``ports`` maps a provider to a port (0 or absent: any free port).

    :meth:`start` returns the endpoint of each provider; point a client at it, e.g.
    ``unicompute.connect("aws", region="us-east-1", endpoint_url=endpoints["aws"])``.

    With ``real_time`` the fakes' clocks follow the wall clock (:class:`WallClock`), so what
    separate commands create carries the time it was made at; otherwise each fake's clock
    stands at its fixed start until a test advances it. (The AWS fake, moto, always reads the
    wall clock for its resources.)
    """

    def __init__(self, *, host: str = "127.0.0.1",
                 ports: Mapping[str, int] | None = None, real_time: bool = False) -> None:
        self.host = host
        self.real_time = real_time
        self.ports: dict[str, int] = {}
        for provider, port in (ports or {}).items():
            if provider not in MOCKABLE_PROVIDERS:
                raise InvalidRequest(f"no fake for {provider!r}", field="ports")
            self.ports[provider] = _check_port(port, f"ports.{provider}")
        self._fakes: dict[str, Fake] = {}
        self.endpoints: dict[str, str] = {}

    def fake(self, provider: str) -> Fake:
        """The served fake of ``provider`` (for seeding or faults from the serving process)."""
        try:
            return self._fakes[provider]
        except KeyError:
            raise InvalidRequest(f"the {provider} fake is not served", field="provider") from None

    def start(self) -> dict[str, str]:
        try:
            for provider in MOCKABLE_PROVIDERS:
                fake = _wall_clock_fake(provider) if self.real_time else new_fake(provider)
                self.endpoints[provider] = fake.serve(self.host, self.ports.get(provider, 0))
                self._fakes[provider] = fake
        except BaseException:
            self.stop()
            raise
        return dict(self.endpoints)

    def stop(self) -> None:
        fakes, self._fakes = self._fakes, {}
        for fake in fakes.values():
            fake.shutdown_server()
        self.endpoints = {}

    def __enter__(self) -> MockServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _wall_clock_fake(provider: str) -> Fake:
    """A fresh fake of ``provider`` on a :class:`WallClock`, if its constructor takes a clock."""
    module_name, _, attr = FAKES[provider].partition(":")
    fake_type = getattr(importlib.import_module(module_name), attr)
    if "clock" not in inspect.signature(fake_type).parameters:
        return new_fake(provider)
    return cast(Fake, fake_type(clock=WallClock()))
