"""Microsoft.Compute managed disks and snapshots.

A disk's ``diskState`` follows its VM: ``Attached`` while the VM holds it (running or
stopped), ``Reserved`` while that VM is deallocated, ``Unattached`` otherwise. Attaching and
detaching happen through the VM (``_vms``); a disk in use cannot be deleted.
"""

from __future__ import annotations

from typing import ClassVar

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import json_response
from . import _errors as errors
from ._base import JSON, Resource
from ._catalog import ImageSku, find_image, resolve_version
from ._groups import RG, SUB
from ._ids import parse_id
from ._nics import NicHandlers

DISK = "Microsoft.Compute/disks"
SNAPSHOT = "Microsoft.Compute/snapshots"
VM = "Microsoft.Compute/virtualMachines"
COMPUTE = "Microsoft.Compute"
_SKU_TIERS = {"standard_lrs": ("Standard_LRS", "Standard"),
              "premium_lrs": ("Premium_LRS", "Premium"),
              "standardssd_lrs": ("StandardSSD_LRS", "Standard"),
              "ultrassd_lrs": ("UltraSSD_LRS", "Ultra"),
              "premium_zrs": ("Premium_ZRS", "Premium"),
              "standardssd_zrs": ("StandardSSD_ZRS", "Standard"),
              "premiumv2_lrs": ("PremiumV2_LRS", "Premium")}
MAX_DISK_GB = 32767
_GIB = 1024 ** 3


def sku_of(name: str | None, default: str, target: str) -> tuple[str, str]:
    """The canonical ``(name, tier)`` of a disk SKU, or ``InvalidParameter``."""
    found = _SKU_TIERS.get((name or default).lower())
    if found is None:
        raise errors.invalid_parameter(
            target, f"The value '{name}' is not a valid storage account type. Allowed values: "
            + ", ".join(v[0] for v in _SKU_TIERS.values()) + ".")
    return found


def check_size(value: object, target: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_DISK_GB:
        raise errors.invalid_parameter(
            target, f"The value {value} of parameter '{target}' is not valid: a disk size is "
            f"between 1 and {MAX_DISK_GB} GB.")
    return value


class DiskHandlers(NicHandlers):
    """Endpoint (and fault) names ``disk_put``, ``disk_get``, ``disk_list``, ``disk_list_all``,
    ``disk_delete`` and the same for ``snapshot_*``."""

    rules: ClassVar[list[Rule]] = [
        Rule(f"{RG}/providers/microsoft.compute/disks", methods=["GET"], endpoint="disk_list"),
        Rule(f"{SUB}/providers/microsoft.compute/disks", methods=["GET"],
             endpoint="disk_list_all"),
        Rule(f"{RG}/providers/microsoft.compute/disks/<name>", methods=["PUT"],
             endpoint="disk_put"),
        Rule(f"{RG}/providers/microsoft.compute/disks/<name>", methods=["GET"],
             endpoint="disk_get"),
        Rule(f"{RG}/providers/microsoft.compute/disks/<name>", methods=["DELETE"],
             endpoint="disk_delete"),
        Rule(f"{RG}/providers/microsoft.compute/snapshots", methods=["GET"],
             endpoint="snapshot_list"),
        Rule(f"{SUB}/providers/microsoft.compute/snapshots", methods=["GET"],
             endpoint="snapshot_list_all"),
        Rule(f"{RG}/providers/microsoft.compute/snapshots/<name>", methods=["PUT"],
             endpoint="snapshot_put"),
        Rule(f"{RG}/providers/microsoft.compute/snapshots/<name>", methods=["GET"],
             endpoint="snapshot_get"),
        Rule(f"{RG}/providers/microsoft.compute/snapshots/<name>", methods=["DELETE"],
             endpoint="snapshot_delete"),
    ]

    # -- rendering -----------------------------------------------------------------------------
    def render_disk(self, disk: Resource) -> JSON:
        vm_id = disk.state.get("vm")
        if vm_id is None:
            state = "Unattached"
        else:
            vm = self.lookup(VM, vm_id)
            deallocated = vm is not None and vm.state.get("power") == "deallocated"
            state = "Reserved" if deallocated else "Attached"
        if disk.props.get("diskState") != state:
            disk.props["diskState"] = state
        return disk.body

    # -- disks ---------------------------------------------------------------------------------
    def new_disk(self, subscription: str, rg: Resource, name: str, body: JSON,
                 existing: Resource | None = None) -> Resource:
        """Validate a disk PUT body; returns the disk (not stored yet)."""
        rid = existing.id if existing else self.rid(subscription, rg, DISK, name)
        location = self.location_of(body, DISK)
        tags = self.tags_of(body)
        props = body.get("properties") or {}
        sku_name, tier = sku_of((body.get("sku") or {}).get("name"),
                                existing.body["sku"]["name"] if existing else "Standard_LRS",
                                "sku.name")
        if existing is not None:
            return self._update_disk(existing, location, tags, props, sku_name, tier)
        creation = props.get("creationData") or {}
        option = str(creation.get("createOption") or "")
        extra: JSON = {}
        size = props.get("diskSizeGB")
        data: JSON = {"createOption": option}
        if option.lower() == "empty":
            data["createOption"] = "Empty"
            size = check_size(size, "diskSizeGB")
        elif option.lower() == "copy":
            data["createOption"] = "Copy"
            source = self.copy_source(creation.get("sourceResourceId"), location)
            data.update(sourceResourceId=source.id, sourceUniqueId=source.props["uniqueId"])
            source_size = int(source.props["diskSizeGB"])
            size = source_size if size is None else check_size(size, "diskSizeGB")
            if size < source_size:
                raise errors.invalid_parameter(
                    "diskSizeGB", f"The disk size {size} GB is smaller than the size of the "
                    f"source {source.id}: {source_size} GB.")
            for key in ("osType", "hyperVGeneration", "supportedCapabilities"):
                if key in source.props:
                    extra[key] = source.props[key]
        elif option.lower() == "fromimage":
            data["createOption"] = "FromImage"
            image_id = self.ref_id(creation.get("imageReference"),
                                   "creationData.imageReference")
            image, version = self.image_by_id(image_id, location)
            data["imageReference"] = {"id": image_id}
            size = image.os_disk_gb if size is None else check_size(size, "diskSizeGB")
            extra.update(osType=image.os_type, hyperVGeneration=image.generation,
                         supportedCapabilities={"architecture": image.architecture})
            del version
        else:
            raise errors.invalid_parameter(
                "creationData.createOption", f"The value '{option}' of parameter "
                "'creationData.createOption' is not valid. Supported values: Empty, Copy, "
                "FromImage.")
        if isinstance(props.get("osType"), str):
            extra["osType"] = props["osType"]
        return self.make_disk(rid, name, rg, location, tags, (sku_name, tier), int(size), data,
                              extra, zones=body.get("zones"))

    def make_disk(self, rid: str, name: str, rg: Resource, location: str,
                  tags: dict[str, str], sku: tuple[str, str], size: int,
                  creation: JSON, extra: JSON, *, zones: object = None) -> Resource:
        body: JSON = {"name": name, "id": rid, "type": DISK, "location": location}
        if tags:
            body["tags"] = tags
        body["sku"] = {"name": sku[0], "tier": sku[1]}
        if isinstance(zones, list) and zones:
            body["zones"] = [str(z) for z in zones]
        body["properties"] = {
            **extra,
            "creationData": creation, "diskSizeGB": size, "diskSizeBytes": size * _GIB,
            "uniqueId": self.ids.uuid(), "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
            "networkAccessPolicy": "AllowAll", "publicNetworkAccess": "Enabled",
            "timeCreated": self.clock.iso(), "provisioningState": "Succeeded",
            "diskState": "Unattached"}
        return Resource(id=rid, name=name, group=rg.name, body=body)

    def _update_disk(self, disk: Resource, location: str, tags: dict[str, str], props: JSON,
                     sku_name: str, tier: str) -> Resource:
        self.check_location(disk, location)
        creation = props.get("creationData")
        if creation is not None and str(creation.get("createOption", "")).lower() != str(
                disk.props["creationData"]["createOption"]).lower():
            raise errors.property_change("creationData")
        size = props.get("diskSizeGB")
        if size is not None:
            size = check_size(size, "diskSizeGB")
            current = int(disk.props["diskSizeGB"])
            if size < current:
                raise errors.bad_request("BadRequest", f"Disk size reduction is not supported. "
                                         f"Current size is {current} GB.", target="diskSizeGB")
            if size > current and self.render_disk(disk)["properties"]["diskState"] == \
                    "Attached":
                raise errors.not_allowed("Disk resizing is allowed only when creating a VM or "
                                         "when the VM is deallocated.", target="diskSizeGB")
            disk.props["diskSizeGB"] = size
            disk.props["diskSizeBytes"] = size * _GIB
        disk.body["tags"] = tags
        if not tags:
            disk.body.pop("tags")
        disk.body["sku"] = {"name": sku_name, "tier": tier}
        return disk

    def copy_source(self, source_id: object, location: str) -> Resource:
        """The disk or snapshot a copy is made from, or the 404 ARM gives."""
        if not isinstance(source_id, str) or not source_id:
            raise errors.invalid_parameter("creationData.sourceResourceId",
                                           "Required parameter 'sourceResourceId' is missing "
                                           "(null).")
        kind = parse_id(source_id).get("type", "").lower()
        store = {"disks": DISK, "snapshots": SNAPSHOT}.get(kind)
        source = self.lookup(store, source_id) if store else None
        if source is None:
            raise errors.reference_not_found(source_id)
        if source.body["location"] != location:
            raise errors.invalid_parameter(
                "creationData.sourceResourceId",
                f"The source {source.id} is in location '{source.body['location']}'; a copy must "
                f"be made in the same location, not '{location}'.")
        return source

    def disk_put(self, request: Request, subscription: str, group: str, name: str) -> Response:
        rg = self.group(subscription, group)
        body = self.json_body(request)
        existing = self.stores[DISK].get(self.rid(subscription, rg, DISK, name))
        self.check_preconditions(request, existing)
        disk = self.new_disk(subscription, rg, name, body, existing)
        self.stores[DISK].put(disk.id, disk)
        disk.props["provisioningState"] = "Updating"

        def finish() -> None:
            disk.props["provisioningState"] = "Succeeded"

        op = self.start_op(finish)
        return self.put_response(request, op, existing is None, COMPUTE,
                                 disk.body["location"], lambda: self.render_disk(disk),
                                 accepted=True)

    def disk_get(self, request: Request, subscription: str, group: str, name: str) -> Response:
        return json_response(self.render_disk(self.find(DISK, subscription, group, name)))

    def disk_list(self, request: Request, subscription: str, group: str) -> Response:
        rg = self.group(subscription, group)
        return self.page(request, self.stores[DISK], self.in_group(rg), self.render_disk)

    def disk_list_all(self, request: Request, subscription: str) -> Response:
        self.check_subscription(subscription)
        return self.page(request, self.stores[DISK], None, self.render_disk)

    def disk_delete(self, request: Request, subscription: str, group: str,
                    name: str) -> Response:
        rg = self.group(subscription, group)
        disk = self.stores[DISK].get(self.rid(subscription, rg, DISK, name))
        if disk is None:
            return Response(status=204)
        if disk.state.get("vm"):
            raise errors.not_allowed(f"Disk {disk.name} is attached to VM {disk.state['vm']}.")
        op = self.start_op(lambda: self.drop(DISK, disk))
        return self.accepted(request, op, COMPUTE, disk.body["location"])

    # -- snapshots -----------------------------------------------------------------------------
    def snapshot_put(self, request: Request, subscription: str, group: str,
                     name: str) -> Response:
        rg = self.group(subscription, group)
        body = self.json_body(request)
        rid = self.rid(subscription, rg, SNAPSHOT, name)
        existing = self.stores[SNAPSHOT].get(rid)
        self.check_preconditions(request, existing)
        location = self.location_of(body, SNAPSHOT)
        self.check_location(existing, location)
        tags = self.tags_of(body)
        props = body.get("properties") or {}
        sku_name, tier = sku_of((body.get("sku") or {}).get("name"), "Standard_LRS", "sku.name")
        if existing is not None:
            existing.body["tags"] = tags
            if not tags:
                existing.body.pop("tags")
            snap = existing
        else:
            creation = props.get("creationData") or {}
            if str(creation.get("createOption", "")).lower() != "copy":
                raise errors.invalid_parameter(
                    "creationData.createOption",
                    f"The value '{creation.get('createOption')}' of parameter "
                    "'creationData.createOption' is not valid for a snapshot. Supported value: "
                    "Copy.")
            source = self.copy_source(creation.get("sourceResourceId"), location)
            extra: JSON = {k: source.props[k] for k in ("osType", "hyperVGeneration",
                                                  "supportedCapabilities") if k in source.props}
            extra["incremental"] = bool(props.get("incremental", False))
            snap = self.make_disk(
                rid, name, rg, location, tags, (sku_name, tier), int(source.props["diskSizeGB"]),
                {"createOption": "Copy", "sourceResourceId": source.id,
                 "sourceUniqueId": source.props["uniqueId"]}, extra)
            snap.body["type"] = SNAPSHOT
        self.stores[SNAPSHOT].put(snap.id, snap)
        snap.props["provisioningState"] = "Updating"

        def finish() -> None:
            snap.props["provisioningState"] = "Succeeded"

        op = self.start_op(finish)
        return self.put_response(request, op, existing is None, COMPUTE, location,
                                 lambda: snap.body, accepted=True)

    def snapshot_get(self, request: Request, subscription: str, group: str,
                     name: str) -> Response:
        return json_response(self.find(SNAPSHOT, subscription, group, name).body)

    def snapshot_list(self, request: Request, subscription: str, group: str) -> Response:
        rg = self.group(subscription, group)
        return self.page(request, self.stores[SNAPSHOT], self.in_group(rg), lambda r: r.body)

    def snapshot_list_all(self, request: Request, subscription: str) -> Response:
        self.check_subscription(subscription)
        return self.page(request, self.stores[SNAPSHOT], None, lambda r: r.body)

    def snapshot_delete(self, request: Request, subscription: str, group: str,
                        name: str) -> Response:
        rg = self.group(subscription, group)
        snap = self.stores[SNAPSHOT].get(self.rid(subscription, rg, SNAPSHOT, name))
        if snap is None:
            return Response(status=204)
        op = self.start_op(lambda: self.drop(SNAPSHOT, snap))
        return self.accepted(request, op, COMPUTE, snap.body["location"])

    # -- platform images named by id ---------------------------------------------------------------
    def image_by_id(self, image_id: str, location: str) -> tuple[ImageSku, str]:
        """The platform image a ``/Subscriptions/…/Versions/{v}`` id names, or 404."""
        parts = {k.lower(): v for k, v in parse_id(image_id).items()}
        image = find_image(parts.get("publishers", ""), parts.get("offers", ""),
                           parts.get("skus", ""))
        version = resolve_version(image, parts.get("versions", "")) if image else None
        if image is None or version is None:
            raise errors.reference_not_found(image_id)
        return image, version
