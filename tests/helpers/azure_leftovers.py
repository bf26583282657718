"""What an Azure provider test left behind in the fake's resource group."""

from __future__ import annotations

from typing import Any

from unicompute.driver import ProviderDrivers

#: The resource group the Azure provider uses by default.
GROUP = "unicompute"


def left_over(drivers: ProviderDrivers, prefix: str) -> dict[str, list[str]]:
    """Every resource of the group whose name starts with ``prefix``, tagged or not, by kind;
    kinds with none are left out."""
    ctx = drivers.compute._ctx  # type: ignore[attr-defined]
    net, compute = ctx.network, ctx.compute

    def named(items: Any) -> list[str]:
        return sorted(str(i.name) for i in items if str(i.name).startswith(prefix))

    found = {
        "vms": named(compute.virtual_machines.list(GROUP)),
        "nics": named(net.network_interfaces.list(GROUP)),
        "pips": named(net.public_ip_addresses.list(GROUP)),
        "nsgs": named(net.network_security_groups.list(GROUP)),
        "disks": named(compute.disks.list_by_resource_group(GROUP)),
    }
    return {kind: names for kind, names in found.items() if names}
