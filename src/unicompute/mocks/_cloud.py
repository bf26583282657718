"""The in-process entry point to every fake: :func:`mock_cloud`."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from contextlib import ContextDecorator
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from .._errors import InvalidRequest
from ._fake import Fake
from ._kernel.transport import Interceptor

if TYPE_CHECKING:
    from .aws import AwsFake

#: Where each cloud's fake lives (``module:class``).
FAKES: dict[str, str] = {
    "aws": "unicompute.mocks.aws:AwsFake",
    "azure": "unicompute.mocks.azure:AzureFake",
    "gcp": "unicompute.mocks.gcp:GcpFake",
}
#: Providers that have a fake.
MOCKABLE_PROVIDERS: tuple[str, ...] = tuple(FAKES)


def new_fake(provider: str) -> Fake:
    """A fresh, stopped fake of ``provider``."""
    module_name, _, attr = FAKES[provider].partition(":")
    return cast(Fake, getattr(importlib.import_module(module_name), attr)())


def _check_providers(providers: Iterable[str] | None) -> tuple[str, ...]:
    if providers is None:
        return MOCKABLE_PROVIDERS
    if isinstance(providers, str):
        providers = [providers]
    chosen = tuple(providers)
    for name in chosen:
        if name not in MOCKABLE_PROVIDERS:
            raise InvalidRequest(
                f"no fake for {name!r}; fakes exist for {', '.join(MOCKABLE_PROVIDERS)}",
                field="providers",
            )
    return chosen


#: The mock_cloud() running in this process, if any (the fakes patch SDKs process-wide).
_running: MockCloud | None = None


class MockCloud(ContextDecorator):
    """Handle on the running fakes: ``.aws`` (moto), and each other cloud's fake by its name;
    ``reset()`` empties all.

    Usable as a context manager or a decorator; every entry starts from empty state and the
    fakes stop when the block ends. One may be active per process at a time: nesting raises
    ``InvalidRequest`` (an inner block could not start empty).
    """

    def __init__(self, providers: Iterable[str] | None = None) -> None:
        self.providers = _check_providers(providers)
        self._fakes: dict[str, Fake] = {}
        self._interceptor: Interceptor | None = None
        self.active = False

    def fake(self, provider: str) -> Fake:
        """The running fake of ``provider``."""
        try:
            return self._fakes[provider]
        except KeyError:
            raise InvalidRequest(f"the {provider} fake is not running in this mock",
                                 field="providers") from None

    @property
    def aws(self) -> AwsFake:
        return cast("AwsFake", self.fake("aws"))

    def __getattr__(self, name: str) -> Any:
        # ``mock.azure``, ``mock.gcp``: typed properties join as those fakes land.
        if name in FAKES:
            return self.fake(name)
        raise AttributeError(name)

    def start(self) -> MockCloud:
        global _running
        if _running is not None:
            # The fakes patch SDKs process-wide, so an inner block could not start empty.
            raise InvalidRequest("a mock_cloud() is already active in this process; "
                                 "use its reset() instead of nesting", field="mock_cloud")
        _running = self
        try:
            routes: dict[str, Any] = {}
            for name in self.providers:
                fake = new_fake(name)
                fake.start()
                self._fakes[name] = fake
                routes.update(fake.routes())
            if routes:
                self._interceptor = Interceptor(routes)
                self._interceptor.install()
        except BaseException:
            self.stop()
            raise
        self.active = True
        return self

    def stop(self) -> None:
        global _running
        if self._interceptor is not None:
            self._interceptor.uninstall()
            self._interceptor = None
        fakes, self._fakes = self._fakes, {}
        for fake in reversed(list(fakes.values())):
            fake.stop()
        self.active = False
        if _running is self:
            _running = None

    def reset(self) -> None:
        """Forget every resource in every fake, as if the block had just begun."""
        for fake in self._fakes.values():
            fake.reset()

    def __enter__(self) -> MockCloud:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def mock_cloud(providers: Iterable[str] | None = None) -> MockCloud:
    """Fakes for ``providers`` (default: every cloud that has one), as a context manager or
    decorator."""
    return MockCloud(providers)
