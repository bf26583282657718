"""Per-launch security groups on Libcloud's EC2 driver (``Capability.FIREWALLS``).

The same guarantees as the AWS provider's :mod:`unicompute.providers.aws.network`:

* every launch gets its own group ``uc-<name>-<8 hex>`` in the default VPC (where Libcloud's
  ``create_node`` puts instances), allowing exactly TCP ``open_ports`` from anywhere (IPv4 and
  IPv6) and nothing else; a launch without ports gets a group with no inbound rules, so a VM
  is never left in the VPC's default group (which lets in everything from its members);
* the group is tagged ``unicompute:managed=true`` and with the launch's client token; each
  instance is tagged ``unicompute:sg=<group id>`` and launched with ``ClientToken``
  ``<token>-<n>``, which EC2 keeps and nobody can change afterwards;
* ``terminate_vm`` deletes the group once no live instance uses it, and only a group it can
  prove the launch created: named ``uc-*``, tagged managed, and either carrying the token the
  instance's ``ClientToken`` was made from or attached to the instance. The ``unicompute:sg``
  tag alone (writable by anyone who can tag the instance) is never trusted.

Requests Libcloud has no method for, or sends in a form EC2 does not document (one port per
call, no IPv6, no tags at creation), go through the driver's own signed connection.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from ..._errors import InvalidRequest
from ..._models import InboundRule
from ..._waiting import Poller
from ...driver import MANAGED_TAG
from ..aws.convert import CLIENT_TOKEN_TAG, LIVE_STATES, SG_TAG
from .errors import ec2_code

LOG = logging.getLogger("unicompute.libcloud")
T = TypeVar("T")

#: Prefix of the names of the security groups ``launch`` creates.
GROUP_PREFIX = "uc-"
ANYWHERE_V4 = "0.0.0.0/0"
ANYWHERE_V6 = "::/0"
#: What EC2 answers while a security group is still used by a (just terminated) instance.
IN_USE = frozenset({"DependencyViolation", "InvalidGroup.InUse"})
#: What EC2 answers about a group it has just created but does not know yet.
GROUP_NOT_FOUND = frozenset({"InvalidGroup.NotFound"})


def error_code(exc: BaseException) -> str | None:
    """The EC2 error code a Libcloud EC2 exception carries (``"DependencyViolation"``)."""
    text = getattr(exc, "message", None) or getattr(exc, "value", None) or str(exc)
    return ec2_code(str(text))


def retry_while(
    poller: Poller, codes: frozenset[str], call: Callable[[], T], *, timeout: float
) -> T:
    """``call()``, repeated on ``poller`` while it fails with one of the EC2 error ``codes``;
    after ``timeout`` seconds the last error is raised."""
    return poller.retry(call, retry_on=lambda exc: error_code(exc) in codes, timeout=timeout)


def _request(driver: Any, params: Mapping[str, str]) -> Any:
    """One EC2 Query API call through the driver's signed connection; the parsed XML."""
    return driver.connection.request(driver.path, params=dict(params)).object


def default_vpc(driver: Any, region: str) -> str:
    """The id of the region's default VPC, where Libcloud's ``create_node`` launches.

    ``InvalidRequest`` (field ``zone``) when the region has none: Libcloud's EC2 driver cannot
    place an instance then (use the ``aws`` provider, which takes a subnet)."""
    found = driver.ex_list_networks(filters={"is-default": "true"})
    if not found:
        raise InvalidRequest(
            f"region {region} has no default VPC, the only place libcloud:ec2 launches into; "
            "use the aws provider with aws.Options(subnet_id=...)",
            field="zone",
        )
    return str(found[0].id)


def _tag_params(tags: Mapping[str, str], prefix: str) -> dict[str, str]:
    params: dict[str, str] = {}
    for i, (key, value) in enumerate(tags.items(), start=1):
        params[f"{prefix}Tag.{i}.Key"] = key
        params[f"{prefix}Tag.{i}.Value"] = value
    return params


def create_launch_group(
    driver: Any,
    poller: Poller,
    *,
    name: str,
    vpc_id: str,
    ports: Iterable[int],
    tags: Mapping[str, str],
    client_token: str,
    timeout: float,
) -> tuple[str, str]:
    """A new group ``uc-<name>-<8 hex>`` allowing exactly TCP ``ports``; ``(id, name)``.

    Created with its tags (``tags``, ``Name``, managed, ``client_token``) in the same call. All
    rules are added in one ``AuthorizeSecurityGroupIngress``, retried while EC2 does not know
    the new group yet; if that fails the group is deleted before the error propagates.
    """
    group_name = f"{GROUP_PREFIX}{name}-{secrets.token_hex(4)}"
    group_tags = {**tags, "Name": group_name, MANAGED_TAG: "true",
                  CLIENT_TOKEN_TAG: client_token}
    answer = _request(driver, {
        "Action": "CreateSecurityGroup",
        "GroupName": group_name,
        "GroupDescription": f"unicompute: inbound ports of {name}",
        "VpcId": vpc_id,
        "TagSpecification.1.ResourceType": "security-group",
        **_tag_params(group_tags, "TagSpecification.1."),
    })
    group_id = _text(answer, "groupId")
    params = {"Action": "AuthorizeSecurityGroupIngress", "GroupId": group_id}
    for i, port in enumerate(ports, start=1):
        params.update({
            f"IpPermissions.{i}.IpProtocol": "tcp",
            f"IpPermissions.{i}.FromPort": str(port),
            f"IpPermissions.{i}.ToPort": str(port),
            f"IpPermissions.{i}.IpRanges.1.CidrIp": ANYWHERE_V4,
            f"IpPermissions.{i}.Ipv6Ranges.1.CidrIpv6": ANYWHERE_V6,
        })
    if len(params) > 2:
        try:
            retry_while(poller, GROUP_NOT_FOUND, lambda: _request(driver, params),
                        timeout=timeout)
        except BaseException as exc:
            try:
                delete_group(driver, poller, group_id, timeout=timeout)
            except Exception as cleanup:  # the authorize error is the one the caller needs
                exc.add_note(f"unicompute: deleting security group {group_id} also failed "
                             f"({cleanup!r}); delete it by hand")
            raise
    return group_id, group_name


def delete_group(driver: Any, poller: Poller, group_id: str, *, timeout: float) -> None:
    """Delete a group, retrying while a just-terminated instance still holds it."""
    retry_while(poller, IN_USE,
                lambda: _request(driver, {"Action": "DeleteSecurityGroup", "GroupId": group_id}),
                timeout=timeout)


def _group(driver: Any, group_id: str) -> Any | None:
    """The ``EC2SecurityGroup`` ``group_id``; ``None`` if EC2 does not know it."""
    try:
        found = driver.ex_get_security_groups(group_ids=[group_id])
    except Exception as exc:
        if error_code(exc) in ("InvalidGroup.NotFound", "InvalidGroupId.Malformed"):
            return None
        raise
    return next((g for g in found if str(g.id) == group_id), None)


def group_ids(node: Any) -> list[str]:
    """The ids of the security groups a Libcloud EC2 ``Node`` is in, once each, in order."""
    found = [str(g.get("group_id") or "") for g in (node.extra or {}).get("groups") or []]
    return [g for i, g in enumerate(found) if g and g not in found[:i]]


def launch_group_of(driver: Any, node: Any) -> str | None:
    """The group ``launch`` created for ``node``, proven as the module docs say; else ``None``.
    """
    extra = node.extra or {}
    proposed = str((extra.get("tags") or {}).get(SG_TAG) or "")
    if not proposed:
        return None
    group = _group(driver, proposed)
    if group is None:
        return None
    tags = (group.extra or {}).get("tags") or {}
    if not (str(group.name).startswith(GROUP_PREFIX) and tags.get(MANAGED_TAG) == "true"):
        LOG.warning("not deleting security group %s named by VM %s's %s tag: unicompute did "
                    "not create it", proposed, node.id, SG_TAG)
        return None
    token = str(extra.get("client_token") or "")
    launch_token = tags.get(CLIENT_TOKEN_TAG)
    if launch_token and token.rpartition("-")[0] == launch_token:
        return proposed
    if proposed in group_ids(node):
        return proposed
    LOG.warning("not deleting security group %s named by VM %s's %s tag: it is not attached "
                "to the VM and was not created by the VM's launch", proposed, node.id, SG_TAG)
    return None


def group_in_use(driver: Any, group_id: str, *, besides: str) -> bool:
    """Whether a live instance other than ``besides`` uses the group: one launched with it
    (tagged with its id) or one attached to it otherwise."""
    for selector in (f"tag:{SG_TAG}", "instance.group-id"):
        nodes = driver.list_nodes(ex_filters={selector: group_id,
                                              "instance-state-name": list(LIVE_STATES)})
        if any(str(node.id) != besides for node in nodes):
            return True
    return False


def release_group(
    driver: Any, poller: Poller, group_id: str, *, vm_id: str, timeout: float
) -> None:
    """Delete the launch group of the terminated VM ``vm_id`` unless another VM uses it.

    A group that is gone already is fine; one EC2 still holds after ``timeout`` is logged as a
    warning naming it (the VM is terminated either way)."""
    if group_in_use(driver, group_id, besides=vm_id):
        return
    try:
        delete_group(driver, poller, group_id, timeout=timeout)
    except Exception as exc:
        code = error_code(exc)
        if code == "InvalidGroup.NotFound":
            return
        if code not in IN_USE:
            raise
        LOG.warning("VM %s is terminated, but its security group %s could not be deleted (%s "
                    "after %g s); delete it later with: aws ec2 delete-security-group "
                    "--group-id %s", vm_id, group_id, code, timeout, group_id)


def inbound_rules(driver: Any, ids: list[str]) -> list[InboundRule]:
    """Every inbound flow the groups allow (IPv4, IPv6, group and prefix-list sources), once
    each. Read from ``DescribeSecurityGroups`` directly: Libcloud's parser drops IPv6 ranges
    and prefix lists."""
    if not ids:
        return []
    params = {"Action": "DescribeSecurityGroups"}
    params.update({f"GroupId.{i}": gid for i, gid in enumerate(ids, start=1)})
    answer = _request(driver, params)
    rules: list[InboundRule] = []
    for group in _all(answer, "securityGroupInfo/item"):
        for permission in _all(group, "ipPermissions/item"):
            for rule in _rules_of(permission):
                if rule not in rules:
                    rules.append(rule)
    return rules


def _rules_of(permission: Any) -> list[InboundRule]:
    protocol = _text(permission, "ipProtocol") or "-1"
    if protocol == "-1":
        protocol, port_from, port_to = "all", 0, 65535
    else:
        port_from = int(_text(permission, "fromPort") or -1)
        port_to = int(_text(permission, "toPort") or -1)
        if port_from == -1:
            port_from, port_to = 0, 65535
    sources = [
        *(_text(r, "cidrIp") for r in _all(permission, "ipRanges/item")),
        *(_text(r, "cidrIpv6") for r in _all(permission, "ipv6Ranges/item")),
        *(_text(p, "groupId") for p in _all(permission, "groups/item")),
        *(_text(p, "prefixListId") for p in _all(permission, "prefixListIds/item")),
    ]
    return [InboundRule(protocol=protocol, port_from=port_from, port_to=port_to, source=s)
            for s in sources if s]


def _text(element: Any, path: str) -> str:
    from libcloud.compute.drivers.ec2 import NAMESPACE
    from libcloud.utils import xml

    helpers: Any = xml
    return str(helpers.findtext(element=element, xpath=path, namespace=NAMESPACE) or "")


def _all(element: Any, path: str) -> list[Any]:
    from libcloud.compute.drivers.ec2 import NAMESPACE
    from libcloud.utils import xml

    helpers: Any = xml
    return list(helpers.findall(element=element, xpath=path, namespace=NAMESPACE))
