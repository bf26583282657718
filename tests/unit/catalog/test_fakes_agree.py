"""The fakes' size lists and the catalog agree: same names per region, vCPUs, memory, GPUs, arch.

What a plan picks from the catalog must be launchable on the fakes, and what the fakes offer in
a region the catalog covers must be in the catalog.
"""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest

from unicompute.catalog import Offer, load_catalog
from unicompute.mocks.aws import AwsFake
from unicompute.mocks.azure import _catalog as azure_fake
from unicompute.mocks.gcp import _catalog as gcp_fake


def by_name(offers: list[Offer]) -> dict[str, tuple[int, float, int, str]]:
    return {o.size: (o.vcpus, o.memory_gib, o.gpus, o.arch) for o in offers}


def test_the_azure_fake_offers_exactly_the_catalog_sizes_in_every_catalog_region() -> None:
    fake = {
        size.name: (int(size.body["numberOfCores"]), size.body["memoryInMB"] / 1024,
                    "arm64" if size.architecture == "Arm64" else "x86_64")
        for size in azure_fake.sizes().values()
    }
    catalog = load_catalog()
    for region in catalog.regions("azure"):
        assert region in azure_fake.LOCATIONS
        ours = {name: (v, m, arch) for name, (v, m, _, arch) in
                by_name(catalog.offers("azure", region)).items()}
        assert ours == fake, region


def test_the_gce_fake_offers_exactly_the_catalog_types_in_every_catalog_region() -> None:
    catalog = load_catalog()
    regions = gcp_fake.regions()
    for region in catalog.regions("gcp"):
        fake: dict[str, tuple[int, float, int, str]] = {}
        for zone in regions[region]["zones"]:
            for name, body in gcp_fake.machine_types(zone).items():
                gpus = sum(a["guestAcceleratorCount"] for a in body.get("accelerators", []))
                fake[name] = (body["guestCpus"], body["memoryMb"] / 1024, gpus,
                              "arm64" if body["architecture"] == "ARM64" else "x86_64")
        assert by_name(catalog.offers("gcp", region)) == fake, region


@pytest.fixture(scope="module")
def aws_fake() -> Iterator[AwsFake]:
    with AwsFake() as running:
        yield running


def test_the_aws_fake_has_every_catalog_type_with_the_same_resources(aws_fake: AwsFake) -> None:
    """moto knows every catalog type with the same vCPUs, memory, GPUs and arch, and offers it
    in each catalog region that lists it (the catalog lists a type where moto offers it)."""
    catalog = load_catalog()
    for region in catalog.regions("aws"):
        ec2 = boto3.client("ec2", region_name=region)
        ours = by_name(catalog.offers("aws", region))
        names = sorted(ours)
        fake: dict[str, tuple[int, float, int, str]] = {}
        for start in range(0, len(names), 100):
            page = ec2.describe_instance_types(InstanceTypes=names[start:start + 100])
            for item in page["InstanceTypes"]:
                gpus = sum(g["Count"] for g in item.get("GpuInfo", {}).get("Gpus", []))
                archs = item["ProcessorInfo"]["SupportedArchitectures"]
                fake[item["InstanceType"]] = (
                    item["VCpuInfo"]["DefaultVCpus"], item["MemoryInfo"]["SizeInMiB"] / 1024,
                    gpus, "arm64" if "arm64" in archs else "x86_64")
        assert fake == ours, region
        offered = {
            o["InstanceType"]
            for page in ec2.get_paginator("describe_instance_type_offerings").paginate(
                LocationType="region")
            for o in page["InstanceTypeOfferings"]
        }
        assert set(names) <= offered, (region, sorted(set(names) - offered))
