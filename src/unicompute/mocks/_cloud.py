"""The in-process entry point to every fake: :func:`mock_cloud`."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import ContextDecorator
from types import TracebackType
from typing import TYPE_CHECKING

from .._errors import InvalidRequest

if TYPE_CHECKING:
    from .aws import AwsFake

#: Providers that have a fake; later clouds join this tuple.
MOCKABLE_PROVIDERS: tuple[str, ...] = ("aws",)


def _check_providers(providers: Iterable[str] | None) -> tuple[str, ...]:
    if providers is None:
        return MOCKABLE_PROVIDERS
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
    """Handle on the running fakes: ``.aws`` is the AWS fake (moto), ``reset()`` empties all.

    Usable as a context manager or a decorator; every entry starts from empty state and the
    fakes stop when the block ends. One may be active per process at a time: nesting raises
    ``InvalidRequest`` (an inner block could not start empty).
    """

    def __init__(self, providers: Iterable[str] | None = None) -> None:
        self.providers = _check_providers(providers)
        self._aws: AwsFake | None = None
        self.active = False

    @property
    def aws(self) -> AwsFake:
        if self._aws is None:
            raise InvalidRequest("the AWS fake is not running in this mock", field="providers")
        return self._aws

    def start(self) -> MockCloud:
        global _running
        if _running is not None:
            # moto patches botocore process-wide, so an inner block could not start empty.
            raise InvalidRequest("a mock_cloud() is already active in this process; "
                                 "use its reset() instead of nesting", field="mock_cloud")
        _running = self
        try:
            if "aws" in self.providers:
                from .aws import AwsFake

                self._aws = AwsFake()
                self._aws.start()
        except BaseException:
            self.stop()
            raise
        self.active = True
        return self

    def stop(self) -> None:
        global _running
        if self._aws is not None:
            self._aws.stop()
            self._aws = None
        self.active = False
        if _running is self:
            _running = None

    def reset(self) -> None:
        """Forget every resource in every fake, as if the block had just begun."""
        if self._aws is not None:
            self._aws.reset()

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
