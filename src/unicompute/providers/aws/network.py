"""Launch plumbing: where an instance goes (VPC, subnet) and its per-launch security group."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from ..._errors import InvalidRequest
from ..._models import InboundRule
from ._context import Context, tag_spec
from .convert import LIVE_STATES, SG_TAG

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import (
        FilterTypeDef,
        InstanceTypeDef,
        IpPermissionOutputTypeDef,
        IpPermissionTypeDef,
    )

ANYWHERE_V4 = "0.0.0.0/0"
ANYWHERE_V6 = "::/0"


@dataclass(frozen=True)
class Placement:
    """The subnet an instance is launched into, with its VPC and zone."""

    subnet_id: str
    vpc_id: str
    zone: str


def choose_subnet(ctx: Context, *, subnet_id: str | None, zone: str | None, size: str) -> Placement:
    """``subnet_id`` if given, else the default VPC's default subnet in ``zone``.

    Without a zone, the first zone (by name) that offers ``size`` is used. ``InvalidRequest``
    names the field to fix when there is no default VPC, no subnet in the zone, no subnet
    ``subnet_id``, or when ``subnet_id`` lies in another zone than ``zone``.
    """
    client = ctx.client
    if subnet_id is not None:
        try:
            subnet = client.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code", "").startswith("InvalidSubnetID."):
                raise InvalidRequest(
                    f"no subnet {subnet_id} in {ctx.region}", field="options.subnet_id"
                ) from exc
            raise
        placement = Placement(subnet["SubnetId"], subnet["VpcId"], subnet["AvailabilityZone"])
        if zone is not None and zone != placement.zone:
            raise InvalidRequest(
                f"subnet {subnet_id} is in {placement.zone}, not {zone}", field="zone"
            )
        return placement
    vpcs = client.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise InvalidRequest(
            f"region {ctx.region} has no default VPC; pass aws.Options(subnet_id=...)",
            field="options.subnet_id",
        )
    vpc_id = vpcs[0]["VpcId"]
    filters: list[FilterTypeDef] = [
        {"Name": "vpc-id", "Values": [vpc_id]},
        {"Name": "default-for-az", "Values": ["true"]},
    ]
    if zone is not None:
        filters.append({"Name": "availability-zone", "Values": [zone]})
    subnets = sorted(
        client.describe_subnets(Filters=filters)["Subnets"], key=lambda s: s["AvailabilityZone"]
    )
    if not subnets:
        where = f"zone {zone}" if zone else f"region {ctx.region}"
        raise InvalidRequest(f"the default VPC has no subnet in {where}", field="zone")
    if zone is None:
        offered = _zones_offering(ctx, size)
        subnets = [s for s in subnets if s["AvailabilityZone"] in offered] or subnets
    chosen = subnets[0]
    return Placement(chosen["SubnetId"], vpc_id, chosen["AvailabilityZone"])


def _zones_offering(ctx: Context, size: str) -> set[str]:
    offerings = ctx.client.describe_instance_type_offerings(
        LocationType="availability-zone",
        Filters=[{"Name": "instance-type", "Values": [size]}],
    )["InstanceTypeOfferings"]
    return {o["Location"] for o in offerings if "Location" in o}


def create_launch_group(
    ctx: Context, *, name: str, vpc_id: str, ports: Iterable[int], tags: Mapping[str, str]
) -> str:
    """A new security group ``uc-<name>-<8 hex>`` allowing exactly TCP ``ports`` from anywhere.

    A new group has no inbound rules, so nothing else is allowed in. If adding the rules fails the
    group is deleted before the error propagates.
    """
    group_name = f"uc-{name}-{secrets.token_hex(4)}"
    group_id = ctx.client.create_security_group(
        GroupName=group_name,
        Description=f"unicompute: inbound ports of {name}",
        VpcId=vpc_id,
        TagSpecifications=[tag_spec("security-group", {**tags, "Name": group_name})],
    )["GroupId"]
    permissions = [_tcp_from_anywhere(port) for port in ports]
    if permissions:
        try:
            ctx.client.authorize_security_group_ingress(GroupId=group_id, IpPermissions=permissions)
        except BaseException:
            delete_group(ctx, group_id)
            raise
    return group_id


def _tcp_from_anywhere(port: int) -> IpPermissionTypeDef:
    return {
        "IpProtocol": "tcp",
        "FromPort": port,
        "ToPort": port,
        "IpRanges": [{"CidrIp": ANYWHERE_V4}],
        "Ipv6Ranges": [{"CidrIpv6": ANYWHERE_V6}],
    }


def delete_group(ctx: Context, group_id: str) -> None:
    """Delete a security group, retrying while a just-terminated instance still holds it."""
    ctx.retry_while(
        frozenset({"DependencyViolation", "InvalidGroup.InUse"}),
        lambda: ctx.client.delete_security_group(GroupId=group_id),
    )


def group_in_use(ctx: Context, group_id: str, *, besides: str) -> bool:
    """Whether a live instance other than ``besides`` uses the group: one launched with it
    (tagged with its id) or one attached to it otherwise."""
    selectors: list[FilterTypeDef] = [
        {"Name": f"tag:{SG_TAG}", "Values": [group_id]},
        {"Name": "instance.group-id", "Values": [group_id]},
    ]
    for selector in selectors:
        pages = ctx.client.get_paginator("describe_instances").paginate(
            Filters=[selector, {"Name": "instance-state-name", "Values": list(LIVE_STATES)}]
        )
        if any(
            instance["InstanceId"] != besides
            for page in pages
            for reservation in page["Reservations"]
            for instance in reservation.get("Instances", [])
        ):
            return True
    return False


def group_ids(instance: InstanceTypeDef) -> list[str]:
    """The security groups of an instance and of its network interfaces, in order, once each."""
    found = [g.get("GroupId", "") for g in instance.get("SecurityGroups", [])]
    for interface in instance.get("NetworkInterfaces", []):
        found.extend(g.get("GroupId", "") for g in interface.get("Groups", []))
    return [g for i, g in enumerate(found) if g and g not in found[:i]]


def inbound_rules(ctx: Context, group_ids: list[str]) -> list[InboundRule]:
    """Every inbound flow the groups allow, without duplicates, in the groups' order."""
    if not group_ids:
        return []
    groups = ctx.client.describe_security_groups(GroupIds=group_ids)["SecurityGroups"]
    rules: list[InboundRule] = []
    for group in groups:
        for permission in group.get("IpPermissions", []):
            for rule in _rules_of(permission):
                if rule not in rules:
                    rules.append(rule)
    return rules


def _rules_of(permission: IpPermissionOutputTypeDef) -> list[InboundRule]:
    protocol = permission.get("IpProtocol", "-1")
    if protocol == "-1":
        protocol, port_from, port_to = "all", 0, 65535
    else:
        port_from = permission.get("FromPort", -1)
        port_to = permission.get("ToPort", -1)
        if port_from == -1:
            port_from, port_to = 0, 65535
    sources = [
        *(r["CidrIp"] for r in permission.get("IpRanges", []) if "CidrIp" in r),
        *(r["CidrIpv6"] for r in permission.get("Ipv6Ranges", []) if "CidrIpv6" in r),
        *(p["GroupId"] for p in permission.get("UserIdGroupPairs", []) if "GroupId" in p),
        *(p["PrefixListId"] for p in permission.get("PrefixListIds", []) if "PrefixListId" in p),
    ]
    return [
        InboundRule(protocol=protocol, port_from=port_from, port_to=port_to, source=s)
        for s in sources
    ]
