"""The Azure :class:`~unicompute.driver.ComputeDriver`: virtual machines of one resource group
and location.

``launch`` makes what a VM needs that the user did not bring: the resource group (when missing
and allowed), the shared virtual network, a network security group for the launch, and per VM a
public IP, a network interface and the OS disk (``deleteOption: Delete``), all tagged with the
user's tags, ``unicompute:managed=true`` and the launch's id. ``terminate_vm`` deletes the VM and
exactly that plumbing again. VM ids are ARM resource ids.

``stop_vm`` *deallocates*: a VM that is only powered off keeps its cores reserved and is still
billed for them; a deallocated one is not (its disks and public IP still are).
"""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from azure.mgmt.compute import models

from ..._errors import InvalidRequest, NotFound
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
from ._context import IF_NONE_MATCH, LOG, Context, ignore_missing, is_code, not_found
from .convert import (
    LAUNCH_TAG,
    PROVIDER,
    Addresses,
    ArmId,
    managed_tags,
    parse_id,
    tag_problem,
)
from .options import Options

VM_KIND = "Microsoft.Compute/virtualMachines"
DISK_KIND = "Microsoft.Compute/disks"
#: Largest OS disk Azure accepts.
MAX_OS_DISK_GIB = 4095
#: Windows computer names: at most 15 characters, no period, not only digits.
WINDOWS_NAME_LENGTH = 15
#: ARM's limit of tags per resource.
MAX_TAGS = 50


def os_disk_name(vm_name: str) -> str:
    return f"{vm_name}-osdisk"


@dataclass(frozen=True)
class _Prepared:
    """What the launch checks found."""

    options: Options
    zone: str | None
    subnet_id: str | None
    key_data: str | None


class _Undo:
    """Deletions that undo a launch, run newest first; their own failures become notes."""

    def __init__(self) -> None:
        self._steps: list[tuple[str, Callable[[], object]]] = []

    def add(self, what: str, step: Callable[[], object]) -> None:
        self._steps.append((what, step))

    def run(self, exc: BaseException) -> None:
        for what, step in reversed(self._steps):
            try:
                ignore_missing(step)
            except Exception as cleanup:  # the launch error is the one the caller needs
                exc.add_note(f"unicompute: deleting {what} after the failed launch also failed "
                             f"({type(cleanup).__name__}); delete it by hand")
                LOG.warning("could not delete %s after a failed launch: %r", what, cleanup)


class AzureCompute:
    """Virtual machines, sizes, images and locations of one resource group and location."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._sizes: list[Size] | None = None
        self._prepared: tuple[LaunchPlan, _Prepared] | None = None

    # -- locations, catalog, images ---------------------------------------------------------

    def regions(self) -> list[Region]:
        return [Region(name=str(loc["name"]), provider=PROVIDER)
                for loc in self._ctx.locations() if loc.get("name")]

    def zones(self) -> list[Zone]:
        """The region's availability zones ``"1"``, ``"2"``, ``"3"`` (ARM's logical zones)."""
        return [Zone(name=name, region=self._ctx.region, provider=PROVIDER)
                for name in self._ctx.zone_names()]

    def list_sizes(self) -> list[Size]:
        """The location's sizes; read once per driver."""
        if self._sizes is None:
            items = list(self._ctx.compute.virtual_machine_sizes.list(self._ctx.region))
            self._sizes = sizes.to_sizes(items, self._ctx.region)
        return list(self._sizes)

    def get_size(self, name: str) -> Size:
        """ARM has no single-size read: one ``vmSizes`` list, remembered by the driver."""
        for size in self.list_sizes():
            if size.name.lower() == name.lower():
                return size
        raise NotFound(f"no size {name!r} in {self._ctx.region}", provider=PROVIDER,
                       operation="vms.size", resource=name)

    def resolve_image(self, ref: str, *, arch: str) -> Image:
        return images.resolve(self._ctx, ref, arch)

    def list_images(self) -> list[Image]:
        return images.list_images(self._ctx)

    # -- launch ------------------------------------------------------------------------------

    def check_launch(self, plan: LaunchPlan) -> None:
        """What only Azure can tell about ``plan``, read-only; ``InvalidRequest`` naming the field.

        ``options`` of another type; tag names ARM refuses; Windows names (1-15 characters, no
        period, not only digits) and key pairs (Windows takes none); ``disk_gib`` above 4,095
        or below the image's OS disk; more ports than an NSG holds; ``options.subnet_id`` that
        does not exist or lies in another location; a missing resource group that may not be
        created. What the checks found is kept for a ``launch`` of this very plan.
        """
        self._prepared = (plan, self._prepare(plan))

    def _prepare(self, plan: LaunchPlan) -> _Prepared:
        spec = plan.spec
        options = spec.options if spec.options is not None else Options()
        if not isinstance(options, Options):
            raise InvalidRequest(
                f"must be unicompute.azure.Options, not {type(options).__name__}", field="options")
        problem = tag_problem(spec.tags)
        if problem is not None:
            raise InvalidRequest(problem, field="tags")
        if plan.image.os == "windows":
            for name in plan.names:
                if len(name) > WINDOWS_NAME_LENGTH or "." in name or name.isdigit():
                    raise InvalidRequest(
                        f"{name!r}: Windows VM names are 1-15 characters, without '.', not "
                        "only digits", field="name")
            if spec.key_name is not None:
                raise InvalidRequest("Windows VMs on Azure take no SSH key; use "
                                     "Options(admin_password=...)", field="key_name")
        self._check_disk(plan)
        network.check_ports(spec.open_ports)
        if options.subnet_id is not None:
            network.check_subnet(self._ctx, options.subnet_id)
        if not self._ctx.create_resource_group:
            self._ctx.ensure_group()  # only reads when it may not create
        key_data = None
        if spec.key_name is not None:
            found = ignore_missing(partial(self._ctx.compute.ssh_public_keys.get,
                                           self._ctx.resource_group, spec.key_name))
            if found is None or not found.public_key:
                raise InvalidRequest(f"no SSH key {spec.key_name!r} in resource group "
                                     f"{self._ctx.resource_group}", field="key_name")
            key_data = str(found.public_key)
        zone = spec.zone
        if zone is None:
            zones = self._ctx.zone_names()
            zone = zones[0] if zones else None
        return _Prepared(options, zone, options.subnet_id, key_data)

    def _check_disk(self, plan: LaunchPlan) -> None:
        disk = plan.spec.disk_gib
        if disk is None:
            return
        if disk > MAX_OS_DISK_GIB:
            raise InvalidRequest(f"an OS disk is at most {MAX_OS_DISK_GIB} GiB", field="disk_gib")
        urn = images.parse_urn(plan.image.id)
        smallest = images.os_disk_gib(urn) if urn is not None else None
        if smallest is not None and disk < smallest:
            raise InvalidRequest(
                f"{disk} GiB is smaller than the OS disk of image {plan.image.id}; it needs at "
                f"least {smallest} GiB", field="disk_gib")

    def launch(self, plan: LaunchPlan) -> list[VMInfo]:
        """Create ``plan.count`` VMs with their plumbing, or nothing.

        The checks of :meth:`check_launch` come first, so nothing is created for a plan they
        reject. Per-launch resources are created with ``If-None-Match: *``: a name already
        taken is ``ALREADY_EXISTS`` and the existing resource is left alone. On any failure
        everything this call created is deleted (VMs with their OS disks, NICs, public IPs, the
        NSG), newest first, and the original exception propagates. The resource group and the
        shared virtual network are kept: they cost nothing and other launches use them.
        """
        checked, self._prepared = self._prepared, None
        prepared = checked[1] if checked is not None and checked[0] is plan else \
            self._prepare(plan)
        ctx = self._ctx
        spec = plan.spec
        launch_id = uuid.uuid4().hex
        internal = {"launch": launch_id}
        if spec.key_name:
            internal["key"] = spec.key_name
        tags = managed_tags(spec.tags, **internal)
        plumbing_tags = managed_tags(spec.tags, launch=launch_id)
        group = ctx.resource_group
        undo = _Undo()
        try:
            ctx.ensure_group()
            subnet_id = prepared.subnet_id or network.shared_subnet(ctx)
            nsg_name = network.nsg_name(spec.name, launch_id)
            nsg = network.create_nsg(ctx, nsg_name, spec.open_ports, plumbing_tags)
            undo.add(f"network security group {nsg_name}", lambda: network.release_nsg(
                ctx, group, nsg_name))
            nics = [self._create_nic(name, prepared, subnet_id, str(nsg.id), plumbing_tags, undo)
                    for name in plan.names]
            pollers = []
            for name, nic in zip(plan.names, nics, strict=True):
                body = self._vm_body(plan, prepared, name, str(nic.id), tags)
                pollers.append(ctx.compute.virtual_machines.begin_create_or_update(
                    group, name, models.VirtualMachine(body), headers=IF_NONE_MATCH))
                undo.add(f"VM {name}", partial(self._delete_vm, group, name, launch_id))
            remaining = ctx.deadline(ctx.vm_timeout)  # the launch's VMs are created together
            vms = [ctx.wait(poller, what=f"creating VM {name}", timeout=remaining(),
                            resource=ctx.resource_id(VM_KIND, name))
                   for poller, name in zip(pollers, plan.names, strict=True)]
            for vm in vms:
                self._tag_os_disk(vm, managed_tags(spec.tags, launch=launch_id))
            return [self._info_after_launch(vm, nic) for vm, nic in zip(vms, nics, strict=True)]
        except BaseException as exc:
            undo.run(exc)
            raise

    def _create_nic(self, vm_name: str, prepared: _Prepared, subnet_id: str, nsg_id: str,
                    tags: Mapping[str, str], undo: _Undo) -> Any:
        ctx, group = self._ctx, self._ctx.resource_group
        pip_id = None
        if prepared.options.public_ip:
            pip_name = network.pip_name(vm_name)
            pip = network.create_public_ip(ctx, pip_name, prepared.zone, tags)
            undo.add(f"public IP {pip_name}",
                     partial(network.delete_public_ip, ctx, group, pip_name))
            pip_id = str(pip.id)
        nic_name = network.nic_name(vm_name)
        nic = network.create_nic(ctx, nic_name, subnet_id=subnet_id, nsg_id=nsg_id, pip_id=pip_id,
                                 tags=tags)
        undo.add(f"network interface {nic_name}",
                 partial(network.delete_nic, ctx, group, nic_name))
        return nic

    def _vm_body(self, plan: LaunchPlan, prepared: _Prepared, name: str, nic_id: str,
                 tags: Mapping[str, str]) -> dict[str, Any]:
        spec, options = plan.spec, prepared.options
        urn = images.parse_urn(plan.image.id)
        reference: dict[str, str] = urn.reference() if urn is not None else {"id": plan.image.id}
        os_disk: dict[str, Any] = {
            "name": os_disk_name(name),
            "createOption": "FromImage",
            "deleteOption": "Delete",
            "managedDisk": {"storageAccountType": options.os_disk_type},
        }
        if spec.disk_gib is not None:
            os_disk["diskSizeGB"] = spec.disk_gib
        os_profile: dict[str, Any] = {"computerName": name, "adminUsername": options.admin_username}
        if prepared.key_data is not None:
            os_profile["linuxConfiguration"] = {
                "disablePasswordAuthentication": True,
                "ssh": {"publicKeys": [{
                    "path": f"/home/{options.admin_username}/.ssh/authorized_keys",
                    "keyData": prepared.key_data,
                }]},
            }
        else:
            # Azure requires a password or a key; without either, one nobody ever learns.
            os_profile["adminPassword"] = options.admin_password or _random_password()
            if plan.image.os != "windows":
                os_profile["linuxConfiguration"] = {"disablePasswordAuthentication": False}
        properties: dict[str, Any] = {
            "hardwareProfile": {"vmSize": plan.size.name},
            "storageProfile": {"imageReference": reference, "osDisk": os_disk},
            "osProfile": os_profile,
            "networkProfile": {"networkInterfaces": [{"id": nic_id,
                                                      "properties": {"primary": True}}]},
            # Managed boot diagnostics: what console_output() reads.
            "diagnosticsProfile": {"bootDiagnostics": {"enabled": True}},
        }
        user_data = spec.user_data_bytes
        if user_data:
            encoded = base64.b64encode(user_data).decode("ascii")
            # customData is what cloud-init (and Windows) reads at first boot; ARM never returns
            # it, so the same bytes also go in userData, which `$expand=userData` reads back.
            os_profile["customData"] = encoded
            properties["userData"] = encoded
        if spec.spot:
            properties["priority"] = "Spot"
            properties["evictionPolicy"] = options.spot_eviction_policy
            properties["billingProfile"] = {"maxPrice": options.spot_max_price}
        body: dict[str, Any] = {"location": self._ctx.region, "tags": dict(tags),
                                "properties": properties}
        if prepared.zone is not None:
            body["zones"] = [prepared.zone]
        return body

    def _tag_os_disk(self, vm: Any, tags: Mapping[str, str]) -> None:
        """ARM creates the OS disk without tags: give it the launch's."""
        disk = getattr(getattr(vm, "storage_profile", None), "os_disk", None)
        disk_id = getattr(getattr(disk, "managed_disk", None), "id", None)
        if not disk_id:
            return
        group, name = disk_id.strip("/").split("/")[3], convert.name_of(disk_id)
        disks = self._ctx.compute.disks
        found = disks.get(group, name)
        found["tags"] = dict(tags)
        # A PUT of the disk as read (the SDK leaves out read-only fields) updates its tags.
        self._ctx.wait(disks.begin_create_or_update(group, name, found),
                       what=f"tagging OS disk {name}", resource=str(disk_id))

    def _info_after_launch(self, vm: Any, nic: Any) -> VMInfo:
        view = self._ctx.compute.virtual_machines.instance_view(
            self._ctx.resource_group, str(vm.name))
        private, public = network.addresses(self._ctx, nic)
        return convert.vm_info(vm, view.statuses, Addresses(private, public))

    def _delete_vm(self, group: str, name: str, launch_id: str | None,
                   remaining: Callable[[], float] | None = None) -> None:
        """Delete VM ``name`` and wait (at most ``vm_timeout``); then its OS disk (at most
        ``operation_timeout``), if ARM kept it and it carries ``launch_id`` (a disk of that
        name that is not the launch's is left alone). ``remaining()``, when given, caps both
        waits (a shared deadline)."""
        ctx = self._ctx

        def limit(default: float) -> float:
            return default if remaining is None else min(default, remaining())

        ignore_missing(lambda: ctx.wait(
            ctx.compute.virtual_machines.begin_delete(group, name), what=f"deleting VM {name}",
            resource=ctx.resource_id(VM_KIND, name, group), timeout=limit(ctx.vm_timeout)))
        if launch_id is None:
            return
        disk = ignore_missing(lambda: ctx.compute.disks.get(group, os_disk_name(name)))
        if (disk is not None and not getattr(disk, "managed_by", None)
                and convert.tags_of(disk).get(LAUNCH_TAG) == launch_id):
            disk_name = str(disk.name)
            ignore_missing(lambda: ctx.wait(
                ctx.compute.disks.begin_delete(group, disk_name),
                what=f"deleting OS disk {disk_name}",
                resource=ctx.resource_id(DISK_KIND, disk_name, group),
                timeout=limit(ctx.operation_timeout)))

    # -- reading -----------------------------------------------------------------------------

    def _ref(self, vm_id: str) -> ArmId:
        return parse_id(vm_id, VM_KIND, subscription=self._ctx.subscription_id, what="VM")

    def get_vm(self, vm_id: str) -> VMInfo:
        ref = self._ref(vm_id)
        vm = self._ctx.compute.virtual_machines.get(ref.group, ref.name, expand="instanceView")
        view = getattr(vm, "instance_view", None)
        return convert.vm_info(vm, getattr(view, "statuses", None), self._addresses(vm))

    def _primary_nic(self, vm: Any) -> Any | None:
        refs = list(getattr(getattr(vm, "network_profile", None), "network_interfaces", None)
                    or [])
        if not refs:
            return None
        primary = next((r for r in refs if getattr(r, "primary", False)), refs[0])
        parts = str(primary.id).strip("/").split("/")
        return ignore_missing(lambda: self._ctx.network.network_interfaces.get(parts[3],
                                                                               parts[-1]))

    def _addresses(self, vm: Any) -> Addresses:
        nic = self._primary_nic(vm)
        if nic is None:
            return Addresses()
        private, public = network.addresses(self._ctx, nic)
        return Addresses(private, public)

    def list_vms(
        self,
        *,
        tags: Mapping[str, str],
        states: frozenset[VMState] | None,
        page_token: str | None,
    ) -> Page[VMInfo]:
        """One ARM page of the resource group's VMs in the driver's location that carry
        ``tags``; each match costs an instance-view read (ARM lists VMs without their power
        state) and a NIC read (for its IPs). A missing resource group has no VMs."""
        ctx = self._ctx
        # by_page returns azure-core's PageIterator, which carries the next link.
        pages: Any = ctx.compute.virtual_machines.list(ctx.resource_group).by_page(
            continuation_token=page_token)
        try:
            page = list(next(pages))
        except StopIteration:
            return Page([])
        except Exception as exc:
            if is_code(exc, "ResourceGroupNotFound"):
                return Page([])
            raise
        items: list[VMInfo] = []
        for vm in page:
            if (vm.location or "").replace(" ", "").lower() != ctx.region:
                continue
            if not convert.has_tags(convert.user_tags(convert.tags_of(vm)), tags):
                continue
            view = ignore_missing(partial(ctx.compute.virtual_machines.instance_view,
                                          ctx.resource_group, str(vm.name)))
            if view is None:  # deleted since the list was read
                continue
            state = convert.vm_state(view.statuses)
            if states is not None and state not in states:
                continue
            items.append(convert.vm_info(vm, view.statuses, self._addresses(vm)))
        token = pages.continuation_token
        return Page(items, str(token) if token else None)

    # -- actions -----------------------------------------------------------------------------

    def start_vm(self, vm_id: str) -> None:
        ref = self._ref(vm_id)
        self._ctx.compute.virtual_machines.begin_start(ref.group, ref.name, polling=False)

    def stop_vm(self, vm_id: str) -> None:
        """Deallocate the VM (returns once ARM accepted it). Deallocated, it is no longer billed
        for its cores; only powered off (Azure's ``powerOff``) it would be."""
        ref = self._ref(vm_id)
        self._ctx.compute.virtual_machines.begin_deallocate(ref.group, ref.name, polling=False)

    def reboot_vm(self, vm_id: str) -> None:
        ref = self._ref(vm_id)
        self._ctx.compute.virtual_machines.begin_restart(ref.group, ref.name, polling=False)

    def terminate_vm(self, vm_id: str, *, timeout: float | None = None) -> None:
        """Delete the VM (its OS disk goes with it), wait, then delete the NIC, public IP and
        NSG ``launch`` made for it — only those proven its own (see
        :func:`network.plumbing_of`), and the NSG only once no other NIC uses it.

        Resumable: when the VM is already gone (an earlier call timed out, failed or was
        interrupted), the leftover plumbing named after it is cleaned up (also when only the
        public IP and NSG were left) and ``NOT_FOUND`` is raised (the portable layer treats a
        VM that is gone as terminated).
        """
        ctx = self._ctx
        ref = self._ref(vm_id)
        remaining = ctx.deadline(ctx.vm_timeout if timeout is None else timeout)
        vm = ignore_missing(lambda: ctx.compute.virtual_machines.get(ref.group, ref.name))
        if vm is None:
            leftover = network.plumbing_of(ctx, ref.group, ref.name, None, None)
            network.delete_plumbing(ctx, leftover, remaining)
            raise not_found("VM", vm_id)
        launch_id = convert.tags_of(vm).get(LAUNCH_TAG)
        plumbing = (network.plumbing_of(ctx, ref.group, ref.name, launch_id, str(vm.id))
                    if launch_id else None)
        poller = ctx.compute.virtual_machines.begin_delete(ref.group, ref.name)
        ctx.wait(poller, timeout=remaining(), what=f"deleting VM {ref.name}", resource=vm_id)
        if launch_id:
            self._delete_vm(ref.group, ref.name, launch_id, remaining)
        if plumbing is not None:
            network.delete_plumbing(ctx, plumbing, remaining)

    def set_vm_tags(self, vm_id: str, tags: Mapping[str, str]) -> None:
        problem = tag_problem(tags)
        if problem is not None:
            raise InvalidRequest(problem, field="tags")
        ref = self._ref(vm_id)
        vm = self._ctx.compute.virtual_machines.get(ref.group, ref.name)
        merged = convert.tags_of(vm)
        folded = {key.lower(): key for key in merged}
        for key, value in tags.items():
            merged.pop(folded.get(key.lower(), key), None)
            merged[key] = value
        if len(merged) > MAX_TAGS:
            raise InvalidRequest(f"the VM would have {len(merged)} tags; Azure allows {MAX_TAGS}",
                                 field="tags")
        vm["tags"] = merged
        # The VM as read, PUT back with the new tags (the SDK leaves out read-only fields).
        poller = self._ctx.compute.virtual_machines.begin_create_or_update(ref.group, ref.name, vm)
        self._ctx.wait(poller, what=f"updating the tags of VM {ref.name}", resource=vm_id,
                       timeout=self._ctx.vm_timeout)

    def user_data(self, vm_id: str) -> bytes | None:
        """The user data, read back from the VM's ``userData`` (``$expand=userData``)."""
        ref = self._ref(vm_id)
        vm = self._ctx.compute.virtual_machines.get(ref.group, ref.name, expand="userData")
        encoded = getattr(vm, "user_data", None)
        return base64.b64decode(encoded) if encoded else None

    def console_output(self, vm_id: str) -> str:
        """The serial log of boot diagnostics (see :mod:`.console`)."""
        ref = self._ref(vm_id)
        return console.console_output(self._ctx.compute.virtual_machines, ref.group, ref.name,
                                      vm_id)

    def inbound_rules(self, vm_id: str) -> list[InboundRule]:
        """The rules of the NSG on the VM's primary NIC (else on its subnet). A NIC with no NSG
        on either lets everything in: one rule for all protocols and ports."""
        ref = self._ref(vm_id)
        vm = self._ctx.compute.virtual_machines.get(ref.group, ref.name)
        nic = self._primary_nic(vm)
        nsg_id = getattr(getattr(nic, "network_security_group", None), "id", None)
        if nsg_id is None and nic is not None:
            nsg_id = self._subnet_nsg(nic)
        if nsg_id is None:
            return [InboundRule(protocol="all", port_from=0, port_to=65535, source="0.0.0.0/0")]
        parts = str(nsg_id).strip("/").split("/")
        nsg = self._ctx.network.network_security_groups.get(parts[3], parts[-1])
        return network.inbound_rules(nsg)

    def _subnet_nsg(self, nic: Any) -> str | None:
        for config in nic.ip_configurations or []:
            subnet_id = getattr(getattr(config, "subnet", None), "id", None)
            if not subnet_id:
                continue
            parts = str(subnet_id).strip("/").split("/")
            subnet = self._ctx.network.subnets.get(parts[3], parts[7], parts[9])
            found = getattr(getattr(subnet, "network_security_group", None), "id", None)
            if found:
                return str(found)
        return None


def _random_password() -> str:
    """A password that meets Azure's rules and that nobody learns (it is never stored)."""
    return secrets.token_urlsafe(24) + "aA1!"

