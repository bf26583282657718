"""Read-only catalog data: regions, VM sizes (``vm_sizes.json``) and marketplace images
(``images.json``). Loaded on first use and shared by every fake (never mutated)."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

#: Regions the fake knows: name → (display name, geography group, has availability zones).
REGIONS: dict[str, tuple[str, str, bool]] = {
    "eastus": ("East US", "US", True), "eastus2": ("East US 2", "US", True),
    "westus": ("West US", "US", False), "westus2": ("West US 2", "US", True),
    "westus3": ("West US 3", "US", True), "centralus": ("Central US", "US", True),
    "northcentralus": ("North Central US", "US", False),
    "southcentralus": ("South Central US", "US", True),
    "westcentralus": ("West Central US", "US", False),
    "canadacentral": ("Canada Central", "Canada", True),
    "brazilsouth": ("Brazil South", "South America", True),
    "northeurope": ("North Europe", "Europe", True), "westeurope": ("West Europe", "Europe", True),
    "uksouth": ("UK South", "UK", True), "ukwest": ("UK West", "UK", False),
    "francecentral": ("France Central", "Europe", True),
    "germanywestcentral": ("Germany West Central", "Europe", True),
    "swedencentral": ("Sweden Central", "Europe", True),
    "switzerlandnorth": ("Switzerland North", "Europe", True),
    "norwayeast": ("Norway East", "Europe", True), "eastasia": ("East Asia", "Asia Pacific", True),
    "southeastasia": ("Southeast Asia", "Asia Pacific", True),
    "japaneast": ("Japan East", "Asia Pacific", True),
    "japanwest": ("Japan West", "Asia Pacific", False),
    "koreacentral": ("Korea Central", "Asia Pacific", True),
    "australiaeast": ("Australia East", "Asia Pacific", True),
    "centralindia": ("Central India", "Asia Pacific", True),
    "southafricanorth": ("South Africa North", "Africa", True),
    "uaenorth": ("UAE North", "Middle East", True),
}
#: Regions the fake accepts (ARM's normalized names).
LOCATIONS = frozenset(REGIONS)


def normalize_location(name: str) -> str:
    """``"East US"`` → ``"eastus"``, as ARM stores locations."""
    return name.replace(" ", "").lower()


def _load(name: str) -> Any:
    return json.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Size:
    """One VM size: ``body`` is what ``vmSizes`` lists; ``architecture`` is x64 or Arm64."""

    body: dict[str, Any]
    architecture: str

    @property
    def name(self) -> str:
        return str(self.body["name"])

    @property
    def max_data_disks(self) -> int:
        return int(self.body["maxDataDiskCount"])


@functools.cache
def sizes() -> dict[str, Size]:
    """Every size by lower-cased name, in catalog order."""
    out: dict[str, Size] = {}
    for raw in _load("vm_sizes.json")["sizes"]:
        body = {k: v for k, v in raw.items() if not k.startswith("_")}
        out[body["name"].lower()] = Size(body=body, architecture=raw["_architecture"])
    return out


@functools.cache
def sizes_body() -> bytes:
    """The ``vmSizes`` list response, serialized once (the catalog never changes)."""
    value = [size.body for size in sizes().values()]
    return json.dumps({"value": value}, separators=(",", ":")).encode()


@dataclass(frozen=True)
class ImageSku:
    """One marketplace image SKU and its versions (oldest first)."""

    publisher: str
    offer: str
    sku: str
    os_type: str
    generation: str
    architecture: str
    versions: tuple[str, ...]
    os_disk_gb: int


@functools.cache
def images() -> tuple[ImageSku, ...]:
    return tuple(
        ImageSku(publisher=raw["publisher"], offer=raw["offer"], sku=raw["sku"],
                 os_type=raw["osType"], generation=raw["hyperVGeneration"],
                 architecture=raw["architecture"], versions=tuple(raw["versions"]),
                 os_disk_gb=raw["osDiskSizeGB"])
        for raw in _load("images.json")["images"])


def find_image(publisher: str, offer: str, sku: str) -> ImageSku | None:
    """The SKU, matched case-insensitively as ARM does."""
    key = (publisher.lower(), offer.lower(), sku.lower())
    for image in images():
        if (image.publisher.lower(), image.offer.lower(), image.sku.lower()) == key:
            return image
    return None


def resolve_version(image: ImageSku, version: str) -> str | None:
    """``latest`` → the newest version; an exact version if it exists; else ``None``."""
    if version.lower() == "latest":
        return image.versions[-1]
    return version if version in image.versions else None
