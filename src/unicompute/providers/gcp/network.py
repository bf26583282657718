"""Launch plumbing: the VPC network a VM joins and the per-launch firewall rule for
``open_ports``.

GCE firewall rules belong to a network, not to a VM. ``launch`` creates one ingress rule
``uc-<name>-<8 hex>`` allowing exactly the TCP ``open_ports`` from anywhere (IPv4), targeting a
network tag of the same name that only this launch's VMs carry; the VMs also get the label
``unicompute--firewall=<rule>``. ``terminate_vm`` deletes the rule once no other live VM of the
launch carries that label, and only a rule it can prove unicompute created (named ``uc-``, its
description starting with :data:`DESCRIPTION_PREFIX`, targeting exactly the VM's tag).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterable

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

_PATH = re.compile(r"(?:https://[^/]+/compute/v1/)?projects/[^/]+/(?:global|regions/[^/]+)/.+")


def network_path(ctx: Context, network: str) -> str:
    """``projects/<project>/global/networks/<network>`` for a name; a path is kept."""
    if _PATH.fullmatch(network):
        return network
    return f"projects/{ctx.project}/global/networks/{network}"


def subnetwork_path(ctx: Context, subnetwork: str) -> str:
    """``projects/<project>/regions/<region>/subnetworks/<name>`` for a name; a path is kept."""
    if _PATH.fullmatch(subnetwork):
        return subnetwork
    return f"projects/{ctx.project}/regions/{ctx.region}/subnetworks/{subnetwork}"


def check_network(ctx: Context, network: str, subnetwork: str | None) -> None:
    """``InvalidRequest`` naming ``options.network``/``options.subnetwork`` unless they exist
    (a subnetwork given by name must be in the region)."""
    try:
        ctx.clients.networks.get(project=_project_of(ctx, network),
                                 network=last_segment(network), **ctx.rpc)
    except core.NotFound as exc:
        raise InvalidRequest(f"no network {network!r} in project {ctx.project}",
                             field="options.network") from exc
    if subnetwork is None:
        return
    path = subnetwork_path(ctx, subnetwork)
    parts = path.split("/")
    try:
        ctx.clients.subnetworks.get(project=parts[parts.index("projects") + 1],
                                    region=parts[parts.index("regions") + 1],
                                    subnetwork=parts[-1], **ctx.rpc)
    except (core.NotFound, ValueError, IndexError) as exc:
        raise InvalidRequest(f"no subnetwork {subnetwork!r} in {ctx.region}",
                             field="options.subnetwork") from exc


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


def release_rule(ctx: Context, name: str, *, besides: str) -> None:
    """Delete the launch rule ``name`` unless another VM of the launch still uses it."""
    if not rule_in_use(ctx, name, besides=besides):
        delete_rule(ctx, name)


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
