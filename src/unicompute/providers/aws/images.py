"""Portable image aliases → AMIs, found the way that works on real AWS.

Each alias is a public owner account plus an AMI name pattern per architecture; the newest
``available`` image matching both wins (``CreationDate``, then name, descending).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..._errors import InvalidRequest, NotFound
from ..._models import Image
from . import convert
from .convert import PROVIDER

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.type_defs import ImageTypeDef

#: Architectures the aliases are published for.
ARCHES = ("x86_64", "arm64")


@dataclass(frozen=True)
class AliasQuery:
    """Where an alias's images live: the publisher's account and a name pattern per arch."""

    owner: str
    patterns: dict[str, str]


CANONICAL = "099720109477"
DEBIAN = "136693071363"
AMAZON = "137112412989"
MICROSOFT_ON_AWS = "801119661308"

ALIASES: dict[str, AliasQuery] = {
    "ubuntu-22.04": AliasQuery(
        CANONICAL,
        {
            "x86_64": "ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-amd64-server-*",
            "arm64": "ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-arm64-server-*",
        },
    ),
    "ubuntu-24.04": AliasQuery(
        CANONICAL,
        {
            "x86_64": "ubuntu/images/hvm-ssd*/ubuntu-noble-24.04-amd64-server-*",
            "arm64": "ubuntu/images/hvm-ssd*/ubuntu-noble-24.04-arm64-server-*",
        },
    ),
    "debian-12": AliasQuery(DEBIAN, {"x86_64": "debian-12-amd64-*", "arm64": "debian-12-arm64-*"}),
    # "al2023-ami-2023.*" leaves out "al2023-ami-minimal-2023.*".
    "amazon-linux-2023": AliasQuery(
        AMAZON,
        {
            "x86_64": "al2023-ami-2023.*-kernel-*-x86_64",
            "arm64": "al2023-ami-2023.*-kernel-*-arm64",
        },
    ),
    "windows-2022": AliasQuery(
        MICROSOFT_ON_AWS, {"x86_64": "Windows_Server-2022-English-Full-Base-*"}
    ),
}


def resolve(client: EC2Client, ref: str, arch: str) -> Image:
    """The image for alias or AMI id ``ref`` built for ``arch``.

    ``NotFound`` when ``ref`` is neither a known alias nor an existing AMI, or when the alias has
    no image for ``arch``; ``InvalidRequest`` (field ``image``) when an AMI id names an image for
    another architecture.
    """
    if ref.startswith("ami-"):
        found = client.describe_images(ImageIds=[ref])["Images"]
        if not found:
            raise NotFound(f"image {ref} does not exist", provider=PROVIDER, resource=ref)
        result = convert.image(found[0])
        if result.arch != arch:
            raise InvalidRequest(
                f"image {ref} is built for {result.arch}, the size needs {arch}", field="image"
            )
        return result
    query = ALIASES.get(ref)
    if query is None:
        raise NotFound(
            f"{ref!r} is neither an AMI id nor one of {', '.join(ALIASES)}",
            provider=PROVIDER,
            resource=ref,
        )
    pattern = query.patterns.get(arch)
    if pattern is None:
        raise NotFound(f"{ref} has no {arch} image on AWS", provider=PROVIDER, resource=ref)
    found = client.describe_images(
        Owners=[query.owner],
        Filters=[
            {"Name": "name", "Values": [pattern]},
            {"Name": "architecture", "Values": [arch]},
            {"Name": "state", "Values": ["available"]},
        ],
    )["Images"]
    if not found:
        raise NotFound(
            f"no available {arch} image for {ref} in this region", provider=PROVIDER, resource=ref
        )
    return convert.image(max(found, key=_newest), alias=ref)


def list_images(client: EC2Client) -> list[Image]:
    """Every alias that resolves, for each arch, then the account's own AMIs."""
    result: list[Image] = []
    for alias in ALIASES:
        for arch in ARCHES:
            try:
                result.append(resolve(client, alias, arch))
            except NotFound:
                continue
    own = client.describe_images(Owners=["self"])["Images"]
    result.extend(convert.image(item) for item in sorted(own, key=_newest, reverse=True))
    return result


@dataclass(frozen=True)
class RootDevice:
    """An image's root volume: its device name and size (``None`` for instance-store roots)."""

    name: str
    size_gib: int | None


def root_device(client: EC2Client, image_id: str) -> RootDevice:
    """The root device of ``image_id``, from its block device mappings."""
    found = client.describe_images(ImageIds=[image_id])["Images"]
    if not found:
        raise NotFound(f"image {image_id} does not exist", provider=PROVIDER, resource=image_id)
    item = found[0]
    name = item.get("RootDeviceName", "/dev/xvda")
    for mapping in item.get("BlockDeviceMappings", []):
        if mapping.get("DeviceName") == name and "Ebs" in mapping:
            return RootDevice(name, mapping["Ebs"].get("VolumeSize"))
    return RootDevice(name, None)


def _newest(item: ImageTypeDef) -> tuple[str, str]:
    return (item.get("CreationDate", ""), item.get("Name", ""))
