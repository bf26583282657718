"""Every kind of response the fake sends parses strictly with the SDK's own message types
(``ignore_unknown_fields=False``), so a misspelt or invented field fails here."""

from __future__ import annotations

import json
from typing import Any

from google.auth.transport.requests import AuthorizedSession
from google.cloud import compute_v1

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
