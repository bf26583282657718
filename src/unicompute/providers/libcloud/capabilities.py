"""What a Libcloud driver can do, declared per driver.

Libcloud's ``NodeDriver`` base class defines every operation and raises ``NotImplementedError``
from the ones a driver does not override. So a driver supports an operation exactly when its
class overrides the base method; :func:`operations` reads that, and :func:`capabilities` turns
it into unicompute's :class:`~unicompute.driver.Capability` set. Capabilities that need a
driver's ``ex_*`` extensions (tags, user data, spot) are granted only by an adapter written for
that driver (:data:`ADAPTED`), never guessed.
"""

from __future__ import annotations

from typing import Any

from ...driver import Capability

#: Portable operation → the ``NodeDriver`` methods it needs.
OPERATIONS: dict[str, tuple[str, ...]] = {
    "vms.launch": ("create_node",),
    "vms.start": ("start_node",),
    "vms.stop": ("stop_node",),
    "vms.reboot": ("reboot_node",),
    "vms.terminate": ("destroy_node",),
    "keys": ("import_key_pair_from_string", "list_key_pairs", "delete_key_pair"),
    "volumes": ("create_volume", "list_volumes", "attach_volume", "detach_volume",
                "destroy_volume"),
    "snapshots": ("create_volume_snapshot", "destroy_volume_snapshot"),
}

#: Capabilities unicompute implements with a driver's extensions, by Libcloud provider name.
#: Firewalls: EC2 only (security groups, :mod:`.ec2_network`).
ADAPTED: dict[str, frozenset[Capability]] = {
    "ec2": frozenset({Capability.TAGS, Capability.USER_DATA, Capability.SPOT,
                      Capability.FIREWALLS}),
}


def overrides(driver_class: type, method: str) -> bool:
    """Whether ``driver_class`` implements ``method`` itself rather than inheriting Libcloud's
    ``NotImplementedError`` stub."""
    from libcloud.compute.base import NodeDriver

    mine: Any = getattr(driver_class, method, None)
    base: Any = getattr(NodeDriver, method, None)
    return mine is not None and mine is not base


def operations(driver_class: type) -> frozenset[str]:
    """The portable operations (keys of :data:`OPERATIONS`) ``driver_class`` supports."""
    found = {
        op for op, methods in OPERATIONS.items()
        if all(overrides(driver_class, m) for m in methods)
    }
    # Snapshots are listed with list_snapshots (EC2, OpenStack...), which NodeDriver lacks.
    if "snapshots" in found and not callable(getattr(driver_class, "list_snapshots", None)):
        found.discard("snapshots")
    return frozenset(found)


def capabilities(name: str, driver_class: type) -> frozenset[Capability]:
    """The capabilities unicompute declares for Libcloud provider ``name``."""
    ops = operations(driver_class)
    found = set(ADAPTED.get(name, frozenset()))
    if "vms.reboot" in ops:
        found.add(Capability.REBOOT)
    if "keys" in ops:
        found.add(Capability.KEYS)
    if "volumes" in ops:
        found.add(Capability.VOLUMES)
        if "snapshots" in ops:
            found.add(Capability.SNAPSHOTS)
    return frozenset(found)
