"""Opening a cloud: :func:`connect` and :class:`Cloud`."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import _registry
from ._context import CloudContext
from ._errors import InvalidRequest, Unsupported
from ._functions import Functions
from ._keys import Keys
from ._models import Region, Zone
from ._vms import VMs
from ._volumes import Volumes
from ._waiting import Poller
from .driver import Limits


class Cloud:
    """One provider and region, open until :meth:`close` (or the end of a ``with`` block).

    Calls after ``close()`` raise :class:`~unicompute.errors.ClosedError`.
    """

    def __init__(self, ctx: CloudContext, config: Mapping[str, object]) -> None:
        self._ctx = ctx
        self._config_keys = sorted(config)
        self.vms = VMs(ctx)
        self.keys = Keys(ctx)
        self.volumes = Volumes(ctx)
        self._functions = Functions(ctx)

    @property
    def functions(self) -> Functions:
        """Serverless functions; ``Unsupported`` when the provider has none."""
        self._ctx.check_open("functions")
        if self._ctx.drivers.functions is None:
            raise Unsupported(f"{self.provider} has no serverless functions in unicompute",
                              provider=self.provider, operation="functions")
        return self._functions

    @property
    def provider(self) -> str:
        return self._ctx.provider

    @property
    def region(self) -> str:
        return self._ctx.region

    @property
    def closed(self) -> bool:
        return self._ctx.closed

    @property
    def capabilities(self) -> frozenset[str]:
        return frozenset(c.value for c in self._ctx.drivers.capabilities)

    @property
    def thread_safe(self) -> bool:
        """Whether this cloud may be used from several threads at once (Libcloud's drivers may
        not: "create a separate driver instance for each thread")."""
        return self._ctx.drivers.thread_safe

    @property
    def poller(self) -> Poller:
        """How waits poll (interval, backoff, clock, sleep). Assign a :class:`Poller` with a fake
        clock and sleep to control time in tests."""
        return self._ctx.poller

    @poller.setter
    def poller(self, poller: Poller) -> None:
        if not isinstance(poller, Poller):
            raise InvalidRequest("must be a unicompute.Poller", field="poller")
        self._ctx.poller = poller

    @property
    def limits(self) -> Limits:
        """The cloud's limits that launches are checked against (name rules, user data bytes,
        tags, disk size, VMs per launch)."""
        return self._ctx.drivers.limits

    def regions(self) -> list[Region]:
        compute = self._ctx.drivers.compute
        return self._ctx.call("regions", compute.regions, idempotent=True)

    def zones(self) -> list[Zone]:
        compute = self._ctx.drivers.compute
        return self._ctx.call("zones", compute.zones, idempotent=True)

    def close(self) -> None:
        """Release the provider's clients; idempotent."""
        self._ctx.close()

    def __enter__(self) -> Cloud:
        self._ctx.check_open("enter")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        # Only config *names* are shown: values may be credentials.
        state = "closed" if self.closed else "open"
        return (f"Cloud(provider={self.provider!r}, region={self.region!r}, "
                f"config={self._config_keys}, {state})")


def parse_target(target: str) -> tuple[str, str | None, dict[str, str]]:
    """Split ``"aws://us-east-1?profile=dev"`` into provider, region and config.

    A plain provider name (``"aws"``) has no region or config. The provider is everything before
    ``://``, so a family member's name keeps its colon: ``"libcloud:ec2://us-east-1?port=5000"``.
    """
    if "://" not in target:
        return target, None, {}
    name, _, rest = target.partition("://")
    # urlsplit would take "libcloud:ec2" apart; only what follows the name is a URL.
    parts = urlsplit("provider://" + rest)
    # The target is never echoed: its query may hold credentials.
    if "@" in parts.netloc:
        raise InvalidRequest("credentials do not belong in the URL; use the provider's own "
                             "credential sources (profiles, environment)", field="provider")
    if parts.path not in ("", "/") or parts.fragment:
        raise InvalidRequest(f"expected {name}://region?key=value", field="provider")
    return name, parts.netloc or None, dict(parse_qsl(parts.query))


def connect(provider: str, *, region: str | None = None, **config: Any) -> Cloud:
    """Open ``provider`` (``"aws"``, or the URL form ``"aws://us-east-1?profile=dev"``) in
    ``region``. ``config`` is passed to the provider; unknown keys are ``InvalidRequest``.

    The provider's SDK is imported now, not by ``import unicompute``; if it is not installed the
    error names the ``pip install`` to run.
    """
    if not isinstance(provider, str) or not provider:
        raise InvalidRequest("must be a provider name or URL", field="provider")
    name, url_region, url_config = parse_target(provider)
    if region is not None and url_region is not None and region != url_region:
        raise InvalidRequest(f"{region!r} contradicts the URL's {url_region!r}", field="region")
    if region is not None and (not isinstance(region, str) or not region):
        raise InvalidRequest("must be a non-empty str", field="region")
    merged: dict[str, object] = {**url_config, **config}
    drivers = _registry.open_provider(name, region or url_region, merged)
    return Cloud(CloudContext(drivers), merged)

