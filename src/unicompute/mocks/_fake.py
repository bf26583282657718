"""What :class:`~unicompute.mocks.MockCloud` and :class:`~unicompute.mocks.MockServer` need of
each cloud's fake."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication


class Fake(Protocol):
    """One cloud's emulator.

    * :meth:`start` makes SDK clients created in this process afterwards talk to the fake (and
      sets or hides the environment variables that decide their credentials); :meth:`stop`
      undoes exactly that and drops the state. Neither is re-entrant.
    * :meth:`routes` names the URL prefixes (host wildcards allowed) the fake answers in-process
      while started; MockCloud routes every ``requests`` session for them to the WSGI app.
    * :meth:`serve` runs the same emulator over HTTP and returns its base URL;
      :meth:`shutdown_server` stops it.
    * :meth:`reset` forgets every resource, fault and logged request.
    """

    def start(self) -> object: ...

    def stop(self) -> None: ...

    def reset(self) -> None: ...

    def routes(self) -> Mapping[str, WSGIApplication]: ...

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> str: ...

    def shutdown_server(self) -> None: ...
