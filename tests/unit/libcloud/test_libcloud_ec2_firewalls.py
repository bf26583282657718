"""Firewalls on ``libcloud:ec2``: Libcloud's EC2 driver against the AWS fake (mock-server).

One security group per launch with exactly the ports asked for, kept while a VM of the launch
lives, deleted with the last one, never deleted on the word of a tag alone; a failed launch
leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import unicompute as uc
from unicompute.providers.libcloud import ec2_network
from unicompute.providers.libcloud.ec2 import create_tags


@pytest.fixture
def cloud(endpoint: tuple[str, int]) -> Iterator[uc.Cloud]:
    host, port = endpoint
    with uc.connect("libcloud:ec2", region="us-east-1", key="testing", secret="testing",
                    host=host, port=port, secure=False, poll_interval=0.01) as opened:
        yield opened


def _driver(cloud: uc.Cloud) -> Any:
    return cloud._ctx.drivers.compute.driver  # type: ignore[attr-defined]


def _groups(cloud: uc.Cloud) -> dict[str, Any]:
    return {str(g.id): g for g in _driver(cloud).ex_get_security_groups()}


def _launch_groups(cloud: uc.Cloud) -> set[str]:
    return {gid for gid, g in _groups(cloud).items() if str(g.name).startswith("uc-")}


def _spec(name: str, **fields: Any) -> uc.VMSpec:
    return uc.VMSpec(name=name, size="t3.micro", image="debian-12", **fields)


def test_a_launch_gets_its_own_group_with_exactly_its_ports(cloud: uc.Cloud) -> None:
    before = _launch_groups(cloud)
    vm = cloud.vms.launch(_spec("fw-web", open_ports=[22, 443], tags={"app": "fw"}))
    try:
        (group_id,) = _launch_groups(cloud) - before
        group = _groups(cloud)[group_id]
        assert group.name.startswith("uc-fw-web-")
        assert group.extra["tags"]["unicompute:managed"] == "true"
        assert group.extra["tags"]["app"] == "fw"
        assert [g["group_id"] for g in vm.raw.extra["groups"]] == [group_id]
        assert {(r.protocol, r.port_from, r.port_to, r.source) for r in vm.inbound_rules()} == {
            ("tcp", 22, 22, "0.0.0.0/0"), ("tcp", 22, 22, "::/0"),
            ("tcp", 443, 443, "0.0.0.0/0"), ("tcp", 443, 443, "::/0")}
        # Bookkeeping tags are not the user's.
        assert dict(vm.tags) == {"app": "fw", "unicompute:managed": "true"}
    finally:
        vm.terminate()
    assert _launch_groups(cloud) == before


def test_without_ports_the_vm_is_closed_not_in_the_default_group(cloud: uc.Cloud) -> None:
    vm = cloud.vms.launch(_spec("fw-closed"))
    try:
        assert vm.inbound_rules() == []
        (group,) = vm.raw.extra["groups"]
        assert group["group_name"].startswith("uc-fw-closed-")
    finally:
        vm.terminate()


def test_the_group_lives_until_the_last_vm_of_the_launch_is_terminated(cloud: uc.Cloud) -> None:
    before = _launch_groups(cloud)
    first, second = cloud.vms.launch(_spec("fw-pair", open_ports=[80]), count=2)
    (group_id,) = _launch_groups(cloud) - before
    first.terminate()
    assert group_id in _groups(cloud)
    assert second.inbound_rules()[0].port_from == 80
    second.terminate()
    assert group_id not in _groups(cloud)


def test_a_forged_group_tag_does_not_get_a_group_deleted(cloud: uc.Cloud) -> None:
    driver = _driver(cloud)
    victim = driver.ex_create_security_group("not-ours", "someone else's",
                                             vpc_id=ec2_network.default_vpc(driver, "us-east-1"))
    victim_id = str(victim["group_id"])
    vm = cloud.vms.launch(_spec("fw-forged"))
    own = [g["group_id"] for g in vm.raw.extra["groups"]]
    create_tags(driver, vm.id, {"unicompute:sg": victim_id})
    vm.terminate()
    groups = _groups(cloud)
    assert victim_id in groups
    # The VM's own group could not be proven either (its tag now names another): kept, too.
    assert set(own) <= set(groups)
    for gid in (victim_id, *own):
        driver.ex_delete_security_group_by_id(gid)


def test_users_cannot_set_the_group_tag(cloud: uc.Cloud) -> None:
    with pytest.raises(uc.InvalidRequest) as caught:
        cloud.vms.launch(_spec("fw-tag", tags={"unicompute:sg": "sg-123"}))
    assert caught.value.field == "tags"


def test_a_launch_failing_half_way_removes_its_vms_and_its_group(
    cloud: uc.Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    from libcloud.common.exceptions import BaseHTTPError

    driver = _driver(cloud)
    before_groups = _launch_groups(cloud)
    real_create = driver.create_node
    calls: list[str] = []

    def create_node(name: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        if len(calls) == 2:
            raise BaseHTTPError(400, "InstanceLimitExceeded: You have requested more instances")
        return real_create(name, *args, **kwargs)

    monkeypatch.setattr(driver, "create_node", create_node)
    with pytest.raises(uc.QuotaExceeded):
        cloud.vms.launch(_spec("fw-half", open_ports=[22], tags={"run": "half"}), count=3)
    assert calls == ["fw-half-1", "fw-half-2"]
    assert list(cloud.vms.list(tags={"run": "half"})) == []
    assert _launch_groups(cloud) == before_groups


def test_an_instance_whose_answer_was_lost_is_found_by_its_token_and_removed(
    cloud: uc.Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver = _driver(cloud)
    before_groups = _launch_groups(cloud)
    real_create = driver.create_node

    def create_node(name: str, *args: Any, **kwargs: Any) -> Any:
        real_create(name, *args, **kwargs)
        raise ConnectionResetError("connection reset while reading the answer")

    monkeypatch.setattr(driver, "create_node", create_node)
    with pytest.raises(uc.ProviderError, match="connection"):
        cloud.vms.launch(_spec("fw-lost", tags={"run": "lost"}))
    assert list(cloud.vms.list(tags={"run": "lost"})) == []
    assert _launch_groups(cloud) == before_groups


def test_a_failed_rule_deletes_the_new_group(
    cloud: uc.Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    from libcloud.common.exceptions import BaseHTTPError

    before_groups = _launch_groups(cloud)
    real_request = ec2_network._request

    def request(driver: Any, params: Any) -> Any:
        if params["Action"] == "AuthorizeSecurityGroupIngress":
            raise BaseHTTPError(400, "RulesPerSecurityGroupLimitExceeded: too many rules")
        return real_request(driver, params)

    monkeypatch.setattr(ec2_network, "_request", request)
    with pytest.raises(uc.UnicomputeError):
        cloud.vms.launch(_spec("fw-rules", open_ports=[22], tags={"run": "rules"}))
    assert _launch_groups(cloud) == before_groups
    assert list(cloud.vms.list(tags={"run": "rules"})) == []


def test_terminating_twice_is_fine_and_cleans_up(cloud: uc.Cloud) -> None:
    before = _launch_groups(cloud)
    vm = cloud.vms.launch(_spec("fw-twice", open_ports=[8080]))
    _driver(cloud).destroy_node(vm.raw)  # terminated behind unicompute's back
    vm.terminate()
    assert _launch_groups(cloud) == before


def test_listing_follows_ec2_pages_and_misses_nobody(
    cloud: uc.Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    driver = _driver(cloud)
    compute = cloud._ctx.drivers.compute  # type: ignore[attr-defined]
    monkeypatch.setattr(compute, "page_size", 5)  # EC2's smallest page
    vms = cloud.vms.launch(_spec("paged", tags={"run": "paged"}), count=7)
    asked: list[dict[str, str]] = []
    real_request = driver.connection.request

    def request(path: str, params: dict[str, str], **kwargs: Any) -> Any:
        if params.get("Action") == "DescribeInstances":
            asked.append(dict(params))
        return real_request(path, params=params, **kwargs)

    monkeypatch.setattr(driver.connection, "request", request)
    try:
        listed = sorted(vm.name for vm in cloud.vms.list(tags={"run": "paged"}))
        assert listed == [f"paged-{i}" for i in range(1, 8)]
        assert [p.get("MaxResults") for p in asked] == ["5", "5"]
        assert "NextToken" in asked[1]
    finally:
        for vm in vms:
            vm.terminate()
