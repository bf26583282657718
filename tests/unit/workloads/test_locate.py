"""Problems found after a workload file was read (placement, a cloud's own rules) name the file
and the line of the key they are about, as problems found while reading it do."""

from __future__ import annotations

from pathlib import Path

import pytest

import unicompute as uc
from unicompute.mocks import mock_cloud
from unicompute.workloads import WorkloadError, load, parse
from unicompute.workloads.apply import plan
from unicompute.workloads.placement import place

SHOP = """\
name: shop
vms:
  - name: web
    vcpus: 2
    size: {aws: t9.nano}
  - name: db
    vcpus: 2
    image: ubuntu-99.04
functions:
  - name: api
    runtime: python3.12
    handler: app.handler
    source: src
    timeout_s: 600
placement:
  regions:
    gcp:
      - mars-central1
  max_hourly_cost: 0.0001
"""


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return 1\n")
    path = tmp_path / "shop.yaml"
    path.write_text(SHOP)
    return path


def refusal(call: object) -> WorkloadError:
    assert callable(call)
    with pytest.raises(WorkloadError) as caught:
        call()
    return caught.value


def test_a_size_no_cloud_prices_names_its_line(shop: Path) -> None:
    error = refusal(lambda: place(load(shop), cloud="aws"))
    assert (error.source, error.line, error.field) == (str(shop), 5, "vms[0].size.aws")
    assert str(error) == f"{shop}:5: vms[0].size.aws: no priced size 't9.nano' in aws us-east-1"
    assert isinstance(error, uc.InvalidRequest)


def test_placement_refusals_name_their_lines(shop: Path) -> None:
    fixed = shop.read_text().replace("{aws: t9.nano}", "{aws: t3.micro}")
    shop.write_text(fixed)
    error = refusal(lambda: place(load(shop), cloud="aws"))
    assert (error.line, error.field) == (19, "placement.max_hourly_cost")
    error = refusal(lambda: place(load(shop), cloud="gcp"))
    assert (error.line, error.field) == (17, "placement.regions.gcp")
    assert "mars-central1" in str(error)


def test_a_field_left_at_its_default_names_the_enclosing_entry(shop: Path) -> None:
    workload = load(shop)
    located = workload.locate(uc.InvalidRequest("too much", field="functions[0].memory_mb"))
    assert isinstance(located, WorkloadError)
    assert (located.line, located.field) == (10, "functions[0].memory_mb")
    written = workload.locate(uc.InvalidRequest("too long", field="functions[0].timeout_s"))
    assert isinstance(written, WorkloadError) and written.line == 14
    not_in_file = uc.InvalidRequest("goes with one cloud", field="region")  # --region
    assert workload.locate(not_in_file) is not_in_file
    assert parse(SHOP.replace("source: src", "source: .")).locate(not_in_file) is not_in_file


def test_a_cloud_refusing_the_image_names_its_line(shop: Path) -> None:
    workload = load(shop)
    with mock_cloud(["aws"]), uc.connect("aws", region="us-east-1") as cloud:
        fixed = workload.groups[0].__class__(name="web", vcpus=2, size={"aws": "t3.micro"})
        from dataclasses import replace

        error = refusal(lambda: plan(replace(workload, groups=(fixed, *workload.groups[1:])),
                                     cloud))
    assert (error.line, error.field) == (8, "vms[1].image")
