"""``$filter`` on lists, through the official clients: applied where ARM applies it, refused
as ARM refuses it elsewhere (never silently ignored)."""

from __future__ import annotations

import pytest
from arm_helpers import LOCATION, Clients, check
from azure.core.exceptions import HttpResponseError
from azure.mgmt.compute import models as cm
from azure.mgmt.resource.resources import models as rm
from test_arm_semantics import error_of


def make_groups(az: Clients) -> None:
    for name, tags in [("f-web", {"Team": "web", "env": "prod"}), ("f-db", {"team": "db"}),
                       ("f-quote", {"team": "o'brien"}), ("f-none", {})]:
        az.resource.resource_groups.create_or_update(
            name, rm.ResourceGroup(location=LOCATION, tags=tags))


def listed(az: Clients, query: str | None) -> list[str]:
    return sorted(check(g).name for g in az.resource.resource_groups.list(filter=query))


def test_resource_groups_filter_by_tag_name_and_value(az: Clients) -> None:
    make_groups(az)
    assert listed(az, None) == ["f-db", "f-none", "f-quote", "f-web"]
    # tag names in any case, values exactly; keywords in any case
    assert listed(az, "tagName eq 'TEAM'") == ["f-db", "f-quote", "f-web"]
    assert listed(az, "tagName eq 'team' and tagValue eq 'web'") == ["f-web"]
    assert listed(az, "tagname eq 'team' and tagvalue eq 'WEB'") == []
    assert listed(az, "tagName eq 'team' and tagValue eq 'o''brien'") == ["f-quote"]
    assert listed(az, "tagName eq 'env'") == ["f-web"]
    assert listed(az, "tagName eq 'nobody'") == []


def test_resource_groups_filter_survives_paging(az: Clients) -> None:
    az.fake.app.page_size = 2
    for index in range(7):
        az.resource.resource_groups.create_or_update(
            f"p-{index}", rm.ResourceGroup(location=LOCATION,
                                           tags={"odd": "yes"} if index % 2 else {}))
    pages = list(az.resource.resource_groups.list(filter="tagName eq 'odd'").by_page())
    assert [g.name for page in pages for g in page] == ["p-1", "p-3", "p-5"]
    queries = [r.query for r in az.fake.app.requests if r.endpoint == "group_list"]
    assert len(queries) == len(pages) == 2 and all("filter" in query for query in queries)


@pytest.mark.parametrize("query", [
    "name eq 'f-web'",                      # ARM refuses filters on anything but tags
    "location eq 'eastus'",
    "tagValue eq 'web'",
    "tagName eq 'a' and tagName eq 'b'",    # one tag only
    "tagName eq web",
])
def test_resource_groups_other_filters_are_refused_as_arm_does(az: Clients, query: str) -> None:
    make_groups(az)
    with pytest.raises(HttpResponseError) as info:
        list(az.resource.resource_groups.list(filter=query))
    err = error_of(info.value, rm.CloudError)
    assert (info.value.status_code, err["code"]) == (400, "InvalidFilterInQueryString")
    assert err["message"] == f"Invalid $filter '{query}' specified in the query string."


def test_vm_lists_accept_only_the_scale_set_filter(az: Clients) -> None:
    az.fake.seed_vms(3, resource_group="fvms")
    scale_set = (f"/subscriptions/{az.subscription}/resourceGroups/fvms/providers/"
                 "Microsoft.Compute/virtualMachineScaleSets/flex")
    by_set = f"'virtualMachineScaleSet/id' eq '{scale_set}'"
    assert len(list(az.compute.virtual_machines.list("fvms"))) == 3
    # No VM of the fake belongs to a scale set: the filter keeps none (it is applied).
    assert list(az.compute.virtual_machines.list("fvms", filter=by_set)) == []
    assert list(az.compute.virtual_machines.list_all(filter=by_set,
                                                     expand="instanceView")) == []
    for bad in ("name eq 'vm-0'", "tagName eq 'x'", "resourceGroup eq 'fvms'"):
        with pytest.raises(HttpResponseError) as info:
            list(az.compute.virtual_machines.list("fvms", filter=bad))
        err = error_of(info.value, cm.CloudError)
        assert (info.value.status_code, err["code"], err["target"]) == (
            400, "InvalidParameter", "$filter")
        assert f"'{bad}'" in err["message"] and "virtualMachineScaleSet/id" in err["message"]
        with pytest.raises(HttpResponseError) as info:
            list(az.compute.virtual_machines.list_all(filter=bad))
        assert error_of(info.value, cm.CloudError)["target"] == "$filter"


def test_vm_list_expand_needs_a_valid_filter(az: Clients) -> None:
    """'instanceView' can only be specified with a valid $filter (the API's own words)."""
    az.fake.seed_vms(1, resource_group="fexp")
    with pytest.raises(HttpResponseError) as info:
        list(az.compute.virtual_machines.list("fexp", expand="instanceView"))
    err = error_of(info.value, cm.CloudError)
    assert (info.value.status_code, err["code"], err["target"]) == (
        400, "InvalidParameter", "$expand")
    # statusOnly=true is the subscription list's own way to get power states
    vms = list(az.compute.virtual_machines.list_all(status_only="true"))
    assert [s.code for s in check(vms[0]).properties.instance_view.statuses][1] == \
        "PowerState/running"
