"""The adapter for Libcloud's ``ec2`` driver: what the generic path cannot do, through the
driver's ``ex_*`` extensions (see :data:`.capabilities.ADAPTED`).

* Tags: ``ex_metadata`` at ``create_node`` (EC2 tags at creation), ``ex_create_tags`` after;
  listing pushes tag filters down to ``DescribeInstances`` (values escaped: EC2 reads ``*`` and
  ``?`` as wildcards) and filters again exactly.
* States come from the raw EC2 state in ``node.extra["status"]``: Libcloud maps ``stopping``
  and ``shutting-down`` to ``UNKNOWN``.
* User data: ``ex_userdata``; read back with ``DescribeInstanceAttribute`` sent through the
  driver's own signed connection.
* Spot: ``ex_spot``; disk size: a root block-device mapping of the image's root device.
* Image aliases: the AWS provider's alias table (publisher account + AMI name pattern), asked of
  ``DescribeImages`` through ``list_images(ex_owner=, ex_filters=)``; newest image wins.
* Zones are availability zones (``NodeLocation.name``), regions Libcloud's EC2 region list.
* Firewalls: one security group per launch, deleted with its last VM (:mod:`.ec2_network`).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

from ..._errors import InvalidRequest, NotFound
from ..._models import Image, InboundRule, LaunchPlan, Region, Size, VMInfo, VMState
from ...driver import MANAGED_TAG
from ..aws.convert import CLIENT_TOKEN_TAG, LIVE_STATES, SG_TAG, VM_STATES, filter_literal
from ..aws.images import ALIASES
from . import convert, ec2_network
from ._context import Context
from .compute import LibcloudCompute

#: Tags that are bookkeeping: ``Name`` holds the VM name, the others tie a VM to its launch's
#: security group.
HIDDEN_TAGS = ("Name", SG_TAG, CLIENT_TOKEN_TAG)


def tag_params(tags: Mapping[str, str], prefix: str = "") -> dict[str, str]:
    """``tags`` as EC2 Query parameters, numbered from 1 as EC2 documents (``Tag.1.Key``).

    Libcloud's ``ex_create_tags`` numbers from 0, which the AWS fake (moto) rejects; unicompute
    sends tags itself, through the driver's signed connection."""
    params: dict[str, str] = {}
    for i, (key, value) in enumerate(tags.items(), start=1):
        params[f"{prefix}Tag.{i}.Key"] = key
        params[f"{prefix}Tag.{i}.Value"] = value
    return params


def tag_specification(resource_type: str, tags: Mapping[str, str]) -> dict[str, str]:
    """Tags applied by the call that creates a ``resource_type`` (``TagSpecification.1``)."""
    return {"TagSpecification.1.ResourceType": resource_type,
            **tag_params(tags, "TagSpecification.1.")}


def create_tags(driver: Any, resource_id: str, tags: Mapping[str, str]) -> None:
    """``CreateTags`` on one resource."""
    params = {"Action": "CreateTags", "ResourceId.1": resource_id, **tag_params(tags)}
    driver.connection.request(driver.path, params=params)


class Ec2Compute(LibcloudCompute):
    """Libcloud's EC2 driver, with tags, user data, spot, aliases, disk size and firewalls."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        #: The plan :meth:`check_extras` last accepted and its default VPC (used once).
        self._checked: tuple[LaunchPlan, str] | None = None

    def zone_name(self, location: Any) -> str:
        return str(location.name)

    def regions(self) -> list[Region]:
        return [Region(name=r, provider=self._ctx.provider)
                for r in sorted(self.driver.list_regions())]

    def size_of(self, raw: Any) -> Size:
        return convert.size(raw, provider=self._ctx.provider, family=str(raw.id).split(".")[0])

    #: Instances per ``DescribeInstances`` page (EC2 allows 5 to 1,000).
    page_size = 1000

    def fetch_nodes(self, tags: Mapping[str, str]) -> list[Any]:
        """Every instance with ``tags``, read in pages of :attr:`page_size`.

        Libcloud's ``list_nodes`` asks for all instances at once, which EC2 answers but
        throttles or times out for large accounts (its pagination guide); this sends
        ``MaxResults`` and follows ``NextToken``, then parses with Libcloud's own converters and
        adds Elastic IPs as ``list_nodes`` does."""
        from libcloud.compute.drivers.ec2 import NAMESPACE
        from libcloud.utils import xml

        helpers: Any = xml
        filters = {f"tag:{k}": filter_literal(v) for k, v in tags.items()}
        params: dict[str, str] = {"Action": "DescribeInstances",
                                  "MaxResults": str(self.page_size)}
        if filters:
            params.update(self.driver._build_filters(filters))
        nodes: list[Any] = []
        while True:
            body = self.driver.connection.request(self.driver.path, params=dict(params)).object
            for reservation in helpers.findall(element=body, xpath="reservationSet/item",
                                               namespace=NAMESPACE):
                nodes.extend(self.driver._to_nodes(reservation, "instancesSet/item"))
            token = helpers.findtext(element=body, xpath="nextToken", namespace=NAMESPACE)
            if not token:
                break
            params["NextToken"] = str(token)
        addresses = self.driver.ex_describe_addresses(nodes)
        for node in nodes:
            node.public_ips.extend(addresses.get(node.id, []))
        return nodes

    def fetch_node(self, vm_id: str) -> Any:
        found = self.driver.list_nodes(ex_node_ids=[vm_id])
        if not found:
            raise NotFound(f"VM {vm_id} does not exist", provider=self._ctx.provider,
                           resource=vm_id)
        return found[0]

    def info(self, node: Any) -> VMInfo:
        extra = node.extra or {}
        return convert.vm(
            node,
            state=VM_STATES.get(str(extra.get("status")), VMState.UNKNOWN),
            size_name=extra.get("instance_type"),
            image_id=extra.get("image_id"),
            zone=extra.get("availability"),
            hidden_tags=HIDDEN_TAGS,
        )

    # -- images -----------------------------------------------------------------------------
    def resolve_image(self, ref: str, *, arch: str) -> Image:
        query = ALIASES.get(ref)
        if query is None:
            found = self.driver.list_images(ex_image_ids=[ref]) if ref.startswith("ami-") else []
            if not found:
                raise NotFound(f"image {ref} does not exist", provider=self._ctx.provider,
                               resource=ref)
            return convert.image(found[0], provider=self._ctx.provider)
        pattern = query.patterns.get(arch)
        if pattern is None:
            raise NotFound(f"{ref} is not published for {arch}", provider=self._ctx.provider,
                           resource=ref)
        found = self.driver.list_images(
            ex_owner=query.owner, ex_filters={"name": pattern, "state": "available"})
        if not found:
            raise NotFound(f"no image for {ref} ({arch}) in {self._ctx.region}",
                           provider=self._ctx.provider, resource=ref)
        newest = max(found, key=lambda i: (str((i.extra or {}).get("creation_date") or ""),
                                           str(i.name)))
        return convert.image(newest, provider=self._ctx.provider, alias=ref)

    def list_images(self) -> list[Image]:
        images: dict[str, Image] = {}
        for alias, query in ALIASES.items():
            for arch in query.patterns:
                try:
                    found = self.resolve_image(alias, arch=arch)
                except NotFound:
                    continue
                images.setdefault(found.id, found)
        for raw in self.driver.list_images(ex_owner="self"):
            images.setdefault(str(raw.id), convert.image(raw, provider=self._ctx.provider))
        return list(images.values())

    def _root_device(self, image_id: str) -> tuple[str, int]:
        """The image's root device name and size in GiB."""
        found = self.driver.list_images(ex_image_ids=[image_id])
        if not found:
            raise NotFound(f"image {image_id} does not exist", provider=self._ctx.provider,
                           resource=image_id)
        extra = found[0].extra or {}
        device = str(extra.get("root_device_name") or "/dev/sda1")
        for mapping in extra.get("block_device_mapping") or []:
            ebs = mapping.get("ebs") or {}
            if mapping.get("device_name") == device or len(extra["block_device_mapping"]) == 1:
                return str(mapping.get("device_name") or device), int(ebs.get("volume_size") or 0)
        return device, 0

    # -- launch -----------------------------------------------------------------------------
    def check_extras(self, plan: LaunchPlan) -> None:
        """``disk_gib`` smaller than the image's root snapshot, or a region without a default
        VPC, is ``InvalidRequest``; the VPC found is kept for a ``launch`` of this plan."""
        self._checked = (plan, self._prepare(plan))

    def _prepare(self, plan: LaunchPlan) -> str:
        """The checks of :meth:`check_extras`; the id of the VPC the VMs go into."""
        if plan.spec.disk_gib is not None:
            _, needed = self._root_device(plan.image.id)
            if plan.spec.disk_gib < needed:
                raise InvalidRequest(
                    f"{plan.spec.disk_gib} GiB is smaller than image {plan.image.id} "
                    f"({needed} GiB)", field="disk_gib")
        return ec2_network.default_vpc(self.driver, self._ctx.region)

    def launch(self, plan: LaunchPlan) -> list[VMInfo]:
        """The launch's security group, then the VMs one by one, or nothing.

        Each VM is launched with ``ClientToken`` ``<launch token>-<n>``, so that a call whose
        answer was lost can be undone (its instance is found by token) and retried while EC2
        does not know the new group yet. On failure the VMs made so far are terminated and the
        group deleted; cleanup errors become notes on the original error.
        """
        checked, self._checked = self._checked, None
        vpc_id = checked[1] if checked is not None and checked[0] is plan else self._prepare(plan)
        token = str(uuid.uuid4())
        group_id, group_name = ec2_network.create_launch_group(
            self.driver, self._ctx.poller, name=plan.spec.name, vpc_id=vpc_id,
            ports=plan.spec.open_ports, tags=plan.spec.tags, client_token=token,
            timeout=self._ctx.consistency_timeout)
        created: list[Any] = []
        tried: list[str] = []
        try:
            for index, name in enumerate(plan.names, start=1):
                tried.append(f"{token}-{index}")
                created.append(ec2_network.retry_while(
                    self._ctx.poller, ec2_network.GROUP_NOT_FOUND,
                    partial(self._create, name, plan, group_id, group_name, tried[-1]),
                    timeout=self._ctx.consistency_timeout))
        except BaseException as exc:
            self._undo_launch(created, tried[len(created):], group_id, exc)
            raise
        return [self.info(node) for node in created]

    def _undo_launch(
        self, created: list[Any], unanswered: list[str], group_id: str, exc: BaseException
    ) -> None:
        """Terminate what the failed launch made (including an instance whose RunInstances
        answer was lost, found by its token), then delete the group."""
        nodes = list(created)
        try:
            for token in unanswered:
                nodes.extend(self.driver.list_nodes(ex_filters={
                    "client-token": token, "instance-state-name": list(LIVE_STATES)}))
            for node in nodes:
                self.driver.destroy_node(node)
            ec2_network.delete_group(self.driver, self._ctx.poller, group_id,
                                     timeout=self._ctx.group_delete_timeout)
        except Exception as cleanup:  # the launch error is the one the caller needs
            exc.add_note(
                f"unicompute: cleanup after the failed launch also failed ({cleanup!r}); "
                f"check security group {group_id} and instances "
                f"{', '.join(str(n.id) for n in nodes) or ', '.join(unanswered)}")

    def _create(self, name: str, plan: LaunchPlan, group_id: str, group_name: str,
                token: str) -> Any:
        """One ``RunInstances`` for VM ``name``, in the launch's group, with ``token``."""
        spec = plan.spec
        kwargs: dict[str, Any] = {
            "ex_metadata": {**spec.tags, MANAGED_TAG: "true", SG_TAG: group_id},
            # RunInstances takes group names for the default VPC, the one Libcloud launches
            # into; ids would need ex_subnet.
            "ex_securitygroup": [group_name],
            "ex_clienttoken": token,
        }
        if spec.zone is not None:
            kwargs["location"] = self.location(spec.zone)
        if spec.key_name is not None:
            kwargs["ex_keyname"] = spec.key_name
        user_data = spec.user_data_bytes
        if user_data:
            kwargs["ex_userdata"] = user_data
        if spec.spot:
            kwargs["ex_spot"] = True
        if spec.disk_gib is not None:
            device, _ = self._root_device(plan.image.id)
            kwargs["ex_blockdevicemappings"] = [{
                "DeviceName": device,
                "Ebs": {"VolumeSize": spec.disk_gib, "DeleteOnTermination": "true"},
            }]
        return self.driver.create_node(name, self._native_size(plan.size.name),
                                       self._native_image(plan.image.id), **kwargs)

    def create_node(self, name: str, plan: LaunchPlan) -> Any:
        raise NotImplementedError("Ec2Compute.launch creates nodes with their security group")

    def plumbing_of(self, node: Any) -> Callable[[], None] | None:
        group_id = ec2_network.launch_group_of(self.driver, node)
        if group_id is None:
            return None
        vm_id = str(node.id)
        return lambda: ec2_network.release_group(
            self.driver, self._ctx.poller, group_id, vm_id=vm_id,
            timeout=self._ctx.group_delete_timeout)

    def inbound_rules(self, vm_id: str) -> list[InboundRule]:
        node = self.fetch_node(vm_id)
        if self.info(node).state is VMState.TERMINATED:
            raise NotFound(f"VM {vm_id} is terminated", provider=self._ctx.provider,
                           resource=vm_id)
        return ec2_network.inbound_rules(self.driver, ec2_network.group_ids(node))

    def _native_image(self, image_id: str) -> Any:
        from libcloud.compute.base import NodeImage

        return NodeImage(id=image_id, name=image_id, driver=self.driver)

    # -- extras -----------------------------------------------------------------------------
    def set_vm_tags(self, vm_id: str, tags: Mapping[str, str]) -> None:
        self.get_vm(vm_id)  # NOT_FOUND for a terminated VM
        create_tags(self.driver, vm_id, tags)

    def user_data(self, vm_id: str) -> bytes | None:
        from libcloud.compute.drivers.ec2 import NAMESPACE

        self.get_vm(vm_id)  # NOT_FOUND for a terminated VM, as for every other call
        params = {"Action": "DescribeInstanceAttribute", "InstanceId": vm_id,
                  "Attribute": "userData"}
        body = self.driver.connection.request(self.driver.path, params=params).object
        found = body.findtext(f"{{{NAMESPACE}}}userData/{{{NAMESPACE}}}value")
        encoded = str(found) if found else ""
        if not encoded:
            return None
        try:
            return base64.b64decode(encoded, validate=True)
        except binascii.Error:
            return encoded.encode()
