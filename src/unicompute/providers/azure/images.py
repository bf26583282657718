"""Portable image aliases → Azure Marketplace images, resolved to their newest version.

An image id is a Marketplace URN, ``publisher:offer:sku:version`` (``version`` may be
``latest``), as ``az vm image list`` prints it. An alias resolves to the URN of the newest
version of its SKU for the wanted architecture (``virtualMachineImages`` list, ordered by name,
top 1), then that version is read for its OS and architecture.

There is no Amazon Linux on Azure: ``amazon-linux-2023`` is not an alias here (``NotFound``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..._errors import InvalidRequest, NotFound
from ..._models import Image
from ._context import Context
from .convert import PROVIDER, image, portable_arch, text

ARCHES = ("x86_64", "arm64")


@dataclass(frozen=True)
class Sku:
    publisher: str
    offer: str
    sku: str
    #: The OS disk size the image is published with: ``disk_gib`` may not be smaller.
    os_disk_gib: int


#: alias → arch → Marketplace SKU (generation 2 images where both exist). Windows Server 2022
#: has no arm64 image.
ALIASES: dict[str, dict[str, Sku]] = {
    "ubuntu-24.04": {
        "x86_64": Sku("Canonical", "ubuntu-24_04-lts", "server", 30),
        "arm64": Sku("Canonical", "ubuntu-24_04-lts", "server-arm64", 30),
    },
    "ubuntu-22.04": {
        "x86_64": Sku("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-gen2", 30),
        "arm64": Sku("Canonical", "0001-com-ubuntu-server-jammy", "22_04-lts-arm64", 30),
    },
    "debian-12": {
        "x86_64": Sku("Debian", "debian-12", "12-gen2", 30),
        "arm64": Sku("Debian", "debian-12", "12-arm64", 30),
    },
    "windows-2022": {
        "x86_64": Sku("MicrosoftWindowsServer", "WindowsServer", "2022-datacenter-g2", 127),
    },
}


@dataclass(frozen=True)
class Urn:
    publisher: str
    offer: str
    sku: str
    version: str

    def __str__(self) -> str:
        return f"{self.publisher}:{self.offer}:{self.sku}:{self.version}"

    def reference(self) -> dict[str, str]:
        """The VM's ``storageProfile.imageReference``."""
        return {"publisher": self.publisher, "offer": self.offer, "sku": self.sku,
                "version": self.version}


def parse_urn(ref: str) -> Urn | None:
    parts = ref.split(":")
    if len(parts) != 4 or not all(parts):
        return None
    return Urn(*parts)


def os_disk_gib(urn: Urn) -> int | None:
    """The published OS disk size of the SKU, when it is one the aliases use."""
    for by_arch in ALIASES.values():
        for sku in by_arch.values():
            if (sku.publisher.lower(), sku.offer.lower(), sku.sku.lower()) == (
                urn.publisher.lower(), urn.offer.lower(), urn.sku.lower()
            ):
                return sku.os_disk_gib
    return None


def resolve(ctx: Context, ref: str, arch: str) -> Image:
    """The image for alias or URN ``ref`` built for ``arch``.

    ``NotFound`` for an unknown alias, a URN whose image does not exist, or an alias without an
    image for ``arch``; ``InvalidRequest`` (``image``) for a URN built for another arch.
    """
    by_arch = ALIASES.get(ref)
    if by_arch is not None:
        sku = by_arch.get(arch)
        if sku is None:
            raise NotFound(f"{ref} has no {arch} image on Azure", provider=PROVIDER,
                           resource=ref)
        urn = Urn(sku.publisher, sku.offer, sku.sku, _latest(ctx, sku.publisher, sku.offer,
                                                             sku.sku, ref))
        found = _read(ctx, urn)
        return image(str(urn), os=_os(found), arch=portable_arch(found.architecture),
                     alias=ref)
    urn_or_none = parse_urn(ref)
    if urn_or_none is None:
        raise NotFound(
            f"{ref!r} is neither a Marketplace URN (publisher:offer:sku:version) nor one of "
            f"{', '.join(ALIASES)}", provider=PROVIDER, resource=ref,
        )
    urn = urn_or_none
    if urn.version.lower() == "latest":
        urn = Urn(urn.publisher, urn.offer, urn.sku,
                  _latest(ctx, urn.publisher, urn.offer, urn.sku, ref))
    found = _read(ctx, urn)
    result = image(str(urn), os=_os(found), arch=portable_arch(found.architecture))
    if result.arch != arch:
        raise InvalidRequest(f"image {ref} is built for {result.arch}, the size needs {arch}",
                             field="image")
    return result


def list_images(ctx: Context) -> list[Image]:
    """Every alias that resolves, for each arch it is published for."""
    result: list[Image] = []
    for alias, by_arch in ALIASES.items():
        for arch in by_arch:
            try:
                result.append(resolve(ctx, alias, arch))
            except NotFound:
                continue
    return result


def _latest(ctx: Context, publisher: str, offer: str, sku: str, ref: str) -> str:
    versions = ctx.compute.virtual_machine_images.list(
        ctx.region, publisher, offer, sku, top=1, orderby="name desc")
    if not versions:
        raise NotFound(f"no version of {ref} in {ctx.region}", provider=PROVIDER, resource=ref)
    return str(versions[0].name)


def _read(ctx: Context, urn: Urn) -> Any:
    """The image version (404 ``NotFound`` from ARM when it does not exist)."""
    return ctx.compute.virtual_machine_images.get(
        ctx.region, urn.publisher, urn.offer, urn.sku, urn.version)


def _os(found: Any) -> str:
    disk = getattr(found, "os_disk_image", None)
    return "windows" if text(getattr(disk, "operating_system", "")).lower() == "windows" \
        else "linux"
