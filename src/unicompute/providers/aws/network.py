"""Launch plumbing: where an instance goes (VPC, subnet) and its per-launch security group."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from ..._errors import InvalidRequest, Timeout
from ..._models import InboundRule
from ...driver import MANAGED_TAG
from ._context import LOG, Context, error_code, tag_spec
from .convert import CLIENT_TOKEN_TAG, LIVE_STATES, SG_TAG, tags_of

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import (
        FilterTypeDef,
        InstanceTypeDef,
        IpPermissionOutputTypeDef,
        IpPermissionTypeDef,
    )

#: Prefix of the names of the security groups ``launch`` creates.
GROUP_PREFIX = "uc-"

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
    vpcs = client.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
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


def check_groups(ctx: Context, group_ids: Sequence[str], *, vpc_id: str) -> None:
    """``InvalidRequest`` (field ``options.security_group_ids``) unless every group exists and
    belongs to ``vpc_id``, the VPC of the subnet the instances go into."""
    if not group_ids:
        return
    try:
        found = ctx.client.describe_security_groups(GroupIds=list(group_ids))["SecurityGroups"]
    except ClientError as exc:
        if error_code(exc) in ("InvalidGroup.NotFound", "InvalidGroupId.Malformed"):
            which = "security group" if len(group_ids) == 1 else "one of the security groups"
            raise InvalidRequest(
                f"{which} {', '.join(group_ids)} does not exist in {ctx.region}",
                field="options.security_group_ids",
            ) from exc
        raise
    vpcs = {group.get("GroupId", ""): group.get("VpcId") for group in found}
    for group_id in group_ids:
        if group_id not in vpcs:
            raise InvalidRequest(
                f"security group {group_id} does not exist in {ctx.region}",
                field="options.security_group_ids",
            )
        if vpcs[group_id] != vpc_id:
            raise InvalidRequest(
                f"security group {group_id} is in {vpcs[group_id]}, not in the subnet's VPC "
                f"{vpc_id}",
                field="options.security_group_ids",
            )


def _zones_offering(ctx: Context, size: str) -> set[str]:
    offerings = ctx.client.describe_instance_type_offerings(
        LocationType="availability-zone",
        Filters=[{"Name": "instance-type", "Values": [size]}],
    )["InstanceTypeOfferings"]
    return {o["Location"] for o in offerings if "Location" in o}


def create_launch_group(
    ctx: Context,
    *,
    name: str,
    vpc_id: str,
    ports: Iterable[int],
    tags: Mapping[str, str],
    client_token: str,
) -> str:
    """A new security group ``uc-<name>-<8 hex>`` allowing exactly TCP ``ports`` from anywhere.

    It is tagged with ``client_token``, the ``ClientToken`` the launch's RunInstances call
    carries (see :func:`launch_group_of`).

    A new group has no inbound rules, so nothing else is allowed in. Adding the rules is retried
    while EC2 does not know the new group yet (``InvalidGroup.NotFound``, eventual consistency).
    If adding the rules fails the group is deleted before the error propagates.
    """
    group_name = f"{GROUP_PREFIX}{name}-{secrets.token_hex(4)}"
    group_id = ctx.client.create_security_group(
        GroupName=group_name,
        Description=f"unicompute: inbound ports of {name}",
        VpcId=vpc_id,
        TagSpecifications=[
            tag_spec(
                "security-group",
                {**tags, "Name": group_name, CLIENT_TOKEN_TAG: client_token},
            )
        ],
    )["GroupId"]
    permissions = [_tcp_from_anywhere(port) for port in ports]
    if permissions:
        try:
            ctx.retry_while(
                frozenset({"InvalidGroup.NotFound"}),
                partial(
                    ctx.client.authorize_security_group_ingress,
                    GroupId=group_id,
                    IpPermissions=permissions,
                ),
                timeout=ctx.consistency_timeout,
            )
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


#: What EC2 answers while a security group is still used by a (just terminated) instance.
_IN_USE = frozenset({"DependencyViolation", "InvalidGroup.InUse"})


def delete_group(ctx: Context, group_id: str) -> None:
    """Delete a security group, retrying while a just-terminated instance still holds it, for
    up to ``ctx.group_delete_timeout``; then the last error is raised."""
    ctx.retry_while(
        _IN_USE,
        lambda: ctx.client.delete_security_group(GroupId=group_id),
        timeout=ctx.group_delete_timeout,
    )


#: The state of an instance on its way to ``terminated``: it will stop using its groups.
_ENDING = "shutting-down"


def release_group(ctx: Context, group_id: str, *, vm_id: str) -> None:
    """Delete the launch group of the terminated instance ``vm_id`` once nothing else uses it.

    Meant for the end of a terminate, when ``vm_id`` is ``terminated``. The group is kept (the
    call returns) while another instance that is not terminating uses it: that instance's own
    terminate deletes it later. Instances still ``shutting-down`` are waited for instead, and
    so is EC2 while it answers ``DependencyViolation`` (a network interface not yet released,
    or a user the listing did not show yet): the group is looked at again on ``ctx.poller``'s
    schedule, so when the VMs of one launch are terminated at the same time the last one to
    look deletes the group, even if EC2's listings lag behind. ``InvalidGroup.NotFound`` means
    another terminate deleted it first.

    Never raises for a group that is gone already or that is still held after
    ``ctx.group_delete_timeout``: the instance is terminated either way, so that is logged as a
    warning naming the group.
    """
    held_by: list[str] = []

    def attempt() -> bool:
        """Whether the group is settled: deleted, gone, or kept for a live user."""
        users = other_users(ctx, group_id, besides=vm_id)
        if any(state != _ENDING for state in users.values()):
            return True
        if users:
            held_by[:] = [f"still used by {', '.join(sorted(users))}, shutting down"]
            return False
        try:
            ctx.client.delete_security_group(GroupId=group_id)
        except ClientError as exc:
            code = error_code(exc)
            if code == "InvalidGroup.NotFound":
                return True
            if code not in _IN_USE:
                raise
            held_by[:] = [code]
            return False
        return True

    try:
        ctx.poller.until(
            attempt, bool, timeout=ctx.group_delete_timeout, what=f"security group {group_id}"
        )
    except Timeout:
        LOG.warning(
            "VM %s is terminated, but its security group %s could not be deleted (%s after "
            "%g s); delete it later with: aws ec2 delete-security-group --group-id %s",
            vm_id,
            group_id,
            held_by[0] if held_by else "not deleted",
            ctx.group_delete_timeout,
            group_id,
        )


def launch_group_of(ctx: Context, instance: InstanceTypeDef) -> str | None:
    """The security group ``launch`` created for ``instance``, or ``None``.

    The ``unicompute:sg`` tag only proposes a group (tags can be changed by anyone who can tag
    the instance). It is accepted only if its name starts with ``uc-``, it carries
    ``unicompute:managed=true``, and it belongs to the instance's launch: either its
    ``unicompute:client-token`` tag equals the instance's ``ClientToken`` (set by RunInstances,
    unchangeable; this proof still holds once EC2 no longer lists a terminated instance's
    groups), or it is attached to the instance (groups created before the token tag existed).
    Anything else is never deleted. A proposed group that no longer exists gives ``None``.
    """
    proposed = tags_of(instance).get(SG_TAG)
    if not proposed:
        return None
    vm_id = instance.get("InstanceId", "")
    try:
        found = ctx.client.describe_security_groups(GroupIds=[proposed])["SecurityGroups"]
    except ClientError as exc:
        if error_code(exc) in ("InvalidGroup.NotFound", "InvalidGroupId.Malformed"):
            return None
        raise
    group = next((g for g in found if g.get("GroupId") == proposed), None)
    if group is None:
        return None
    tags = tags_of(group)
    named = group.get("GroupName", "").startswith(GROUP_PREFIX)
    if not (named and tags.get(MANAGED_TAG) == "true"):
        LOG.warning(
            "not deleting security group %s named by VM %s's %s tag: unicompute did not create it",
            proposed,
            vm_id,
            SG_TAG,
        )
        return None
    token = instance.get("ClientToken", "")
    if token and tags.get(CLIENT_TOKEN_TAG) == token:
        return proposed
    if proposed in group_ids(instance):
        return proposed
    LOG.warning(
        "not deleting security group %s named by VM %s's %s tag: it is not attached to the VM "
        "and was not created by the VM's launch",
        proposed,
        vm_id,
        SG_TAG,
    )
    return None


def other_users(ctx: Context, group_id: str, *, besides: str) -> dict[str, str]:
    """The instances other than ``besides`` that are not terminated and use the group (launched
    with it, so tagged with its id, or attached to it otherwise), with their EC2 state."""
    selectors: list[FilterTypeDef] = [
        {"Name": f"tag:{SG_TAG}", "Values": [group_id]},
        {"Name": "instance.group-id", "Values": [group_id]},
    ]
    users: dict[str, str] = {}
    for selector in selectors:
        pages = ctx.client.get_paginator("describe_instances").paginate(
            Filters=[selector, {"Name": "instance-state-name", "Values": list(LIVE_STATES)}]
        )
        for page in pages:
            for reservation in page["Reservations"]:
                for instance in reservation.get("Instances", []):
                    if instance["InstanceId"] != besides:
                        users[instance["InstanceId"]] = instance.get("State", {}).get("Name", "")
    return users


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
