"""The Azure provider: virtual machines, managed disks and snapshots, SSH keys, over the official
``azure-mgmt-compute``, ``azure-mgmt-network`` and ``azure-mgmt-resource`` clients.

Importing this package does not import the Azure SDK (``Options`` is public API); it is imported
when a cloud is first opened. Config keys of :func:`open_provider` (``unicompute.connect("azure",
region=..., **config)`` or ``"azure://eastus?resource_group=rg"``):

* ``subscription_id`` (str): default ``$AZURE_SUBSCRIPTION_ID``; one of the two is required.
* ``resource_group`` (str): where everything is created and listed; default ``unicompute``.
* ``create_resource_group`` (bool, or ``"true"``/``"false"``): create the resource group, tagged
  ``unicompute:managed=true``, in the region on the first launch or volume when it is missing
  (default ``True``). With ``False`` a missing group is an ``InvalidRequest`` naming
  ``resource_group``. unicompute never deletes a resource group.
* ``credential``: an ``azure.core.credentials.TokenCredential``; default
  ``azure.identity.DefaultAzureCredential()`` (environment, managed identity, Azure CLI ...).
* ``endpoint_url`` (str): the ARM endpoint, e.g. ``unicompute mock-server``'s (the CLI's
  ``--endpoint``); an ``http://`` one gets a placeholder bearer token, never a real one (tokens
  are not sent in clear text). The URL is never echoed in errors.
* ``poll_interval`` (seconds): the SDK's long-running-operation polling interval when ARM sends
  no ``Retry-After``, and how often a wait checks its deadline (default 5).
* ``vm_timeout`` (seconds): how long a launch waits for its VMs to be created, and a VM delete
  or tag update waits, before ``Timeout`` (default 600; ``VM.terminate(timeout=)`` sets its own).
* ``operation_timeout`` (seconds): the same for every other ARM long-running operation
  (network security group, public IP, NIC, virtual network, disk, snapshot; default 300).
  After a ``Timeout`` the operation goes on in Azure; a launch deletes what it created, and
  logs (``unicompute.providers.azure``) and notes on the error what it could not delete.
* ``retry_total`` (int): azure-core's retries of one HTTP request on 408/429/5xx (default 3).

Any other key raises ``InvalidRequest`` naming it. Without a region the location is
``$AZURE_DEFAULTS_LOCATION`` (the Azure CLI's ``defaults.location`` in its environment form),
else ``eastus``. Inside ``unicompute.mocks.mock_cloud()`` nothing else is needed.

VM ids are ARM resource ids (``/subscriptions/…/resourceGroups/…/providers/
Microsoft.Compute/virtualMachines/<name>``); ``get`` reads one with a single call. ``stop()``
*deallocates*: a VM that is merely powered off is still billed for its cores, a deallocated one
is not (its disks and static public IP still are).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ...driver import Capability, Limits, NamingRules, ProviderDrivers
from .convert import KEY_TAG, LAUNCH_TAG
from .functions_limits import FUNCTION_LIMITS
from .options import Options

#: VM names (1-64 characters). The name is also the VM's computer (host) name, which Azure
#: allows letters, digits, '-' and '.' in (no '_'), and a VM name may not end with '.' or '-'.
#: The NIC, public IP and OS disk are named after the VM (``<name>-nic`` ...), so the rule also
#: keeps those valid. Windows names are checked at launch against Windows' own rule (1-15
#: characters, no period, not only digits).
LIMITS = Limits(
    names=NamingRules(
        pattern=re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$"),
        max_length=64,
        description=(
            "letters, digits, '.' and '-', starting and ending with a letter or digit, at most "
            "64 characters (15 for Windows, without '.')"
        ),
    ),
    # customData: at most 65,535 bytes once base64-decoded.
    max_user_data_bytes=65535,
    max_tags=47,  # ARM allows 50; unicompute adds unicompute:managed, :launch and :key
    max_tag_key_length=512,
    max_tag_value_length=256,
    # Managed data disks go up to 32,767 GiB; an OS disk (disk_gib) at most 4,095, checked at
    # launch.
    max_disk_gib=32767,
    max_count=100,
    reserved_tag_prefixes=(LAUNCH_TAG, KEY_TAG),
    # Azure Functions: one Flex Consumption function app per function (see .functions).
    functions=FUNCTION_LIMITS,
)

CAPABILITIES = frozenset(
    {
        Capability.KEYS,
        Capability.VOLUMES,
        Capability.SNAPSHOTS,
        Capability.FIREWALLS,
        Capability.SPOT,
        Capability.REBOOT,
        Capability.USER_DATA,
        Capability.TAGS,
        Capability.FUNCTIONS,
        Capability.CONSOLE_OUTPUT,
    }
)


def open_provider(region: str | None, config: Mapping[str, object]) -> ProviderDrivers:
    """The Azure drivers for ``region``.

    Without the Azure SDK the ``ImportError`` propagates; ``unicompute.connect`` turns it into
    ``MissingDependency`` naming ``pip install 'unicompute[azure]'``.
    """
    from . import _session

    drivers = _session.open_provider(region, config, limits=LIMITS, capabilities=CAPABILITIES)
    from .functions import open_functions

    functions = open_functions(region, config)
    close_others = drivers.close

    def close() -> None:
        functions.close()
        close_others()

    drivers.functions = functions
    drivers.close = close
    return drivers


__all__ = ["CAPABILITIES", "LIMITS", "Options", "open_provider"]
