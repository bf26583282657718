"""The EC2 :class:`~unicompute.driver.ComputeDriver`.

``launch`` does the plumbing a user would otherwise do by hand: it picks the default VPC's subnet
in the requested zone (or ``Options.subnet_id``), creates a dedicated security group that lets in
exactly ``open_ports`` over TCP, and tags the instances with the group's id so ``terminate_vm``
can delete it again.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Mapping
from functools import partial
from typing import TYPE_CHECKING, NamedTuple, cast

from botocore.exceptions import ClientError

from ..._errors import CapacityUnavailable, InvalidRequest, Unsupported
from ..._models import (
    Image,
    InboundRule,
    LaunchPlan,
    Page,
    Region,
    Size,
    VMInfo,
    VMState,
    Zone,
)
from . import console, convert, images, network, sizes
from ._context import INSTANCE_NOT_FOUND, Context, error_message, managed_tags, tag_spec
from .convert import PROVIDER, ROOT_TAG, SG_TAG, tag_list
from .options import Options

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_ec2.literals import InstanceTypeType, VolumeTypeType
    from mypy_boto3_ec2.type_defs import (
        BlockDeviceMappingTypeDef,
        FilterTypeDef,
        InstanceTypeDef,
        RunInstancesRequestTypeDef,
        TagSpecificationTypeDef,
    )

#: Instances per ``describe_instances`` page.
PAGE_SIZE = 100

#: States in which EC2 has accepted TerminateInstances already.
_ENDING_STATES = frozenset({"shutting-down", "terminated"})


class _Prepared(NamedTuple):
    """What the launch checks found: the options, the image's root device, the subnet."""

    options: Options
    root: images.RootDevice
    place: network.Placement


class Ec2Compute:
    """EC2 instances, types, AMIs and locations of one region."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._client = ctx.client
        self._sizes: list[Size] | None = None
        self._looked_up: dict[str, Size] = {}
        self._root_devices: dict[str, images.RootDevice] = {}
        #: The plan :meth:`check_launch` last accepted, and what it found (used once).
        self._prepared: tuple[LaunchPlan, _Prepared] | None = None

    @property
    def client(self) -> EC2Client:
        """The boto3 EC2 client this driver uses (escape hatch, and for botocore event hooks)."""
        return self._client

    # -- locations, catalog, images ---------------------------------------------------------

    def regions(self) -> list[Region]:
        found = self._client.describe_regions()["Regions"]
        return [Region(name=r["RegionName"], provider=PROVIDER) for r in found]

    def zones(self) -> list[Zone]:
        found = self._client.describe_availability_zones()["AvailabilityZones"]
        return [
            Zone(
                name=z["ZoneName"], region=z.get("RegionName", self._ctx.region), provider=PROVIDER
            )
            for z in found
        ]

    def list_sizes(self) -> list[Size]:
        """The region's catalog; fetched once per driver (it is ~1,400 types and rarely changes)."""
        if self._sizes is None:
            self._sizes = sizes.list_sizes(self._client, self._ctx.region)
        return list(self._sizes)

    def get_size(self, name: str) -> Size:
        """From the catalog if it was read, else one lookup, remembered for this driver."""
        if self._sizes is not None:
            for size in self._sizes:
                if size.name == name:
                    return size
        if name not in self._looked_up:
            self._looked_up[name] = sizes.get_size(self._client, self._ctx.region, name)
        return self._looked_up[name]

    def resolve_image(self, ref: str, *, arch: str) -> Image:
        return images.resolve(self._client, ref, arch)

    def list_images(self) -> list[Image]:
        return images.list_images(self._client)

    # -- lifecycle ---------------------------------------------------------------------------

    def check_launch(self, plan: LaunchPlan) -> None:
        """What only EC2 can tell about ``plan``, read-only; ``InvalidRequest`` naming the field.

        ``options`` of another type; ``disk_gib`` smaller than the image's root snapshot;
        ``options.subnet_id`` that does not exist or lies in another zone than ``zone``; no
        default VPC (or none of its subnets in ``zone``) when no subnet is given;
        ``options.security_group_ids`` that do not exist or belong to another VPC than the
        subnet. What the checks found is kept for a ``launch`` of this very plan.
        """
        self._prepared = (plan, self._prepare(plan))

    def _prepare(self, plan: LaunchPlan) -> _Prepared:
        """The checks of :meth:`check_launch`, and what ``launch`` needs from them."""
        spec = plan.spec
        options = spec.options if spec.options is not None else Options()
        if not isinstance(options, Options):
            raise InvalidRequest(
                f"must be unicompute.aws.Options, not {type(options).__name__}", field="options"
            )
        root = self._root_devices.get(plan.image.id)
        if root is None:  # an AMI id names one immutable image, so its root device never changes
            root = self._root_devices[plan.image.id] = images.root_device(
                self._client, plan.image.id)
        if (
            spec.disk_gib is not None
            and root.size_gib is not None
            and spec.disk_gib < root.size_gib
        ):
            raise InvalidRequest(
                f"{spec.disk_gib} GiB is smaller than the root snapshot of image "
                f"{plan.image.id}; it needs at least {root.size_gib} GiB",
                field="disk_gib",
            )
        place = network.choose_subnet(
            self._ctx, subnet_id=options.subnet_id, zone=spec.zone, size=plan.size.name
        )
        network.check_groups(self._ctx, options.security_group_ids, vpc_id=place.vpc_id)
        return _Prepared(options, root, place)

    def launch(self, plan: LaunchPlan) -> list[VMInfo]:
        """Create ``plan.count`` instances and their security group, or nothing.

        The checks of :meth:`check_launch` come first (their result is reused when the portable
        layer has just run them on this plan), so nothing is created for a plan they reject.
        RunInstances carries a fresh ``ClientToken``, so that a call whose answer was lost (a
        read timeout) can still be undone: instances made with that token are found and
        terminated. On any failure after the group exists, instances already created are
        terminated and the group is deleted; then the original exception propagates. Before
        returning, it waits (up to ``consistency_timeout``) until DescribeInstances lists every
        new instance, so that calls on their ids straight away do not fail with
        ``InvalidInstanceID.NotFound``.
        """
        checked, self._prepared = self._prepared, None
        if checked is not None and checked[0] is plan:
            options, root, place = checked[1]
        else:
            options, root, place = self._prepare(plan)
        spec = plan.spec
        tags = managed_tags(spec.name if plan.count == 1 else None, spec.tags)
        # The group carries the token too: that ties it to this launch's instances for good.
        token = str(uuid.uuid4())
        group_id = network.create_launch_group(
            self._ctx,
            name=spec.name,
            vpc_id=place.vpc_id,
            ports=spec.open_ports,
            tags=managed_tags(None, spec.tags),
            client_token=token,
        )
        created: list[str] = []
        try:
            request = _run_request(plan, options, place, root, group_id, tags, token)
            launched = self._run_instances(request, group_id, options)
            created = [instance["InstanceId"] for instance in launched]
            if len(launched) < plan.count:
                raise CapacityUnavailable(
                    f"EC2 started {len(launched)} of {plan.count} instances",
                    provider=PROVIDER,
                    operation="launch",
                )
            self._ctx.wait_visible(created)
            names = self._name_each(launched, spec.name)
        except BaseException as exc:
            self._undo_launch(created, token, group_id, exc)
            raise
        return [
            convert.vm_info({**i, "Tags": tag_list({**tags, SG_TAG: group_id, "Name": name})})
            for i, name in zip(launched, names, strict=True)
        ]

    def _run_instances(
        self, request: RunInstancesRequestTypeDef, group_id: str, options: Options
    ) -> list[InstanceTypeDef]:
        """RunInstances, repeated (same ``ClientToken``, so at most one launch happens) while
        EC2 does not know the just-created group ``group_id`` yet.

        ``InvalidGroup.NotFound`` about one of ``options.security_group_ids`` is the caller's
        mistake and is raised at once.
        """

        def about_our_group(exc: ClientError) -> bool:
            message = error_message(exc)
            return group_id in message or not any(g in message for g in options.security_group_ids)

        return self._ctx.retry_while(
            frozenset({"InvalidGroup.NotFound"}),
            partial(self._client.run_instances, **request),
            timeout=self._ctx.consistency_timeout,
            when=about_our_group,
        )["Instances"]

    def _name_each(self, launched: list[InstanceTypeDef], name: str) -> list[str]:
        """The ``Name`` of each launched instance: ``name`` alone, else ``name-1`` … ``name-N``
        in launch-index order, tagged now (RunInstances gives every instance the same tags)."""
        if len(launched) == 1:
            return [name]
        order = sorted(range(len(launched)), key=lambda i: launched[i].get("AmiLaunchIndex", i))
        names = [""] * len(launched)
        for position, index in enumerate(order, start=1):
            names[index] = f"{name}-{position}"
            instance_id = launched[index]["InstanceId"]
            tags = tag_list({"Name": names[index]})
            # Just after RunInstances, EC2 may not know the id yet (eventual consistency).
            self._ctx.retry_while(
                frozenset({INSTANCE_NOT_FOUND}),
                partial(self._client.create_tags, Resources=[instance_id], Tags=tags),
                timeout=self._ctx.consistency_timeout,
            )
        return names

    def _undo_launch(
        self, instance_ids: list[str], token: str, group_id: str, exc: BaseException
    ) -> None:
        """Best-effort removal of what a failed launch created; cleanup errors become notes.

        When RunInstances itself failed, instances it may have made anyway (the answer was
        lost) are found by their ``client-token``.
        """
        try:
            if not instance_ids:
                instance_ids = self._instances_with_token(token)
            if instance_ids:
                self._client.terminate_instances(InstanceIds=instance_ids)
                self._ctx.wait_terminated(instance_ids)
            network.delete_group(self._ctx, group_id)
        except Exception as cleanup:  # the launch error is the one the caller needs
            exc.add_note(
                f"unicompute: cleanup after the failed launch also failed ({cleanup!r}); "
                f"check security group {group_id} and instances {instance_ids or token}"
            )

    def _instances_with_token(self, token: str) -> list[str]:
        """The live instances RunInstances made for ``token``."""
        pages = self._client.get_paginator("describe_instances").paginate(
            Filters=[
                {"Name": "client-token", "Values": [token]},
                {"Name": "instance-state-name", "Values": list(convert.LIVE_STATES)},
            ]
        )
        return [
            instance["InstanceId"]
            for page in pages
            for reservation in page["Reservations"]
            for instance in reservation.get("Instances", [])
        ]

    def get_vm(self, vm_id: str) -> VMInfo:
        return convert.vm_info(self._ctx.live_instance(vm_id))

    def list_vms(
        self,
        *,
        tags: Mapping[str, str],
        states: frozenset[VMState] | None,
        page_token: str | None,
    ) -> Page[VMInfo]:
        """One page (up to 100 reservations' worth) of non-terminated instances."""
        if states is None:
            wanted = list(convert.LIVE_STATES)
        else:
            wanted = sorted(
                convert.EC2_STATES[s]
                for s in states
                if s in convert.EC2_STATES and s is not VMState.TERMINATED
            )
            if not wanted:
                return Page([])
        filters: list[FilterTypeDef] = [
            *convert.tag_filters(tags),
            {"Name": "instance-state-name", "Values": wanted},
        ]
        if page_token:
            answer = self._client.describe_instances(
                Filters=filters, MaxResults=PAGE_SIZE, NextToken=page_token
            )
        else:
            answer = self._client.describe_instances(Filters=filters, MaxResults=PAGE_SIZE)
        items = [
            convert.vm_info(instance)
            for reservation in answer["Reservations"]
            for instance in reservation.get("Instances", [])
        ]
        return Page(items, answer.get("NextToken") or None)

    def start_vm(self, vm_id: str) -> None:
        self._ctx.live_instance(vm_id)
        self._client.start_instances(InstanceIds=[vm_id])

    def stop_vm(self, vm_id: str) -> None:
        """Stop the instance; ``Unsupported`` for a spot instance (EC2 cannot stop a one-time
        spot instance, the only kind ``launch`` makes)."""
        instance = self._ctx.live_instance(vm_id)
        if instance.get("InstanceLifecycle") == "spot":
            raise Unsupported(
                "a one-time spot instance cannot be stopped; terminate it instead",
                provider=PROVIDER,
                resource=vm_id,
            )
        self._client.stop_instances(InstanceIds=[vm_id])

    def reboot_vm(self, vm_id: str) -> None:
        self._ctx.live_instance(vm_id)
        self._client.reboot_instances(InstanceIds=[vm_id])

    def terminate_vm(self, vm_id: str, *, timeout: float | None = None) -> None:
        """Terminate, wait until ``terminated``, then delete the launch's security group unless
        another instance that is not being terminated still uses it (see
        :func:`network.release_group`: VMs of one launch terminated at the same time wait for
        each other, and the last one deletes the group).

        Resumable: an instance EC2 still lists as ``shutting-down`` or ``terminated`` (an earlier
        call was interrupted after TerminateInstances) is not terminated again, but the wait
        and the group cleanup are done, and the call succeeds. Only an id EC2 does not know is
        ``InvalidInstanceID.NotFound``.

        Only a group named ``uc-…``, tagged managed and proven to be the launch's (tagged with
        the instance's ``ClientToken``, or attached to it) is deleted (see
        :func:`network.launch_group_of`); if EC2 still holds it after ``group_delete_timeout``,
        a warning is logged and the call succeeds.
        """
        instance = self._ctx.instance_including_terminated(vm_id)
        group_id = network.launch_group_of(self._ctx, instance)
        if instance.get("State", {}).get("Name") not in _ENDING_STATES:
            self._client.terminate_instances(InstanceIds=[vm_id])
        self._ctx.wait_terminated([vm_id], timeout=timeout)
        if group_id:
            network.release_group(self._ctx, group_id, vm_id=vm_id)

    def set_vm_tags(self, vm_id: str, tags: Mapping[str, str]) -> None:
        self._ctx.live_instance(vm_id)
        if tags:
            self._client.create_tags(Resources=[vm_id], Tags=tag_list(tags))

    def user_data(self, vm_id: str) -> bytes | None:
        """The raw user data the instance was launched with; ``None`` if it has none."""
        self._ctx.live_instance(vm_id)
        answer = self._client.describe_instance_attribute(InstanceId=vm_id, Attribute="userData")
        encoded = answer.get("UserData", {}).get("Value")
        return base64.b64decode(encoded) if encoded else None

    def console_output(self, vm_id: str) -> str:
        """See :func:`console.console_output` (``GetConsoleOutput``, latest where supported)."""
        return console.console_output(self._ctx, vm_id)

    def inbound_rules(self, vm_id: str) -> list[InboundRule]:
        return network.inbound_rules(self._ctx, network.group_ids(self._ctx.live_instance(vm_id)))


#: What EC2 allows in tag keys of an instance that exposes its tags in instance metadata.
_METADATA_TAG_KEY = re.compile(r"[a-zA-Z0-9+\-=.,_:@]+")


def metadata_tag_key_allowed(key: str) -> bool:
    """Whether EC2 accepts tag ``key`` on an instance with ``InstanceMetadataTags`` enabled:
    letters, digits and ``+ - = . , _ : @`` only, and not ``.``, ``..`` or ``_index``."""
    return bool(_METADATA_TAG_KEY.fullmatch(key)) and key not in (".", "..", "_index")


def _run_request(
    plan: LaunchPlan,
    options: Options,
    place: network.Placement,
    root_device: images.RootDevice,
    group_id: str,
    tags: Mapping[str, str],
    token: str,
) -> RunInstancesRequestTypeDef:
    """The ``RunInstances`` arguments for ``plan``; ``token`` is the idempotency token."""
    spec = plan.spec
    groups = [group_id, *options.security_group_ids]
    tagged = {**tags, SG_TAG: group_id}
    # The EBS root volume is listed so that it gets the type from Options and is deleted with the
    # instance. Its size is the spec's, else the image's (EC2 needs a size or a snapshot id).
    size_gib = spec.disk_gib if spec.disk_gib is not None else root_device.size_gib
    mappings: list[BlockDeviceMappingTypeDef] = []
    if size_gib is not None:
        mappings.append(
            {
                "DeviceName": root_device.name,
                "Ebs": {
                    # Options.__post_init__ checked volume_type against the EBS types.
                    "VolumeType": cast("VolumeTypeType", options.volume_type),
                    "VolumeSize": size_gib,
                    "DeleteOnTermination": True,
                },
            }
        )
    # Everything RunInstances creates carries the managed tags: the instances, their root
    # volumes and network interfaces, and (spot) the spot request.
    tag_specs: list[TagSpecificationTypeDef] = [
        tag_spec("instance", tagged),
        tag_spec("volume", {**tags, "Name": spec.name, ROOT_TAG: "true"}),
        tag_spec("network-interface", tags),
    ]
    if spec.spot:
        tag_specs.append(tag_spec("spot-instances-request", tags))
    request: RunInstancesRequestTypeDef = {
        "ImageId": plan.image.id,
        "InstanceType": cast("InstanceTypeType", plan.size.name),
        "MinCount": plan.count,
        "MaxCount": plan.count,
        "ClientToken": token,
        "TagSpecifications": tag_specs,
        "MetadataOptions": {
            "HttpTokens": "required" if options.require_imdsv2 else "optional",
            # Tags in IMDS let unicompute.metadata.current() report them; EC2 refuses it when a
            # tag key has a character IMDS paths cannot hold, so then the VM goes without.
            "InstanceMetadataTags": (
                "enabled" if all(map(metadata_tag_key_allowed, tagged)) else "disabled"),
        },
    }
    if mappings:
        request["BlockDeviceMappings"] = mappings
    if options.associate_public_ip is None:
        request["SubnetId"] = place.subnet_id
        request["SecurityGroupIds"] = groups
    else:
        request["NetworkInterfaces"] = [
            {
                "DeviceIndex": 0,
                "SubnetId": place.subnet_id,
                "Groups": groups,
                "AssociatePublicIpAddress": options.associate_public_ip,
                "DeleteOnTermination": True,
            }
        ]
    if spec.key_name:
        request["KeyName"] = spec.key_name
    user_data = spec.user_data_bytes
    if user_data:
        request["UserData"] = user_data  # type: ignore[typeddict-item]  # botocore base64-encodes
    if spec.spot:
        request["InstanceMarketOptions"] = {"MarketType": "spot"}
    if options.instance_profile:
        profile = options.instance_profile
        request["IamInstanceProfile"] = (
            {"Arn": profile} if profile.startswith("arn:") else {"Name": profile}
        )
    return request
