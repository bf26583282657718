"""Persistent disks (blank, from an image, from a snapshot) and snapshots."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import HttpError, json_response
from . import _catalog
from ._base import ComputeBase, fingerprint
from ._errors import already_exists, in_use, invalid_field, not_found
from ._links import link, parse_ref, relative
from ._table import Resource
from ._validate import check_labels, check_name, int_field

DISK_TYPES = ("pd-standard", "pd-balanced", "pd-ssd", "pd-extreme", "hyperdisk-balanced")
_P = "/compute/v1/projects/<project>"

RULES = [
    Rule(f"{_P}/zones/<zone>/disks", methods=["POST"], endpoint="disks_insert"),
    Rule(f"{_P}/zones/<zone>/disks", methods=["GET"], endpoint="disks_list"),
    Rule(f"{_P}/aggregated/disks", methods=["GET"], endpoint="disks_aggregated_list"),
    Rule(f"{_P}/zones/<zone>/disks/<disk>", methods=["GET"], endpoint="disks_get"),
    Rule(f"{_P}/zones/<zone>/disks/<disk>", methods=["DELETE"], endpoint="disks_delete"),
    Rule(f"{_P}/zones/<zone>/disks/<disk>/createSnapshot", methods=["POST"],
         endpoint="disks_create_snapshot"),
    Rule(f"{_P}/global/snapshots", methods=["GET"], endpoint="snapshots_list"),
    Rule(f"{_P}/global/snapshots/<snapshot>", methods=["GET"], endpoint="snapshots_get"),
    Rule(f"{_P}/global/snapshots/<snapshot>", methods=["DELETE"], endpoint="snapshots_delete"),
]


def _storage_location(region: str) -> str:
    if region.startswith(("us-", "northamerica-", "southamerica-")):
        return "us"
    if region.startswith("europe-"):
        return "eu"
    return "asia"


class DisksApi(ComputeBase):
    """Handlers for ``disks`` and ``snapshots``, and the disk building instances use."""

    # -- references --------------------------------------------------------------------------
    def resolve_image(self, ref: Any, project: str, field: str) -> Resource:
        """The public image ``ref`` names (by name or ``family/F``); GCE's 404 otherwise."""
        if not isinstance(ref, str) or not ref:
            raise invalid_field(field, "", "Must be a URL to a valid Compute resource of the "
                                "correct type.")
        rel = relative(ref)
        parts = rel.split("/")
        if parts[0] == "projects" and len(parts) > 2:
            owner, parts = parts[1], parts[2:]
        else:
            owner = project
        path = f"projects/{owner}/{'/'.join(parts)}"
        if len(parts) == 4 and parts[:2] == ["global", "images"] and parts[2] == "family":
            found = _catalog.image_from_family(owner, parts[3])
        elif len(parts) == 3 and parts[:2] == ["global", "images"]:
            found = _catalog.images().get(owner, {}).get(parts[2])
        else:
            raise invalid_field(field, ref, "Must be a URL to a valid Compute resource of the "
                                "correct type.")
        if found is None:
            raise not_found(path)
        return found

    def resolve_snapshot(self, ref: Any, project: str, field: str) -> Resource:
        parsed = parse_ref(ref, project, "snapshots") if isinstance(ref, str) else None
        if parsed is None:
            raise invalid_field(field, ref, "Must be a URL to a valid Compute resource of the "
                                "correct type.")
        owner, _, name = parsed
        found = self.project(owner).snapshots.get(name)
        if found is None:
            raise not_found(f"projects/{owner}/global/snapshots/{name}")
        if found["status"] != "READY":
            raise HttpError(400, "resourceNotReady",
                            f"The resource 'projects/{owner}/global/snapshots/{name}' is not "
                            "ready")
        return found

    def disk_type(self, ref: Any, project: str, zone: str, field: str) -> str:
        """The link of disk type ``ref`` (``None``: pd-standard)."""
        if ref is None:
            name = "pd-standard"
        else:
            parsed = parse_ref(ref, project, "diskTypes", "zones") if isinstance(ref, str) \
                else None
            if parsed is None:
                raise invalid_field(field, ref, "Must be a URL to a valid Compute resource of "
                                    "the correct type.")
            _, ref_zone, name = parsed
            if ref_zone != zone or name not in DISK_TYPES:
                raise not_found(f"projects/{project}/zones/{ref_zone}/diskTypes/{name}")
        return link(f"projects/{project}/zones/{zone}/diskTypes/{name}")

    def build_disk(self, project: str, zone: str, *, name: str, size: Any, type_ref: Any,
                   image: Resource | None, snapshot: Resource | None, labels: dict[str, str],
                   field: str) -> Resource:
        """A new disk resource (not yet stored), after GCE's checks; raises on bad input."""
        state = self.project(project)
        if name in state.zone_table(state.disks, zone):
            raise already_exists(f"projects/{project}/zones/{zone}/disks/{name}")
        type_link = self.disk_type(type_ref, project, zone, f"{field}.diskType"
                                   if field.endswith("initializeParams") else f"{field}.type")
        source_size = int((image or snapshot or {}).get("diskSizeGb", 0))
        if size is None:
            size_gb = source_size or (500 if type_link.endswith("/pd-standard") else 100)
        else:
            size_gb = int_field(size, f"{field}.diskSizeGb")
            if size_gb < max(source_size, 1):
                what = "image" if image else "snapshot" if snapshot else "minimum"
                raise invalid_field(f"{field}.diskSizeGb", size_gb,
                                    f"Requested disk size cannot be smaller than the {what} "
                                    f"size ({max(source_size, 1)} GB).")
            if size_gb > 65536:
                raise invalid_field(f"{field}.diskSizeGb", size_gb,
                                    "Disk size cannot be larger than 65536 GB.")
        path = f"projects/{project}/zones/{zone}/disks/{name}"
        disk: Resource = {
            "kind": "compute#disk", "id": self.new_id(), "creationTimestamp": self.now(),
            "name": name, "sizeGb": str(size_gb), "zone": link(f"projects/{project}/zones/{zone}"),
            "status": "READY", "selfLink": link(path), "type": type_link,
        }
        source = image or snapshot
        if image is not None:
            disk["sourceImage"] = image["selfLink"]
            disk["sourceImageId"] = image["id"]
        if snapshot is not None:
            disk["sourceSnapshot"] = snapshot["selfLink"]
            disk["sourceSnapshotId"] = snapshot["id"]
        if source is not None:
            if source.get("licenses"):
                disk["licenses"] = list(source["licenses"])
            if source.get("guestOsFeatures"):
                disk["guestOsFeatures"] = list(source["guestOsFeatures"])
            if source.get("architecture"):
                disk["architecture"] = source["architecture"]
        if labels:
            disk["labels"] = labels
        disk["labelFingerprint"] = fingerprint(labels)
        disk["physicalBlockSizeBytes"] = "4096"
        return disk

    def store_disk(self, project: str, zone: str, disk: Resource) -> None:
        state = self.project(project)
        state.zone_table(state.disks, zone).add(disk)

    def disk_or_404(self, project: str, zone: str, name: str) -> Resource:
        self.check_zone(project, zone)
        state = self.project(project)
        disk = state.zone_table(state.disks, zone).get(name)
        if disk is None:
            raise not_found(f"projects/{project}/zones/{zone}/disks/{name}")
        return disk

    # -- disks -------------------------------------------------------------------------------
    def disks_insert(self, request: Request, project: str, zone: str) -> Response:
        self.check_zone(project, zone)
        body = self.json_body(request)
        name = check_name(body.get("name"))
        self.writable(project, f"zones/{zone}/disks/{name}", "compute.disks.create")
        labels = check_labels(body.get("labels"), "resource.labels")
        image_ref = request.args.get("sourceImage") or body.get("sourceImage")
        image = self.resolve_image(image_ref, project, "resource.sourceImage") \
            if image_ref else None
        snapshot = self.resolve_snapshot(body["sourceSnapshot"], project,
                                         "resource.sourceSnapshot") \
            if body.get("sourceSnapshot") else None
        if image is not None and snapshot is not None:
            raise invalid_field("resource.sourceSnapshot", body["sourceSnapshot"],
                                "Only one of sourceImage and sourceSnapshot may be given.")
        disk = self.build_disk(project, zone, name=name, size=body.get("sizeGb"),
                               type_ref=body.get("type"), image=image, snapshot=snapshot,
                               labels=labels, field="resource")
        if body.get("description"):
            disk["description"] = body["description"]
        disk["status"] = "CREATING"
        self.store_disk(project, zone, disk)
        path = f"projects/{project}/zones/{zone}/disks/{name}"

        def finish() -> None:
            disk["status"] = "READY"

        def undo() -> None:
            state = self.project(project)
            state.zone_table(state.disks, zone).remove(name)

        return self.start_operation(project, f"zones/{zone}", "insert", path, disk["id"],
                                    "disks_insert", finish=finish, undo=undo)

    def disks_get(self, request: Request, project: str, zone: str, disk: str) -> Response:
        return json_response(self.disk_or_404(project, zone, disk))

    def disks_list(self, request: Request, project: str, zone: str) -> Response:
        self.check_zone(project, zone)
        state = self.project(project)
        table = state.zone_table(state.disks, zone)
        return self.list_response(request, kind="compute#diskList",
                                  scope_path=f"projects/{project}/zones/{zone}/disks",
                                  fields="disk", entries=table.ordered)

    def disks_aggregated_list(self, request: Request, project: str) -> Response:
        state = self.project(project)
        scopes = [(f"zones/{zone}", state.zone_table(state.disks, zone))
                  for zone in _catalog.zone_regions()]
        return self.aggregated_response(request, kind="compute#diskAggregatedList",
                                        project=project, key="disks", fields="disk",
                                        scopes=scopes)

    def disks_delete(self, request: Request, project: str, zone: str, disk: str) -> Response:
        found = self.disk_or_404(project, zone, disk)
        path = f"projects/{project}/zones/{zone}/disks/{disk}"
        if found.get("users"):
            raise in_use("disk", path, relative(found["users"][0]))
        found["status"] = "DELETING"

        def finish() -> None:
            state = self.project(project)
            state.zone_table(state.disks, zone).remove(disk)

        def undo() -> None:
            found["status"] = "READY"

        return self.start_operation(project, f"zones/{zone}", "delete", path, found["id"],
                                    "disks_delete", finish=finish, undo=undo)

    def disks_create_snapshot(self, request: Request, project: str, zone: str, disk: str,
                              ) -> Response:
        source = self.disk_or_404(project, zone, disk)
        body = self.json_body(request)
        name = check_name(body.get("name"))
        state = self.project(project)
        snap_path = f"projects/{project}/global/snapshots/{name}"
        if name in state.snapshots:
            raise already_exists(snap_path)
        labels = check_labels(body.get("labels"), "resource.labels")
        region = _catalog.zone_regions()[zone]
        snapshot: Resource = {
            "kind": "compute#snapshot", "id": self.new_id(), "creationTimestamp": self.now(),
            "name": name, "status": "CREATING", "sourceDisk": source["selfLink"],
            "sourceDiskId": source["id"], "diskSizeGb": source["sizeGb"],
            "storageBytes": "0", "storageBytesStatus": "UPDATING",
            "selfLink": link(snap_path), "labelFingerprint": fingerprint(labels),
            "storageLocations": [_storage_location(region)], "snapshotType": "STANDARD",
        }
        for key in ("licenses", "guestOsFeatures", "architecture"):
            if key in source:
                snapshot[key] = source[key]
        if labels:
            snapshot["labels"] = labels
        if body.get("description"):
            snapshot["description"] = body["description"]
        state.snapshots.add(snapshot)

        def finish() -> None:
            snapshot["status"] = "READY"
            snapshot["storageBytes"] = str(int(source["sizeGb"]) * 1_073_741_824 // 8)
            snapshot["storageBytesStatus"] = "UP_TO_DATE"

        def undo() -> None:
            state.snapshots.remove(name)

        return self.start_operation(project, f"zones/{zone}", "createSnapshot",
                                    f"projects/{project}/zones/{zone}/disks/{disk}",
                                    source["id"], "disks_create_snapshot", finish=finish,
                                    undo=undo)

    # -- snapshots ---------------------------------------------------------------------------
    def snapshot_or_404(self, project: str, name: str) -> Resource:
        found = self.project(project).snapshots.get(name)
        if found is None:
            raise not_found(f"projects/{project}/global/snapshots/{name}")
        return found

    def snapshots_get(self, request: Request, project: str, snapshot: str) -> Response:
        return json_response(self.snapshot_or_404(project, snapshot))

    def snapshots_list(self, request: Request, project: str) -> Response:
        return self.list_response(request, kind="compute#snapshotList",
                                  scope_path=f"projects/{project}/global/snapshots",
                                  fields="snapshot",
                                  entries=self.project(project).snapshots.ordered)

    def snapshots_delete(self, request: Request, project: str, snapshot: str) -> Response:
        found = self.snapshot_or_404(project, snapshot)
        path = f"projects/{project}/global/snapshots/{snapshot}"
        found["status"] = "DELETING"

        def finish() -> None:
            self.project(project).snapshots.remove(snapshot)

        def undo() -> None:
            found["status"] = "READY"

        return self.start_operation(project, "global", "delete", path, found["id"],
                                    "snapshots_delete", finish=finish, undo=undo)
