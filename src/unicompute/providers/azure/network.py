"""The network plumbing of a VM: the shared virtual network, and per launch a network security
group, per VM a public IP and a network interface.

* The virtual network ``unicompute-<region>`` (10.0.0.0/16, subnet ``default`` 10.0.0.0/20) is
  created in the resource group on the first launch that needs it and shared by every later
  one; nothing ever deletes it (a VNet costs nothing).
* Every launch gets its own NSG, ``<name>-<launch8>-nsg``, allowing exactly ``open_ports`` over
  TCP from anywhere (Azure's default rules still let in traffic from the virtual network and
  the load balancer; :func:`inbound_rules` lists only the rules unicompute made). It is deleted
  with the launch's last VM.
* Each VM gets ``<vm>-pip`` (Standard, static; unless ``Options.public_ip`` is off) and
  ``<vm>-nic``, deleted with the VM.

Every per-launch resource is created with ``If-None-Match: *`` (a name collision is an error,
not an overwrite) and tagged with the user's tags, ``unicompute:managed=true`` and the
launch's id (``unicompute:launch``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from azure.core.exceptions import HttpResponseError
from azure.mgmt.network import models

from ..._errors import InvalidRequest
from ..._models import InboundRule
from ._context import IF_NONE_MATCH, Context, ignore_missing
from .convert import LAUNCH_TAG, is_managed, managed_tags, name_of, same_id, tags_of, text

VNET_KIND = "Microsoft.Network/virtualNetworks"
NSG_KIND = "Microsoft.Network/networkSecurityGroups"
PIP_KIND = "Microsoft.Network/publicIPAddresses"
NIC_KIND = "Microsoft.Network/networkInterfaces"
VNET_PREFIX = "10.0.0.0/16"
SUBNET_NAME = "default"
SUBNET_PREFIX = "10.0.0.0/20"
#: Priority of the first port rule; one rule per port, in the order given.
FIRST_PRIORITY = 100
#: NSG rules are limited to 1,000 per group, priorities to 100-4096.
MAX_PORTS = 1000


def vnet_name(region: str) -> str:
    return f"unicompute-{region}"


def nsg_name(launch_name: str, launch_id: str) -> str:
    return f"{launch_name}-{launch_id[:8]}-nsg"


def nic_name(vm_name: str) -> str:
    return f"{vm_name}-nic"


def pip_name(vm_name: str) -> str:
    return f"{vm_name}-pip"


def check_ports(ports: Sequence[int]) -> None:
    if len(ports) > MAX_PORTS:
        raise InvalidRequest(f"{len(ports)} ports; an Azure NSG holds at most {MAX_PORTS} rules",
                             field="open_ports")


def check_subnet(ctx: Context, subnet_id: str) -> None:
    """``InvalidRequest`` (``options.subnet_id``) unless the subnet exists in a VNet of the
    driver's region."""
    parts = subnet_id.strip("/").split("/")
    group, vnet, subnet = parts[3], parts[7], parts[9]
    found = ignore_missing(lambda: ctx.network.virtual_networks.get(group, vnet))
    if found is None or not any(
        (s.name or "").lower() == subnet.lower() for s in found.subnets or []
    ):
        raise InvalidRequest(f"subnet {subnet_id} does not exist", field="options.subnet_id")
    if (found.location or "").replace(" ", "").lower() != ctx.region:
        raise InvalidRequest(
            f"subnet {subnet_id} is in {found.location}, not {ctx.region}",
            field="options.subnet_id",
        )


def shared_subnet(ctx: Context) -> str:
    """The id of the shared subnet, creating the VNet when missing (concurrent creators are
    fine: the loser of the ``If-None-Match`` race reads the winner's)."""
    name = vnet_name(ctx.region)
    vnets = ctx.network.virtual_networks
    found = ignore_missing(lambda: vnets.get(ctx.resource_group, name))
    if found is None:
        body = {
            "location": ctx.region,
            "tags": managed_tags({}),
            "properties": {
                "addressSpace": {"addressPrefixes": [VNET_PREFIX]},
                "subnets": [{"name": SUBNET_NAME, "properties": {"addressPrefix": SUBNET_PREFIX}}],
            },
        }
        try:
            found = ctx.wait(
                vnets.begin_create_or_update(ctx.resource_group, name,
                                             models.VirtualNetwork(body), headers=IF_NONE_MATCH),
                what=f"creating virtual network {name}", resource=ctx.resource_id(VNET_KIND, name))
        except HttpResponseError as exc:
            if exc.status_code != 412:
                raise
            found = vnets.get(ctx.resource_group, name)
    for subnet in found.subnets or []:
        if (subnet.name or "").lower() == SUBNET_NAME:
            return str(subnet.id)
    raise InvalidRequest(
        f"virtual network {name} in {ctx.resource_group} has no subnet {SUBNET_NAME!r}; "
        "pass Options(subnet_id=...) or restore it",
        field="options.subnet_id",
    )


def create_nsg(ctx: Context, name: str, ports: Sequence[int], tags: Mapping[str, str]) -> Any:
    """A new NSG allowing exactly ``ports`` inbound over TCP; returns the created resource."""
    rules = [
        {
            "name": f"allow-tcp-{port}",
            "properties": {
                "priority": FIRST_PRIORITY + index,
                "direction": "Inbound",
                "access": "Allow",
                "protocol": "Tcp",
                "sourceAddressPrefix": "*",
                "sourcePortRange": "*",
                "destinationAddressPrefix": "*",
                "destinationPortRange": str(port),
            },
        }
        for index, port in enumerate(ports)
    ]
    body = {"location": ctx.region, "tags": dict(tags), "properties": {"securityRules": rules}}
    poller = ctx.network.network_security_groups.begin_create_or_update(
        ctx.resource_group, name, models.NetworkSecurityGroup(body), headers=IF_NONE_MATCH)
    return ctx.wait(poller, what=f"creating network security group {name}",
                    resource=ctx.resource_id(NSG_KIND, name))


def create_public_ip(ctx: Context, name: str, zone: str | None,
                     tags: Mapping[str, str]) -> Any:
    body: dict[str, Any] = {
        "location": ctx.region,
        "tags": dict(tags),
        "sku": {"name": "Standard"},
        "properties": {"publicIPAllocationMethod": "Static", "publicIPAddressVersion": "IPv4"},
    }
    if zone is not None:
        body["zones"] = [zone]
    poller = ctx.network.public_ip_addresses.begin_create_or_update(
        ctx.resource_group, name, models.PublicIPAddress(body), headers=IF_NONE_MATCH)
    return ctx.wait(poller, what=f"creating public IP {name}",
                    resource=ctx.resource_id(PIP_KIND, name))


def create_nic(ctx: Context, name: str, *, subnet_id: str, nsg_id: str, pip_id: str | None,
               tags: Mapping[str, str]) -> Any:
    ip_config: dict[str, Any] = {
        "subnet": {"id": subnet_id},
        "privateIPAllocationMethod": "Dynamic",
    }
    if pip_id is not None:
        ip_config["publicIPAddress"] = {"id": pip_id}
    body = {
        "location": ctx.region,
        "tags": dict(tags),
        "properties": {
            "ipConfigurations": [{"name": "ipconfig1", "properties": ip_config}],
            "networkSecurityGroup": {"id": nsg_id},
        },
    }
    poller = ctx.network.network_interfaces.begin_create_or_update(
        ctx.resource_group, name, models.NetworkInterface(body), headers=IF_NONE_MATCH)
    return ctx.wait(poller, what=f"creating network interface {name}",
                    resource=ctx.resource_id(NIC_KIND, name))


def delete_nic(ctx: Context, group: str, name: str, timeout: float | None = None) -> None:
    """Delete network interface ``name`` and wait (``timeout``: default the context's); one
    that is gone already is fine."""
    ignore_missing(lambda: ctx.wait(
        ctx.network.network_interfaces.begin_delete(group, name),
        what=f"deleting network interface {name}",
        resource=ctx.resource_id(NIC_KIND, name, group), timeout=timeout))


def delete_public_ip(ctx: Context, group: str, name: str, timeout: float | None = None) -> None:
    """Delete public IP ``name`` and wait, as :func:`delete_nic`."""
    ignore_missing(lambda: ctx.wait(
        ctx.network.public_ip_addresses.begin_delete(group, name),
        what=f"deleting public IP {name}",
        resource=ctx.resource_id(PIP_KIND, name, group), timeout=timeout))


@dataclass(frozen=True)
class Plumbing:
    """What ``launch`` made for one VM and ``terminate`` may delete: resource names in the
    VM's resource group (``None`` when there is nothing of that kind to delete)."""

    group: str
    nic: str | None
    public_ip: str | None
    nsg: str | None


def plumbing_of(ctx: Context, group: str, vm_name: str, launch_id: str | None,
                vm_id: str | None) -> Plumbing:
    """The NIC, public IP and NSG that ``launch`` made for VM ``vm_name``, proven to be its own:
    the NIC is ``<vm>-nic``, tagged managed with the VM's launch id (``launch_id``; ``None``
    when the VM is gone already: any launch id), and attached to no other VM than ``vm_id``
    (none at all when ``vm_id`` is ``None``); the public IP and NSG are the ones that NIC
    references, tagged managed with the NIC's launch id. When the VM and the NIC are both gone
    (a terminate interrupted after deleting the NIC), see :func:`_orphans`. Anything else is
    left alone.
    """
    nics = ctx.network.network_interfaces
    nic = ignore_missing(lambda: nics.get(group, nic_name(vm_name)))
    if nic is None and vm_id is None:
        return _orphans(ctx, group, vm_name)
    if nic is None or not _launched_by(nic, launch_id):
        return Plumbing(group, None, None, None)
    launch_id = tags_of(nic).get(LAUNCH_TAG)
    if not launch_id:
        return Plumbing(group, None, None, None)
    attached = getattr(getattr(nic, "virtual_machine", None), "id", None)
    if attached is not None and not same_id(attached, vm_id):
        return Plumbing(group, None, None, None)
    pip: str | None = None
    for config in nic.ip_configurations or []:
        ref = getattr(getattr(config, "public_ip_address", None), "id", None)
        if ref:
            address = ignore_missing(
                partial(ctx.network.public_ip_addresses.get, group, name_of(ref)))
            if address is not None and _launched_by(address, launch_id):
                pip = str(address.name)
    nsg: str | None = None
    nsg_ref = getattr(getattr(nic, "network_security_group", None), "id", None)
    if nsg_ref:
        group_found = ignore_missing(
            lambda: ctx.network.network_security_groups.get(group, name_of(nsg_ref)))
        if group_found is not None and _launched_by(group_found, launch_id):
            nsg = str(group_found.name)
    return Plumbing(group, str(nic.name), pip, nsg)


def _orphans(ctx: Context, group: str, vm_name: str) -> Plumbing:
    """What an interrupted terminate left once the VM and its NIC were gone: the public IP
    ``<vm>-pip`` if it is managed, carries a launch id and is attached to nothing, and the NSG
    of that launch (found by its launch tag). Without that public IP the launch id is lost and
    an NSG left behind stays (NSGs cost nothing). A new launch of the same VM name that has
    made its public IP but not yet its NIC would look the same; it then fails and cleans up."""
    address = ignore_missing(
        partial(ctx.network.public_ip_addresses.get, group, pip_name(vm_name)))
    launch_id = tags_of(address).get(LAUNCH_TAG) if address is not None else None
    if (address is None or not launch_id or not is_managed(address)
            or getattr(address, "ip_configuration", None) is not None):
        return Plumbing(group, None, None, None)
    nsg = next((str(found.name) for found in ctx.network.network_security_groups.list(group)
                if _launched_by(found, launch_id)), None)
    return Plumbing(group, None, str(address.name), nsg)


def _launched_by(resource: Any, launch_id: str | None) -> bool:
    tags = tags_of(resource)
    if not is_managed(resource):
        return False
    return launch_id is None or tags.get(LAUNCH_TAG) == launch_id


def delete_plumbing(ctx: Context, plumbing: Plumbing,
                    remaining: Callable[[], float] | None = None) -> None:
    """Delete the NIC, then its public IP, then the NSG unless another NIC still uses it.

    Each deletion is waited for at most ``operation_timeout`` seconds, and at most
    ``remaining()`` (a shared deadline, e.g. a terminate's) when given; then ``Timeout``.
    """

    def limit() -> float:
        return ctx.operation_timeout if remaining is None else min(ctx.operation_timeout,
                                                                   remaining())

    if plumbing.nic:
        delete_nic(ctx, plumbing.group, plumbing.nic, limit())
    if plumbing.public_ip:
        delete_public_ip(ctx, plumbing.group, plumbing.public_ip, limit())
    if plumbing.nsg:
        release_nsg(ctx, plumbing.group, plumbing.nsg, limit())


def release_nsg(ctx: Context, group: str, name: str, timeout: float | None = None) -> None:
    """Delete NSG ``name`` unless a NIC or subnet still uses it (another VM of its launch),
    and wait (``timeout``: default the context's)."""
    nsgs = ctx.network.network_security_groups
    found = ignore_missing(lambda: nsgs.get(group, name))
    if found is None or found.network_interfaces or found.subnets:
        return
    ignore_missing(lambda: ctx.wait(nsgs.begin_delete(group, name),
                                    what=f"deleting network security group {name}",
                                    resource=ctx.resource_id(NSG_KIND, name, group),
                                    timeout=timeout))


def addresses(ctx: Context, nic: Any) -> tuple[str | None, str | None]:
    """(private IP, public IP) of ``nic``'s primary IP configuration; the public one is read
    from the public IP resource (one more call) when there is one."""
    configs = list(nic.ip_configurations or [])
    if not configs:
        return None, None
    primary = next((c for c in configs if getattr(c, "primary", False)), configs[0])
    private = getattr(primary, "private_ip_address", None)
    ref = getattr(getattr(primary, "public_ip_address", None), "id", None)
    public = None
    if ref:
        parts = ref.strip("/").split("/")
        address = ignore_missing(
            lambda: ctx.network.public_ip_addresses.get(parts[3], parts[-1]))
        public = getattr(address, "ip_address", None) if address is not None else None
    return private, public


def inbound_rules(nsg: Any) -> list[InboundRule]:
    """The NSG's own ``Allow``/``Inbound`` rules (not Azure's default ones), one record per port
    range, sorted by priority."""
    rules = sorted(nsg.security_rules or [], key=lambda r: getattr(r, "priority", 0) or 0)
    result: list[InboundRule] = []
    for rule in rules:
        if text(rule.access).lower() != "allow" or text(rule.direction).lower() != "inbound":
            continue
        protocol = text(rule.protocol).lower()
        sources = list(rule.source_address_prefixes or []) or [rule.source_address_prefix or "*"]
        ranges = list(rule.destination_port_ranges or []) or [
            rule.destination_port_range or "*"]
        for port_range in ranges:
            low, high = _port_range(port_range)
            for source in sources:
                result.append(InboundRule(
                    protocol="all" if protocol == "*" else protocol,
                    port_from=low, port_to=high,
                    source="0.0.0.0/0" if source in ("*", "Internet") else source,
                ))
    return result


def _port_range(value: str) -> tuple[int, int]:
    if value == "*":
        return 0, 65535
    low, _, high = value.partition("-")
    return int(low), int(high or low)
