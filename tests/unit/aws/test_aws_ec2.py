"""The EC2 compute driver against moto (through the AWS fake)."""

from __future__ import annotations

import dataclasses
import logging
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from unicompute import _errors as errors
from unicompute._models import Image, InboundRule, LaunchPlan, Size, VMSpec, VMState
from unicompute.driver import MANAGED_TAG, ProviderDrivers
from unicompute.mocks.aws import AwsFake
from unicompute.providers.aws import Options, ec2, open_provider
from unicompute.providers.aws.ec2 import Ec2Compute
from unicompute.providers.aws.errors import translate_error

T3_MICRO = Size(name="t3.micro", vcpus=2, memory_gib=1.0, arch="x86_64", provider="aws")


@pytest.fixture(scope="module")
def compute(drivers: ProviderDrivers) -> Ec2Compute:
    assert isinstance(drivers.compute, Ec2Compute)
    return drivers.compute


@pytest.fixture(scope="module")
def ubuntu(compute: Ec2Compute) -> Image:
    return compute.resolve_image("ubuntu-24.04", arch="x86_64")


@pytest.fixture
def ec2_client(fake: AwsFake) -> Any:
    return boto3.client("ec2", region_name="us-east-1")


def plan(image: Image, count: int = 1, **spec: Any) -> LaunchPlan:
    spec.setdefault("name", "web")
    return LaunchPlan(
        spec=VMSpec(size=T3_MICRO, image=image, **spec), size=T3_MICRO, image=image, count=count
    )


def groups_named(client: Any, name: str) -> list[dict[str, Any]]:
    found = client.describe_security_groups()["SecurityGroups"]
    return [g for g in found if g["GroupName"].startswith(f"uc-{name}-")]


def instances_tagged(client: Any, key: str, value: str) -> list[dict[str, Any]]:
    answer = client.describe_instances(Filters=[{"Name": f"tag:{key}", "Values": [value]}])
    return [i for r in answer["Reservations"] for i in r["Instances"]]


@pytest.fixture
def fail_call(compute: Ec2Compute) -> Iterator[Any]:
    """``fail_call("RunInstances")`` makes that EC2 operation fail with a ClientError."""
    registered: list[tuple[str, Any]] = []

    def install(operation: str, code: str = "InsufficientInstanceCapacity") -> None:
        def handler(**_: Any) -> None:
            raise ClientError({"Error": {"Code": code, "Message": "injected"}}, operation)

        event = f"before-call.ec2.{operation}"
        compute.client.meta.events.register(event, handler)
        registered.append((event, handler))

    yield install
    for event, handler in registered:
        compute.client.meta.events.unregister(event, handler)


# -- launch ---------------------------------------------------------------------------------


def test_launch_opens_exactly_the_requested_ports(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, run_id: str
) -> None:
    name = f"web-{run_id}"
    (vm,) = compute.launch(plan(ubuntu, name=name, open_ports=(22, 443), tags={"run": run_id}))
    assert vm.name == name
    assert vm.tags["run"] == run_id and vm.tags[MANAGED_TAG] == "true"
    (group,) = groups_named(ec2_client, name)
    allowed = {
        (
            p["IpProtocol"],
            p["FromPort"],
            p["ToPort"],
            tuple(r["CidrIp"] for r in p["IpRanges"]),
            tuple(r["CidrIpv6"] for r in p["Ipv6Ranges"]),
        )
        for p in group["IpPermissions"]
    }
    assert allowed == {
        ("tcp", 22, 22, ("0.0.0.0/0",), ("::/0",)),
        ("tcp", 443, 443, ("0.0.0.0/0",), ("::/0",)),
    }
    assert (
        group["VpcId"]
        == ec2_client.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0][
            "VpcId"
        ]
    )
    assert compute.inbound_rules(vm.id) == [
        InboundRule(protocol="tcp", port_from=22, port_to=22, source="0.0.0.0/0"),
        InboundRule(protocol="tcp", port_from=22, port_to=22, source="::/0"),
        InboundRule(protocol="tcp", port_from=443, port_to=443, source="0.0.0.0/0"),
        InboundRule(protocol="tcp", port_from=443, port_to=443, source="::/0"),
    ]
    raw = instances_tagged(ec2_client, "run", run_id)[0]
    assert [g["GroupId"] for g in raw["SecurityGroups"]] == [group["GroupId"]]
    assert {t["Key"]: t["Value"] for t in raw["Tags"]}["unicompute:sg"] == group["GroupId"]


def test_launch_without_ports_allows_nothing_in(
    compute: Ec2Compute, ubuntu: Image, run_id: str
) -> None:
    (vm,) = compute.launch(plan(ubuntu, name=f"closed-{run_id}"))
    assert compute.inbound_rules(vm.id) == []


def test_launch_passes_the_spec_to_run_instances(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, run_id: str
) -> None:
    zone = "us-east-1c"
    script = "#!/bin/sh\necho 'héllo'\n"
    (vm,) = compute.launch(
        plan(
            ubuntu,
            name=f"full-{run_id}",
            zone=zone,
            disk_gib=30,
            user_data=script,
            tags={"run": run_id},
        )
    )
    assert vm.zone == zone
    raw = compute.get_vm(vm.id).raw
    assert raw["MetadataOptions"]["HttpTokens"] == "required"
    subnet = ec2_client.describe_subnets(SubnetIds=[raw["SubnetId"]])["Subnets"][0]
    assert subnet["AvailabilityZone"] == zone and subnet["DefaultForAz"]
    root = raw["BlockDeviceMappings"][0]
    assert root["DeviceName"] == "/dev/sda1"  # the image's root device
    volume = ec2_client.describe_volumes(VolumeIds=[root["Ebs"]["VolumeId"]])["Volumes"][0]
    assert (volume["Size"], volume["VolumeType"]) == (30, "gp3")
    volume_tags = {t["Key"]: t["Value"] for t in volume["Tags"]}
    assert (volume_tags["run"], volume_tags[MANAGED_TAG]) == (run_id, "true")
    # The root volume belongs to the VM: tagged for cost reports, but not a listed data volume.
    volumes = open_provider("us-east-1", {}).volumes
    assert volumes is not None
    assert volumes.list_volumes(tags={"run": run_id}) == []
    assert volumes.get_volume(volume["VolumeId"]).attached_to == vm.id
    assert compute.user_data(vm.id) == script.encode()


def test_options_reach_run_instances(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, run_id: str
) -> None:
    extra = ec2_client.create_security_group(GroupName=f"extra-{run_id}", Description="x")
    ec2_client.authorize_security_group_ingress(
        GroupId=extra["GroupId"],
        IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": extra["GroupId"]}]}],
    )
    options = Options(
        security_group_ids=(extra["GroupId"],), require_imdsv2=False, volume_type="gp2"
    )
    (vm,) = compute.launch(plan(ubuntu, name=f"opt-{run_id}", options=options, disk_gib=20))
    raw = compute.get_vm(vm.id).raw
    assert extra["GroupId"] in [g["GroupId"] for g in raw["SecurityGroups"]]
    assert raw["MetadataOptions"]["HttpTokens"] == "optional"
    volume_id = raw["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
    assert ec2_client.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]["VolumeType"] == "gp2"
    assert InboundRule(
        protocol="all", port_from=0, port_to=65535, source=extra["GroupId"]
    ) in compute.inbound_rules(vm.id)


def test_spot_launch(compute: Ec2Compute, ubuntu: Image, run_id: str) -> None:
    (vm,) = compute.launch(plan(ubuntu, name=f"spot-{run_id}", spot=True))
    assert compute.get_vm(vm.id).spot is True


def test_count_names_each_vm_and_shares_one_group(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, run_id: str
) -> None:
    name = f"many-{run_id}"
    vms = compute.launch(plan(ubuntu, count=3, name=name, tags={"run": run_id}))
    assert sorted(vm.name for vm in vms) == [f"{name}-1", f"{name}-2", f"{name}-3"]
    listed = compute.list_vms(tags={"run": run_id}, states=None, page_token=None).items
    assert sorted(vm.name for vm in listed) == [f"{name}-1", f"{name}-2", f"{name}-3"]
    (group,) = groups_named(ec2_client, name)
    compute.terminate_vm(vms[0].id)
    assert groups_named(ec2_client, name) == [group]  # still used by the other two
    compute.terminate_vm(vms[1].id)
    compute.terminate_vm(vms[2].id)
    assert groups_named(ec2_client, name) == []


def test_failed_run_instances_leaves_no_group(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, run_id: str, fail_call: Any
) -> None:
    name = f"fail-{run_id}"
    fail_call("RunInstances")
    with pytest.raises(ClientError) as caught:
        compute.launch(plan(ubuntu, name=name, open_ports=(80,), tags={"run": run_id}))
    assert caught.value.response["Error"]["Code"] == "InsufficientInstanceCapacity"
    assert groups_named(ec2_client, name) == []
    assert instances_tagged(ec2_client, "run", run_id) == []


def test_failure_after_run_instances_terminates_what_it_created(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, run_id: str, fail_call: Any
) -> None:
    name = f"half-{run_id}"
    fail_call("CreateTags", code="RequestLimitExceeded")  # naming instances 1..N fails
    with pytest.raises(ClientError):
        compute.launch(plan(ubuntu, count=2, name=name, tags={"run": run_id}))
    assert groups_named(ec2_client, name) == []
    states = {i["State"]["Name"] for i in instances_tagged(ec2_client, "run", run_id)}
    assert states == {"terminated"}


def test_failed_ingress_rules_leave_no_group(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, run_id: str, fail_call: Any
) -> None:
    name = f"rules-{run_id}"
    fail_call("AuthorizeSecurityGroupIngress", code="RulesPerSecurityGroupLimitExceeded")
    with pytest.raises(ClientError):
        compute.launch(plan(ubuntu, name=name, open_ports=(80,), tags={"run": run_id}))
    assert groups_named(ec2_client, name) == []
    assert instances_tagged(ec2_client, "run", run_id) == []


def test_wrong_options_type_is_rejected_before_anything_exists(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, run_id: str
) -> None:
    name = f"badopt-{run_id}"
    with pytest.raises(errors.InvalidRequest) as caught:
        compute.launch(plan(ubuntu, name=name, options={"subnet_id": "x"}))
    assert caught.value.field == "options"
    assert groups_named(ec2_client, name) == []


def test_subnet_option_and_zone_must_agree(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, run_id: str
) -> None:
    subnet = ec2_client.describe_subnets(
        Filters=[{"Name": "availability-zone", "Values": ["us-east-1b"]}]
    )["Subnets"][0]
    options = Options(subnet_id=subnet["SubnetId"])
    with pytest.raises(errors.InvalidRequest) as caught:
        compute.launch(plan(ubuntu, name=f"sub-{run_id}", zone="us-east-1a", options=options))
    assert caught.value.field == "zone"
    with pytest.raises(errors.InvalidRequest) as missing:
        compute.launch(plan(ubuntu, name=f"sub-{run_id}", options=Options(subnet_id="subnet-0")))
    assert missing.value.field == "options.subnet_id"
    assert groups_named(ec2_client, f"sub-{run_id}") == []
    (vm,) = compute.launch(plan(ubuntu, name=f"sub-{run_id}", options=options))
    assert vm.zone == "us-east-1b"
    assert compute.get_vm(vm.id).raw["SubnetId"] == subnet["SubnetId"]


# -- lifecycle -------------------------------------------------------------------------------


def test_terminate_deletes_the_group_and_get_is_not_found(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, run_id: str
) -> None:
    name = f"term-{run_id}"
    (vm,) = compute.launch(plan(ubuntu, name=name, open_ports=(22,)))
    assert len(groups_named(ec2_client, name)) == 1
    compute.terminate_vm(vm.id)
    assert groups_named(ec2_client, name) == []
    # moto (like EC2) still lists the terminated instance; the driver must not.
    assert ec2_client.describe_instances(InstanceIds=[vm.id])["Reservations"]
    for call in (compute.get_vm, compute.stop_vm, compute.inbound_rules):
        with pytest.raises(errors.NotFound):
            call(vm.id)
    # Terminating again is resumable, not an error: there is nothing left to do.
    compute.terminate_vm(vm.id)


def test_stop_start_reboot_and_tags(compute: Ec2Compute, ubuntu: Image, run_id: str) -> None:
    (vm,) = compute.launch(plan(ubuntu, name=f"life-{run_id}", tags={"a": "1"}))
    compute.stop_vm(vm.id)
    assert compute.get_vm(vm.id).state is VMState.STOPPED
    compute.start_vm(vm.id)
    compute.reboot_vm(vm.id)
    assert compute.get_vm(vm.id).state in (VMState.PENDING, VMState.RUNNING)
    compute.set_vm_tags(vm.id, {"a": "2", "b": "3"})
    tags = compute.get_vm(vm.id).tags
    assert (tags["a"], tags["b"], tags[MANAGED_TAG]) == ("2", "3", "true")


def test_missing_vm_is_the_native_not_found(compute: Ec2Compute) -> None:
    with pytest.raises(ClientError) as caught:
        compute.get_vm("i-0123456789abcdef0")
    assert caught.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"


# -- listing ---------------------------------------------------------------------------------


def test_list_filters_by_tags_and_states_and_hides_terminated(
    compute: Ec2Compute, ubuntu: Image, run_id: str
) -> None:
    tags = {"run": run_id}
    compute.launch(plan(ubuntu, name="web", tags={**tags, "role": "web"}))
    (db,) = compute.launch(plan(ubuntu, name="db", tags={**tags, "role": "db"}))
    (gone,) = compute.launch(plan(ubuntu, name="gone", tags=tags))
    compute.stop_vm(db.id)
    compute.terminate_vm(gone.id)

    def names(**kwargs: Any) -> list[str]:
        kwargs.setdefault("states", None)
        page = compute.list_vms(page_token=None, **kwargs)
        assert page.next_token is None
        return sorted(vm.name for vm in page.items)

    assert names(tags=tags) == ["db", "web"]
    assert names(tags={**tags, "role": "web"}) == ["web"]
    assert names(tags=tags, states=frozenset({VMState.STOPPED})) == ["db"]
    assert names(tags=tags, states=frozenset({VMState.RUNNING, VMState.STOPPED})) == ["db", "web"]
    assert names(tags=tags, states=frozenset({VMState.TERMINATED})) == []
    assert names(tags={"run": "nobody"}) == []


def test_list_pages(
    compute: Ec2Compute, ubuntu: Image, run_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ec2, "PAGE_SIZE", 2)
    launched = {
        compute.launch(plan(ubuntu, name=f"p{i}", tags={"run": run_id}))[0].id for i in range(5)
    }
    seen: list[str] = []
    pages = 0
    token: str | None = None
    while True:
        page = compute.list_vms(tags={"run": run_id}, states=None, page_token=token)
        pages += 1
        seen.extend(vm.id for vm in page.items)
        if page.next_token is None:
            break
        token = page.next_token
    assert pages == 3
    assert sorted(seen) == sorted(launched)


# -- catalog, images, locations --------------------------------------------------------------


def test_sizes_are_priced_from_the_snapshot_and_cached(fake: AwsFake) -> None:
    drivers = open_provider("us-east-1", {"poll_interval": 0})
    compute = drivers.compute
    assert isinstance(compute, Ec2Compute)
    calls: list[str] = []
    compute.client.meta.events.register(
        "before-call.ec2.DescribeInstanceTypes", lambda **kw: calls.append(kw["event_name"])
    )
    sizes = {s.name: s for s in compute.list_sizes()}
    assert len(calls) == 1  # moto answers in one page
    assert len(compute.list_sizes()) == len(sizes) > 1000
    assert len(calls) == 1  # the catalog is cached on the driver
    drivers.close()
    micro = sizes["t3.micro"]
    assert (micro.vcpus, micro.memory_gib, micro.family, micro.arch) == (2, 1.0, "t3", "x86_64")
    assert micro.hourly_price == 0.0104
    assert sizes["t4g.micro"].arch == "arm64"
    assert sizes["g4dn.xlarge"].gpus == 1
    assert sizes["g4dn.xlarge"].hourly_price == 0.526
    assert all(s.hourly_price is None for s in sizes.values() if s.family == "x2iedn")
    assert micro.price_source == "AWS on-demand price snapshot of 2024-10-01"
    assert all(s.price_source is None for s in sizes.values() if s.hourly_price is None)


def test_prices_snapshot_covers_both_regions() -> None:
    from unicompute.providers.aws import sizes

    snapshot = sizes.prices().data
    assert snapshot["currency"] == "USD" and snapshot["date"]
    assert sizes.prices().region("us-west-2")["t3.micro"] == 0.0104
    assert sizes.prices().region("eu-north-1") == {}


@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
@pytest.mark.parametrize(
    ("alias", "expected"),
    [
        ("ubuntu-22.04", "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-{deb}-server-20241002"),
        ("ubuntu-24.04", "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-{deb}-server-20241004"),
        ("debian-12", "debian-12-{deb}-20241004-1890"),
        ("amazon-linux-2023", "al2023-ami-2023.*-{arch}"),
    ],
)
def test_aliases_resolve_to_the_newest_image(
    compute: Ec2Compute, alias: str, expected: str, arch: str
) -> None:
    image = compute.resolve_image(alias, arch=arch)
    deb = "amd64" if arch == "x86_64" else "arm64"
    wanted = expected.format(deb=deb, arch=arch)
    if "*" in wanted:
        prefix, suffix = wanted.split("*")
        assert image.name.startswith(prefix) and image.name.endswith(suffix)
        assert "minimal" not in image.name
    else:
        assert image.name == wanted
    assert (image.alias, image.arch, image.os, image.provider) == (alias, arch, "linux", "aws")


def test_windows_alias(compute: Ec2Compute) -> None:
    image = compute.resolve_image("windows-2022", arch="x86_64")
    assert image.name == "Windows_Server-2022-English-Full-Base-2024.10.09"
    assert image.os == "windows"
    with pytest.raises(errors.NotFound):
        compute.resolve_image("windows-2022", arch="arm64")


def test_image_ids_and_unknown_refs(compute: Ec2Compute, ubuntu: Image) -> None:
    assert compute.resolve_image(ubuntu.id, arch="x86_64").id == ubuntu.id
    with pytest.raises(errors.InvalidRequest) as caught:
        compute.resolve_image(ubuntu.id, arch="arm64")
    assert caught.value.field == "image"
    with pytest.raises(errors.NotFound):
        compute.resolve_image("no-such-os-1.0", arch="x86_64")
    with pytest.raises(ClientError) as missing:
        compute.resolve_image("ami-0123456789abcdef0", arch="x86_64")
    assert missing.value.response["Error"]["Code"] == "InvalidAMIID.NotFound"


def test_list_images_has_every_alias_and_own_images(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, run_id: str
) -> None:
    (vm,) = compute.launch(plan(ubuntu, name=f"img-{run_id}"))
    own = ec2_client.create_image(InstanceId=vm.id, Name=f"golden-{run_id}")["ImageId"]
    found = compute.list_images()
    aliased = {(i.alias, i.arch) for i in found if i.alias}
    assert aliased == {
        (alias, arch)
        for alias in ("ubuntu-22.04", "ubuntu-24.04", "debian-12", "amazon-linux-2023")
        for arch in ("x86_64", "arm64")
    } | {("windows-2022", "x86_64")}
    assert own in {i.id for i in found if i.alias is None}


def test_regions_and_zones(compute: Ec2Compute) -> None:
    assert "us-west-2" in {r.name for r in compute.regions()}
    zones = compute.zones()
    assert "us-east-1a" in {z.name for z in zones}
    assert {z.region for z in zones} == {"us-east-1"}


@pytest.mark.parametrize("public", [False, True])
def test_public_ip_option_keeps_the_firewall(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, run_id: str, public: bool
) -> None:
    name = f"pub-{run_id}"
    options = Options(associate_public_ip=public)
    (vm,) = compute.launch(plan(ubuntu, name=name, open_ports=(8080,), options=options))
    assert (compute.get_vm(vm.id).public_ip is not None) is public
    assert {(r.port_from, r.source) for r in compute.inbound_rules(vm.id)} == {
        (8080, "0.0.0.0/0"),
        (8080, "::/0"),
    }
    compute.terminate_vm(vm.id)
    assert groups_named(ec2_client, name) == []


# -- real EC2 semantics moto does not reproduce ----------------------------------------------


@pytest.fixture
def on(compute: Ec2Compute) -> Iterator[Any]:
    """``on(event, handler)`` registers a botocore event handler for one test."""
    registered: list[tuple[str, Any]] = []

    def register(event: str, handler: Any) -> None:
        compute.client.meta.events.register(event, handler)
        registered.append((event, handler))

    yield register
    for event, handler in registered:
        compute.client.meta.events.unregister(event, handler)


def ec2_error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def with_context(compute: Ec2Compute, **policy: Any) -> Ec2Compute:
    """A driver on the same client with another polling policy."""
    return Ec2Compute(dataclasses.replace(compute._ctx, **policy))


def tags_dict(resource: dict[str, Any]) -> dict[str, str]:
    # Network interfaces list theirs as TagSet.
    listed = resource.get("Tags") or resource.get("TagSet") or []
    return {t["Key"]: t["Value"] for t in listed}


def test_terminate_deletes_only_the_group_launch_created(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, run_id: str
) -> None:
    def group(name: str, *, managed: bool) -> str:
        tags = [{"Key": MANAGED_TAG, "Value": "true"}] if managed else []
        specs = [{"ResourceType": "security-group", "Tags": tags}] if tags else []
        return str(
            ec2_client.create_security_group(
                GroupName=name, Description="user's", TagSpecifications=specs
            )["GroupId"]
        )

    attached_user = group(f"db-{run_id}", managed=False)  # attached, not unicompute's
    attached_lookalike = group(f"uc-fake-{run_id}", managed=False)  # uc- name, not managed
    detached_managed = group(f"uc-other-{run_id}", managed=True)  # not attached to the VM
    options = Options(security_group_ids=(attached_user, attached_lookalike))
    for target in (attached_user, attached_lookalike, detached_managed):
        (vm,) = compute.launch(plan(ubuntu, name=f"sg-{run_id}", options=options))
        # Anyone who may tag the instance can point the bookkeeping tag elsewhere.
        ec2_client.create_tags(Resources=[vm.id], Tags=[{"Key": "unicompute:sg", "Value": target}])
        compute.terminate_vm(vm.id)
        assert ec2_client.describe_security_groups(GroupIds=[target])["SecurityGroups"]


def test_launch_waits_until_describe_instances_lists_the_new_vm(
    compute: Ec2Compute, ubuntu: Image, on: Any, run_id: str
) -> None:
    new_ids: list[str] = []
    hidden = {"left": 3}  # EC2 answers NotFound for the first describes after RunInstances

    def remember(parsed: dict[str, Any], **_: Any) -> None:
        new_ids.extend(i["InstanceId"] for i in parsed.get("Instances", []))

    def not_yet(params: dict[str, Any], **_: Any) -> None:
        if hidden["left"] and any(i in str(params.get("body")) for i in new_ids):
            hidden["left"] -= 1
            raise ec2_error(
                "InvalidInstanceID.NotFound",
                f"The instance ID '{new_ids[0]}' does not exist",
                "DescribeInstances",
            )

    on("after-call.ec2.RunInstances", remember)
    on("before-call.ec2.DescribeInstances", not_yet)
    (vm,) = compute.launch(plan(ubuntu, name=f"ec-{run_id}"))
    assert hidden["left"] == 0
    assert compute.get_vm(vm.id).id == vm.id  # straight after launch
    compute.terminate_vm(vm.id)


def test_missing_vm_fails_at_once(compute: Ec2Compute, on: Any) -> None:
    calls: list[str] = []
    on("before-call.ec2.DescribeInstances", lambda **kw: calls.append(kw["event_name"]))
    with pytest.raises(ClientError):
        with_context(compute, poll_interval=60).get_vm("i-0123456789abcdef0")
    assert len(calls) == 1


def test_new_group_not_yet_known_is_retried(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, on: Any, run_id: str
) -> None:
    group: dict[str, str] = {}
    failures = {"AuthorizeSecurityGroupIngress": 2, "RunInstances": 2}

    def remember(parsed: dict[str, Any], **_: Any) -> None:
        group["id"] = parsed["GroupId"]

    def not_yet(model: Any, **_: Any) -> None:
        if failures[model.name]:
            failures[model.name] -= 1
            message = f"The security group '{group['id']}' does not exist in default VPC"
            raise ec2_error("InvalidGroup.NotFound", message, model.name)

    on("after-call.ec2.CreateSecurityGroup", remember)
    on("before-call.ec2.AuthorizeSecurityGroupIngress", not_yet)
    on("before-call.ec2.RunInstances", not_yet)
    (vm,) = compute.launch(plan(ubuntu, name=f"sgwait-{run_id}", open_ports=(22,)))
    assert failures == {"AuthorizeSecurityGroupIngress": 0, "RunInstances": 0}
    assert [r.port_from for r in compute.inbound_rules(vm.id)] == [22, 22]
    assert len(instances_tagged(ec2_client, "unicompute:sg", group["id"])) == 1


def test_missing_extra_group_is_rejected_before_anything_exists(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, on: Any, run_id: str
) -> None:
    attempts: list[str] = []
    on("before-call.ec2.RunInstances", lambda **kw: attempts.append(kw["event_name"]))
    name = f"badsg-{run_id}"
    options = Options(security_group_ids=("sg-0123456789abcdef0",))
    with pytest.raises(errors.InvalidRequest) as caught:
        compute.launch(plan(ubuntu, name=name, options=options))
    assert caught.value.field == "options.security_group_ids"
    assert attempts == []
    assert groups_named(ec2_client, name) == []


def test_extra_group_gone_at_run_instances_is_the_callers_mistake(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, on: Any, run_id: str
) -> None:
    from unicompute.providers.aws.errors import translate_error

    extra = ec2_client.create_security_group(GroupName=f"gone-{run_id}", Description="x")
    attempts: list[str] = []

    def group_deleted_meanwhile(**kw: Any) -> None:
        attempts.append(kw["event_name"])
        message = f"The security group '{extra['GroupId']}' does not exist"
        error = {"Code": "InvalidGroup.NotFound", "Message": message}
        raise ClientError({"Error": error}, "RunInstances")

    on("before-call.ec2.RunInstances", group_deleted_meanwhile)
    name = f"badsg-{run_id}"
    options = Options(security_group_ids=(extra["GroupId"],))
    with pytest.raises(ClientError) as caught:
        compute.launch(plan(ubuntu, name=name, options=options))
    assert len(attempts) == 1  # not retried as if EC2 were catching up
    error = translate_error(caught.value, "vms.launch")
    assert isinstance(error, errors.InvalidRequest)
    assert error.field == "options.security_group_ids"
    assert groups_named(ec2_client, name) == []


def test_lost_run_instances_answer_is_undone_by_client_token(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, on: Any, run_id: str
) -> None:
    from botocore.exceptions import ReadTimeoutError

    sent: dict[str, Any] = {}

    def capture(params: dict[str, Any], **_: Any) -> None:
        sent.update(params)

    def lose_answer(**_: Any) -> None:  # EC2 launched them, the answer never arrived
        raise ReadTimeoutError(endpoint_url="https://ec2.us-east-1.amazonaws.com/")

    on("before-parameter-build.ec2.RunInstances", capture)
    on("after-call.ec2.RunInstances", lose_answer)
    name = f"lost-{run_id}"
    with pytest.raises(ReadTimeoutError):
        compute.launch(plan(ubuntu, count=2, name=name, tags={"run": run_id}))
    assert uuid.UUID(sent["ClientToken"]).version == 4
    launched = instances_tagged(ec2_client, "run", run_id)
    assert len(launched) == 2
    assert {i["State"]["Name"] for i in launched} == {"terminated"}
    assert groups_named(ec2_client, name) == []


def test_group_still_held_after_the_cap_is_a_warning(
    compute: Ec2Compute,
    ubuntu: Image,
    ec2_client: Any,
    on: Any,
    run_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert compute._ctx.group_delete_timeout == 180  # not the 900 s wait timeout
    quick = with_context(compute, poll_interval=0.001, group_delete_timeout=0.05)
    name = f"held-{run_id}"
    (vm,) = quick.launch(plan(ubuntu, name=name))
    (group,) = groups_named(ec2_client, name)
    attempts: list[str] = []

    def held(**kw: Any) -> None:
        attempts.append(kw["event_name"])
        raise ec2_error(
            "DependencyViolation",
            f"resource {group['GroupId']} has a dependent object",
            "DeleteSecurityGroup",
        )

    on("before-call.ec2.DeleteSecurityGroup", held)
    with caplog.at_level(logging.WARNING, logger="unicompute.providers.aws"):
        quick.terminate_vm(vm.id)  # the VM is terminated: no error
    assert len(attempts) > 1
    assert (
        ec2_client.describe_instances(InstanceIds=[vm.id])["Reservations"][0]["Instances"][0][
            "State"
        ]["Name"]
        == "terminated"
    )
    (record,) = [r for r in caplog.records if r.name == "unicompute.providers.aws"]
    assert record.levelno == logging.WARNING
    assert group["GroupId"] in record.getMessage()


def test_terminate_waits_through_pending_and_stopping(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, on: Any, run_id: str
) -> None:
    name = f"slow-{run_id}"
    (vm,) = compute.launch(plan(ubuntu, name=name))
    compute.stop_vm(vm.id)
    shown = ["pending", "stopping"]  # what DescribeInstances reports after TerminateInstances
    terminating = {"on": False}

    def started(**_: Any) -> None:
        terminating["on"] = True

    def lagging(parsed: dict[str, Any], **_: Any) -> None:
        if terminating["on"] and shown:
            state = shown.pop(0)
            for reservation in parsed.get("Reservations", []):
                for instance in reservation["Instances"]:
                    instance["State"] = {"Code": 0, "Name": state}

    on("after-call.ec2.TerminateInstances", started)
    on("after-call.ec2.DescribeInstances", lagging)
    compute.terminate_vm(vm.id)
    assert shown == []
    assert groups_named(ec2_client, name) == []


def test_terminate_that_never_finishes_is_a_timeout(
    compute: Ec2Compute, ubuntu: Image, on: Any, run_id: str
) -> None:
    (vm,) = compute.launch(plan(ubuntu, name=f"stuck-{run_id}"))

    def stuck(parsed: dict[str, Any], **_: Any) -> None:
        for reservation in parsed.get("Reservations", []):
            for instance in reservation["Instances"]:
                instance["State"] = {"Code": 32, "Name": "shutting-down"}

    on(
        "after-call.ec2.TerminateInstances",
        lambda **_: on("after-call.ec2.DescribeInstances", stuck),
    )
    with pytest.raises(errors.Timeout) as caught:
        with_context(compute, poll_interval=0.001).terminate_vm(vm.id, timeout=0.02)
    assert vm.id in str(caught.value)


def test_list_takes_tag_values_literally(compute: Ec2Compute, ubuntu: Image, run_id: str) -> None:
    values = ("web1", "web*", "we\\b")
    for index, value in enumerate(values):
        compute.launch(plan(ubuntu, name=f"lit{index}", tags={"run": run_id, "app": value}))

    def names(app: str) -> list[str]:
        page = compute.list_vms(tags={"run": run_id, "app": app}, states=None, page_token=None)
        return sorted(vm.name for vm in page.items)

    assert names("web*") == ["lit1"]
    assert names("we\\b") == ["lit2"]
    assert names("web?") == []
    assert names("web1") == ["lit0"]


def test_spot_vm_cannot_be_stopped(
    compute: Ec2Compute, ubuntu: Image, on: Any, run_id: str
) -> None:
    (vm,) = compute.launch(plan(ubuntu, name=f"spotstop-{run_id}", spot=True))
    calls: list[str] = []
    on("before-call.ec2.StopInstances", lambda **kw: calls.append(kw["event_name"]))
    with pytest.raises(errors.Unsupported, match="terminate it instead"):
        compute.stop_vm(vm.id)
    assert calls == []
    assert compute.get_vm(vm.id).state is not VMState.STOPPED


def test_disk_smaller_than_the_image_is_rejected_before_anything_exists(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, on: Any, run_id: str
) -> None:
    root = ec2_client.describe_images(ImageIds=[ubuntu.id])["Images"][0]["BlockDeviceMappings"][0]
    minimum = root["Ebs"]["VolumeSize"]
    calls: list[str] = []
    on("before-call.ec2.CreateSecurityGroup", lambda **kw: calls.append(kw["event_name"]))
    name = f"tiny-{run_id}"
    with pytest.raises(errors.InvalidRequest) as caught:
        compute.launch(plan(ubuntu, name=name, disk_gib=minimum - 1))
    assert caught.value.field == "disk_gib"
    assert f"{minimum} GiB" in str(caught.value)
    assert calls == []
    assert len(compute.launch(plan(ubuntu, name=name, disk_gib=minimum))) == 1


@pytest.mark.parametrize("spot", [False, True])
def test_network_interfaces_and_spot_requests_are_tagged(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, on: Any, run_id: str, spot: bool
) -> None:
    sent: dict[str, Any] = {}
    on("before-parameter-build.ec2.RunInstances", lambda params, **_: sent.update(params))
    (vm,) = compute.launch(plan(ubuntu, name=f"eni-{run_id}", tags={"run": run_id}, spot=spot))
    specs = {s["ResourceType"]: tags_dict(s) for s in sent["TagSpecifications"]}
    expected = {"instance", "volume", "network-interface"} | (
        {"spot-instances-request"} if spot else set()
    )
    assert set(specs) == expected
    for kind in ("network-interface", *(["spot-instances-request"] if spot else [])):
        assert (specs[kind]["run"], specs[kind][MANAGED_TAG]) == (run_id, "true")
    interfaces = ec2_client.describe_network_interfaces(
        Filters=[{"Name": "attachment.instance-id", "Values": [vm.id]}]
    )["NetworkInterfaces"]
    assert interfaces
    for interface in interfaces:
        assert tags_dict(interface)[MANAGED_TAG] == "true"
        assert tags_dict(interface)["run"] == run_id


def test_default_vpc_is_found_with_the_documented_filter(
    compute: Ec2Compute, ubuntu: Image, on: Any, run_id: str
) -> None:
    sent: list[Any] = []
    on("before-parameter-build.ec2.DescribeVpcs", lambda params, **_: sent.append(params))
    compute.launch(plan(ubuntu, name=f"vpc-{run_id}"))
    assert [f["Name"] for p in sent for f in p.get("Filters", [])] == ["is-default"]


def test_one_size_is_read_without_the_catalog(drivers: ProviderDrivers) -> None:
    fresh = open_provider("us-east-1", {"poll_interval": 0})
    calls: list[str] = []
    client = fresh.compute.client  # type: ignore[attr-defined]
    client.meta.events.register("before-call.ec2.*", lambda model, **_: calls.append(model.name))
    size = fresh.compute.get_size("t3.micro")
    assert (size.vcpus, size.memory_gib, size.hourly_price) == (2, 1.0, 0.0104)
    assert calls == ["DescribeInstanceTypes"]
    with pytest.raises(errors.NotFound):
        fresh.compute.get_size("t3.enormous")
    fresh.close()


def test_check_launch_only_reads_and_names_the_field(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, on: Any, run_id: str
) -> None:
    calls: list[str] = []
    on("before-call.ec2.*", lambda model, **_: calls.append(model.name))
    root = ec2_client.describe_images(ImageIds=[ubuntu.id])["Images"][0]["BlockDeviceMappings"][0]
    in_1b = ec2_client.describe_subnets(
        Filters=[
            {"Name": "availability-zone", "Values": ["us-east-1b"]},
            {"Name": "default-for-az", "Values": ["true"]},
        ]
    )["Subnets"][0]["SubnetId"]
    other_vpc = ec2_client.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    foreign = ec2_client.create_security_group(
        GroupName=f"foreign-{run_id}", Description="x", VpcId=other_vpc
    )["GroupId"]
    name = f"chk-{run_id}"
    bad: list[tuple[dict[str, Any], str]] = [
        ({"disk_gib": root["Ebs"]["VolumeSize"] - 1}, "disk_gib"),
        ({"options": {"subnet_id": in_1b}}, "options"),
        ({"zone": "us-east-1a", "options": Options(subnet_id=in_1b)}, "zone"),
        ({"options": Options(subnet_id="subnet-0")}, "options.subnet_id"),
        ({"options": Options(security_group_ids=("sg-0123456789abcdef0",))},
         "options.security_group_ids"),
        ({"options": Options(security_group_ids=(foreign,))}, "options.security_group_ids"),
    ]
    calls.clear()
    for spec, field in bad:
        with pytest.raises(errors.InvalidRequest) as caught:
            compute.check_launch(plan(ubuntu, name=name, **spec))
        assert caught.value.field == field, spec
    good = plan(ubuntu, name=name, zone="us-east-1b", options=Options(subnet_id=in_1b))
    compute.check_launch(good)
    assert calls and all(call.startswith("Describe") for call in calls), calls
    assert groups_named(ec2_client, name) == []
    assert instances_tagged(ec2_client, "Name", name) == []


def test_launch_reuses_the_check_of_the_same_plan(
    compute: Ec2Compute, ubuntu: Image, on: Any, run_id: str
) -> None:
    calls: list[str] = []
    on("before-call.ec2.DescribeSubnets", lambda model, **_: calls.append(model.name))
    checked = plan(ubuntu, name=f"once-{run_id}", zone="us-east-1a")
    compute.check_launch(checked)
    assert calls == ["DescribeSubnets"]
    compute.launch(checked)
    assert calls == ["DescribeSubnets"]  # the checked placement was used, not looked up again
    compute.launch(plan(ubuntu, name=f"twice-{run_id}", zone="us-east-1a"))
    assert calls == ["DescribeSubnets"] * 2  # another plan is checked before it is launched
    compute.launch(checked)
    assert calls == ["DescribeSubnets"] * 3  # a check is used once


def test_launched_vm_carries_its_key_name(
    drivers: ProviderDrivers, compute: Ec2Compute, ubuntu: Image, run_id: str
) -> None:
    public_key = (
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGbOUXPPn2D3dkzqbpHwpEXkR1xNuAFrZoDrNRLTsr6R t@uc"
    )
    assert drivers.keys is not None
    key = drivers.keys.import_key(f"key-{run_id}", public_key).name
    (vm,) = compute.launch(plan(ubuntu, name=f"keyed-{run_id}", key_name=key))
    assert vm.key_name == key
    assert compute.get_vm(vm.id).key_name == key
    (bare,) = compute.launch(plan(ubuntu, name=f"bare-{run_id}"))
    assert bare.key_name is None and compute.get_vm(bare.id).key_name is None


# -- resumable terminate ---------------------------------------------------------------------


def group_exists(client: Any, group_id: str) -> bool:
    try:
        return bool(client.describe_security_groups(GroupIds=[group_id])["SecurityGroups"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "InvalidGroup.NotFound":
            return False
        raise


def test_launch_group_carries_the_client_token_of_run_instances(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, on: Any, run_id: str
) -> None:
    sent: dict[str, Any] = {}
    on("provide-client-params.ec2.RunInstances", lambda params, **_: sent.update(params))
    name = f"tok-{run_id}"
    (vm,) = compute.launch(plan(ubuntu, name=name))
    (group,) = groups_named(ec2_client, name)
    token = tags_dict(group)["unicompute:client-token"]
    assert token == sent["ClientToken"] == compute.get_vm(vm.id).raw["ClientToken"]
    assert "unicompute:client-token" not in compute.get_vm(vm.id).tags
    compute.terminate_vm(vm.id)
    assert groups_named(ec2_client, name) == []


def test_interrupted_terminate_is_resumed_and_deletes_the_group(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, on: Any, run_id: str
) -> None:
    name = f"resume-{run_id}"
    (vm,) = compute.launch(plan(ubuntu, name=name, open_ports=(22,)))
    (group,) = groups_named(ec2_client, name)
    terminations: list[str] = []
    interrupt = {"armed": False}

    def accepted(**kw: Any) -> None:
        terminations.append(kw["event_name"])
        interrupt["armed"] = True

    def ctrl_c(**_: Any) -> None:  # in wait_terminated, after EC2 accepted TerminateInstances
        if interrupt["armed"]:
            interrupt["armed"] = False
            raise KeyboardInterrupt

    on("after-call.ec2.TerminateInstances", accepted)
    on("before-call.ec2.DescribeInstances", ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        compute.terminate_vm(vm.id)
    assert len(terminations) == 1
    assert group_exists(ec2_client, group["GroupId"])  # leaked, for now
    state = ec2_client.describe_instances(InstanceIds=[vm.id])["Reservations"][0]["Instances"][0]
    assert state["State"]["Name"] in ("shutting-down", "terminated")

    compute.terminate_vm(vm.id)  # the instance is terminated: resumes, no NotFound
    assert len(terminations) == 1  # not terminated twice
    assert not group_exists(ec2_client, group["GroupId"])


def test_terminate_timeout_is_resumed_and_deletes_the_group(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, on: Any, run_id: str
) -> None:
    name = f"late-{run_id}"
    (vm,) = compute.launch(plan(ubuntu, name=name))
    (group,) = groups_named(ec2_client, name)
    terminations: list[str] = []
    lagging = {"left": 0}  # how many more DescribeInstances answers show shutting-down

    def accepted(**kw: Any) -> None:
        terminations.append(kw["event_name"])
        lagging["left"] = 10**6

    def shutting_down(parsed: dict[str, Any], **_: Any) -> None:
        if lagging["left"]:
            lagging["left"] -= 1
            for reservation in parsed.get("Reservations", []):
                for instance in reservation["Instances"]:
                    instance["State"] = {"Code": 32, "Name": "shutting-down"}

    on("after-call.ec2.TerminateInstances", accepted)
    on("after-call.ec2.DescribeInstances", shutting_down)
    with pytest.raises(errors.Timeout):
        with_context(compute, poll_interval=0.001).terminate_vm(vm.id, timeout=0.02)
    assert group_exists(ec2_client, group["GroupId"])
    lagging["left"] = 3  # still shutting-down when the next call looks, then terminated
    compute.terminate_vm(vm.id)
    assert lagging["left"] == 0
    assert len(terminations) == 1  # EC2 had accepted it: not sent again
    assert not group_exists(ec2_client, group["GroupId"])


def test_client_token_proves_the_group_when_the_instance_lists_no_groups(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, on: Any, run_id: str
) -> None:
    name = f"bare-{run_id}"
    (vm,) = compute.launch(plan(ubuntu, name=name, options=Options(associate_public_ip=True)))
    (group,) = groups_named(ec2_client, name)
    stripped: list[str] = []

    def terminated_view(parsed: dict[str, Any], **_: Any) -> None:
        # Real EC2 may drop a terminated instance's groups and network interfaces.
        for reservation in parsed.get("Reservations", []):
            for instance in reservation["Instances"]:
                instance.pop("SecurityGroups", None)
                instance.pop("NetworkInterfaces", None)
                stripped.append(instance["InstanceId"])

    on("after-call.ec2.DescribeInstances", terminated_view)
    compute.terminate_vm(vm.id)
    assert vm.id in stripped
    assert not group_exists(ec2_client, group["GroupId"])


def test_group_of_another_launch_is_not_deleted(
    compute: Ec2Compute,
    ubuntu: Image,
    ec2_client: Any,
    run_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    (vm,) = compute.launch(plan(ubuntu, name=f"own-{run_id}"))
    token = compute.get_vm(vm.id).raw["ClientToken"]

    def group(name: str, client_token: str) -> str:
        tags = [
            {"Key": MANAGED_TAG, "Value": "true"},
            {"Key": "unicompute:client-token", "Value": client_token},
        ]
        return str(
            ec2_client.create_security_group(
                GroupName=name,
                Description="another launch's",
                TagSpecifications=[{"ResourceType": "security-group", "Tags": tags}],
            )["GroupId"]
        )

    other_launch = group(f"uc-other-{run_id}", str(uuid.uuid4()))  # managed, wrong token
    not_ours = group(f"db-{run_id}", token)  # right token, but not a uc- group
    for target in (other_launch, not_ours):
        (vm,) = compute.launch(plan(ubuntu, name=f"own-{run_id}"))
        if target == not_ours:
            ec2_client.create_tags(
                Resources=[not_ours],
                Tags=[{"Key": "unicompute:client-token",
                       "Value": compute.get_vm(vm.id).raw["ClientToken"]}],
            )
        ec2_client.create_tags(Resources=[vm.id], Tags=[{"Key": "unicompute:sg", "Value": target}])
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="unicompute.providers.aws"):
            compute.terminate_vm(vm.id)
        assert group_exists(ec2_client, target)
        assert any(target in r.getMessage() for r in caplog.records)


def test_terminate_of_an_unknown_id_is_not_found(compute: Ec2Compute) -> None:
    with pytest.raises(ClientError) as caught:
        compute.terminate_vm("i-0123456789abcdef0")
    assert caught.value.response["Error"]["Code"] == "InvalidInstanceID.NotFound"
    assert isinstance(translate_error(caught.value, "vms.terminate"), errors.NotFound)


# -- the waits' schedule ----------------------------------------------------------------------


def test_waits_poll_every_poll_interval_on_the_contexts_clock(
    compute: Ec2Compute, ubuntu: Image, on: Any, run_id: str
) -> None:
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    timed = with_context(compute, poll_interval=5, clock=lambda: now[0], sleep=sleep)
    (vm,) = timed.launch(plan(ubuntu, name=f"tick-{run_id}"))
    assert sleeps == []  # listed at once: no pause

    def stuck(parsed: dict[str, Any], **_: Any) -> None:
        for reservation in parsed.get("Reservations", []):
            for instance in reservation["Instances"]:
                instance["State"] = {"Code": 32, "Name": "shutting-down"}

    on("after-call.ec2.TerminateInstances",
       lambda **_: on("after-call.ec2.DescribeInstances", stuck))
    with pytest.raises(errors.Timeout) as caught:
        timed.terminate_vm(vm.id, timeout=22)
    assert sleeps == [5, 5, 5, 5, 2]  # a fixed interval, never past the deadline
    assert now[0] == 22
    assert caught.value.resource == vm.id and "22 s" in str(caught.value)


def test_zero_poll_interval_gives_up_after_a_fixed_number_of_attempts(
    compute: Ec2Compute, ubuntu: Image, on: Any, run_id: str
) -> None:
    from unicompute._waiting import ZERO_DELAY_ATTEMPTS

    assert compute._ctx.poll_interval == 0
    (vm,) = compute.launch(plan(ubuntu, name=f"zero-{run_id}"))
    polls: list[str] = []

    def stuck(parsed: dict[str, Any], **kw: Any) -> None:
        polls.append(kw["event_name"])
        for reservation in parsed.get("Reservations", []):
            for instance in reservation["Instances"]:
                instance["State"] = {"Code": 32, "Name": "shutting-down"}

    on("after-call.ec2.TerminateInstances",
       lambda **_: on("after-call.ec2.DescribeInstances", stuck))
    with pytest.raises(errors.Timeout):
        compute.terminate_vm(vm.id)  # the 900 s default timeout never comes into play
    assert len(polls) == ZERO_DELAY_ATTEMPTS


# -- the group of a launch whose VMs are terminated at the same time --------------------------


class LaggingListings:
    """EC2's eventual consistency in the listings ``terminate_vm`` reads to find a group's other
    users (DescribeInstances filtered by state): an instance terminated meanwhile still shows
    as ``shutting-down`` in its first ``lag`` such listings, and one in ``hidden`` is left out
    of them while its count lasts. Reads by id (the terminate's own wait) are not affected."""

    def __init__(self, lag: int) -> None:
        self.lag = lag
        self.hidden: dict[str, int] = {}
        self.stale_reads = 0
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()

    def install(self, on: Any) -> None:
        on("before-parameter-build.ec2.DescribeInstances", self._widen)
        on("after-call.ec2.DescribeInstances", self._lag)

    def _widen(self, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        filters = params.get("Filters", [])
        if any(f["Name"] == "instance-state-name" for f in filters):
            context["lagging"] = True  # ask for terminated ones too, to show them as they were
            params["Filters"] = [
                {**f, "Values": [*f["Values"], "terminated"]}
                if f["Name"] == "instance-state-name" else f
                for f in filters
            ]

    def _lag(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if not context.get("lagging"):
            return
        with self._lock:
            for reservation in parsed.get("Reservations", []):
                shown = []
                for instance in reservation["Instances"]:
                    vm_id = instance["InstanceId"]
                    if self.hidden.get(vm_id, 0) > 0:
                        self.hidden[vm_id] -= 1
                        self.stale_reads += 1
                        continue
                    if instance["State"]["Name"] == "terminated":
                        self._seen[vm_id] = self._seen.get(vm_id, 0) + 1
                        if self._seen[vm_id] > self.lag:
                            continue
                        self.stale_reads += 1
                        instance["State"] = {"Code": 32, "Name": "shutting-down"}
                    shown.append(instance)
                reservation["Instances"] = shown


def test_last_terminate_of_a_launch_deletes_the_group_though_listings_lag(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, on: Any, run_id: str
) -> None:
    name = f"lag-{run_id}"
    first, second = compute.launch(plan(ubuntu, 2, name=name, open_ports=(22,)))
    (group,) = groups_named(ec2_client, name)
    listings = LaggingListings(lag=4)
    listings.install(on)
    compute.terminate_vm(first.id)
    assert group_exists(ec2_client, group["GroupId"])  # the second VM still uses it
    compute.terminate_vm(second.id)  # the first one still shows as shutting-down for a while
    assert listings.stale_reads > 0
    assert not group_exists(ec2_client, group["GroupId"])


def test_a_user_the_listing_misses_keeps_the_group(
    compute: Ec2Compute,
    ubuntu: Image,
    ec2_client: Any,
    on: Any,
    run_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    name = f"unseen-{run_id}"
    first, second = compute.launch(plan(ubuntu, 2, name=name, open_ports=(22,)))
    (group,) = groups_named(ec2_client, name)
    answers: list[str] = []

    def outcome(parsed: dict[str, Any], **_: Any) -> None:
        answers.append(parsed.get("Error", {}).get("Code", "deleted"))

    listings = LaggingListings(lag=0)
    listings.hidden[second.id] = 2  # one look through both selectors: the second VM is missing
    listings.install(on)
    on("after-call.ec2.DeleteSecurityGroup", outcome)
    with caplog.at_level(logging.WARNING, logger="unicompute.providers.aws"):
        compute.terminate_vm(first.id)
    assert answers == ["DependencyViolation"]  # EC2 (the fake) knows better: looked again
    assert group_exists(ec2_client, group["GroupId"])
    assert not caplog.records
    compute.terminate_vm(second.id)
    assert answers[-1] == "deleted"
    assert not group_exists(ec2_client, group["GroupId"])


def test_a_group_another_terminate_deleted_first_is_no_error(
    compute: Ec2Compute,
    ubuntu: Image,
    ec2_client: Any,
    on: Any,
    run_id: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    name = f"won-{run_id}"
    (vm,) = compute.launch(plan(ubuntu, name=name))
    (group,) = groups_named(ec2_client, name)
    answers: list[str] = []

    def other_terminate_wins(**_: Any) -> None:
        if not answers:
            ec2_client.delete_security_group(GroupId=group["GroupId"])

    def outcome(parsed: dict[str, Any], **_: Any) -> None:
        answers.append(parsed.get("Error", {}).get("Code", "deleted"))

    on("before-call.ec2.DeleteSecurityGroup", other_terminate_wins)
    on("after-call.ec2.DeleteSecurityGroup", outcome)
    with caplog.at_level(logging.WARNING, logger="unicompute.providers.aws"):
        compute.terminate_vm(vm.id)
    assert answers == ["InvalidGroup.NotFound"]
    assert not caplog.records


def terminate_together(compute: Ec2Compute, vm_ids: list[str]) -> list[BaseException]:
    """Terminate the VMs from one thread each, started at the same moment; what they raised."""
    start = threading.Barrier(len(vm_ids))
    failures: list[BaseException] = []

    def terminate(vm_id: str) -> None:
        start.wait()
        try:
            compute.terminate_vm(vm_id)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=terminate, args=(vm_id,)) for vm_id in vm_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failures


@pytest.mark.parametrize("lag", [0, 4])
def test_concurrent_terminates_of_one_launch_leave_no_group(
    compute: Ec2Compute, ubuntu: Image, ec2_client: Any, on: Any, run_id: str, lag: int
) -> None:
    listings = LaggingListings(lag=lag)
    listings.install(on)
    for repetition in range(5):
        name = f"race{repetition}-{run_id}"
        vms = compute.launch(plan(ubuntu, 2, name=name, open_ports=(22,)))
        (group,) = groups_named(ec2_client, name)
        failures = terminate_together(compute, [vm.id for vm in vms])
        assert failures == []
        assert not group_exists(ec2_client, group["GroupId"]), f"leaked in repetition {repetition}"
        states = {i["State"]["Name"] for i in instances_tagged(ec2_client, "Name", f"{name}-1")}
        assert states == {"terminated"}
