"""Launch plumbing: the VPC network a VM joins and the per-launch firewall rule for
``open_ports``.

**The network.** GCE firewall rules belong to a network and apply to every VM on it that they
target; the project's ``default`` network comes with ``default-allow-ssh``, ``-rdp``, ``-icmp``
and ``-internal`` rules that open every VM on it. So unless ``Options.network`` names a network,
VMs join unicompute's own VPC network :data:`MANAGED_NETWORK` (``unicompute``), created on the
first launch that needs it. It is an *auto-mode* network: GCE gives it one subnetwork in every
region (the same ``10.128.0.0/9`` ranges as ``default``), so a launch in any region needs no
further call; VPC networks and subnetworks cost nothing. GCE creates no firewall rules with a
network made through the API, and its implied rules deny all ingress and allow all egress, so on
this network a VM is reachable exactly through the allow rules of its own launch. Networks have
no labels: the network is marked as unicompute's by its description (:data:`NETWORK_DESCRIPTION`)
and is never deleted by ``terminate`` or by the undo of a failed launch (later launches share
it). A network called ``unicompute`` that does not carry that description is not used (the
launch is refused, naming ``options.network``). Its internal ranges overlap those of any other
auto-mode network, which matters only for VPC peering between them.

**The rule.** ``launch`` creates one ingress rule ``uc-<name>-<8 hex>`` allowing exactly the
TCP ``open_ports`` from anywhere (IPv4), targeting a network tag of the same name that only this
launch's VMs carry; the VMs also get the label ``unicompute--firewall=<rule>``.
``terminate_vm`` deletes the rule once no other live VM of the launch carries that label, and
only a rule it can prove unicompute created (named ``uc-``, its description starting with
:data:`DESCRIPTION_PREFIX`, targeting exactly the VM's tag).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable
from typing import NamedTuple

from google.api_core import exceptions as core
from google.cloud import compute_v1

from ..._errors import InvalidRequest
from ..._models import InboundRule
from . import operations
from ._clients import Context
from .convert import FIREWALL_TAG, label_key, last_segment, vm_id

LOG = logging.getLogger("unicompute.providers.gcp")

#: Prefix of the names of the firewall rules ``launch`` creates.
RULE_PREFIX = "uc-"
DESCRIPTION_PREFIX = "unicompute: inbound ports of "
ANYWHERE_V4 = "0.0.0.0/0"
#: The network VMs join unless ``Options.network`` names one.
MANAGED_NETWORK = "unicompute"
NETWORK_DESCRIPTION = (
    "unicompute: managed network; its VMs are reachable only through the firewall rules of "
    "their own launch. Shared by every unicompute launch of the project; unicompute never "
    "deletes it.")

_PATH = re.compile(r"(?:https://[^/]+/compute/v1/)?projects/[^/]+/(?:global|regions/[^/]+)/.+")


class ChosenNetwork(NamedTuple):
    """The network a launch uses (a ``projects/.../global/networks/...`` path), whether it
    exists, and whether it is :data:`MANAGED_NETWORK` (created by the launch when missing)."""

    path: str
    exists: bool
    managed: bool


def network_path(ctx: Context, network: str | None) -> str:
    """``projects/<project>/global/networks/<network>`` for a name (``None``: the managed
    network); a path is kept."""
    if network is None:
        network = MANAGED_NETWORK
    if _PATH.fullmatch(network):
        return network
    return f"projects/{ctx.project}/global/networks/{network}"


def subnetwork_path(ctx: Context, subnetwork: str) -> str:
    """``projects/<project>/regions/<region>/subnetworks/<name>`` for a name; a path is kept."""
    if _PATH.fullmatch(subnetwork):
        return subnetwork
    return f"projects/{ctx.project}/regions/{ctx.region}/subnetworks/{subnetwork}"


def is_managed_network(found: compute_v1.Network) -> bool:
    return found.description.startswith(NETWORK_DESCRIPTION.split(";", 1)[0])


def check_network(ctx: Context, network: str | None, subnetwork: str | None) -> ChosenNetwork:
    """The network of ``Options.network``/``subnetwork``, read-only; ``InvalidRequest`` naming
    ``options.network``/``options.subnetwork`` unless a named network exists, the managed one
    is missing or unicompute's, and a subnetwork exists (in the region, when given by name) and
    belongs to the network."""
    path = network_path(ctx, network)
    try:
        found = ctx.clients.networks.get(project=_project_of(ctx, path),
                                         network=last_segment(path), **ctx.rpc)
    except core.NotFound as exc:
        if network is None:
            return ChosenNetwork(path, exists=False, managed=True)
        raise InvalidRequest(f"no network {network!r} in project {ctx.project}",
                             field="options.network") from exc
    if network is None and not is_managed_network(found):
        raise InvalidRequest(
            f"network {MANAGED_NETWORK!r} exists but unicompute did not create it, so it may "
            "have firewall rules of its own; delete or rename it, or pass "
            f"Options(network={MANAGED_NETWORK!r}) to launch into it as it is",
            field="options.network")
    if subnetwork is not None:
        _check_subnetwork(ctx, path, subnetwork)
    return ChosenNetwork(path, exists=True, managed=network is None)


def _check_subnetwork(ctx: Context, network: str, subnetwork: str) -> None:
    path = subnetwork_path(ctx, subnetwork)
    parts = path.split("/")
    try:
        found = ctx.clients.subnetworks.get(project=parts[parts.index("projects") + 1],
                                            region=parts[parts.index("regions") + 1],
                                            subnetwork=parts[-1], **ctx.rpc)
    except (core.NotFound, ValueError, IndexError) as exc:
        raise InvalidRequest(f"no subnetwork {subnetwork!r} in {ctx.region}",
                             field="options.subnetwork") from exc
    if _network_key(found.network) != _network_key(network):
        raise InvalidRequest(
            f"subnetwork {subnetwork!r} belongs to network {last_segment(found.network)!r}, "
            f"not {last_segment(network)!r}", field="options.subnetwork")


def ensure_managed_network(ctx: Context) -> None:
    """Create :data:`MANAGED_NETWORK` (auto mode, no firewall rules) and wait until GCE has;
    a network of that name created meanwhile by a concurrent launch (409) is fine."""
    body = compute_v1.Network(
        name=MANAGED_NETWORK,
        description=NETWORK_DESCRIPTION,
        auto_create_subnetworks=True,
        routing_config=compute_v1.NetworkRoutingConfig(routing_mode="REGIONAL"),
    )
    try:
        op = ctx.clients.networks.insert_unary(project=ctx.project, network_resource=body,
                                               **ctx.rpc)
        operations.wait(ctx, op)
    except core.Conflict:
        return


def _project_of(ctx: Context, path: str) -> str:
    parts = path.split("/")
    if "projects" in parts and parts.index("projects") + 1 < len(parts):
        return parts[parts.index("projects") + 1]
    return ctx.project


def rule_name(vm_name: str) -> str:
    """A fresh rule (and network tag) name for a launch named ``vm_name``; at most 63 chars."""
    return f"{RULE_PREFIX}{vm_name[:48]}-{secrets.token_hex(4)}"


def create_rule(ctx: Context, *, name: str, network: str, ports: Iterable[int],
                vm_name: str) -> None:
    """Insert the ingress rule ``name`` allowing TCP ``ports`` from anywhere to instances
    tagged ``name``, and wait until GCE has created it."""
    rule = compute_v1.Firewall(
        name=name,
        description=f"{DESCRIPTION_PREFIX}{vm_name}",
        network=network,
        direction="INGRESS",
        priority=1000,
        allowed=[compute_v1.Allowed(I_p_protocol="tcp", ports=[str(p) for p in ports])],
        source_ranges=[ANYWHERE_V4],
        target_tags=[name],
    )
    op = ctx.clients.firewalls.insert_unary(project=ctx.project, firewall_resource=rule,
                                            **ctx.rpc)
    operations.wait(ctx, op)


def delete_rule(ctx: Context, name: str) -> None:
    """Delete rule ``name`` and wait; a rule that is already gone is fine."""
    try:
        op = ctx.clients.firewalls.delete_unary(project=ctx.project, firewall=name, **ctx.rpc)
        operations.wait(ctx, op)
    except core.NotFound:
        return


def launch_rule_of(ctx: Context, instance: compute_v1.Instance) -> str | None:
    """The firewall rule ``launch`` created for ``instance``, or ``None``.

    The label proposes a rule; it is accepted only if the instance carries the rule's name as a
    network tag, and the rule is named ``uc-``, described as unicompute's and targets exactly
    that tag. Anything else is left alone (and logged).
    """
    proposed = instance.labels.get(label_key(FIREWALL_TAG))
    if not proposed or not proposed.startswith(RULE_PREFIX):
        return None
    if proposed not in instance.tags.items:
        LOG.warning("not deleting firewall rule %s named by VM %s's label: the VM does not "
                    "carry its network tag", proposed, instance.name)
        return None
    try:
        rule = ctx.clients.firewalls.get(project=ctx.project, firewall=proposed, **ctx.rpc)
    except core.NotFound:
        return None
    if not rule.description.startswith(DESCRIPTION_PREFIX) or list(rule.target_tags) != [
            proposed]:
        LOG.warning("not deleting firewall rule %s named by VM %s's label: unicompute did not "
                    "create it", proposed, instance.name)
        return None
    return proposed


def rule_in_use(ctx: Context, name: str, *, besides: str) -> bool:
    """Whether a VM other than ``besides`` (a portable id) still carries the launch label of
    rule ``name``."""
    request = compute_v1.AggregatedListInstancesRequest(
        project=ctx.project, filter=f'labels.{label_key(FIREWALL_TAG)} = "{name}"')
    for scope, scoped in ctx.clients.instances.aggregated_list(request=request, **ctx.rpc):
        for instance in scoped.instances:
            if vm_id(last_segment(instance.zone) or last_segment(scope), instance.name) != besides:
                return True
    return False


def release_rule(ctx: Context, name: str, *, besides: str) -> bool:
    """Delete the launch rule ``name`` unless another VM of the launch still uses it; whether
    it is gone."""
    if rule_in_use(ctx, name, besides=besides):
        return False
    delete_rule(ctx, name)
    return True


def orphaned_rules(ctx: Context, vm_id: str) -> list[str]:
    """The rules ``launch`` created for the launch VM ``vm_id`` (a portable id; the VM is gone)
    may have belonged to that no VM carries any more: those a terminate whose instance
    deletion went through but whose rule deletion failed left behind.

    The launch was named as the VM (one VM) or as the VM without its ``-<n>`` suffix (several).
    A rule qualifies only as :func:`launch_rule_of` proves one: named
    ``uc-<launch[:48]>-<8 hex>``, described as that launch's, targeting exactly its own name.
    """
    _, _, name = vm_id.partition("/")
    launches = {name}
    base, _, suffix = name.rpartition("-")
    if base and suffix.isdigit():
        launches.add(base)
    request = compute_v1.ListFirewallsRequest(project=ctx.project)
    found: list[str] = []
    for rule in ctx.clients.firewalls.list(request=request, **ctx.rpc):
        launch = rule.description[len(DESCRIPTION_PREFIX):]
        if (not rule.description.startswith(DESCRIPTION_PREFIX) or launch not in launches
                or list(rule.target_tags) != [rule.name]
                or not re.fullmatch(rf"{re.escape(RULE_PREFIX + launch[:48])}-[0-9a-f]{{8}}",
                                    rule.name)):
            continue
        if not rule_in_use(ctx, rule.name, besides=vm_id):
            found.append(rule.name)
    return found


def inbound_rules(ctx: Context, instance: compute_v1.Instance) -> list[InboundRule]:
    """Every inbound flow the enabled ingress *allow* rules of the instance's networks permit
    to it (rules targeting all instances, one of its network tags or its service accounts).

    Deny rules and priorities are not subtracted: this is what the allow rules open.
    """
    networks = {_network_key(nic.network) for nic in instance.network_interfaces}
    tags = set(instance.tags.items)
    accounts = {sa.email for sa in instance.service_accounts}
    request = compute_v1.ListFirewallsRequest(project=ctx.project)
    rules: list[InboundRule] = []
    for rule in ctx.clients.firewalls.list(request=request, **ctx.rpc):
        if _network_key(rule.network) not in networks or rule.disabled:
            continue
        if (rule.direction or "INGRESS") != "INGRESS" or not rule.allowed:
            continue
        targeted = bool(rule.target_tags) or bool(rule.target_service_accounts)
        if targeted and not (tags & set(rule.target_tags)
                             or accounts & set(rule.target_service_accounts)):
            continue
        for found in _rules_of(rule):
            if found not in rules:
                rules.append(found)
    return rules


def _network_key(url: str) -> str:
    """``<project>/<network>`` of a network URL or path, for comparing them."""
    parts = url.rstrip("/").split("/")
    project = parts[parts.index("projects") + 1] if "projects" in parts else ""
    return f"{project}/{parts[-1]}"


def _rules_of(rule: compute_v1.Firewall) -> list[InboundRule]:
    sources = [
        *rule.source_ranges,
        *(f"tag:{t}" for t in rule.source_tags),
        *(f"serviceAccount:{s}" for s in rule.source_service_accounts),
    ] or [ANYWHERE_V4]
    found: list[InboundRule] = []
    for allowed in rule.allowed:
        protocol = allowed.I_p_protocol or "all"
        spans: list[tuple[int, int]] = []
        for port in allowed.ports:
            first, _, last = port.partition("-")
            spans.append((int(first), int(last or first)))
        if not spans:
            spans = [(0, 65535)]
        for low, high in spans:
            for source in sources:
                found.append(InboundRule(protocol=protocol, port_from=low, port_to=high,
                                         source=source))
    return found
