"""The GCP provider: Compute Engine instances, persistent disks and snapshots, over the official
``google-cloud-compute`` REST clients.

Importing this package does not import the Google SDK (``Options`` is public API); the SDK is
imported when a cloud is first opened. Config keys of :func:`open_provider`:

* ``project`` (str): the project; default the one Application Default Credentials name, else
  ``GOOGLE_CLOUD_PROJECT``.
* ``zone`` (str): the zone VMs and sizes use when a spec names none; default the first zone of
  the region that offers the machine type.
* ``endpoint_url`` (str): talk to this Compute Engine endpoint, e.g. ``unicompute mock-server``'s.
  An ``http://`` endpoint is used with anonymous credentials (no token is sent in the clear).
* ``poll_interval`` (seconds): delay between polls of a GCE operation (default 2).

Credentials are Application Default Credentials (``gcloud auth application-default login``,
``GOOGLE_APPLICATION_CREDENTIALS``, or the metadata server on GCP); without any, ``connect``
raises ``Unauthenticated`` saying so. Any other key raises ``InvalidRequest`` naming it. The
region defaults to ``CLOUDSDK_COMPUTE_REGION``, else ``us-central1``.

VM ids are ``<zone>/<name>``, volume ids ``<zone>/<disk name>``, snapshot ids the snapshot's
name. Tags are GCE labels (``:`` in keys becomes ``--``; see ``convert.py``). VMs join
unicompute's own auto-mode VPC network ``unicompute`` (created on the first launch, never
deleted, with no firewall rules but each launch's own, so ``open_ports`` is all that is let in;
``Options.network`` picks another network, whose rules then apply too; see ``network.py``).
Key pairs are project metadata items ``unicompute-ssh-key-<name>``, given to a VM launched with
``key_name`` through its own ``ssh-keys`` metadata (see ``keys.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ...driver import Capability, Limits, NamingRules, ProviderDrivers
from .functions_limits import FUNCTION_LIMITS
from .options import Options

#: GCE resource names (RFC 1035): instances, disks, firewall rules.
LIMITS = Limits(
    names=NamingRules(
        pattern=re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?"),
        max_length=63,
        description=(
            "lower-case letters, digits and hyphens, starting with a letter and not ending "
            "with a hyphen, at most 63 characters (RFC 1035)"
        ),
    ),
    # One metadata value (the startup script) may hold 256 KiB.
    max_user_data_bytes=262144,
    # GCE allows 64 labels; unicompute adds unicompute--managed and, with open_ports,
    # unicompute--firewall.
    max_tags=62,
    max_tag_key_length=63,
    max_tag_value_length=63,
    max_disk_gib=65536,
    # Instances are inserted one call each.
    max_count=100,
    # Google reserves the goog- label prefix for its own services; the others are the
    # provider's bookkeeping.
    reserved_tag_prefixes=("goog-", "unicompute:root", "unicompute:firewall"),
    # Cloud Functions (2nd gen); see functions.py.
    functions=FUNCTION_LIMITS,
)

CAPABILITIES = frozenset(
    {
        Capability.VOLUMES,
        Capability.SNAPSHOTS,
        Capability.FIREWALLS,
        Capability.SPOT,
        Capability.REBOOT,
        Capability.USER_DATA,
        Capability.TAGS,
        Capability.CONSOLE_OUTPUT,
        Capability.KEYS,
        Capability.FUNCTIONS,
    }
)


def open_provider(region: str | None, config: Mapping[str, object]) -> ProviderDrivers:
    """The GCP drivers for ``region``.

    Without google-cloud-compute the ``ImportError`` propagates; ``unicompute.connect`` turns
    it into ``MissingDependency`` naming ``pip install 'unicompute[gcp]'``.
    """
    from . import _clients
    from .functions import attach

    connection = _clients.connect(config)
    drivers = _clients.open_provider(region, config, limits=LIMITS, capabilities=CAPABILITIES,
                                     connection=connection)
    return attach(drivers, connection)


__all__ = ["CAPABILITIES", "LIMITS", "Options", "open_provider"]
