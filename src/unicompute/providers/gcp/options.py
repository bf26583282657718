"""GCE-only launch knobs, passed as ``VMSpec(options=unicompute.gcp.Options(...))``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..._errors import InvalidRequest

#: Persistent disk types a boot disk can have without further parameters (``hyperdisk-*`` and
#: ``pd-extreme`` need provisioned IOPS or throughput, which Options does not offer).
DISK_TYPES = frozenset({"pd-balanced", "pd-ssd", "pd-standard"})

#: What GCE does with a Spot VM it preempts.
SPOT_TERMINATION_ACTIONS = frozenset({"STOP", "DELETE"})

#: Linux user names the guest agent creates for ``ssh-keys`` entries.
_USER = re.compile(r"[a-z_][a-z0-9_-]{0,31}")


@dataclass(frozen=True, kw_only=True)
class Options:
    """Typed GCE options for a launch; every field has a safe default.

    * ``network``: the VPC network (name or ``global/networks/...`` path) the VMs and the
      firewall rule for ``open_ports`` go into. Default ``None``: unicompute's own network
      ``unicompute`` (created on first use, see ``network.py``), which has no allow rules but
      each launch's own, so a VM is reachable exactly on its ``open_ports``. Naming a network
      (``"default"`` included) puts the VMs under that network's firewall rules as well: the
      project's ``default`` network lets SSH, RDP and ICMP in from anywhere to every VM on it.
    * ``subnetwork``: the subnetwork (name in the region, or a path) of ``network``, which must
      then be given too; default: GCE picks the network's subnetwork in the region (auto-mode
      networks such as ``default`` and ``unicompute``).
    * ``disk_type``: persistent disk type of the boot disk: ``pd-balanced`` (default),
      ``pd-ssd`` or ``pd-standard``.
    * ``external_ip``: give each VM an ephemeral external IPv4 address (a ``ONE_TO_ONE_NAT``
      access config); default ``True``.
    * ``service_account``: e-mail of the service account the VMs run as; default none (the
      VM gets no Google credentials).
    * ``spot_termination_action``: what GCE does when it preempts a Spot VM (``spot=True``):
      ``STOP`` (default; the VM and its disk stay, and it can be started again) or ``DELETE``.
    * ``ssh_user``: the Linux user the key of ``VMSpec.key_name`` is installed for (the guest
      agent creates it); default ``unicompute``.
    """

    network: str | None = None
    subnetwork: str | None = None
    disk_type: str = "pd-balanced"
    external_ip: bool = True
    service_account: str | None = None
    spot_termination_action: str = "STOP"
    ssh_user: str = "unicompute"

    def __post_init__(self) -> None:
        for name in ("network", "subnetwork", "service_account"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value):
                raise InvalidRequest("must be a non-empty str or None", field=f"options.{name}")
        if self.subnetwork is not None and self.network is None:
            raise InvalidRequest("needs options.network set to the subnetwork's network",
                                 field="options.subnetwork")
        if self.disk_type not in DISK_TYPES:
            raise InvalidRequest(
                f"{self.disk_type!r} is not a boot disk type; use one of "
                f"{', '.join(sorted(DISK_TYPES))}",
                field="options.disk_type",
            )
        if not isinstance(self.external_ip, bool):
            raise InvalidRequest("must be a bool", field="options.external_ip")
        if self.spot_termination_action not in SPOT_TERMINATION_ACTIONS:
            raise InvalidRequest(
                f"{self.spot_termination_action!r} is not STOP or DELETE",
                field="options.spot_termination_action",
            )
        if not isinstance(self.ssh_user, str) or not _USER.fullmatch(self.ssh_user):
            raise InvalidRequest("must be a Linux user name: a lower-case letter or '_', then "
                                 "up to 31 lower-case letters, digits, '_' or '-'",
                                 field="options.ssh_user")
