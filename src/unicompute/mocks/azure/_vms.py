"""Microsoft.Compute virtual machines: create/update by PUT, get (``$expand=instanceView``),
``instanceView``, lists, power actions and delete.

A PUT is validated completely (size, image, NICs, disks, OS profile) before anything is
created, so a rejected VM leaves nothing behind. Creating makes the OS disk (and ``Empty`` data
disks) as managed disks in the VM's group and claims its NICs. ``osProfile.adminPassword``,
``osProfile.customData`` and ``userData`` are kept but never returned, as ARM does (``userData``
only with ``$expand=userData``). ``identity`` is kept as ARM keeps it (see
:meth:`VmHandlers.identity_of`). Power state (``state["power"]``) moves through the transitional
states while an operation runs (stepped mode) and lands on the final one when it is done.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
import uuid
from typing import Any, ClassVar

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import HttpError, json_response
from . import _errors as errors
from ._base import JSON, Resource
from ._catalog import ImageSku, Size, find_image, resolve_version, sizes
from ._catalog_api import CatalogHandlers
from ._disks import COMPUTE, DISK, VM, check_size, sku_of
from ._filters import vm_filter
from ._groups import RG, SUB
from ._ids import TENANT_ID
from ._keys import invalid_key, valid_public_key
from ._network_common import NIC, PIP

VMS = f"{RG}/providers/microsoft.compute/virtualmachines"
#: Decoded custom data may be at most 65,535 bytes: 87,380 base64 characters.
MAX_CUSTOM_DATA_CHARS = 87380
_DISALLOWED_ADMINS = frozenset({
    "administrator", "admin", "user", "user1", "test", "user2", "test1", "user3", "admin1", "1",
    "123", "a", "actuser", "adm", "admin2", "aspnet", "backup", "console", "david", "guest",
    "john", "owner", "root", "server", "sql", "support", "support_388945a0", "sys", "test2",
    "test3", "user4", "user5"})
_WINDOWS_NAME_BAD = re.compile(r"[`~!@#$%^&*()=+_\[\]{}\\|;:.'\",<>/?]")
#: What a Linux computer name may not contain (ARM's list; '.' is allowed) and whitespace.
_LINUX_NAME_BAD = re.compile(r"[`~!@#$%^&*()=+_\[\]{}\\|;:'\",<>/?\s]")
_POWER_DISPLAY = {"starting": "VM starting", "running": "VM running",
                  "stopping": "VM stopping", "stopped": "VM stopped",
                  "deallocating": "VM deallocating", "deallocated": "VM deallocated"}
#: Optional VM properties stored and returned as given.
_PASSTHROUGH = ("diagnosticsProfile", "priority", "evictionPolicy", "billingProfile",
                "securityProfile", "additionalCapabilities", "licenseType",
                "availabilitySet", "proximityPlacementGroup")


#: ``identity.type`` values (compared without case or blanks) and how ARM spells them.
_IDENTITY_TYPES = {"systemassigned": "SystemAssigned", "userassigned": "UserAssigned",
                   "systemassigned,userassigned": "SystemAssigned, UserAssigned",
                   "none": "None"}
_USER_IDENTITY_ID = re.compile(
    r"/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\.ManagedIdentity/"
    r"userAssignedIdentities/[^/]+", re.IGNORECASE)
#: Namespace of the ids the fake derives for user-assigned identities and system clients.
_IDENTITY_NAMESPACE = uuid.UUID("6f1c2a3e-0b7d-4e55-9a55-00000000fa4e")


def user_identity_ids(resource_id: str) -> JSON:
    """``{"principalId", "clientId"}`` of the user-assigned identity ``resource_id``: derived
    from its (case-insensitive) id, so every VM it is assigned to shows the same ids, as one
    identity resource has on Azure."""
    key = resource_id.casefold()
    return {"principalId": str(uuid.uuid5(_IDENTITY_NAMESPACE, "principal:" + key)),
            "clientId": str(uuid.uuid5(_IDENTITY_NAMESPACE, "client:" + key))}


def system_client_id(principal_id: str) -> str:
    """The client (application) id of the system-assigned identity ``principal_id``: ARM does
    not show it; IMDS reports it in tokens."""
    return str(uuid.uuid5(_IDENTITY_NAMESPACE, "system-client:" + principal_id.casefold()))


def _missing(name: str) -> HttpError:
    return errors.invalid_parameter(name, f"Required parameter '{name}' is missing (null).")


class VmHandlers(CatalogHandlers):
    """Endpoint (and fault) names: ``vm_put``, ``vm_get``, ``vm_delete``, ``vm_list``,
    ``vm_list_all``, ``vm_list_location``, ``vm_instance_view``, ``vm_sizes``, ``vm_start``,
    ``vm_power_off``, ``vm_deallocate``, ``vm_restart``."""

    rules: ClassVar[list[Rule]] = [
        Rule(VMS, methods=["GET"], endpoint="vm_list"),
        Rule(f"{SUB}/providers/microsoft.compute/virtualmachines", methods=["GET"],
             endpoint="vm_list_all"),
        Rule(f"{SUB}/providers/microsoft.compute/locations/<location>/virtualmachines",
             methods=["GET"], endpoint="vm_list_location"),
        Rule(f"{VMS}/<name>", methods=["PUT"], endpoint="vm_put"),
        Rule(f"{VMS}/<name>", methods=["GET"], endpoint="vm_get"),
        Rule(f"{VMS}/<name>", methods=["DELETE"], endpoint="vm_delete"),
        Rule(f"{VMS}/<name>/instanceview", methods=["GET"], endpoint="vm_instance_view"),
        Rule(f"{VMS}/<name>/vmsizes", methods=["GET"], endpoint="vm_sizes"),
        Rule(f"{VMS}/<name>/start", methods=["POST"], endpoint="vm_start"),
        Rule(f"{VMS}/<name>/poweroff", methods=["POST"], endpoint="vm_power_off"),
        Rule(f"{VMS}/<name>/deallocate", methods=["POST"], endpoint="vm_deallocate"),
        Rule(f"{VMS}/<name>/restart", methods=["POST"], endpoint="vm_restart"),
    ]

    # -- rendering ---------------------------------------------------------------------------
    def instance_view(self, vm: Resource) -> JSON:
        state = str(vm.props["provisioningState"]).lower()
        power = vm.state["power"]
        provisioning: JSON = {"code": f"ProvisioningState/{state}", "level": "Info",
                              "displayStatus": ("Provisioning succeeded" if state == "succeeded"
                                                else state.capitalize())}
        if state == "succeeded":
            provisioning["time"] = vm.state["changed"]
        view: JSON = {"computerName": vm.props.get("osProfile", {}).get("computerName"),
                      "hyperVGeneration": vm.state["generation"],
                      "disks": [{"name": name, "statuses": [
                          {"code": "ProvisioningState/succeeded", "level": "Info",
                           "displayStatus": "Provisioning succeeded",
                           "time": vm.state["changed"]}]} for name in self._disk_names(vm)],
                      "statuses": [provisioning, {"code": f"PowerState/{power}", "level": "Info",
                                                  "displayStatus": _POWER_DISPLAY[power]}]}
        if view["computerName"] is None or power == "deallocated":
            view.pop("computerName")
        return view

    @staticmethod
    def _disk_names(vm: Resource) -> list[str]:
        storage = vm.props["storageProfile"]
        names = [storage["osDisk"]["name"]]
        names.extend(d["name"] for d in storage.get("dataDisks", []))
        return names

    def render_vm(self, vm: Resource, expand: str = "") -> JSON:
        if not expand:
            return vm.body
        body = dict(vm.body)
        props = dict(vm.props)
        for part in expand.lower().split(","):
            if part.strip() == "instanceview":
                props["instanceView"] = self.instance_view(vm)
            elif part.strip() == "userdata" and "userData" in vm.secrets:
                props["userData"] = vm.secrets["userData"]
        body["properties"] = props
        return body

    # -- create / update -----------------------------------------------------------------------
    def vm_put(self, request: Request, subscription: str, group: str, name: str) -> Response:
        rg = self.group(subscription, group)
        body = self.json_body(request)
        existing = self.stores[VM].get(self.rid(subscription, rg, VM, name))
        self.check_preconditions(request, existing)
        vm = self.put_vm(subscription, rg, name, body, existing)
        created = existing is None
        vm.props["provisioningState"] = "Creating" if created else "Updating"

        def finish() -> None:
            vm.props["provisioningState"] = "Succeeded"
            vm.state["changed"] = self.clock.iso()
            if vm.state["power"] == "starting":
                vm.state["power"] = "running"
                self.dynamic_public_ips(vm, held=True)

        op = self.start_op(finish)
        return self.put_response(request, op, created, COMPUTE, vm.body["location"],
                                 lambda: vm.body)

    def put_vm(self, subscription: str, rg: Resource, name: str, body: JSON,
               existing: Resource | None) -> Resource:
        """Validate ``body`` fully, then create or update the VM and what it owns; returns the
        stored VM (power ``starting`` if new). Raises before changing anything."""
        rid = existing.id if existing else self.rid(subscription, rg, VM, name)
        location = self.location_of(body, VM)
        self.check_location(existing, location)
        tags = self.tags_of(body)
        props = body.get("properties")
        if not isinstance(props, dict):
            raise _missing("properties")
        size = self._size(props, location)
        nics = self._nics(rid, props, location)
        if existing is None:
            plan = self._plan_storage(rid, name, props, location, size)
            os_profile, secrets = self._os_profile(name, props, plan["os_type"])
        else:
            plan = self._plan_update_storage(existing, props, location, size)
            os_profile, secrets = self._os_profile_update(existing, props)
        identity = self.identity_of(body, existing)
        # -- everything is valid: commit ----------------------------------------------------------
        vm = existing or Resource(id=rid, name=name, group=rg.name, body={}, state={
            "power": "starting", "vm_id": self.ids.uuid(), "created": self.clock.iso(),
            "changed": self.clock.iso(), "etag": 0, "nics": [], "disks": []})
        vm.state["generation"] = plan["generation"]
        vm.secrets.update(secrets)
        storage = self._commit_storage(subscription, rg, vm, plan, location)
        self._commit_nics(vm, nics)
        vm.state["etag"] += 1
        out: JSON = {"name": name if existing is None else vm.name, "id": rid, "type": VM,
                     "location": location}
        if tags:
            out["tags"] = tags
        if isinstance(body.get("zones"), list) and body["zones"]:
            out["zones"] = [str(z) for z in body["zones"]]
        elif existing is not None and "zones" in existing.body:
            out["zones"] = existing.body["zones"]
        if identity is not None:
            out["identity"] = identity
        out["etag"] = f'"{vm.state["etag"]}"'
        vprops: JSON = {"hardwareProfile": {"vmSize": props["hardwareProfile"]["vmSize"]},
                        "provisioningState": "Succeeded", "vmId": vm.state["vm_id"],
                        "storageProfile": storage}
        if os_profile is not None:
            vprops["osProfile"] = os_profile
        vprops["networkProfile"] = {"networkInterfaces": [
            {"id": nic.id, "properties": ref_props} for nic, ref_props in nics]}
        for key in _PASSTHROUGH:
            if props.get(key) is not None:
                vprops[key] = copy.deepcopy(props[key])
        vprops["timeCreated"] = vm.state["created"]
        out["properties"] = vprops
        vm.body = out
        self.stores[VM].put(rid, vm)
        return vm

    def identity_of(self, body: JSON, existing: Resource | None) -> JSON | None:
        """The ``identity`` to store for a PUT of ``body`` (``None``: the VM has none).

        ``type`` is one of ``SystemAssigned``, ``UserAssigned``, ``SystemAssigned,
        UserAssigned``, ``None`` (any case). System-assigned gets a ``principalId`` (kept
        across updates while it stays enabled) and the fake's ``tenantId``; each
        ``userAssignedIdentities`` key must be a ``Microsoft.ManagedIdentity/
        userAssignedIdentities`` id, its value ``{}`` or the read-only ids echoed back
        (``null`` leaves it out), and gets ``principalId``/``clientId``. The fake has no
        Microsoft.ManagedIdentity, so a well-formed id is accepted without the identity
        existing (ARM answers 404 for a missing one). A PUT without ``identity`` keeps the
        VM's current one, as ARM does; ``None`` removes it."""
        raw = body.get("identity")
        previous: JSON = (existing.body.get("identity") or {}) if existing else {}
        if raw is None:
            return copy.deepcopy(previous) or None
        if not isinstance(raw, dict):
            raise errors.invalid_parameter("identity", "The 'identity' must be an object.")
        given = raw.get("type")
        kind = _IDENTITY_TYPES.get(re.sub(r"\s", "", given).lower()) if isinstance(
            given, str) else None
        if kind is None:
            raise errors.invalid_parameter(
                "identity.type", f"The value '{given}' of parameter 'identity.type' is not "
                "valid. Supported values: SystemAssigned, UserAssigned, 'SystemAssigned, "
                "UserAssigned', None.")
        users = self._user_identities(raw.get("userAssignedIdentities"), kind)
        if kind == "None":
            return None
        out: JSON = {"type": kind}
        if "SystemAssigned" in kind:
            out["principalId"] = previous.get("principalId") or self.ids.uuid()
            out["tenantId"] = TENANT_ID
        if users:
            out["userAssignedIdentities"] = users
        return out

    @staticmethod
    def _user_identities(raw: Any, kind: str) -> JSON:
        target = "identity.userAssignedIdentities"
        if raw is not None and not isinstance(raw, dict):
            raise errors.invalid_parameter(target, "'userAssignedIdentities' must be an object "
                                           "keyed by user-assigned identity resource ids.")
        if "UserAssigned" not in kind:
            if raw:
                raise errors.invalid_parameter(
                    target, f"The user-assigned identities cannot be specified when the "
                    f"identity type is '{kind}'.")
            return {}
        users: JSON = {}
        for rid, value in (raw or {}).items():
            if not _USER_IDENTITY_ID.fullmatch(str(rid)):
                raise errors.bad_request(
                    "LinkedInvalidPropertyId", f"Property id '{rid}' at path '{target}' is "
                    "invalid. Expect a fully qualified resource Id of a "
                    "'Microsoft.ManagedIdentity/userAssignedIdentities' resource.", target)
            if value is None:
                continue
            if not isinstance(value, dict) or set(value) - {"principalId", "clientId"}:
                raise errors.bad_request(
                    "InvalidIdentityValues", f"Invalid value for the identities '{rid}'. The "
                    "'UserAssignedIdentities' property keys should only be empty json objects, "
                    "null or the resource existing property.", target)
            users[str(rid)] = user_identity_ids(str(rid))
        if not users:
            raise errors.invalid_parameter(
                target, f"The identity type '{kind}' needs at least one user-assigned "
                "identity in 'userAssignedIdentities'.")
        return users

    def _size(self, props: JSON, location: str) -> Size:
        hardware = props.get("hardwareProfile")
        value = hardware.get("vmSize") if isinstance(hardware, dict) else None
        if not isinstance(value, str) or not value:
            raise _missing("vmSize")
        size = sizes().get(value.lower())
        if size is None:
            some = ", ".join(list(sizes())[:5])
            raise errors.invalid_parameter(
                "vmSize", f"The value {value} provided for the VM size is not valid. The valid "
                f"sizes in the current region are: {some}, ... (see "
                f"locations/{location}/vmSizes).")
        return size

    def _image(self, ref: Any, size: Size) -> tuple[ImageSku, str, JSON]:
        if not isinstance(ref, dict):
            raise _missing("imageReference")
        fields = [ref.get(k) for k in ("publisher", "offer", "sku", "version")]
        if not all(isinstance(f, str) and f for f in fields):
            raise errors.invalid_parameter(
                "imageReference", "The platform image reference needs publisher, offer, sku "
                "and version.")
        publisher, offer, sku, version = (str(f) for f in fields)
        image = find_image(publisher, offer, sku)
        exact = resolve_version(image, version) if image else None
        if image is None or exact is None:
            raise HttpError(
                404, "PlatformImageNotFound",
                f"The platform image '{publisher}:{offer}:{sku}:{version}' is not available. "
                "Verify that all fields in the storage profile are correct. For more details "
                "about storage profile information, please refer to https://aka.ms/storageprofile",
                target="imageReference")
        if image.architecture != size.architecture:
            raise errors.invalid_parameter(
                "vmSize", f"The VM size '{size.name}' is not supported for creation of VMs and "
                f"Virtual Machine Scale Set with '{image.architecture}' CPU architecture.")
        echo = {"publisher": publisher, "offer": offer, "sku": sku, "version": version,
                "exactVersion": exact}
        return image, exact, echo

    def _plan_storage(self, vm_id: str, name: str, props: JSON, location: str,
                      size: Size) -> JSON:
        storage = props.get("storageProfile")
        if not isinstance(storage, dict):
            raise _missing("storageProfile")
        os_disk = storage.get("osDisk") or {}
        option = str(os_disk.get("createOption") or "FromImage")
        plan: JSON = {"data": self._plan_data_disks(vm_id, storage, location, size, [])}
        managed = os_disk.get("managedDisk") or {}
        if option.lower() == "attach":
            disk_id = self.ref_id(managed, "osDisk.managedDisk")
            disk = self._free_disk(disk_id, vm_id, location)
            if "osType" not in disk.props:
                raise errors.invalid_parameter(
                    "osDisk.osType", "The osType of an attached OS disk must be set.")
            plan.update(os_attach=disk, os_type=disk.props["osType"],
                        generation=disk.props.get("hyperVGeneration", "V1"), image_echo=None)
            return plan
        if option.lower() != "fromimage":
            raise errors.invalid_parameter(
                "osDisk.createOption", f"The value '{option}' of parameter "
                "'osDisk.createOption' is not valid. Supported values: FromImage, Attach.")
        image, exact, echo = self._image(storage.get("imageReference"), size)
        disk_size = os_disk.get("diskSizeGB")
        if disk_size is not None:
            disk_size = check_size(disk_size, "osDisk.diskSizeGB")
            if disk_size < image.os_disk_gb:
                raise errors.invalid_parameter(
                    "osDisk.diskSizeGB", f"The specified disk size {disk_size} GB is smaller "
                    "than the size of the corresponding disk in the VM image: "
                    f"{image.os_disk_gb} GB. This is not allowed. Please choose equal or greater "
                    "size or do not specify an explicit size.")
        disk_name = os_disk.get("name") or f"{name}_OsDisk_1_{self.ids.hex(32)}"
        if self.lookup(DISK, self._sibling(vm_id, DISK, disk_name)) is not None:
            raise HttpError(409, "ConflictingUserInput",
                                   f"A disk with name {disk_name} already exists in Resource "
                                   "Group and is attached to VM or is unattached. 'Name' is an "
                                   "optional property for a disk and a unique name will be "
                                   "generated if not provided.", target="osDisk.name")
        sku_name, tier = sku_of(managed.get("storageAccountType"), _default_sku(size),
                                "osDisk.managedDisk.storageAccountType")
        plan.update(os_attach=None, image=image, exact=exact, image_echo=echo,
                    os_type=image.os_type, generation=image.generation,
                    os_name=disk_name, os_size=disk_size or image.os_disk_gb,
                    os_sku=(sku_name, tier), os_caching=os_disk.get("caching") or "ReadWrite",
                    os_delete=os_disk.get("deleteOption") or "Detach")
        return plan

    def _plan_update_storage(self, vm: Resource, props: JSON, location: str,
                             size: Size) -> JSON:
        storage = props.get("storageProfile") or {}
        current = vm.props["storageProfile"]
        ref = storage.get("imageReference")
        old_ref = current.get("imageReference")
        if ref is not None and old_ref is not None and any(
                str(ref.get(k, "")).lower() != str(old_ref.get(k, "")).lower()
                for k in ("publisher", "offer", "sku")):
            raise errors.property_change("imageReference")
        kept = [d for d in current.get("dataDisks", [])]
        wanted = storage.get("dataDisks", kept) if "dataDisks" in storage else kept
        return {"data": self._plan_data_disks(vm.id, {"dataDisks": wanted}, location, size,
                                              kept),
                "generation": vm.state["generation"], "update": True}

    def _plan_data_disks(self, vm_id: str, storage: JSON, location: str, size: Size,
                         current: list[JSON]) -> list[JSON]:
        raw = storage.get("dataDisks") or []
        if not isinstance(raw, list):
            raise errors.invalid_parameter("dataDisks", "dataDisks must be a list.")
        if len(raw) > size.max_data_disks:
            raise errors.not_allowed(
                "The maximum number of data disks allowed to be attached to a VM of this size "
                f"is {size.max_data_disks}.", target="dataDisks")
        held = {str(d["managedDisk"]["id"]).casefold(): d for d in current}
        luns: set[int] = set()
        plans: list[JSON] = []
        for item in raw:
            lun = item.get("lun") if isinstance(item, dict) else None
            if not isinstance(lun, int) or isinstance(lun, bool) or not 0 <= lun <= 63:
                raise errors.invalid_parameter("dataDisks.lun", f"The value {lun} of parameter "
                                               "'dataDisks.lun' is not valid (0-63).")
            if lun in luns:
                raise errors.invalid_parameter(
                    "dataDisks.lun", f"Data disks have duplicate LUN {lun}; each data disk "
                    "needs its own LUN.")
            luns.add(lun)
            option = str(item.get("createOption") or "")
            managed = item.get("managedDisk") or {}
            if option.lower() == "attach":
                disk_id = self.ref_id(managed, "dataDisks.managedDisk")
                if disk_id.casefold() in held:
                    plans.append({"lun": lun, "keep": held[disk_id.casefold()]})
                    continue
                disk = self._free_disk(disk_id, vm_id, location)
                plans.append({"lun": lun, "attach": disk, "item": item})
            elif option.lower() == "empty":
                disk_size = check_size(item.get("diskSizeGB"), "dataDisks.diskSizeGB")
                sku = sku_of(managed.get("storageAccountType"), _default_sku(size),
                             "dataDisks.managedDisk.storageAccountType")
                plans.append({"lun": lun, "empty": disk_size, "sku": sku, "item": item})
            else:
                raise errors.invalid_parameter(
                    "dataDisks.createOption", f"The value '{option}' of parameter "
                    "'dataDisks.createOption' is not valid. Supported values: Empty, Attach.")
        return plans

    def _free_disk(self, disk_id: str, vm_id: str, location: str) -> Resource:
        disk = self.lookup(DISK, disk_id)
        if disk is None:
            raise errors.reference_not_found(disk_id)
        holder = disk.state.get("vm")
        if holder is not None and holder.casefold() != vm_id.casefold():
            raise errors.not_allowed(f"Disk {disk.name} is already attached to VM {holder}.")
        if disk.body["location"] != location:
            raise errors.invalid_parameter(
                "managedDisk.id", f"Disk {disk.id} is in location '{disk.body['location']}'; "
                f"it cannot be attached to a VM in '{location}'.")
        return disk

    def _nics(self, vm_id: str, props: JSON, location: str) -> list[tuple[Resource, JSON]]:
        profile = props.get("networkProfile")
        refs = profile.get("networkInterfaces") if isinstance(profile, dict) else None
        if not isinstance(refs, list) or not refs:
            raise errors.invalid_parameter(
                "networkProfile.networkInterfaces",
                "Virtual machine must have at least one network interface.")
        out: list[tuple[Resource, JSON]] = []
        primaries = 0
        for ref in refs:
            nic_id = self.ref_id(ref, "networkProfile.networkInterfaces")
            nic = self.lookup(NIC, nic_id)
            if nic is None:
                raise errors.reference_not_found(nic_id)
            holder = nic.state.get("vm")
            if holder is not None and holder.casefold() != vm_id.casefold():
                raise errors.bad_request("NicInUse", f"Network Interface {nic.id} is used by "
                                         f"existing resource {holder}.",
                                         target="networkProfile.networkInterfaces")
            if nic.body["location"] != location:
                raise errors.invalid_parameter(
                    "networkProfile.networkInterfaces",
                    f"Network interface {nic.id} is in location '{nic.body['location']}', not "
                    f"in the VM's location '{location}'.")
            ref_props = dict(ref.get("properties") or {})
            primaries += bool(ref_props.get("primary"))
            out.append((nic, {k: ref_props[k] for k in ("primary", "deleteOption")
                              if k in ref_props}))
        if len(out) > 1 and primaries != 1:
            raise errors.invalid_parameter(
                "networkProfile.networkInterfaces",
                "Virtual machine has multiple network interfaces; exactly one must be primary.")
        return out

    def _os_profile(self, name: str, props: JSON, os_type: str | None,
                    ) -> tuple[JSON | None, JSON]:
        secrets: JSON = {}
        if "userData" in props:
            secrets["userData"] = _base64(props["userData"], "userData", 87380)
        profile = props.get("osProfile")
        if os_type is None or (profile is None and self._attaches_os(props)):
            return None, secrets
        if not isinstance(profile, dict):
            raise _missing("osProfile")
        computer = profile.get("computerName") or name
        admin = profile.get("adminUsername")
        if not isinstance(admin, str) or not admin:
            raise _missing("adminUsername")
        if admin.lower() in _DISALLOWED_ADMINS:
            raise errors.invalid_parameter("adminUsername",
                                           "The Admin Username specified is not allowed.")
        password = profile.get("adminPassword")
        out: JSON = {"computerName": computer, "adminUsername": admin}
        if os_type == "Windows":
            if len(computer) > 15 or computer.isdigit() or _WINDOWS_NAME_BAD.search(computer):
                raise errors.invalid_parameter(
                    "computerName", "Windows computer name cannot be more than 15 characters "
                    "long, be entirely numeric, or contain the following characters: ` ~ ! @ # "
                    "$ % ^ & * ( ) = + _ [ ] { } \\ | ; : . ' \" , < > / ?.")
            if not password:
                raise _missing("adminPassword")
            win = profile.get("windowsConfiguration") or {}
            out["windowsConfiguration"] = {
                "provisionVMAgent": bool(win.get("provisionVMAgent", True)),
                "enableAutomaticUpdates": bool(win.get("enableAutomaticUpdates", True)),
                "patchSettings": {"patchMode": "AutomaticByOS", "assessmentMode": "ImageDefault"},
                "enableVMAgentPlatformUpdates": False}
        else:
            if len(computer) > 64 or _LINUX_NAME_BAD.search(computer):
                raise errors.invalid_parameter(
                    "computerName", "Linux host name cannot exceed 64 characters in length or "
                    "contain the following characters: ` ~ ! @ # $ % ^ & * ( ) = + _ [ ] { } \\ "
                    "| ; : ' \" , < > / ?.")
            linux = profile.get("linuxConfiguration") or {}
            no_password = bool(linux.get("disablePasswordAuthentication", False))
            keys = ((linux.get("ssh") or {}).get("publicKeys")) or []
            if no_password and not keys:
                raise errors.invalid_parameter(
                    "linuxConfiguration.ssh.publicKeys", "Authentication using either SSH or by "
                    "user name and password must be enabled in Linux profile.")
            if not no_password and not password:
                raise _missing("adminPassword")
            for key in keys:
                if not isinstance(key, dict) or not valid_public_key(key.get("keyData")):
                    raise invalid_key("linuxConfiguration.ssh.publicKeys.keyData")
            conf: JSON = {"disablePasswordAuthentication": no_password}
            if keys:
                conf["ssh"] = {"publicKeys": [{"path": k.get("path"), "keyData": k.get("keyData")}
                                              for k in keys]}
            conf.update(provisionVMAgent=bool(linux.get("provisionVMAgent", True)),
                        patchSettings={"patchMode": "ImageDefault",
                                       "assessmentMode": "ImageDefault"},
                        enableVMAgentPlatformUpdates=False)
            out["linuxConfiguration"] = conf
        if password:
            _check_password(password, os_type)
            secrets["adminPassword"] = password
        if profile.get("customData") is not None:
            secrets["customData"] = _base64(profile["customData"], "customData",
                                            MAX_CUSTOM_DATA_CHARS)
        out.update(secrets=[], allowExtensionOperations=True, requireGuestProvisionSignal=True)
        return out, secrets

    @staticmethod
    def _attaches_os(props: JSON) -> bool:
        os_disk = (props.get("storageProfile") or {}).get("osDisk") or {}
        return str(os_disk.get("createOption", "")).lower() == "attach"

    def _os_profile_update(self, vm: Resource, props: JSON) -> tuple[JSON | None, JSON]:
        current = vm.props.get("osProfile")
        profile = props.get("osProfile")
        secrets: JSON = {}
        if "userData" in props:
            secrets["userData"] = _base64(props["userData"], "userData", 87380)
        if not isinstance(profile, dict) or current is None:
            return current, secrets
        for key in ("computerName", "adminUsername"):
            if key in profile and profile[key] != current.get(key):
                raise errors.property_change(f"osProfile.{key}")
        if "customData" in profile and profile["customData"] != vm.secrets.get("customData"):
            raise errors.property_change("osProfile.customData")
        return current, secrets

    # -- committing --------------------------------------------------------------------------------
    @staticmethod
    def _sibling(vm_id: str, kind: str, name: str) -> str:
        group_part = vm_id[: vm_id.lower().index("/providers/")]
        return f"{group_part}/providers/{kind}/{name}"

    def _commit_storage(self, subscription: str, rg: Resource, vm: Resource, plan: JSON,
                        location: str) -> JSON:
        storage: JSON
        if plan.get("update"):
            storage = copy.deepcopy(vm.props["storageProfile"])
        else:
            storage = {}
            if plan["image_echo"] is not None:
                storage["imageReference"] = plan["image_echo"]
            if plan["os_attach"] is not None:
                disk = plan["os_attach"]
                storage["osDisk"] = {"osType": disk.props["osType"], "name": disk.name,
                                     "createOption": "Attach", "caching": "ReadWrite",
                                     "managedDisk": {"storageAccountType": disk.body["sku"]["name"],
                                                     "id": disk.id},
                                     "deleteOption": "Detach",
                                     "diskSizeGB": disk.props["diskSizeGB"]}
            else:
                image: ImageSku = plan["image"]
                disk_id = self._sibling(vm.id, DISK, plan["os_name"])
                disk = self.make_disk(
                    disk_id, plan["os_name"], rg, location, {}, plan["os_sku"], plan["os_size"],
                    {"createOption": "FromImage", "imageReference": {
                        "id": self.image_id(subscription, location, image, plan["exact"])}},
                    {"osType": image.os_type, "hyperVGeneration": image.generation,
                     "supportedCapabilities": {"architecture": image.architecture}})
                self.stores[DISK].put(disk.id, disk)
                storage["osDisk"] = {"osType": image.os_type, "name": disk.name,
                                     "createOption": "FromImage", "caching": plan["os_caching"],
                                     "managedDisk": {"storageAccountType": plan["os_sku"][0],
                                                     "id": disk.id},
                                     "deleteOption": plan["os_delete"],
                                     "diskSizeGB": plan["os_size"]}
            self._hold_disk(disk, vm)
        kept: list[JSON] = []
        keep_ids = set()
        for item in plan["data"]:
            if "keep" in item:
                kept.append(item["keep"])
                keep_ids.add(str(item["keep"]["managedDisk"]["id"]).casefold())
                continue
            raw = item["item"]
            if "attach" in item:
                disk = item["attach"]
            else:
                disk_name = raw.get("name") or f"{vm.name}_DataDisk_{item['lun']}"
                disk = self.make_disk(self._sibling(vm.id, DISK, disk_name), disk_name, rg,
                                      location, {}, item["sku"], item["empty"],
                                      {"createOption": "Empty"}, {})
                self.stores[DISK].put(disk.id, disk)
            self._hold_disk(disk, vm)
            keep_ids.add(disk.id.casefold())
            kept.append({"lun": item["lun"], "name": disk.name,
                         "createOption": "Attach" if "attach" in item else "Empty",
                         "caching": raw.get("caching") or "None",
                         "managedDisk": {"storageAccountType": disk.body["sku"]["name"],
                                         "id": disk.id},
                         "deleteOption": raw.get("deleteOption") or "Detach",
                         "diskSizeGB": disk.props["diskSizeGB"], "toBeDetached": False})
        for old in storage.get("dataDisks", []):
            disk_id = str(old["managedDisk"]["id"])
            if disk_id.casefold() not in keep_ids:
                disk = self.lookup(DISK, disk_id)
                if disk is not None:
                    self._release_disk(disk)
        storage["dataDisks"] = sorted(kept, key=lambda d: int(d["lun"]))
        storage.setdefault("diskControllerType", "SCSI")
        return storage

    def _hold_disk(self, disk: Resource, vm: Resource) -> None:
        disk.state["vm"] = vm.id
        disk.body["managedBy"] = vm.id
        disk.props["diskState"] = "Attached"

    def _release_disk(self, disk: Resource) -> None:
        disk.state.pop("vm", None)
        disk.body.pop("managedBy", None)
        disk.props["diskState"] = "Unattached"

    def _commit_nics(self, vm: Resource, nics: list[tuple[Resource, JSON]]) -> None:
        wanted = {nic.id.casefold() for nic, _ in nics}
        for nic_id in vm.state["nics"]:
            nic = self.lookup(NIC, nic_id)
            if nic is not None and nic.id.casefold() not in wanted:
                self.detach_nic(nic)
        for nic, _ in nics:
            self.attach_nic(nic, vm.id)
        vm.state["nics"] = [nic.id for nic, _ in nics]

    # -- reads ---------------------------------------------------------------------------------
    def vm_get(self, request: Request, subscription: str, group: str, name: str) -> Response:
        vm = self.find(VM, subscription, group, name)
        return json_response(self.render_vm(vm, request.args.get("$expand", "")))

    def vm_instance_view(self, request: Request, subscription: str, group: str,
                         name: str) -> Response:
        return json_response(self.instance_view(self.find(VM, subscription, group, name)))

    def vm_sizes(self, request: Request, subscription: str, group: str, name: str) -> Response:
        vm = self.find(VM, subscription, group, name)
        return self.sizes_list(request, subscription, vm.body["location"])

    def vm_list(self, request: Request, subscription: str, group: str) -> Response:
        """``$filter`` and ``$expand`` as ARM accepts them (see :mod:`._filters`)."""
        rg = self.group(subscription, group)
        expand = request.args.get("$expand", "")
        keep = vm_filter(request.args.get("$filter"), expand)
        in_group = self.in_group(rg)
        where = in_group if keep is None else (lambda vm: in_group(vm) and keep(vm))
        return self.page(request, self.stores[VM], where, lambda vm: self.render_vm(vm, expand))

    def vm_list_all(self, request: Request, subscription: str) -> Response:
        self.check_subscription(subscription)
        requested = request.args.get("$expand", "")
        keep = vm_filter(request.args.get("$filter"), requested)
        status_only = request.args.get("statusOnly", "").lower() == "true"
        expand = "instanceView" if status_only or requested else ""
        return self.page(request, self.stores[VM], keep, lambda vm: self.render_vm(vm, expand))

    def vm_list_location(self, request: Request, subscription: str,
                         location: str) -> Response:
        loc = self._location(subscription, location)
        return self.page(request, self.stores[VM], lambda vm: vm.body["location"] == loc,
                         self.render_vm)

    # -- power ---------------------------------------------------------------------------------
    def _power(self, request: Request, subscription: str, group: str, name: str, action: str,
               refused: tuple[str, ...], during: str, final: str) -> Response:
        vm = self.find(VM, subscription, group, name)
        power = vm.state["power"]
        if power in refused:
            reason = ("deallocated or marked to be deallocated" if "dealloc" in power
                      else f"{power}")
            raise errors.not_allowed(
                f"Operation '{action}' is not allowed on VM '{vm.name}' since the VM is "
                f"{reason}.")
        vm.state["power"] = during

        def finish() -> None:
            vm.state["power"] = final
            if final in ("running", "deallocated"):
                self.dynamic_public_ips(vm, held=final == "running")
            vm.state["changed"] = self.clock.iso()

        op = self.start_op(finish)
        return self.accepted(request, op, COMPUTE, vm.body["location"])

    def vm_start(self, request: Request, subscription: str, group: str, name: str) -> Response:
        return self._power(request, subscription, group, name, "start", (), "starting",
                           "running")

    def vm_power_off(self, request: Request, subscription: str, group: str,
                     name: str) -> Response:
        return self._power(request, subscription, group, name, "powerOff",
                           ("deallocated", "deallocating"), "stopping", "stopped")

    def vm_deallocate(self, request: Request, subscription: str, group: str,
                      name: str) -> Response:
        return self._power(request, subscription, group, name, "deallocate", (),
                           "deallocating", "deallocated")

    def vm_restart(self, request: Request, subscription: str, group: str,
                   name: str) -> Response:
        return self._power(request, subscription, group, name, "restart",
                           ("deallocated", "deallocating", "stopped", "stopping"), "starting",
                           "running")

    # -- delete --------------------------------------------------------------------------------
    def vm_delete(self, request: Request, subscription: str, group: str,
                  name: str) -> Response:
        rg = self.group(subscription, group)
        vm = self.stores[VM].get(self.rid(subscription, rg, VM, name))
        if vm is None:
            return Response(status=204)
        vm.props["provisioningState"] = "Deleting"
        op = self.start_op(lambda: self.drop(VM, vm))
        return self.accepted(request, op, COMPUTE, vm.body["location"])

    def drop(self, kind: str, res: Resource) -> None:
        if kind == VM:
            self._drop_vm(res)
        super().drop(kind, res)

    def dynamic_public_ips(self, vm: Resource, *, held: bool) -> None:
        """Give the Dynamic public IPs on the VM's NICs an address (``held``: the VM runs) or
        take it back (deallocated or deleted), as Azure allocates them."""
        for nic_id in vm.state["nics"]:
            nic = self.lookup(NIC, nic_id)
            for pip_id in nic.state.get("pips", []) if nic is not None else []:
                pip = self.lookup(PIP, pip_id)
                if pip is None or pip.props.get("publicIPAllocationMethod") != "Dynamic":
                    continue
                if held and "ipAddress" not in pip.props:
                    pip.props["ipAddress"] = self._next_public_ip()
                elif not held:
                    pip.props.pop("ipAddress", None)

    def _drop_vm(self, vm: Resource) -> None:
        """Release (or delete, per ``deleteOption``) the VM's disks and NICs."""
        self.dynamic_public_ips(vm, held=False)
        storage = vm.props["storageProfile"]
        for item in [storage["osDisk"], *storage.get("dataDisks", [])]:
            disk = self.lookup(DISK, str(item["managedDisk"]["id"]))
            if disk is None:
                continue
            self._release_disk(disk)
            if item.get("deleteOption") == "Delete":
                self.stores[DISK].pop(disk.id)
        for ref in vm.props["networkProfile"]["networkInterfaces"]:
            nic = self.lookup(NIC, ref["id"])
            if nic is None:
                continue
            self.detach_nic(nic)
            if (ref.get("properties") or {}).get("deleteOption") == "Delete":
                super().drop(NIC, nic)


def _default_sku(size: Size) -> str:
    """Premium SSD where the size supports it (an ``s`` in its feature letters)."""
    match = re.match(r"Standard_[A-Z]+\d+([a-z]*)", size.name)
    return "Premium_LRS" if match and "s" in match.group(1) else "Standard_LRS"


def _base64(value: Any, target: str, max_chars: int) -> str:
    message = (f"Custom data in OSProfile must be in Base64 encoding and with a maximum length "
               f"of {max_chars} characters." if target == "customData" else
               f"{target} must be in Base64 encoding and with a maximum length of {max_chars} "
               "characters.")
    if not isinstance(value, str) or len(value) > max_chars:
        raise errors.invalid_parameter(target, message)
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise errors.invalid_parameter(target, message) from None
    return value


#: ARM's admin password lengths by OS type.
_PASSWORD_LENGTHS = {"Linux": (6, 72), "Windows": (8, 123)}


def _check_password(password: object, os_type: str) -> None:
    """400 ``InvalidParameter`` (target ``adminPassword``) unless the password has ARM's length
    for the OS and at least 3 of: an upper-case letter, a lower-case letter, a digit, another
    character; control characters are never allowed."""
    low, high = _PASSWORD_LENGTHS.get(os_type, _PASSWORD_LENGTHS["Linux"])
    text = password if isinstance(password, str) else ""
    classes = sum((any(c.isupper() for c in text), any(c.islower() for c in text),
                   any(c.isdigit() for c in text), any(not c.isalnum() for c in text)))
    if not low <= len(text) <= high or classes < 3 or any(ord(c) < 32 for c in text):
        raise errors.invalid_parameter(
            "adminPassword",
            f"The supplied password must be between {low}-{high} characters long and must "
            "satisfy at least 3 of password complexity requirements from the following:\r\n"
            "1) Contains an uppercase character\r\n2) Contains a lowercase character\r\n"
            "3) Contains a numeric digit\r\n4) Contains a special character\r\n"
            "5) Control characters are not allowed")

