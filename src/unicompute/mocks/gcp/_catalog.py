"""The read-only catalog: regions and zones, machine types per zone, public images.

Loaded from ``catalog.json`` and ``images.json`` on first use and shared (read-only) by every
fake. Figures are GCE's published ones (vCPUs, memory, accelerators, auto-mode subnet ranges);
which zones offer the accelerator and memory-optimized families is a realistic subset.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from ._format import local_midnight, stable_id
from ._links import API

#: Projects whose images the fake publishes (GCE's public image projects).
IMAGE_PROJECTS = ("debian-cloud", "ubuntu-os-cloud", "rocky-linux-cloud", "windows-cloud")
#: When the catalog entries say they were created.
_CATALOG_TIME = "2015-01-01T00:00:00.000-08:00"


def _load(name: str) -> Any:
    return json.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))


@cache
def regions() -> dict[str, dict[str, Any]]:
    """Region name -> ``{"name", "zones", "autoCidr", "location"}``, in GCE's order."""
    return {r["name"]: r for r in _load("catalog.json")["regions"]}


@cache
def zone_regions() -> dict[str, str]:
    """Zone name -> its region's name."""
    return {zone: name for name, r in regions().items() for zone in r["zones"]}


@cache
def cpu_platforms() -> tuple[str, ...]:
    return tuple(_load("catalog.json")["cpuPlatforms"])


@cache
def machine_types(zone: str) -> dict[str, dict[str, Any]]:
    """The machine types offered in ``zone`` as GCE prints them, without ``selfLink`` (which
    names the caller's project); empty for an unknown zone."""
    if zone not in zone_regions():
        return {}
    found: dict[str, dict[str, Any]] = {}
    for family in _load("catalog.json")["machineFamilies"]:
        if family["zones"] != "*" and zone not in family["zones"]:
            continue
        for entry in family["types"]:
            body: dict[str, Any] = {
                "kind": "compute#machineType",
                "id": stable_id("machineType", entry["name"]),
                "creationTimestamp": _CATALOG_TIME,
                "name": entry["name"],
                "description": entry["description"],
                "guestCpus": entry["guestCpus"],
                "memoryMb": entry["memoryMb"],
                "imageSpaceGb": 0,
                "maximumPersistentDisks": entry["maximumPersistentDisks"],
                "maximumPersistentDisksSizeGb": entry["maximumPersistentDisksSizeGb"],
                "zone": zone,
                "isSharedCpu": entry["isSharedCpu"],
                "architecture": family["architecture"],
            }
            if "accelerators" in entry:
                body["accelerators"] = entry["accelerators"]
            found[entry["name"]] = body
    return found


@cache
def images() -> dict[str, dict[str, dict[str, Any]]]:
    """Public project -> image name -> the image as GCE prints it, oldest first."""
    by_project: dict[str, dict[str, dict[str, Any]]] = {p: {} for p in IMAGE_PROJECTS}
    for entry in _load("images.json")["images"]:
        project, name = entry["project"], entry["name"]
        created = entry["created"]
        body: dict[str, Any] = {
            "kind": "compute#image",
            "id": stable_id("image", project, name),
            "creationTimestamp": local_midnight(created),
            "name": name,
            "description": entry["description"],
            "sourceType": "RAW",
            "rawDisk": {"source": "", "containerType": "TAR"},
            "status": "READY",
            "archiveSizeBytes": str(int(entry["diskSizeGb"]) * 180_000_000),
            "diskSizeGb": entry["diskSizeGb"],
            "licenses": [API + lic for lic in entry["licenses"]],
            "family": entry["family"],
            "selfLink": f"{API}projects/{project}/global/images/{name}",
            "labelFingerprint": "42WmSpB8rSM=",
            "guestOsFeatures": [{"type": f} for f in entry["guestOsFeatures"]],
            "storageLocations": ["asia", "eu", "us"],
            "architecture": entry["architecture"],
        }
        if "deprecatedBy" in entry:
            body["deprecated"] = {
                "state": "DEPRECATED",
                "replacement": f"{API}projects/{project}/global/images/{entry['deprecatedBy']}",
            }
        by_project[project][name] = body
    return by_project


@cache
def image_from_family(project: str, family: str) -> dict[str, Any] | None:
    """The newest image of ``family`` that is not deprecated, as ``getFromFamily`` answers."""
    best: dict[str, Any] | None = None
    for image in images().get(project, {}).values():
        if image.get("family") != family or "deprecated" in image:
            continue
        if best is None or image["creationTimestamp"] > best["creationTimestamp"]:
            best = image
    return best


def catalog_time() -> str:
    return _CATALOG_TIME


__all__ = ["IMAGE_PROJECTS", "catalog_time", "cpu_platforms", "image_from_family", "images",
           "machine_types", "regions", "zone_regions"]
