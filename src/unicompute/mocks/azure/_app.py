"""The ARM emulator: every handler mixin, routed by one werkzeug Map (matched through its
:class:`~._router.ShapeRouter` index)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.routing import Map, Rule

from ._boot_diagnostics import BootDiagnosticsHandlers
from ._keys import SshKeyHandlers
from ._router import ShapeRouter
from ._vms import VmHandlers
from ._web_insights import InsightsHandlers

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment


class ArmApp(VmHandlers, SshKeyHandlers, InsightsHandlers, BootDiagnosticsHandlers):
    """Azure Resource Manager for resource groups, Microsoft.Network and Microsoft.Compute.

    Each handler's name is its endpoint and its fault-injection name (``vm_put``,
    ``vm_start``, ``nic_put``, ``group_delete``, ...; see each mixin's docstring).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        rules: list[Rule] = []
        for cls in reversed(type(self).__mro__):
            for rule in cls.__dict__.get("rules", []):
                rules.append(rule.empty())
        self.url_map = Map(rules, strict_slashes=False, merge_slashes=False)
        self.router = ShapeRouter(self.url_map)

    def match(self, environ: WSGIEnvironment) -> tuple[str, Mapping[str, Any]]:
        return self.router.match(environ["REQUEST_METHOD"], environ.get("PATH_INFO") or "/")
