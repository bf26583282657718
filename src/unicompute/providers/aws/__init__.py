"""The AWS provider: EC2 instances, EBS volumes and snapshots, key pairs, over boto3.

Importing this package does not import botocore (``Options`` is public API); the SDK is imported
when a cloud is first opened. Config keys of :func:`open_provider`:

* ``endpoint_url`` (str): talk to this EC2 endpoint, e.g. ``unicompute mock-server``'s. When no
  AWS credentials are configured, placeholder ones are used, since a local fake needs some. An
  http(s) URL without user name or password (rejected without being echoed).
* ``profile`` (str): boto3 profile name.
* ``poll_interval`` (seconds, a number or numeric str): delay between polls while waiting for
  EC2 (default 5).

Any other key raises ``InvalidRequest`` naming it. The region defaults to the boto3 session's,
else ``us-east-1``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ...driver import Capability, Limits, NamingRules, ProviderDrivers
from .options import Options

#: Names go into the ``Name`` tag and the security group name, so the portable rule applies.
LIMITS = Limits(
    names=NamingRules(
        pattern=re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$"),
        max_length=63,
        description=(
            "letters, digits and hyphens, starting and ending with a letter or digit, "
            "at most 63 characters"
        ),
    ),
    max_user_data_bytes=16384,
    max_tags=45,  # EC2 allows 50; unicompute adds Name, unicompute:managed and unicompute:sg
    max_tag_key_length=127,
    max_tag_value_length=256,
    max_disk_gib=16384,
    max_count=100,
    # EC2 rejects user tags starting with aws:; the others are the provider's bookkeeping, which
    # terminate_vm and volume listing read.
    reserved_tag_prefixes=("aws:", "unicompute:sg", "unicompute:root", "unicompute:client-token"),
    # Name holds the VM's name: a user's Name tag would silently rename the VM.
    reserved_tag_keys=("Name",),
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
    }
)


def open_provider(region: str | None, config: Mapping[str, object]) -> ProviderDrivers:
    """The AWS drivers for ``region``.

    Without botocore the ``ImportError`` propagates; ``unicompute.connect`` turns it into
    ``MissingDependency`` naming ``pip install 'unicompute[aws]'``.
    """
    from . import _session

    return _session.open_provider(region, config, limits=LIMITS, capabilities=CAPABILITIES)


__all__ = ["CAPABILITIES", "LIMITS", "Options", "open_provider"]
