"""The Libcloud provider: unicompute's VM API on any of Apache Libcloud's compute drivers.

``unicompute.connect("libcloud:<name>", region=..., **driver_args)`` opens Libcloud provider
``<name>`` (``ec2``, ``openstack``, ``digitalocean``, ``linode``, ``vsphere``, ``dummy``...);
the URL form is ``"libcloud:<name>://<region>?<arg>=<value>&..."`` (everything before ``://``
is the provider name). Config keys are the arguments of the Libcloud driver's constructor
(``key``, ``secret``, ``host``, ``port``, ``secure``, ``ex_force_auth_url``...) and the
connection settings every Libcloud driver takes (``timeout``, ``retry_delay``, ``backoff``,
``proxy_url``), checked against its signature: an unknown key, or a missing required one, is
``InvalidRequest`` naming it. URL values are converted to the argument's type (``port=5000``,
``secure=false``, ``timeout=30``). Two keys are
unicompute's own: ``poll_interval`` (seconds between the polls of a wait, such as for a VM
to be terminated, and between retries while EC2 settles; default 2, no backoff), and
``endpoint_url`` (what every provider takes and the CLI's ``--endpoint`` passes): for a driver
that takes ``host``, ``port`` and ``secure``, ``http(s)://host[:port]`` is mapped to them (port
80 or 443 by default, ``secure`` for https); giving it with any of those three, or to a driver
without them, is ``InvalidRequest`` naming ``endpoint_url``.
Values of arguments whose names mention a key, secret, token or password are removed from every
error message.

What works depends on the driver and is declared per driver (:mod:`.capabilities`): VM
operations the driver does not implement raise ``Unsupported`` naming the provider and the
operation. The generic path offers sizes, images by id, locations (as the zones of the one
region the driver is bound to), launch, list (paged by unicompute, never truncated), start,
stop, reboot, terminate, key pairs and volumes/snapshots where the driver has them. Tags, user
data, spot, image aliases, disk size and firewalls (``open_ports``) need a driver adapter;
``ec2`` has one (firewalls as one security group per launch, like the ``aws`` provider).
Functions are not offered.

Prices are estimates: ``Size.hourly_price`` is Libcloud's ``NodeSize.price``, which comes from
the pricing file bundled with Libcloud (a dated snapshot) or from the driver's own catalog,
not from the provider's billing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from ...driver import Limits, NamingRules, ProviderDrivers, ProviderFactory

#: Names must be acceptable to every driver, so the strictest common rule applies.
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
    max_tags=45,
    max_tag_key_length=127,
    max_tag_value_length=255,
    max_disk_gib=16384,
    max_count=20,  # Libcloud creates VMs one call at a time
)

#: Limits of providers whose adapters know better. EC2: 50 tags, of which unicompute uses Name,
#: unicompute:managed and unicompute:sg on a VM (and a launch's security group carries Name,
#: unicompute:managed and unicompute:client-token); keys starting with aws: are the cloud's own.
LIMITS_BY_NAME: dict[str, Limits] = {
    "ec2": replace(LIMITS, max_tags=47, max_tag_value_length=256,
                   reserved_tag_prefixes=("aws:", "unicompute:sg", "unicompute:client-token"),
                   reserved_tag_keys=("Name",)),
}


def provider_factory(name: str) -> ProviderFactory:
    """The factory for Libcloud provider ``name`` (what ``connect("libcloud:<name>")`` uses).

    Imports Libcloud: without it the ``ImportError`` propagates, and the registry turns it
    into ``MissingDependency`` naming ``pip install 'unicompute[libcloud]'``. An unknown name is
    ``InvalidRequest`` (field ``provider``) listing known ones.
    """
    from . import _session

    cls = _session.driver_class(name)

    def open_named(region: str | None, config: Mapping[str, object]) -> ProviderDrivers:
        return _session.open_provider(name, cls, region, config,
                                      limits=LIMITS_BY_NAME.get(name, LIMITS))

    return open_named


__all__ = ["LIMITS", "LIMITS_BY_NAME", "provider_factory"]
