"""``projects.get`` and ``projects.setCommonInstanceMetadata``: the project resource, its
common instance metadata guarded by a fingerprint, the same item checks as instance metadata,
and answers that parse strictly with the SDK's messages."""

from __future__ import annotations

import json

import pytest
from google.api_core import exceptions
from google.auth.transport.requests import AuthorizedSession
from google.cloud import compute_v1

from unicompute.mocks.gcp import GcpFake

from .conftest import COMPUTE

STALE = "Supplied fingerprint does not match current metadata fingerprint."


def strict(message_type: type, text: str) -> object:
    return message_type.from_json(text, ignore_unknown_fields=False)  # type: ignore[attr-defined]


def _set(project: str, items: dict[str, str], fingerprint: str | None) -> compute_v1.Operation:
    metadata = compute_v1.Metadata(items=[compute_v1.Items(key=k, value=v)
                                          for k, v in items.items()])
    if fingerprint is not None:
        metadata.fingerprint = fingerprint
    op: compute_v1.Operation = compute_v1.ProjectsClient().set_common_instance_metadata_unary(
        project=project, metadata_resource=metadata)
    return op


def _items(project: str) -> dict[str, str]:
    found = compute_v1.ProjectsClient().get(project=project).common_instance_metadata
    return {item.key: item.value for item in found.items}


def test_project_and_its_operation_parse_strictly(gcp: GcpFake, project: str,
                                                  session: AuthorizedSession) -> None:
    response = session.get(f"{COMPUTE}/projects/{project}")
    assert response.status_code == 200
    found = strict(compute_v1.Project, response.text)
    assert isinstance(found, compute_v1.Project)
    assert found.kind == "compute#project" and found.name == project
    assert found.id > 0 and found.creation_timestamp
    assert found.self_link.endswith(f"/compute/v1/projects/{project}")
    assert found.default_service_account == \
        f"{found.id}-compute@developer.gserviceaccount.com"
    assert found.common_instance_metadata.kind == "compute#metadata"
    assert found.common_instance_metadata.fingerprint
    assert isinstance(json.loads(response.text)["id"], str)  # int64 as a JSON string

    answer = session.post(
        f"{COMPUTE}/projects/{project}/setCommonInstanceMetadata",
        json={"fingerprint": found.common_instance_metadata.fingerprint,
              "items": [{"key": "team", "value": "a"}]})
    assert answer.status_code == 200, answer.text
    op = strict(compute_v1.Operation, answer.text)
    assert isinstance(op, compute_v1.Operation)
    assert op.operation_type == "setCommonInstanceMetadata"
    assert op.target_link == found.self_link and op.target_id == found.id
    assert not op.zone and not op.region  # a global operation
    assert op.status == compute_v1.Operation.Status.DONE
    polled = compute_v1.GlobalOperationsClient().get(project=project, operation=op.name)
    assert polled.name == op.name


def test_fingerprint_guards_every_change(gcp: GcpFake, project: str) -> None:
    client = compute_v1.ProjectsClient()
    first = client.get(project=project).common_instance_metadata.fingerprint
    _set(project, {"a": "1"}, first)
    second = client.get(project=project).common_instance_metadata.fingerprint
    assert second != first
    assert _items(project) == {"a": "1"}
    for stale in (first, None, "bm90LWl0"):
        with pytest.raises(exceptions.PreconditionFailed) as caught:
            _set(project, {"b": "2"}, stale)
        assert caught.value.errors[0]["reason"] == "conditionNotMet"
        assert STALE in caught.value.message
    assert _items(project) == {"a": "1"}
    _set(project, {"a": "1", "b": "2"}, second)
    assert _items(project) == {"a": "1", "b": "2"}
    assert client.get(project=project).common_instance_metadata.fingerprint not in (
        first, second)


@pytest.mark.parametrize(("items", "message"), [
    ({"bad key": "x"}, "Metadata key 'bad key' is invalid"),
    ({"k" * 129: "x"}, "is invalid"),
    ({"big": "x" * (256 * 1024 + 1)}, "Metadata value for key 'big' is too large"),
    ({f"v{i}": "x" * (200 * 1024) for i in range(3)}, "Metadata is too large"),
])
def test_bad_items_are_refused_as_for_instances_and_change_nothing(
        gcp: GcpFake, project: str, items: dict[str, str], message: str) -> None:
    fingerprint = compute_v1.ProjectsClient().get(
        project=project).common_instance_metadata.fingerprint
    with pytest.raises(exceptions.BadRequest) as caught:
        _set(project, items, fingerprint)
    assert caught.value.errors[0]["reason"] == "invalid"
    assert message in caught.value.message
    assert _items(project) == {}


def test_faults_fail_the_call_or_its_operation_and_undo(gcp: GcpFake, project: str) -> None:
    gcp.faults.fail_next("projects_get", status=503, code="backendError", message="later")
    with pytest.raises(exceptions.ServiceUnavailable):
        compute_v1.ProjectsClient().get(project=project, retry=None)
    fingerprint = compute_v1.ProjectsClient().get(
        project=project).common_instance_metadata.fingerprint
    gcp.faults.fail_next("projects_set_common_instance_metadata", status=503,
                         code="backendError", message="later")
    with pytest.raises(exceptions.ServiceUnavailable):
        _set(project, {"a": "1"}, fingerprint)
    gcp.faults.fail_next("operation:projects_set_common_instance_metadata", status=403,
                         code="QUOTA_EXCEEDED", message="no")
    op = _set(project, {"a": "1"}, fingerprint)
    assert op.http_error_status_code == 403
    gcp.faults.fail_next("operation:projects_set_common_instance_metadata", status=403,
                         code="QUOTA_EXCEEDED", message="no")
    extended = compute_v1.ProjectsClient().set_common_instance_metadata(
        project=project, metadata_resource=compute_v1.Metadata(
            fingerprint=fingerprint, items=[compute_v1.Items(key="a", value="1")]))
    with pytest.raises(exceptions.Forbidden):
        extended.result()
    assert _items(project) == {}
    assert compute_v1.ProjectsClient().get(
        project=project).common_instance_metadata.fingerprint == fingerprint


def test_public_image_projects_are_read_only(gcp: GcpFake) -> None:
    with pytest.raises(exceptions.Forbidden) as caught:
        _set("debian-cloud", {"a": "1"}, "42WmSpB8rSM=")
    assert "'projects/debian-cloud'" in caught.value.message


def test_stepped_update_applies_at_once_and_is_polled(gcp: GcpFake, project: str) -> None:
    gcp.operations.mode = "stepped"
    fingerprint = compute_v1.ProjectsClient().get(
        project=project).common_instance_metadata.fingerprint
    op = _set(project, {"a": "1"}, fingerprint)
    assert op.status == compute_v1.Operation.Status.RUNNING
    done = compute_v1.GlobalOperationsClient().wait(project=project, operation=op.name)
    assert done.status == compute_v1.Operation.Status.DONE
    assert _items(project) == {"a": "1"}
