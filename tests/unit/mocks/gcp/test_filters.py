"""The list ``filter``, ``orderBy``, ``maxResults`` and paging, through the official client."""

from __future__ import annotations

import pytest
from google.api_core import exceptions
from google.cloud import compute_v1

from unicompute.mocks.gcp import GcpFake

from .conftest import ZONE


def _names(project: str, filter_: str = "", **kwargs: object) -> list[str]:
    request = compute_v1.ListInstancesRequest(project=project, zone=ZONE, filter=filter_,
                                              **kwargs)
    return [vm.name for vm in compute_v1.InstancesClient().list(request=request)]


@pytest.fixture
def fleet(gcp: GcpFake, project: str) -> None:
    labels = [{"env": "prod", "team": "a"}, {"env": "dev", "team": "a"}, {"env": "prod"},
              {}, {"env": "prod", "team": "b"}]
    gcp.seed_instances(5, zone=ZONE, project=project, name_prefix="web",
                       labels=lambda i: labels[i])
    compute_v1.InstancesClient().stop(project=project, zone=ZONE, instance="web-000002").result()


@pytest.mark.parametrize(("expression", "expected"), [
    ("labels.env=prod", ["web-000000", "web-000002", "web-000004"]),
    ("labels.env = prod AND labels.team = a", ["web-000000"]),
    ("(labels.env = prod) (labels.team = b)", ["web-000004"]),
    ("labels.team = a OR labels.team = b", ["web-000000", "web-000001", "web-000004"]),
    ("labels.env != prod", ["web-000001", "web-000003"]),
    ("labels.team:*", ["web-000000", "web-000001", "web-000004"]),
    ("NOT labels.team:*", ["web-000002", "web-000003"]),
    ("status = TERMINATED", ["web-000002"]),
    ("status != TERMINATED AND labels.env = prod", ["web-000000", "web-000004"]),
    ('name = "web-00000*"', [f"web-00000{i}" for i in range(5)]),
    ("name = web-*4", ["web-000004"]),
    ("zone = us-central1-a AND name = web-000001", ["web-000001"]),
    ("name eq web-00000[13]", ["web-000001", "web-000003"]),
    ("name ne .*[0-3]", ["web-000004"]),
    ("scheduling.automaticRestart = true AND labels.env = dev", ["web-000001"]),
])
def test_filter_expressions(fleet: None, project: str, expression: str, expected: list[str],
                            ) -> None:
    assert _names(project, expression) == expected


@pytest.mark.parametrize("expression", [
    "labels.env =", "nosuchfield = 1", "(labels.env = prod", "labels.env = prod OR",
    "name eq web.* AND labels.env = prod", "labels.env ~ prod", "timestamp(creationTimestamp)",
])
def test_unsupported_filters_are_400_not_ignored(fleet: None, project: str, expression: str,
                                                 ) -> None:
    with pytest.raises(exceptions.BadRequest) as caught:
        _names(project, expression)
    assert "Invalid list filter expression" in caught.value.message


def test_paging_and_order(fleet: None, gcp: GcpFake, project: str) -> None:
    client = compute_v1.InstancesClient()
    first = client.list(request=compute_v1.ListInstancesRequest(
        project=project, zone=ZONE, max_results=2))
    pages = [[vm.name for vm in page.items] for page in first.pages]
    assert pages == [["web-000000", "web-000001"], ["web-000002", "web-000003"],
                     ["web-000004"]]
    assert _names(project, order_by="creationTimestamp desc", max_results=2) == [
        f"web-00000{i}" for i in (4, 3, 2, 1, 0)]
    with pytest.raises(exceptions.BadRequest):
        _names(project, order_by="status")
    with pytest.raises(exceptions.BadRequest):
        _names(project, max_results=501)
    with pytest.raises(exceptions.BadRequest):
        _names(project, page_token="garbage!")


def test_page_tokens_survive_changes_between_pages(fleet: None, project: str) -> None:
    client = compute_v1.InstancesClient()
    page = client.list(request=compute_v1.ListInstancesRequest(
        project=project, zone=ZONE, max_results=2))._response
    client.delete(project=project, zone=ZONE, instance="web-000002").result()
    rest = client.list(request=compute_v1.ListInstancesRequest(
        project=project, zone=ZONE, max_results=10, page_token=page.next_page_token))
    assert [vm.name for vm in rest] == ["web-000003", "web-000004"]


def test_aggregated_list_groups_by_zone_and_warns_for_empty_ones(gcp: GcpFake, project: str,
                                                                  ) -> None:
    gcp.seed_instances(2, zone="us-east1-b", project=project, name_prefix="east")
    gcp.seed_instances(1, zone="europe-west1-d", project=project, name_prefix="eu")
    client = compute_v1.InstancesClient()
    found = {scope: [vm.name for vm in scoped.instances]
             for scope, scoped in client.aggregated_list(project=project) if scoped.instances}
    assert found == {"zones/us-east1-b": ["east-000000", "east-000001"],
                     "zones/europe-west1-d": ["eu-000000"]}
    request = compute_v1.AggregatedListInstancesRequest(project=project, max_results=1)
    names = [vm.name for _, scoped in client.aggregated_list(request=request)
             for vm in scoped.instances]
    assert sorted(names) == ["east-000000", "east-000001", "eu-000000"]
    page = client.aggregated_list(request=compute_v1.AggregatedListInstancesRequest(
        project=project, filter="name = eu-*"))._response
    assert page.items["zones/us-central1-a"].warning.code == "NO_RESULTS_ON_PAGE"


def test_or_binds_tighter_than_and_as_in_aip_160() -> None:
    from unicompute.mocks.gcp._filter import compile_filter

    fields = ["name", "labels"]
    match = compile_filter("name = a AND name = b OR labels.x = 1", fields)
    # a AND (b OR x=1): true only for name a with label x=1
    assert match({"name": "a", "labels": {"x": "1"}})
    assert not match({"name": "b", "labels": {}})
    assert not match({"name": "a", "labels": {}})
