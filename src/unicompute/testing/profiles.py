"""Per-provider facts the portable tests need: the region the fakes default to, and an id that
is well-formed for the provider but names nothing."""

from __future__ import annotations

from dataclasses import dataclass

from .._errors import InvalidRequest
from .._models import IMAGE_ALIASES


@dataclass(frozen=True, kw_only=True)
class Profile:
    """``image_aliases``: the portable aliases the cloud publishes an image for; resolving
    another is ``NotFound`` and launching from it ``InvalidRequest`` naming ``image``."""

    provider: str
    region: str
    missing_vm_id: str
    missing_volume_id: str
    image_aliases: tuple[str, ...] = IMAGE_ALIASES


PROFILES: dict[str, Profile] = {
    "aws": Profile(
        provider="aws",
        region="us-east-1",
        missing_vm_id="i-0123456789abcdef0",
        missing_volume_id="vol-0123456789abcdef0",
    ),
    # Libcloud's EC2 driver, tested against the AWS fake served by MockServer.
    "libcloud:ec2": Profile(
        provider="libcloud:ec2",
        region="us-east-1",
        missing_vm_id="i-0123456789abcdef0",
        missing_volume_id="vol-0123456789abcdef0",
    ),
    # ARM ids in the Azure fake's subscription and unicompute's default resource group.
    "azure": Profile(
        provider="azure",
        region="eastus",
        missing_vm_id="/subscriptions/00000000-0000-0000-0000-0000000fa4e2/resourceGroups/"
        "unicompute/providers/Microsoft.Compute/virtualMachines/conformance-missing-vm",
        missing_volume_id="/subscriptions/00000000-0000-0000-0000-0000000fa4e2/resourceGroups/"
        "unicompute/providers/Microsoft.Compute/disks/conformance-missing-disk",
        image_aliases=tuple(a for a in IMAGE_ALIASES if a != "amazon-linux-2023"),
    ),
    # GCE ids are <zone>/<name>.
    "gcp": Profile(
        provider="gcp",
        region="us-central1",
        missing_vm_id="us-central1-a/conformance-missing-vm",
        missing_volume_id="us-central1-a/conformance-missing-disk",
        image_aliases=tuple(a for a in IMAGE_ALIASES if a != "amazon-linux-2023"),
    ),
}


def profile_for(provider: str) -> Profile:
    try:
        return PROFILES[provider]
    except KeyError:
        raise InvalidRequest(
            f"no test profile for {provider!r}; known: {', '.join(PROFILES)}", field="provider"
        ) from None
