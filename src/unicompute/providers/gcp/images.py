"""Portable image aliases → public GCE image families, resolved with ``images.getFromFamily``.

An alias names a public image project and a family per architecture; ``getFromFamily`` answers
the family's newest non-deprecated image, as ``gcloud --image-family`` does. A native image is
named by its path (``projects/<project>/global/images/<name>`` or ``.../images/family/<family>``,
optionally as a full ``https://`` URL) or by a bare name in the caller's project.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from google.api_core import exceptions as core
from google.cloud import compute_v1

from ..._errors import InvalidRequest, NotFound
from ..._models import Image
from . import convert
from ._clients import Context
from .convert import PROVIDER

ARCHES = ("x86_64", "arm64")


@dataclass(frozen=True)
class Family:
    """Where an alias's images live: a public image project and a family per arch."""

    project: str
    families: dict[str, str]


ALIASES: dict[str, Family] = {
    "ubuntu-22.04": Family(
        "ubuntu-os-cloud", {"x86_64": "ubuntu-2204-lts", "arm64": "ubuntu-2204-lts-arm64"}),
    "ubuntu-24.04": Family(
        "ubuntu-os-cloud",
        {"x86_64": "ubuntu-2404-lts-amd64", "arm64": "ubuntu-2404-lts-arm64"}),
    "debian-12": Family("debian-cloud", {"x86_64": "debian-12", "arm64": "debian-12-arm64"}),
    "windows-2022": Family("windows-cloud", {"x86_64": "windows-2022"}),
}

_NAME = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")
_PATH = re.compile(
    r"(?:https://[^/]+/compute/(?:v1|beta|alpha)/)?"
    r"projects/(?P<project>[^/]+)/global/images/(?:(?P<family>family)/)?(?P<name>[^/]+)")


def _missing(ref: str, why: str) -> NotFound:
    return NotFound(f"{ref!r} {why}", provider=PROVIDER, resource=ref)


def resolve(ctx: Context, ref: str, arch: str) -> Image:
    """The image for alias or native reference ``ref`` built for ``arch``.

    ``NotFound`` when ``ref`` is neither an alias nor an existing image, or the alias has no
    image for ``arch``; ``InvalidRequest`` (field ``image``) when a native image is built for
    another architecture.
    """
    family = ALIASES.get(ref)
    if family is not None:
        name = family.families.get(arch)
        if name is None:
            raise _missing(ref, f"has no {arch} image on GCE")
        found = ctx.clients.images.get_from_family(project=family.project, family=name,
                                                   **ctx.rpc)
        return convert.image(found, alias=ref)
    project, name, by_family = parse(ctx, ref)
    if by_family:
        found = ctx.clients.images.get_from_family(project=project, family=name, **ctx.rpc)
    else:
        found = ctx.clients.images.get(project=project, image=name, **ctx.rpc)
    result = convert.image(found)
    if result.arch != arch:
        raise InvalidRequest(
            f"image {result.id} is built for {result.arch}, the size needs {arch}",
            field="image")
    return result


def parse(ctx: Context, ref: str) -> tuple[str, str, bool]:
    """``(project, name, is_family)`` of a native image reference; ``NotFound`` (no call made)
    when ``ref`` cannot name a GCE image."""
    match = _PATH.fullmatch(ref)
    if match is not None:
        project, name = match.group("project"), match.group("name")
        by_family = match.group("family") is not None
    else:
        project, name, by_family = ctx.project, ref, False
    if not _NAME.fullmatch(name):
        raise _missing(ref, f"is neither one of {', '.join(ALIASES)} nor a GCE image name")
    return project, name, by_family


def disk_size_gib(ctx: Context, image_id: str) -> int | None:
    """The smallest boot disk ``image_id`` needs (its ``diskSizeGb``), if GCE says."""
    project, name, by_family = parse(ctx, image_id)
    if by_family:
        found = ctx.clients.images.get_from_family(project=project, family=name, **ctx.rpc)
    else:
        found = ctx.clients.images.get(project=project, image=name, **ctx.rpc)
    return int(found.disk_size_gb) or None


def list_images(ctx: Context) -> list[Image]:
    """Every alias that resolves, for each arch, then the project's own images."""
    result: list[Image] = []
    for alias, family in ALIASES.items():
        for arch in ARCHES:
            if arch not in family.families:
                continue
            try:
                result.append(resolve(ctx, alias, arch))
            except core.NotFound:
                continue
    request = compute_v1.ListImagesRequest(project=ctx.project)
    own = ctx.clients.images.list(request=request, **ctx.rpc)
    result.extend(convert.image(item) for item in own)
    return result
