"""The ARM emulator: every handler mixin, routed by one werkzeug Map."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Map, Rule

from ._keys import SshKeyHandlers
from ._vms import VmHandlers


class ArmApp(VmHandlers, SshKeyHandlers):
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
