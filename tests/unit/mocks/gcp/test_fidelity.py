"""Every kind of response the fake sends parses strictly with the SDK's own message types
(``ignore_unknown_fields=False``), so a misspelt or invented field fails here."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import proto
import requests
from google.api_core import exceptions
from google.auth.transport.requests import AuthorizedSession
from google.cloud import compute_v1
from google.rpc import code_pb2

from unicompute.mocks.gcp import GcpFake

from .conftest import COMPUTE, ZONE, create_vm


def strict(message_type: Any, text: str) -> Any:
    return message_type.from_json(text, ignore_unknown_fields=False)


def get(session: AuthorizedSession, path: str, message_type: Any) -> Any:
    response = session.get(f"{COMPUTE}/{path}")
    assert response.status_code == 200, response.text
    return strict(message_type, response.text)


def test_every_resource_and_list_kind_parses_strictly(gcp: GcpFake, project: str,
                                                      session: AuthorizedSession) -> None:
    vm = create_vm(project, "strict", labels={"k": "v"})
    compute_v1.DisksClient().create_snapshot(
        project=project, zone=ZONE, disk="strict",
        snapshot_resource=compute_v1.Snapshot(name="snap")).result()
    p = f"projects/{project}"
    z = f"{p}/zones/{ZONE}"
    checks = [
        (f"{z}/instances/strict", compute_v1.Instance),
        (f"{z}/instances", compute_v1.InstanceList),
        (f"{p}/aggregated/instances", compute_v1.InstanceAggregatedList),
        (f"{z}/disks/strict", compute_v1.Disk),
        (f"{z}/disks", compute_v1.DiskList),
        (f"{p}/aggregated/disks", compute_v1.DiskAggregatedList),
        (f"{p}/global/snapshots/snap", compute_v1.Snapshot),
        (f"{p}/global/snapshots", compute_v1.SnapshotList),
        (f"{p}/global/networks/default", compute_v1.Network),
        (f"{p}/global/networks", compute_v1.NetworkList),
        (f"{p}/regions/us-central1/subnetworks/default", compute_v1.Subnetwork),
        (f"{p}/regions/us-central1/subnetworks", compute_v1.SubnetworkList),
        (f"{p}/global/firewalls/default-allow-ssh", compute_v1.Firewall),
        (f"{p}/global/firewalls", compute_v1.FirewallList),
        (f"{z}/machineTypes/g2-standard-24", compute_v1.MachineType),
        (f"{z}/machineTypes", compute_v1.MachineTypeList),
        (f"{p}/aggregated/machineTypes?maxResults=50", compute_v1.MachineTypeAggregatedList),
        (f"{p}/zones", compute_v1.ZoneList),
        (f"{p}/zones/{ZONE}", compute_v1.Zone),
        (f"{p}/regions", compute_v1.RegionList),
        (f"{p}/regions/us-central1", compute_v1.Region),
        ("projects/windows-cloud/global/images/family/windows-2022", compute_v1.Image),
        ("projects/debian-cloud/global/images", compute_v1.ImageList),
        (f"{z}/operations", compute_v1.OperationList),
        (f"{p}/global/operations", compute_v1.OperationList),
    ]
    for path, message_type in checks:
        parsed = get(session, path, message_type)
        assert parsed is not None, path
    assert get(session, f"{z}/instances/strict", compute_v1.Instance).id == vm.id
    # int64 ids travel as JSON strings, as GCE sends them
    raw = json.loads(session.get(f"{COMPUTE}/{z}/instances/strict").text)
    assert isinstance(raw["id"], str) and raw["id"].isdigit()


def test_operations_and_errors_parse_strictly(gcp: GcpFake, project: str,
                                              session: AuthorizedSession) -> None:
    z = f"projects/{project}/zones/{ZONE}"
    body = {"name": "op-vm", "machineType": f"zones/{ZONE}/machineTypes/e2-small",
            "disks": [{"boot": True, "initializeParams": {
                "sourceImage": "projects/debian-cloud/global/images/family/debian-12"}}],
            "networkInterfaces": [{}]}
    response = session.post(f"{COMPUTE}/{z}/instances", json=body)
    op = strict(compute_v1.Operation, response.text)
    assert op.status == compute_v1.Operation.Status.DONE and op.operation_type == "insert"
    waited = session.post(f"{COMPUTE}/{z}/operations/{op.name}/wait")
    assert strict(compute_v1.Operation, waited.text).name == op.name
    gcp.faults.fail_next("operation:instances_stop", status=503,
                         code="ZONE_RESOURCE_POOL_EXHAUSTED", message="exhausted")
    failed = strict(compute_v1.Operation,
                    session.post(f"{COMPUTE}/{z}/instances/op-vm/stop").text)
    assert failed.http_error_status_code == 503 and failed.error.errors[0].code == (
        "ZONE_RESOURCE_POOL_EXHAUSTED")
    missing = session.get(f"{COMPUTE}/{z}/instances/nope")
    error = missing.json()["error"]
    assert error == {"code": 404,
                     "message": f"The resource '{z}/instances/nope' was not found",
                     "errors": [{"message": f"The resource '{z}/instances/nope' was not found",
                                 "domain": "global", "reason": "notFound"}]}


# -- every endpoint, every answer ----------------------------------------------------------------

#: The SDK message of each endpoint's success answer (the return type of the matching
#: ``compute_v1`` client method; every mutation answers an ``Operation``).
ANSWERS: dict[str, Any] = {
    "instances_list": compute_v1.InstanceList,
    "instances_aggregated_list": compute_v1.InstanceAggregatedList,
    "instances_get": compute_v1.Instance,
    "instances_get_serial_port_output": compute_v1.SerialPortOutput,
    "disks_list": compute_v1.DiskList,
    "disks_aggregated_list": compute_v1.DiskAggregatedList,
    "disks_get": compute_v1.Disk,
    "snapshots_list": compute_v1.SnapshotList,
    "snapshots_get": compute_v1.Snapshot,
    "networks_list": compute_v1.NetworkList,
    "networks_get": compute_v1.Network,
    "subnetworks_list": compute_v1.SubnetworkList,
    "subnetworks_get": compute_v1.Subnetwork,
    "firewalls_list": compute_v1.FirewallList,
    "firewalls_get": compute_v1.Firewall,
    "zones_list": compute_v1.ZoneList,
    "zones_get": compute_v1.Zone,
    "regions_list": compute_v1.RegionList,
    "regions_get": compute_v1.Region,
    "machine_types_list": compute_v1.MachineTypeList,
    "machine_types_get": compute_v1.MachineType,
    "machine_types_aggregated_list": compute_v1.MachineTypeAggregatedList,
    "images_list": compute_v1.ImageList,
    "images_get": compute_v1.Image,
    "images_get_from_family": compute_v1.Image,
    "zone_operations_list": compute_v1.OperationList,
    "region_operations_list": compute_v1.OperationList,
    "global_operations_list": compute_v1.OperationList,
    "zone_operations_delete": compute_v1.DeleteZoneOperationResponse,
    "region_operations_delete": compute_v1.DeleteRegionOperationResponse,
    "global_operations_delete": compute_v1.DeleteGlobalOperationResponse,
    "projects_get": compute_v1.Project,
}

#: Keys Google's JSON error format allows (``error`` and each ``error.errors[]`` entry).
ERROR_KEYS = {"code", "message", "errors", "status", "details"}
ERROR_ENTRY_KEYS = {"message", "domain", "reason", "location", "locationType", "extendedHelp",
                    "sendReport"}


def undocumented_enum_values(message: Any, where: str = "") -> list[str]:
    """Values of enum-typed fields that the SDK's enum does not name. Compute's protos carry
    enums as strings, so ``from_json`` accepts any text there; this finds a misspelt one."""
    found: list[str] = []
    for name, field in type(message).meta.fields.items():
        if name not in message:
            continue
        value = getattr(message, name)
        path = f"{where}.{name}"
        if field.message is not None:
            values = value.values() if isinstance(value, Mapping) else \
                value if field.repeated else [value]
            for item in values:
                if isinstance(item, proto.Message):
                    found += undocumented_enum_values(item, path)
            continue
        enum = getattr(type(message), "".join(w.capitalize() for w in name.strip("_").split("_")),
                       None)
        if isinstance(enum, type) and issubclass(enum, proto.Enum):
            for item in value if field.repeated else [value]:
                if isinstance(item, str) and item not in enum.__members__:
                    found.append(f"{path}={item!r}")
    return found


class Walk:
    """Raw calls through the in-process endpoint; each answer is checked to come from the
    expected endpoint and parsed strictly with its SDK message."""

    def __init__(self, gcp: GcpFake, session: AuthorizedSession) -> None:
        self.gcp, self.session = gcp, session
        self.served: set[str] = set()

    def __call__(self, endpoint: str, method: str, path: str, body: Any = None) -> Any:
        response = self.session.request(method, f"{COMPUTE}/{path}", json=body)
        logged = self.gcp.app.requests[-1]
        assert logged.endpoint == endpoint, (endpoint, path, logged)
        assert response.status_code == 200, (endpoint, response.text)
        parsed = strict(ANSWERS.get(endpoint, compute_v1.Operation), response.text)
        assert undocumented_enum_values(parsed) == [], endpoint
        if isinstance(parsed, compute_v1.Operation):
            assert parsed.kind == "compute#operation" and parsed.name, (endpoint, parsed)
        self.served.add(endpoint)
        return parsed


def check_error_body(response: Any, status: int, reason: str) -> None:
    """The body holds only what Google's JSON error format has, and google-api-core (what the
    SDK raises from) reads the status, message and ``errors`` from it."""
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = json.loads(response.text)
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) <= ERROR_KEYS and {"code", "message", "errors"} <= set(error), error
    assert error["code"] == status and isinstance(error["message"], str) and error["message"]
    for entry in error["errors"]:
        assert set(entry) <= ERROR_ENTRY_KEYS and {"message", "domain", "reason"} <= set(entry)
        assert all(isinstance(value, str) and value for value in entry.values()), entry
    assert error["errors"][0]["reason"] == reason
    if "status" in error:
        code_pb2.Code.Value(error["status"])  # a google.rpc.Code name, or ValueError
    raised = exceptions.from_http_response(response)
    assert raised.code == status and type(raised) is exceptions.exception_class_for_http_status(
        status)
    assert error["message"] in raised.message
    assert list(raised.errors) == error["errors"]


def test_every_endpoint_answers_what_the_sdk_parses_strictly(
        gcp: GcpFake, project: str, session: AuthorizedSession) -> None:
    walk = Walk(gcp, session)
    p = f"projects/{project}"
    z = f"{p}/zones/{ZONE}"
    r = f"{p}/regions/us-central1"
    vm = {"name": "walk", "machineType": f"zones/{ZONE}/machineTypes/e2-small",
          "disks": [{"boot": True, "autoDelete": True, "initializeParams": {
              "sourceImage": "projects/debian-cloud/global/images/family/debian-12"}}],
          "networkInterfaces": [{"accessConfigs": [{"type": "ONE_TO_ONE_NAT"}]}]}
    zone_op = walk("instances_insert", "POST", f"{z}/instances", vm)
    walk("zone_operations_get", "GET", f"{z}/operations/{zone_op.name}")
    walk("zone_operations_wait", "POST", f"{z}/operations/{zone_op.name}/wait")
    walk("zone_operations_list", "GET", f"{z}/operations")
    walk("instances_list", "GET", f"{z}/instances")
    walk("instances_aggregated_list", "GET", f"{p}/aggregated/instances")
    found = walk("instances_get", "GET", f"{z}/instances/walk")
    walk("instances_set_labels", "POST", f"{z}/instances/walk/setLabels",
         {"labels": {"team": "a"}, "labelFingerprint": found.label_fingerprint})
    walk("instances_set_metadata", "POST", f"{z}/instances/walk/setMetadata",
         {"fingerprint": found.metadata.fingerprint, "items": [{"key": "k", "value": "v"}]})
    walk("instances_reset", "POST", f"{z}/instances/walk/reset")
    serial = walk("instances_get_serial_port_output", "GET",
                  f"{z}/instances/walk/serialPort?port=1&start=0")
    assert serial.contents and serial.next_ == len(serial.contents.encode())
    walk("instances_stop", "POST", f"{z}/instances/walk/stop")
    walk("instances_set_machine_type", "POST", f"{z}/instances/walk/setMachineType",
         {"machineType": f"zones/{ZONE}/machineTypes/e2-medium"})
    walk("instances_start", "POST", f"{z}/instances/walk/start")

    walk("disks_insert", "POST", f"{z}/disks", {"name": "data", "sizeGb": "10"})
    walk("disks_list", "GET", f"{z}/disks")
    walk("disks_aggregated_list", "GET", f"{p}/aggregated/disks")
    walk("disks_get", "GET", f"{z}/disks/data")
    walk("instances_attach_disk", "POST", f"{z}/instances/walk/attachDisk",
         {"source": f"{z}/disks/data"})
    device = [d.device_name for d in walk("instances_get", "GET", f"{z}/instances/walk").disks
              if d.source.endswith("/disks/data")]
    walk("instances_detach_disk", "POST",
         f"{z}/instances/walk/detachDisk?deviceName={device[0]}")
    walk("disks_create_snapshot", "POST", f"{z}/disks/data/createSnapshot", {"name": "snap"})
    walk("snapshots_list", "GET", f"{p}/global/snapshots")
    walk("snapshots_get", "GET", f"{p}/global/snapshots/snap")
    walk("snapshots_delete", "DELETE", f"{p}/global/snapshots/snap")
    walk("disks_delete", "DELETE", f"{z}/disks/data")

    global_op = walk("networks_insert", "POST", f"{p}/global/networks",
                     {"name": "net", "autoCreateSubnetworks": False})
    walk("global_operations_get", "GET", f"{p}/global/operations/{global_op.name}")
    walk("global_operations_wait", "POST", f"{p}/global/operations/{global_op.name}/wait")
    walk("global_operations_list", "GET", f"{p}/global/operations")
    walk("networks_list", "GET", f"{p}/global/networks")
    walk("networks_get", "GET", f"{p}/global/networks/net")
    region_op = walk("subnetworks_insert", "POST", f"{r}/subnetworks",
                     {"name": "sub", "network": "global/networks/net",
                      "ipCidrRange": "10.9.0.0/24"})
    assert region_op.region.endswith("/regions/us-central1") and not region_op.zone
    assert walk("region_operations_get", "GET",
                f"{r}/operations/{region_op.name}").name == region_op.name
    assert walk("region_operations_wait", "POST",
                f"{r}/operations/{region_op.name}/wait").status == (
        compute_v1.Operation.Status.DONE)
    assert [op.name for op in walk("region_operations_list", "GET", f"{r}/operations").items
            ] == [region_op.name]
    walk("subnetworks_list", "GET", f"{r}/subnetworks")
    walk("subnetworks_get", "GET", f"{r}/subnetworks/sub")
    walk("firewalls_insert", "POST", f"{p}/global/firewalls",
         {"name": "fw", "network": "global/networks/net", "sourceRanges": ["10.0.0.0/8"],
          "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}]})
    walk("firewalls_patch", "PATCH", f"{p}/global/firewalls/fw",
         {"sourceRanges": ["192.168.0.0/16"]})
    walk("firewalls_list", "GET", f"{p}/global/firewalls")
    walk("firewalls_get", "GET", f"{p}/global/firewalls/fw")
    walk("firewalls_delete", "DELETE", f"{p}/global/firewalls/fw")
    walk("subnetworks_delete", "DELETE", f"{r}/subnetworks/sub")
    walk("networks_delete", "DELETE", f"{p}/global/networks/net")

    walk("zones_list", "GET", f"{p}/zones")
    walk("zones_get", "GET", f"{z}")
    walk("regions_list", "GET", f"{p}/regions")
    walk("regions_get", "GET", r)
    walk("machine_types_list", "GET", f"{z}/machineTypes")
    walk("machine_types_get", "GET", f"{z}/machineTypes/e2-small")
    walk("machine_types_aggregated_list", "GET", f"{p}/aggregated/machineTypes")
    images = walk("images_list", "GET", "projects/debian-cloud/global/images")
    walk("images_get", "GET", f"projects/debian-cloud/global/images/{images.items[0].name}")
    walk("images_get_from_family", "GET",
         "projects/debian-cloud/global/images/family/debian-12")

    project_resource = walk("projects_get", "GET", p)
    metadata_op = walk("projects_set_common_instance_metadata", "POST",
                       f"{p}/setCommonInstanceMetadata",
                       {"fingerprint": project_resource.common_instance_metadata.fingerprint,
                        "items": [{"key": "team", "value": "a"}]})
    assert metadata_op.operation_type == "setCommonInstanceMetadata"
    assert metadata_op.target_link.endswith(f"/{p}") and not metadata_op.zone
    walk("global_operations_get", "GET", f"{p}/global/operations/{metadata_op.name}")
    walk("global_operations_wait", "POST", f"{p}/global/operations/{metadata_op.name}/wait")
    assert metadata_op.name in [op.name for op in walk(
        "global_operations_list", "GET", f"{p}/global/operations").items]
    assert walk("projects_get", "GET", p).common_instance_metadata.items[0].key == "team"

    walk("zone_operations_delete", "DELETE", f"{z}/operations/{zone_op.name}")
    walk("region_operations_delete", "DELETE", f"{r}/operations/{region_op.name}")
    walk("global_operations_delete", "DELETE", f"{p}/global/operations/{global_op.name}")
    walk("instances_delete", "DELETE", f"{z}/instances/walk")

    every = {str(rule.endpoint) for rule in gcp.app.url_map.iter_rules()}
    assert every - walk.served == set(), "endpoints without a strict-parse check"


def test_operations_in_flight_parse_strictly(gcp: GcpFake, project: str,
                                             session: AuthorizedSession) -> None:
    """Stepped mode: PENDING/RUNNING operations of each scope (and the instance in a
    transitional state) parse as strictly as finished ones."""
    walk = Walk(gcp, session)
    p = f"projects/{project}"
    z = f"{p}/zones/{ZONE}"
    r = f"{p}/regions/us-central1"
    walk("networks_insert", "POST", f"{p}/global/networks",
         {"name": "custom", "autoCreateSubnetworks": False})
    gcp.operations.mode = "stepped"
    vm = {"name": "slow", "machineType": f"zones/{ZONE}/machineTypes/e2-small",
          "disks": [{"boot": True, "initializeParams": {
              "sourceImage": "projects/debian-cloud/global/images/family/debian-12"}}],
          "networkInterfaces": [{}]}
    ops = [(walk("instances_insert", "POST", f"{z}/instances", vm), f"{z}/operations"),
           (walk("subnetworks_insert", "POST", f"{r}/subnetworks",
                 {"name": "sub", "network": "global/networks/custom",
                  "ipCidrRange": "10.200.0.0/24"}), f"{r}/operations"),
           (walk("networks_insert", "POST", f"{p}/global/networks",
                 {"name": "net2", "autoCreateSubnetworks": False}), f"{p}/global/operations")]
    assert walk("instances_get", "GET", f"{z}/instances/slow").status != "RUNNING"
    for op, collection in ops:
        assert op.status != compute_v1.Operation.Status.DONE, op
        scope = collection.rsplit("/", 1)[0].split("/", 2)[2]
        kind = {"zones": "zone", "regions": "region", "global": "global"}[scope.split("/")[0]]
        listed = walk(f"{kind}_operations_list", "GET", collection)
        assert op.name in [item.name for item in listed.items]
        polled = walk(f"{kind}_operations_get", "GET", f"{collection}/{op.name}")
        assert polled.name == op.name
        done = walk(f"{kind}_operations_wait", "POST", f"{collection}/{op.name}/wait")
        assert done.status == compute_v1.Operation.Status.DONE and done.end_time


def test_error_bodies_have_googles_json_error_format(gcp: GcpFake, project: str,
                                                     session: AuthorizedSession) -> None:
    """Each kind of error the fake sends: only the fields of Google's JSON error format, read by
    google-api-core into the exception the SDK raises."""
    p = f"projects/{project}"
    z = f"{p}/zones/{ZONE}"
    check_error_body(session.get(f"{COMPUTE}/{z}/instances/nope"), 404, "notFound")
    check_error_body(session.get(f"{COMPUTE}/{p}/regions/us-central1/operations/nope"),
                     404, "notFound")
    check_error_body(session.get(f"{COMPUTE}/{p}/nothing/here/at/all"), 404, "notFound")
    check_error_body(session.post(f"{COMPUTE}/{z}/instances", json={"name": "Bad_Name"}),
                     400, "invalid")
    check_error_body(session.post(f"{COMPUTE}/{p}/global/networks", json={"name": "default"}),
                     409, "alreadyExists")
    check_error_body(session.post(f"{COMPUTE}/{p}/setCommonInstanceMetadata",
                                  json={"fingerprint": "stale", "items": []}),
                     412, "conditionNotMet")
    check_error_body(session.post(f"{COMPUTE}/projects/debian-cloud/setCommonInstanceMetadata",
                                  json={"items": []}), 403, "forbidden")
    gcp.faults.throttle("zones_list", times=1)
    throttled = session.get(f"{COMPUTE}/{p}/zones")
    check_error_body(throttled, 403, "rateLimitExceeded")
    assert throttled.json()["error"]["errors"][0]["domain"] == "usageLimits"
    anonymous = requests.get(f"{COMPUTE}/{p}/zones")
    check_error_body(anonymous, 401, "required")
    assert anonymous.json()["error"]["status"] == "UNAUTHENTICATED"
    bad_token = requests.get(f"{COMPUTE}/{p}/zones", headers={"Authorization": "Bearer x"})
    check_error_body(bad_token, 401, "authError")
