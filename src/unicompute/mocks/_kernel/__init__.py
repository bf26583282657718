"""What every emulator shares: clock, resource store, ids, faults, operations, HTTP plumbing.

An emulator is a WSGI application (:class:`~.app.EmulatorApp`) over a :class:`~.store.Store` of
its resources, driven by a :class:`~.clock.FakeClock`. It is reached two ways, with the same
state: in-process, by :class:`~.transport.Interceptor` routing the SDKs' ``requests`` sessions for
the cloud's real hostnames to the app, or over a socket by :func:`~.transport.serve` on
127.0.0.1. Nothing here knows any cloud; ``mocks/azure`` and ``mocks/gcp`` build on it.
"""

from __future__ import annotations

from .app import EmulatorApp, HttpError, json_response
from .clock import FakeClock
from .env import EnvOverride
from .faults import Fault, Faults
from .ids import IdFactory
from .operations import Operation, Operations
from .store import Store
from .transport import Interceptor, Listener, Served, WsgiAdapter, serve

__all__ = [
    "EmulatorApp",
    "EnvOverride",
    "FakeClock",
    "Fault",
    "Faults",
    "HttpError",
    "IdFactory",
    "Interceptor",
    "Listener",
    "Operation",
    "Operations",
    "Served",
    "Store",
    "WsgiAdapter",
    "json_response",
    "serve",
]
