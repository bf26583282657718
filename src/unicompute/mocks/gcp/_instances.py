"""Instances: insert/get/list/aggregatedList/delete, power, labels, metadata, machine type and
disk attachment, with GCE's states ``PROVISIONING → STAGING → RUNNING`` and
``STOPPING → TERMINATED``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from .._kernel import HttpError, json_response
from . import _catalog
from ._base import ProjectState, fingerprint
from ._disks import DisksApi
from ._errors import (
    already_exists,
    bad_usage,
    condition_not_met,
    echo,
    in_use,
    invalid,
    invalid_field,
    not_found,
    not_ready,
)
from ._links import last, link, parse_ref, relative
from ._networks import NetworksApi
from ._table import Resource, Table
from ._validate import check_labels, check_metadata_items, check_name, check_tags

_P = "/compute/v1/projects/<project>"
_I = f"{_P}/zones/<zone>/instances/<instance>"

RULES = [
    Rule(f"{_P}/zones/<zone>/instances", methods=["POST"], endpoint="instances_insert"),
    Rule(f"{_P}/zones/<zone>/instances", methods=["GET"], endpoint="instances_list"),
    Rule(f"{_P}/aggregated/instances", methods=["GET"], endpoint="instances_aggregated_list"),
    Rule(_I, methods=["GET"], endpoint="instances_get"),
    Rule(_I, methods=["DELETE"], endpoint="instances_delete"),
    Rule(f"{_I}/start", methods=["POST"], endpoint="instances_start"),
    Rule(f"{_I}/stop", methods=["POST"], endpoint="instances_stop"),
    Rule(f"{_I}/reset", methods=["POST"], endpoint="instances_reset"),
    Rule(f"{_I}/setLabels", methods=["POST"], endpoint="instances_set_labels"),
    Rule(f"{_I}/setMetadata", methods=["POST"], endpoint="instances_set_metadata"),
    Rule(f"{_I}/setMachineType", methods=["POST"], endpoint="instances_set_machine_type"),
    Rule(f"{_I}/attachDisk", methods=["POST"], endpoint="instances_attach_disk"),
    Rule(f"{_I}/detachDisk", methods=["POST"], endpoint="instances_detach_disk"),
]

_CPU_PLATFORM = {"e2": "Intel Broadwell", "n2": "Intel Cascade Lake", "n2d": "AMD Milan",
                 "c3": "Intel Sapphire Rapids", "m3": "Intel Ice Lake",
                 "a2": "Intel Cascade Lake", "g2": "Intel Cascade Lake", "t2a": "Ampere Altra"}
_MUST_BE_URL = "Must be a URL to a valid Compute resource of the correct type."


class InstancesApi(DisksApi, NetworksApi):
    """Handlers for ``instances``."""

    # -- helpers -----------------------------------------------------------------------------
    def instances_table(self, project: str, zone: str) -> Table:
        state = self.project(project)
        return state.zone_table(state.instances, zone)

    def instance_or_404(self, project: str, zone: str, name: str) -> Resource:
        self.check_zone(project, zone)
        found = self.instances_table(project, zone).get(name)
        if found is None:
            raise not_found(f"projects/{project}/zones/{zone}/instances/{name}")
        return found

    def machine_type(self, ref: Any, project: str, zone: str, field: str) -> Resource:
        parsed = parse_ref(ref, project, "machineTypes", "zones") if isinstance(ref, str) \
            else None
        if parsed is None:
            raise invalid_field(field, ref if isinstance(ref, str) else "", _MUST_BE_URL)
        _, ref_zone, name = parsed
        found = _catalog.machine_types(zone).get(name) if ref_zone == zone else None
        if found is None:
            raise invalid_field(field, ref, f"Machine type with name '{name}' does not exist "
                                f"in zone '{zone}'.")
        return found

    def _release_addresses(self, project: str, instance: Resource) -> None:
        state = self.project(project)
        for nic in instance["networkInterfaces"]:
            subnet = state.addresses.get(nic["subnetwork"])
            if subnet is not None and nic.get("networkIP"):
                subnet.release(nic["networkIP"])

    def _set_nat(self, instance: Resource, on: bool) -> None:
        for nic in instance["networkInterfaces"]:
            for config in nic.get("accessConfigs", []):
                if on:
                    config["natIP"] = self.nat_ip()
                else:
                    config.pop("natIP", None)

    def _changed(self, instance: Resource) -> None:
        instance["fingerprint"] = self.new_fingerprint()

    # -- insert ------------------------------------------------------------------------------
    def instances_insert(self, request: Request, project: str, zone: str) -> Response:
        region = self.check_zone(project, zone)
        body = self.json_body(request)
        name = check_name(body.get("name"))
        state = self.writable(project, f"zones/{zone}/instances/{name}",
                              "compute.instances.create")
        instance, created = self.new_instance(state, zone, region, body)
        path = f"projects/{project}/zones/{zone}/instances/{name}"

        def finish() -> None:
            self._running(instance)

        def undo() -> None:
            self._discard(project, zone, instance, also_delete=created)

        def on_poll() -> None:
            if instance["status"] == "PROVISIONING":
                instance["status"] = "STAGING"

        return self.start_operation(project, f"zones/{zone}", "insert", path, instance["id"],
                                    "instances_insert", finish=finish, undo=undo,
                                    on_poll=on_poll)

    def new_instance(self, state: ProjectState, zone: str, region: str, body: dict[str, Any],
                     ) -> tuple[Resource, set[str]]:
        """Check ``body`` as GCE does, then store the instance (``PROVISIONING``) and the disks
        it creates; returns the instance and the names of those disks. Raises before storing
        anything when the body is rejected."""
        project = state.name
        name = check_name(body.get("name"))
        path = f"projects/{project}/zones/{zone}/instances/{name}"
        table = state.zone_table(state.instances, zone)
        if name in table:
            raise already_exists(path)
        machine = self.machine_type(body.get("machineType"), project, zone,
                                    "resource.machineType")
        labels = check_labels(body.get("labels"), "resource.labels")
        metadata_in = body.get("metadata") or {}
        items = check_metadata_items(metadata_in.get("items"))
        tags = check_tags((body.get("tags") or {}).get("items"))
        scheduling = self._scheduling(body.get("scheduling") or {}, machine)
        new_disks, attached = self._plan_disks(state, zone, name, body.get("disks"), machine)
        nics = self._plan_nics(state, zone, region, body.get("networkInterfaces"))
        # every check passed: nothing below can fail
        instance_id = self.new_id()
        instance_link = link(path)
        for disk in new_disks:
            self.store_disk(project, zone, disk)
        for _, disk in attached:
            disk.setdefault("users", []).append(instance_link)
            disk["lastAttachTimestamp"] = self.now()
        for nic in nics:
            subnet = state.addresses[nic["subnetwork"]]
            nic["networkIP"] = subnet.allocate(nic.get("networkIP"))
        metadata: Resource = {"kind": "compute#metadata", "fingerprint": fingerprint(items)}
        if items:
            metadata["items"] = items
        tag_block: Resource = {"fingerprint": fingerprint(tags)}
        if tags:
            tag_block["items"] = tags
        instance: Resource = {
            "kind": "compute#instance", "id": instance_id, "creationTimestamp": self.now(),
            "name": name, "tags": tag_block,
            "machineType": link(f"projects/{project}/zones/{zone}/machineTypes/"
                                f"{machine['name']}"),
            "status": "PROVISIONING", "zone": link(f"projects/{project}/zones/{zone}"),
            "canIpForward": bool(body.get("canIpForward", False)),
            "networkInterfaces": nics, "disks": [entry for entry, _ in attached],
            "metadata": metadata, "selfLink": instance_link, "scheduling": scheduling,
            "cpuPlatform": "Unknown CPU Platform", "labelFingerprint": fingerprint(labels),
            "startRestricted": False,
            "deletionProtection": bool(body.get("deletionProtection", False)),
            "fingerprint": "", "satisfiesPzi": False,
        }
        if body.get("description"):
            instance["description"] = body["description"]
        if labels:
            instance["labels"] = labels
        if body.get("serviceAccounts"):
            instance["serviceAccounts"] = [
                {"email": sa.get("email", "default"), "scopes": list(sa.get("scopes", []))}
                for sa in body["serviceAccounts"]]
        if body.get("hostname"):
            instance["hostname"] = body["hostname"]
        self._changed(instance)
        table.add(instance)
        return instance, {disk["name"] for disk in new_disks}

    def _scheduling(self, given: dict[str, Any], machine: Resource) -> Resource:
        spot = given.get("provisioningModel") == "SPOT"
        preemptible = bool(given.get("preemptible", False))
        if given.get("provisioningModel") not in (None, "SPOT", "STANDARD"):
            raise invalid_field("resource.scheduling.provisioningModel",
                                given["provisioningModel"], "Must be SPOT or STANDARD.")
        interruptible = spot or preemptible
        gpu = "accelerators" in machine
        restart = given.get("automaticRestart", not interruptible)
        maintenance = given.get("onHostMaintenance",
                                "TERMINATE" if interruptible or gpu else "MIGRATE")
        if interruptible and restart:
            raise invalid_field("resource.scheduling.automaticRestart", "true",
                                "Preemptible instances cannot be automatically restarted.")
        if interruptible and maintenance != "TERMINATE":
            raise invalid("Invalid value for field 'resource.scheduling.onHostMaintenance': "
                          f"'{maintenance}'. Scheduling must have preemptible be false when "
                          "OnHostMaintenance isn't TERMINATE.")
        if gpu and maintenance != "TERMINATE":
            raise bad_usage("Instances with guest accelerators do not support live migration.")
        result: Resource = {"onHostMaintenance": maintenance, "automaticRestart": bool(restart),
                            "preemptible": preemptible,
                            "provisioningModel": "SPOT" if spot else "STANDARD"}
        if spot:
            action = given.get("instanceTerminationAction", "STOP")
            if action not in ("STOP", "DELETE"):
                raise invalid_field("resource.scheduling.instanceTerminationAction", action,
                                    "Must be STOP or DELETE.")
            result["instanceTerminationAction"] = action
        return result

    def _plan_disks(self, state: ProjectState, zone: str, instance: str, disks: Any,
                    machine: Resource) -> tuple[list[Resource], list[tuple[Resource, Resource]]]:
        """The disks to create and the attachments, checked; nothing is stored."""
        project = state.name
        if not disks:
            raise invalid_field("resource.disks", "", "No boot disk specified.")
        if len(disks) > machine["maximumPersistentDisks"]:
            raise bad_usage(f"Machine type {machine['name']} allows at most "
                            f"{machine['maximumPersistentDisks']} persistent disks.")
        for index, given in enumerate(disks):
            if bool(given.get("boot")) != (index == 0):
                raise invalid_field(f"resource.disks[{index}]", echo(given),
                                    "Boot disk must be the first disk attached to the instance.")
        new: list[Resource] = []
        attached: list[tuple[Resource, Resource]] = []
        names: set[str] = set()
        devices: set[str] = set()
        for index, given in enumerate(disks):
            field = f"resource.disks[{index}]"
            params = given.get("initializeParams")
            if given.get("source") and params:
                raise invalid_field(field, "", "Cannot specify both 'source' and "
                                    "'initializeParams'")
            if given.get("source"):
                disk = self._existing_disk(given["source"], project, zone, f"{field}.source")
                if disk.get("users") and given.get("mode", "READ_WRITE") == "READ_WRITE":
                    raise in_use("disk", relative(disk["selfLink"]),
                                 relative(disk["users"][0]))
            elif params is not None:
                disk = self._new_disk(project, zone, instance, index, params, machine,
                                      boot=index == 0, field=f"{field}.initializeParams")
                if disk["name"] in names:
                    raise already_exists(f"projects/{project}/zones/{zone}/disks/"
                                         f"{disk['name']}")
                names.add(disk["name"])
                new.append(disk)
            else:
                raise invalid_field(f"{field}.source", "",
                                    "Source or initializeParams must be specified.")
            device = given.get("deviceName") or f"persistent-disk-{index}"
            check_name(device, f"{field}.deviceName")
            if device in devices:
                raise invalid_field(f"{field}.deviceName", device,
                                    "Device names must be unique.")
            devices.add(device)
            attached.append((self._attachment(disk, given, index, device), disk))
        return new, attached

    def _existing_disk(self, ref: Any, project: str, zone: str, field: str) -> Resource:
        parsed = parse_ref(ref, project, "disks", "zones") if isinstance(ref, str) else None
        if parsed is None:
            raise invalid_field(field, ref, _MUST_BE_URL)
        owner, disk_zone, name = parsed
        if disk_zone != zone:
            raise invalid_field(field, ref, "Disk must be in the same zone as the instance.")
        return self.disk_or_404(owner, zone, name)

    def _new_disk(self, project: str, zone: str, instance: str, index: int,
                  params: dict[str, Any], machine: Resource, *, boot: bool, field: str,
                  ) -> Resource:
        image = self.resolve_image(params["sourceImage"], project, f"{field}.sourceImage") \
            if params.get("sourceImage") else None
        snapshot = self.resolve_snapshot(params["sourceSnapshot"], project,
                                         f"{field}.sourceSnapshot") \
            if params.get("sourceSnapshot") else None
        if boot and image is None and snapshot is None:
            raise invalid_field(field, "", "Source image must be specified.")
        if image is not None and snapshot is not None:
            raise invalid_field(f"{field}.sourceSnapshot", params["sourceSnapshot"],
                                "Only one of sourceImage and sourceSnapshot may be given.")
        source = image or snapshot
        arch = (source or {}).get("architecture")
        if boot and arch and arch != machine["architecture"]:
            raise bad_usage(f"Requested boot disk architecture ({arch}) is not compatible with "
                            f"machine type architecture ({machine['architecture']}).")
        name = params.get("diskName") or (instance if boot else f"{instance}-{index}")
        check_name(name, f"{field}.diskName")
        return self.build_disk(project, zone, name=name, size=params.get("diskSizeGb"),
                               type_ref=params.get("diskType"), image=image, snapshot=snapshot,
                               labels=check_labels(params.get("labels"), f"{field}.labels"),
                               field=field)

    @staticmethod
    def _attachment(disk: Resource, given: dict[str, Any], index: int, device: str,
                    ) -> Resource:
        entry: Resource = {
            "kind": "compute#attachedDisk", "type": "PERSISTENT",
            "mode": given.get("mode", "READ_WRITE"), "source": disk["selfLink"],
            "deviceName": device, "index": index, "boot": bool(given.get("boot", False)),
            "autoDelete": bool(given.get("autoDelete", False)),
            "interface": given.get("interface", "SCSI"), "diskSizeGb": disk["sizeGb"],
        }
        for key in ("licenses", "guestOsFeatures", "architecture"):
            if key in disk:
                entry[key] = disk[key]
        return entry

    def _plan_nics(self, state: ProjectState, zone: str, region: str, given: Any,
                   ) -> list[Resource]:
        project = state.name
        if not given:
            raise invalid_field("resource.networkInterfaces", "",
                                "At least one network interface is required.")
        nics: list[Resource] = []
        networks: set[str] = set()
        for index, entry in enumerate(given):
            field = f"resource.networkInterfaces[{index}]"
            subnet: Resource | None = None
            if entry.get("subnetwork"):
                subnet = self.resolve_subnetwork(entry["subnetwork"], project,
                                                 f"{field}.subnetwork")
                if last(subnet["region"]) != region:
                    raise invalid_field(f"{field}.subnetwork", entry["subnetwork"],
                                        f"Subnetwork must be in region '{region}'.")
                network = self.network_or_404(project, last(subnet["network"]))
                if entry.get("network") and self.resolve_network(
                        entry["network"], project, f"{field}.network")["selfLink"] \
                        != network["selfLink"]:
                    raise invalid_field(f"{field}.network", entry["network"],
                                        "Subnetwork does not belong to the network.")
            else:
                network = self.resolve_network(entry.get("network") or "global/networks/default",
                                               project, f"{field}.network")
                if not network["autoCreateSubnetworks"]:
                    raise invalid_field(f"{field}.subnetwork", "", "Subnetwork should be "
                                        "specified for custom subnetmode network")
                subnet = self.subnet_in_region(project, network, region)
                if subnet is None:
                    raise invalid_field(f"{field}.subnetwork", "",
                                        f"No subnetwork of network '{network['name']}' in "
                                        f"region '{region}'.")
            if network["selfLink"] in networks:
                raise invalid_field(f"{field}.network", network["selfLink"],
                                    "Each network interface must be on a different network.")
            networks.add(network["selfLink"])
            wanted = entry.get("networkIP")
            pool = state.addresses[subnet["selfLink"]]
            if wanted is not None:
                if pool.allocate(wanted) is None:
                    raise invalid_field(f"{field}.networkIP", wanted,
                                        "IP address is not available in the subnetwork.")
                pool.release(wanted)
            configs = []
            for position, config in enumerate(entry.get("accessConfigs") or []):
                if position > 0:
                    raise invalid_field(f"{field}.accessConfigs", "",
                                        "At most one access config is allowed.")
                kind = config.get("type", "ONE_TO_ONE_NAT")
                if kind != "ONE_TO_ONE_NAT":
                    raise invalid_field(f"{field}.accessConfigs[0].type", kind,
                                        "Must be ONE_TO_ONE_NAT.")
                configs.append({"kind": "compute#accessConfig", "type": kind,
                                "name": config.get("name", "External NAT"),
                                "networkTier": config.get("networkTier", "PREMIUM")})
            nic: Resource = {
                "kind": "compute#networkInterface", "network": network["selfLink"],
                "subnetwork": subnet["selfLink"], "name": f"nic{index}",
                "fingerprint": self.new_fingerprint(),
                "stackType": "IPV4_ONLY",
            }
            if wanted is not None:
                nic["networkIP"] = wanted
            if configs:
                nic["accessConfigs"] = configs
            nics.append(nic)
        return nics

    def _running(self, instance: Resource) -> None:
        instance["status"] = "RUNNING"
        instance["lastStartTimestamp"] = self.now()
        family = last(instance["machineType"]).split("-", 1)[0]
        instance["cpuPlatform"] = _CPU_PLATFORM.get(family, "Intel Broadwell")
        self._set_nat(instance, True)

    def _discard(self, project: str, zone: str, instance: Resource, *,
                 also_delete: set[str] | None = None) -> None:
        """Remove ``instance``: release its addresses, delete its auto-delete disks and those
        named in ``also_delete`` (the disks a failed insert created), and detach the rest."""
        self._release_addresses(project, instance)
        state = self.project(project)
        disks = state.zone_table(state.disks, zone)
        for entry in instance["disks"]:
            disk_name = last(entry["source"])
            disk = disks.get(disk_name)
            if disk is None:
                continue
            users = disk.get("users", [])
            if instance["selfLink"] in users:
                users.remove(instance["selfLink"])
            if not users:
                disk.pop("users", None)
            if entry["autoDelete"] or disk_name in (also_delete or ()):
                disks.remove(disk_name)
            else:
                disk["lastDetachTimestamp"] = self.now()
        self.instances_table(project, zone).remove(instance["name"])

    # -- reads -------------------------------------------------------------------------------
    def instances_get(self, request: Request, project: str, zone: str, instance: str,
                      ) -> Response:
        return json_response(self.instance_or_404(project, zone, instance))

    def instances_list(self, request: Request, project: str, zone: str) -> Response:
        self.check_zone(project, zone)
        return self.list_response(request, kind="compute#instanceList",
                                  scope_path=f"projects/{project}/zones/{zone}/instances",
                                  fields="instance",
                                  entries=self.instances_table(project, zone).ordered)

    def instances_aggregated_list(self, request: Request, project: str) -> Response:
        state = self.project(project)
        scopes = [(f"zones/{zone}", state.zone_table(state.instances, zone))
                  for zone in _catalog.zone_regions()]
        return self.aggregated_response(request, kind="compute#instanceAggregatedList",
                                        project=project, key="instances", fields="instance",
                                        scopes=scopes)

    # -- lifecycle ---------------------------------------------------------------------------
    def _operation(self, project: str, zone: str, instance: Resource, op_type: str,
                   endpoint: str, finish: Callable[[], None] | None = None,
                   undo: Callable[[], None] | None = None) -> Response:
        return self.start_operation(project, f"zones/{zone}", op_type,
                                    relative(instance["selfLink"]), instance["id"], endpoint,
                                    finish=finish, undo=undo)

    def instances_delete(self, request: Request, project: str, zone: str, instance: str,
                         ) -> Response:
        found = self.instance_or_404(project, zone, instance)
        if found["deletionProtection"]:
            raise bad_usage("Resource cannot be deleted if it's protected against deletion.")
        before = found["status"]
        found["status"] = "STOPPING"

        def finish() -> None:
            self._discard(project, zone, found)

        def undo() -> None:
            found["status"] = before

        return self._operation(project, zone, found, "delete", "instances_delete", finish, undo)

    def instances_start(self, request: Request, project: str, zone: str, instance: str,
                        ) -> Response:
        found = self.instance_or_404(project, zone, instance)
        if found["status"] in ("STOPPING", "SUSPENDING"):
            raise not_ready(relative(found["selfLink"]))
        if found["status"] != "TERMINATED":
            return self._operation(project, zone, found, "start", "instances_start")
        found["status"] = "STAGING"

        def undo() -> None:
            found["status"] = "TERMINATED"

        return self._operation(project, zone, found, "start", "instances_start",
                               lambda: self._running(found), undo)

    def instances_stop(self, request: Request, project: str, zone: str, instance: str,
                       ) -> Response:
        found = self.instance_or_404(project, zone, instance)
        if found["status"] == "TERMINATED":
            return self._operation(project, zone, found, "stop", "instances_stop")
        before = found["status"]
        found["status"] = "STOPPING"

        def finish() -> None:
            found["status"] = "TERMINATED"
            found["lastStopTimestamp"] = self.now()
            found["cpuPlatform"] = "Unknown CPU Platform"
            self._set_nat(found, False)

        def undo() -> None:
            found["status"] = before

        return self._operation(project, zone, found, "stop", "instances_stop", finish, undo)

    def instances_reset(self, request: Request, project: str, zone: str, instance: str,
                        ) -> Response:
        found = self.instance_or_404(project, zone, instance)
        if found["status"] != "RUNNING":
            raise not_ready(relative(found["selfLink"]))
        return self._operation(project, zone, found, "reset", "instances_reset")

    # -- updates -----------------------------------------------------------------------------
    def instances_set_labels(self, request: Request, project: str, zone: str, instance: str,
                             ) -> Response:
        found = self.instance_or_404(project, zone, instance)
        body = self.json_body(request)
        if body.get("labelFingerprint") != found["labelFingerprint"]:
            raise condition_not_met(
                "Labels fingerprint either invalid or resource labels have changed")
        labels = check_labels(body.get("labels"))
        if labels:
            found["labels"] = labels
        else:
            found.pop("labels", None)
        found["labelFingerprint"] = fingerprint(labels)
        return self._operation(project, zone, found, "setLabels", "instances_set_labels")

    def instances_set_metadata(self, request: Request, project: str, zone: str,
                               instance: str) -> Response:
        found = self.instance_or_404(project, zone, instance)
        body = self.json_body(request)
        if body.get("fingerprint") != found["metadata"]["fingerprint"]:
            raise condition_not_met(
                "Supplied fingerprint does not match current metadata fingerprint.")
        items = check_metadata_items(body.get("items"))
        metadata: Resource = {"kind": "compute#metadata", "fingerprint": fingerprint(items)}
        if items:
            metadata["items"] = items
        found["metadata"] = metadata
        self._changed(found)
        return self._operation(project, zone, found, "setMetadata", "instances_set_metadata")

    def instances_set_machine_type(self, request: Request, project: str, zone: str,
                                   instance: str) -> Response:
        found = self.instance_or_404(project, zone, instance)
        body = self.json_body(request)
        machine = self.machine_type(body.get("machineType"), project, zone, "machineType")
        if found["status"] != "TERMINATED":
            raise bad_usage("Instance should be in the STOPPED state.")
        boot = next((d for d in found["disks"] if d["boot"]), None)
        arch = boot.get("architecture") if boot else None
        if arch and arch != machine["architecture"]:
            raise bad_usage(f"Requested boot disk architecture ({arch}) is not compatible with "
                            f"machine type architecture ({machine['architecture']}).")
        if len(found["disks"]) > machine["maximumPersistentDisks"]:
            raise bad_usage(f"Machine type {machine['name']} allows at most "
                            f"{machine['maximumPersistentDisks']} persistent disks.")
        found["machineType"] = link(f"projects/{project}/zones/{zone}/machineTypes/"
                                    f"{machine['name']}")
        self._changed(found)
        return self._operation(project, zone, found, "setMachineType",
                               "instances_set_machine_type")

    def instances_attach_disk(self, request: Request, project: str, zone: str, instance: str,
                              ) -> Response:
        found = self.instance_or_404(project, zone, instance)
        body = self.json_body(request)
        disk = self._existing_disk(body.get("source"), project, zone, "resource.source")
        mode = body.get("mode", "READ_WRITE")
        if found["selfLink"] in disk.get("users", []):
            raise in_use("disk", relative(disk["selfLink"]), relative(found["selfLink"]))
        if disk.get("users") and mode == "READ_WRITE":
            raise in_use("disk", relative(disk["selfLink"]), relative(disk["users"][0]))
        machine = _catalog.machine_types(zone)[last(found["machineType"])]
        if len(found["disks"]) >= machine["maximumPersistentDisks"]:
            raise bad_usage(f"Machine type {machine['name']} allows at most "
                            f"{machine['maximumPersistentDisks']} persistent disks.")
        if body.get("boot"):
            raise invalid_field("resource.boot", "true",
                                "A boot disk cannot be attached to an existing instance.")
        devices = {d["deviceName"] for d in found["disks"]}
        index = max(d["index"] for d in found["disks"]) + 1
        device = body.get("deviceName") or disk["name"]
        check_name(device, "resource.deviceName")
        if device in devices:
            raise invalid_field("resource.deviceName", device,
                                f"A disk with device name '{device}' is already attached.")
        entry = self._attachment(disk, {**body, "boot": False}, index, device)
        found["disks"].append(entry)
        disk.setdefault("users", []).append(found["selfLink"])
        disk["lastAttachTimestamp"] = self.now()
        self._changed(found)
        return self._operation(project, zone, found, "attachDisk", "instances_attach_disk")

    def instances_detach_disk(self, request: Request, project: str, zone: str, instance: str,
                              ) -> Response:
        found = self.instance_or_404(project, zone, instance)
        device = request.args.get("deviceName")
        if not device:
            raise HttpError(400, "required", "Required parameter 'deviceName' not specified")
        entry = next((d for d in found["disks"] if d["deviceName"] == device), None)
        if entry is None:
            raise invalid_field("deviceName", device,
                                f"No attached disk found with device name '{device}'")
        if entry["boot"] and found["status"] != "TERMINATED":
            raise bad_usage("Cannot detach the boot disk of an instance that is not stopped.")
        found["disks"].remove(entry)
        state = self.project(project)
        disk = state.zone_table(state.disks, zone).get(last(entry["source"]))
        if disk is not None:
            users = disk.get("users", [])
            if found["selfLink"] in users:
                users.remove(found["selfLink"])
            if not users:
                disk.pop("users", None)
            disk["lastDetachTimestamp"] = self.now()
        self._changed(found)
        return self._operation(project, zone, found, "detachDisk", "instances_detach_disk")
