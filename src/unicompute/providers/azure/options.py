"""Azure-only launch knobs, passed as ``VMSpec(options=unicompute.azure.Options(...))``."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from ..._errors import InvalidRequest

#: Managed disk types an OS disk can have without further parameters (Ultra and Premium v2
#: cannot be OS disks).
OS_DISK_TYPES = frozenset({"Premium_LRS", "StandardSSD_LRS", "Standard_LRS", "Premium_ZRS",
                           "StandardSSD_ZRS"})
#: What Azure does with a spot VM it evicts.
EVICTION_POLICIES = frozenset({"Deallocate", "Delete"})
#: Subnet ids: ``/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Network/
#: virtualNetworks/{vnet}/subnets/{subnet}`` (ARM ids are case-insensitive).
SUBNET_ID = re.compile(
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.Network/"
    r"virtualNetworks/[^/]+/subnets/[^/]+",
    re.IGNORECASE,
)
#: Linux admin user names Azure refuses (``adminUsername``), lower-cased.
RESERVED_ADMIN_NAMES = frozenset({
    "administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1", "1",
    "123", "a", "actuser", "adm", "admin2", "aspnet", "backup", "console", "david", "guest",
    "john", "owner", "root", "server", "sql", "support", "support_388945a0", "sys", "test2",
    "test3", "user4", "user5",
})
_ADMIN_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_.-]{0,63}")


@dataclass(frozen=True, kw_only=True)
class Options:
    """Typed Azure options for a launch; every field has a safe default.

    * ``subnet_id``: ARM id of an existing subnet to put the VM in, instead of the shared
      ``unicompute-<region>`` virtual network unicompute creates in the resource group.
    * ``public_ip``: give the VM a Standard static public IP (default ``True``).
    * ``os_disk_type``: managed disk type of the OS disk (default ``StandardSSD_LRS``).
    * ``admin_username``: the VM's administrator account (default ``azureuser``).
    * ``admin_password``: its password; required to sign in to Windows. Without it (and without
      ``key_name`` on Linux) unicompute sets a random password that nobody learns, because
      Azure requires one: sign-in then only works through what user data sets up. Never shown
      in reprs or errors.
    * ``spot_eviction_policy``: ``Deallocate`` (default: an evicted spot VM is kept, stopped) or
      ``Delete``.
    * ``spot_max_price``: highest USD/hour price for a spot VM; ``-1`` (default) means up to the
      on-demand price, so Azure never evicts it for price.
    """

    subnet_id: str | None = None
    public_ip: bool = True
    os_disk_type: str = "StandardSSD_LRS"
    admin_username: str = "azureuser"
    admin_password: str | None = field(default=None, repr=False)
    spot_eviction_policy: str = "Deallocate"
    spot_max_price: float = -1

    def __post_init__(self) -> None:
        if self.subnet_id is not None and (
            not isinstance(self.subnet_id, str) or not SUBNET_ID.fullmatch(self.subnet_id)
        ):
            raise InvalidRequest(
                "must be a subnet's ARM id (/subscriptions/.../virtualNetworks/<vnet>/subnets/"
                "<subnet>)",
                field="options.subnet_id",
            )
        if not isinstance(self.public_ip, bool):
            raise InvalidRequest("must be a bool", field="options.public_ip")
        if self.os_disk_type not in OS_DISK_TYPES:
            raise InvalidRequest(
                f"{self.os_disk_type!r} is not an OS disk type; use one of "
                f"{', '.join(sorted(OS_DISK_TYPES))}",
                field="options.os_disk_type",
            )
        name = self.admin_username
        if not isinstance(name, str) or not _ADMIN_NAME.fullmatch(name) or name.endswith("."):
            raise InvalidRequest(
                "must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or '_' "
                "and not ending with '.'",
                field="options.admin_username",
            )
        if name.lower() in RESERVED_ADMIN_NAMES:
            raise InvalidRequest(f"{name!r} is a name Azure reserves",
                                 field="options.admin_username")
        if self.admin_password is not None:
            _check_password(self.admin_password)
        if self.spot_eviction_policy not in EVICTION_POLICIES:
            raise InvalidRequest("must be 'Deallocate' or 'Delete'",
                                 field="options.spot_eviction_policy")
        price = self.spot_max_price
        if (
            isinstance(price, bool)
            or not isinstance(price, int | float)
            or not (price == -1 or 0 < price < math.inf)
        ):
            raise InvalidRequest("must be -1 or a positive USD/hour price",
                                 field="options.spot_max_price")


def _check_password(password: object) -> None:
    """Azure's rule for admin passwords: 12-123 characters with three of lower case, upper
    case, digits and special characters. The password itself is never echoed."""
    if not isinstance(password, str) or not 12 <= len(password) <= 123:
        raise InvalidRequest("must be a str of 12 to 123 characters",
                             field="options.admin_password")
    kinds = sum((
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    ))
    if kinds < 3:
        raise InvalidRequest(
            "must contain three of: lower case, upper case, digits, special characters",
            field="options.admin_password",
        )
