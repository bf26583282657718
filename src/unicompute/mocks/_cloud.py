"""The in-process entry point to every fake: :func:`mock_cloud`."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from contextlib import AbstractContextManager, ContextDecorator
from types import TracebackType
from typing import TYPE_CHECKING, Any, cast

from .._errors import InvalidRequest
from ._fake import Fake
from ._kernel.transport import Interceptor

if TYPE_CHECKING:
    from .aws import AwsFake
    from .metadata._boot import BootRun
    from .metadata._interrupt import Interruption
    from .metadata._plane import Box, MetadataPlane

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

    def __init__(self, providers: Iterable[str] | None = None, *, run_user_data: bool = False,
                 user_data_timeout: float = 30.0) -> None:
        self.providers = _check_providers(providers)
        from .metadata._boot import check_options

        #: Seconds a user-data run may take.
        self.user_data_timeout = check_options(run_user_data, user_data_timeout)
        #: Whether a VM's first boot runs its user-data script (see ``mocks.metadata``).
        self.run_user_data = run_user_data
        self._fakes: dict[str, Fake] = {}
        self._interceptor: Interceptor | None = None
        self._plane: MetadataPlane | None = None
        self._patches: list[Any] = []
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
            for name in self.providers:
                fake = new_fake(name)
                fake.start()
                self._fakes[name] = fake
            self._start_metadata()
            routes: dict[str, Any] = {}
            for name, fake in self._fakes.items():
                for prefix, app in fake.routes().items():
                    routes[prefix] = (self._plane.wrap(name, app)
                                      if self.run_user_data and self._plane else app)
            if routes:
                self._interceptor = Interceptor(routes)
                self._interceptor.install()
        except BaseException:
            self.stop()
            raise
        self.active = True
        return self

    def _start_metadata(self) -> None:
        """The metadata plane and the AWS console/boot patches."""
        from .metadata._plane import MetadataPlane

        plane = MetadataPlane(self._fakes, run_user_data=self.run_user_data,
                              user_data_timeout=self.user_data_timeout)
        self._plane = plane
        if "aws" in self._fakes:
            from .aws._console import patches

            after = (lambda: plane.scan("aws")) if self.run_user_data else None
            for patch in patches(plane.consoles["aws"], after):
                patch.start()
                self._patches.append(patch)

    @property
    def metadata(self) -> MetadataPlane:
        """The metadata servers, boots and interruptions of this mock."""
        if self._plane is None:
            raise InvalidRequest("this mock_cloud() is not running", field="mock_cloud")
        return self._plane

    def inside(self, vm: object, provider: str | None = None, *,
               aws_tokens: str = "required") -> AbstractContextManager[Box]:
        """Be inside fake VM ``vm`` (a unicompute ``VM`` or its id): the SDKs' metadata
        endpoints point at its metadata server. See :mod:`unicompute.mocks.metadata`."""
        return self.metadata.inside(vm, provider, aws_tokens=aws_tokens)

    def interrupt(self, vm: object, provider: str | None = None, *,
                  action: str | None = None) -> Interruption:
        """A spot interruption / preemption notice for ``vm`` now; the VM stops or terminates
        when the fake's clock passes ``not_before`` (or on ``complete()``)."""
        return self.metadata.interrupt(vm, provider, action=action)

    def boots(self, provider: str) -> list[BootRun]:
        """The user-data runs on ``provider``'s fake so far."""
        return self.metadata.boots(provider)

    def stop(self) -> None:
        global _running
        if self._interceptor is not None:
            self._interceptor.uninstall()
            self._interceptor = None
        if self._plane is not None:
            plane, self._plane = self._plane, None
            plane.stop()
        patches, self._patches = self._patches, []
        for patch in reversed(patches):
            patch.stop()
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
        if self._plane is not None:
            self._plane.reset()

    def __enter__(self) -> MockCloud:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def running_mock() -> MockCloud | None:
    """The ``mock_cloud()`` active in this process, if there is one (e.g. the one the pytest
    plugin's ``cloud`` fixture started), so helpers can reach its fakes' handles."""
    return _running if _running is not None and _running.active else None


def mock_cloud(providers: Iterable[str] | None = None, *, run_user_data: bool = False,
               user_data_timeout: float = 30.0) -> MockCloud:
    """Fakes for ``providers`` (default: every cloud that has one), as a context manager or
    decorator. ``run_user_data=True``: a fake VM's first boot runs its user-data script
    (bounded by ``user_data_timeout`` seconds; see :mod:`unicompute.mocks.metadata`)."""
    return MockCloud(providers, run_user_data=run_user_data,
                     user_data_timeout=user_data_timeout)
