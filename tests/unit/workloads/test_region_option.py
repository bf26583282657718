"""``--region`` (``place(region=...)``, ``targets(region=...)``) narrows a cloud's regions to one
of those the workload file allows; it never places a workload where the file forbids."""

from __future__ import annotations

import pytest

import unicompute as uc
from unicompute.workloads import parse
from unicompute.workloads.deploy import Target, targets
from unicompute.workloads.placement import place

LISTED = """\
name: shop
vms:
  - {name: web, vcpus: 2, memory_gib: 4}
placement:
  regions: {gcp: [us-central1, europe-west1]}
"""


def test_a_region_the_file_does_not_list_is_refused_naming_region() -> None:
    workload = parse(LISTED)
    with pytest.raises(uc.InvalidRequest) as caught:
        place(workload, cloud="gcp", region="asia-southeast1")
    assert caught.value.field == "region"
    assert "--region 'asia-southeast1'" in str(caught.value)
    assert "placement.regions.gcp (us-central1, europe-west1)" in str(caught.value)
    with pytest.raises(uc.InvalidRequest, match=r"placement\.regions\.gcp"):
        targets(workload.placement, "gcp", "asia-southeast1")


def test_a_listed_region_narrows_the_choice_to_it() -> None:
    workload = parse(LISTED)
    placement = place(workload, cloud="gcp", region="europe-west1")
    assert [(c.provider, c.region) for c in placement.regional] == [("gcp", "europe-west1")]
    assert [(c.provider, c.region) for c in placement.chosen] == [("gcp", "europe-west1")]
    assert targets(workload.placement, "gcp", "europe-west1") == (Target("gcp", "europe-west1"),)


def test_without_regions_in_the_file_region_replaces_the_default() -> None:
    workload = parse(LISTED)  # lists gcp only: aws takes --region freely
    placement = place(workload, cloud="aws", region="us-west-2")
    assert [(c.provider, c.region) for c in placement.chosen] == [("aws", "us-west-2")]
