"""Cloud Functions v2 over the official REST client: create, get, list, patch, delete,
operations, upload URLs and validation, every answer parsed strictly with the SDK's models."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import requests
from google.api_core import exceptions
from google.cloud import functions_v2
from google.longrunning import operations_pb2
from google.protobuf import json_format

from unicompute.mocks.gcp import FAKE_PROJECT, GcpFake

from .conftest import PARENT, api_json

FUNCTIONS = "https://cloudfunctions.googleapis.com/v2"


def raw(fake: GcpFake, path: str) -> dict[str, Any]:
    """GET ``path`` of the Functions API with a token the fake issued, as JSON."""
    return api_json(fake, "GET", f"{FUNCTIONS}/{path}")


def strict_function(body: dict[str, Any]) -> functions_v2.Function:
    return functions_v2.Function.from_json(json.dumps(body), ignore_unknown_fields=False)


def strict_operation(body: dict[str, Any]) -> operations_pb2.Operation:
    op = operations_pb2.Operation()
    json_format.Parse(json.dumps({k: v for k, v in body.items()
                                  if k not in ("metadata", "response")}), op)
    meta = body["metadata"]
    assert meta["@type"] == "type.googleapis.com/google.cloud.functions.v2.OperationMetadata"
    functions_v2.OperationMetadata.from_json(
        json.dumps({k: v for k, v in meta.items() if k not in ("@type", "requestResource")}),
        ignore_unknown_fields=False)
    if "requestResource" in meta:
        resource = meta["requestResource"]
        assert resource["@type"] == "type.googleapis.com/google.cloud.functions.v2.Function"
        strict_function({k: v for k, v in resource.items() if k != "@type"})
    return op


def test_deploy_get_and_invoke_with_an_id_token(fake: GcpFake, client: Any,
                                                deploy: Callable[..., Any]) -> None:
    operation = deploy()
    function = operation.result(timeout=30)
    assert function.state == functions_v2.Function.State.ACTIVE
    assert function.environment == functions_v2.Environment.GEN_2
    uri = function.service_config.uri
    assert uri.startswith("https://hello-") and uri.endswith("-uc.a.run.app")
    assert function.service_config.revision.startswith("hello-00001-")
    assert function.service_config.service == f"{PARENT}/services/hello"
    assert function.build_config.source_provenance.resolved_storage_source.generation > 0

    body = raw(fake, f"{PARENT}/functions/hello")
    strict_function(body)
    assert body["serviceConfig"]["availableMemory"] == "256Mi"
    op_body = raw(fake, operation.operation.name)
    strict_operation(op_body)
    assert op_body["done"] is True
    assert op_body["response"]["@type"] == \
        "type.googleapis.com/google.cloud.functions.v2.Function"
    strict_function({k: v for k, v in op_body["response"].items() if k != "@type"})

    # private by default: 403 without a token, 401 with an access token, 200 with an ID token
    assert requests.post(uri + "/x", data="hi", timeout=30).status_code == 403
    access = next(iter(fake.tokens))
    assert requests.post(uri, headers={"Authorization": f"Bearer {access}"},
                         timeout=30).status_code == 401
    import google.auth
    from google.auth.transport.requests import Request

    credentials, _ = google.auth.default()
    credentials.refresh(Request())
    assert credentials.id_token  # type: ignore[attr-defined]
    answer = requests.post(uri + "/some/path?q=1", data="hi", timeout=30, headers={
        "Authorization": f"Bearer {credentials.id_token}"})  # type: ignore[attr-defined]
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"mode": "fast", "service": "hello", "path": "/some/path",
                             "body": "hi"}
    assert "hello called POST /some/path" in fake.functions.log_lines("hello")


def test_flask_return_rules_and_crash(fake: GcpFake, deploy: Callable[..., Any],
                                      client: Any) -> None:
    uri = deploy("pot", entry_point="teapot").result().service_config.uri
    token = {"Authorization": f"Bearer {fake.functions.id_token(uri)}"}
    answer = requests.get(uri, headers=token, timeout=30)
    assert (answer.status_code, answer.text, answer.headers["X-Pot"]) == \
        (418, "short and stout", "tea")
    uri = deploy("boom", entry_point="boom").result().service_config.uri
    # Cloud Run checks the token's audience: pot's token does not open boom.
    assert requests.get(uri, headers=token, timeout=30).status_code == 401
    token = {"Authorization": f"Bearer {fake.functions.id_token(uri)}"}
    answer = requests.get(uri, headers=token, timeout=30)
    assert answer.status_code == 500 and answer.headers["X-Google-Status"] == "crash"
    assert any("ValueError: boom" in line for line in fake.functions.log_lines("boom"))


@pytest.mark.parametrize(("change", "field"), [
    ({"function_id": "Bad_Name"}, "function_id"),
    ({"function_id": "x" * 64}, "function_id"),
    ({"service_config": {"available_memory": "100Mi"}}, "service_config.available_memory"),
    ({"service_config": {"available_memory": "lots"}}, "service_config.available_memory"),
    ({"service_config": {"timeout_seconds": 3601}}, "service_config.timeout_seconds"),
    ({"service_config": {"environment_variables": {"X_GOOGLE_A": "1"}}},
     "service_config.environment_variables"),
    ({"service_config": {"environment_variables": {"PORT": "1"}}},
     "service_config.environment_variables"),
    ({"build_config": {"runtime": "python312", "entry_point": "hello"}},
     "build_config.source"),
    ({"build_config": {"runtime": "cobol85", "entry_point": "hello",
                       "source": {"storage_source": {"bucket": "b", "object": "o"}}}},
     "build_config.runtime"),
    ({"labels": {"Upper": "x"}}, "labels"),
])
def test_bad_functions_are_rejected_and_nothing_is_stored(
        fake: GcpFake, client: Any, change: dict[str, Any], field: str) -> None:
    function: dict[str, Any] = {
        "build_config": {"runtime": "python312", "entry_point": "hello",
                         "source": {"storage_source": {"bucket": "b", "object": "o"}}}}
    function_id = change.pop("function_id", "good")
    function.update(change)
    with pytest.raises(exceptions.BadRequest) as info:
        client.create_function(request={"parent": PARENT, "function": function,
                                        "function_id": function_id})
    violations = [v for d in info.value.details for v in d.get("fieldViolations", [])]
    assert [v["field"] for v in violations] == [field]
    assert info.value.response.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert fake.functions.names() == []


def test_event_function_timeout_cap_is_540(client: Any, upload: Callable[..., Any]) -> None:
    with pytest.raises(exceptions.BadRequest, match="540"):
        client.create_function(request={"parent": PARENT, "function_id": "ev", "function": {
            "build_config": {"runtime": "python312", "entry_point": "on_event",
                             "source": {"storage_source": upload()}},
            "service_config": {"timeout_seconds": 541},
            "event_trigger": {"event_type": "google.cloud.pubsub.topic.v1.messagePublished",
                              "pubsub_topic": f"projects/{FAKE_PROJECT}/topics/jobs"}}})


@pytest.mark.parametrize(("files", "entry", "words"), [
    ({"app.py": "x = 1\n"}, "hello", "missing main.py"),
    (None, "nothing_here", "Container Healthcheck failed"),
    ({"main.py": "import not_a_module_anywhere\n"}, "hello", "ModuleNotFoundError"),
])
def test_a_build_that_fails_leaves_a_failed_function(
        fake: GcpFake, client: Any, deploy: Callable[..., Any], files: dict[str, str] | None,
        entry: str, words: str) -> None:
    operation = deploy("broken", entry_point=entry, files=files)
    with pytest.raises(exceptions.GoogleAPICallError, match=words):
        operation.result()
    function = client.get_function(name=f"{PARENT}/functions/broken")
    assert function.state == functions_v2.Function.State.FAILED
    assert words in function.state_messages[0].message
    assert function.service_config.uri == ""
    client.delete_function(name=f"{PARENT}/functions/broken").result()
    assert fake.functions.names() == []


def test_missing_upload_fails_the_build(client: Any) -> None:
    operation = client.create_function(request={"parent": PARENT, "function_id": "nosrc",
                                                "function": {"build_config": {
        "runtime": "python312", "entry_point": "hello",
        "source": {"storage_source": {"bucket": "b", "object": "never.zip"}}}}})
    with pytest.raises(exceptions.GoogleAPICallError, match="does not exist"):
        operation.result()


def test_duplicate_create_is_409(client: Any, deploy: Callable[..., Any]) -> None:
    deploy().result()
    with pytest.raises(exceptions.Conflict):
        deploy()


def test_patch_with_update_mask_makes_a_new_revision(
        fake: GcpFake, client: Any, deploy: Callable[..., Any]) -> None:
    first = deploy().result()
    updated = client.update_function(request={
        "function": {"name": first.name,
                     "service_config": {"environment_variables": {"MODE": "slow"},
                                        "available_memory": "1Gi"},
                     "labels": {"team": "a"}},
        "update_mask": {"paths": ["service_config.environment_variables", "labels"]},
    }).result()
    assert updated.service_config.revision.startswith("hello-00002-")
    assert updated.service_config.available_memory == "256Mi"  # not in the mask
    assert dict(updated.labels) == {"team": "a"}
    uri = updated.service_config.uri
    answer = requests.get(uri, headers={"Authorization":
                                        f"Bearer {fake.functions.id_token(uri)}"}, timeout=30)
    assert answer.json()["mode"] == "slow"
    with pytest.raises(exceptions.BadRequest):
        client.update_function(request={"function": {"name": first.name, "state": 1},
                                        "update_mask": {"paths": ["state"]}})


def test_list_pages_and_filters(client: Any, deploy: Callable[..., Any],
                                fake: GcpFake) -> None:
    for name in ("a1", "a2", "a3"):
        deploy(name, labels={"group": "x" if name != "a2" else "y"}).result()
    pages = list(client.list_functions(request={"parent": PARENT, "page_size": 2}).pages)
    assert [[f.name.rpartition("/")[2] for f in p.functions] for p in pages] == \
        [["a1", "a2"], ["a3"]]
    listed = client.list_functions(request={"parent": PARENT, "filter": 'labels.group="x"'})
    assert [f.name.rpartition("/")[2] for f in listed] == ["a1", "a3"]
    # AIP-160 comparisons other than = and : (the same filter grammar as Cloud Logging's)
    others = client.list_functions(request={"parent": PARENT, "filter": 'labels.group!="x"'})
    assert [f.name.rpartition("/")[2] for f in others] == ["a2"]
    body = raw(fake, f"{PARENT}/functions?pageSize=2")
    functions_v2.ListFunctionsResponse.from_json(json.dumps(body), ignore_unknown_fields=False)


def test_delete_removes_the_function_and_its_workers(
        fake: GcpFake, client: Any, deploy: Callable[..., Any]) -> None:
    function = deploy().result()
    assert fake.functions.runtime.keys() == [function.name]
    operation = client.delete_function(name=function.name)
    operation.result()
    op_body = raw(fake, operation.operation.name)
    strict_operation(op_body)
    assert op_body["response"] == {"@type": "type.googleapis.com/google.protobuf.Empty"}
    assert fake.functions.names() == [] and fake.functions.runtime.keys() == []
    with pytest.raises(exceptions.NotFound):
        client.get_function(name=function.name)
    answer = requests.get(function.service_config.uri, timeout=10)
    assert answer.status_code == 404


def test_operations_list_and_stepped_mode(fake: GcpFake, client: Any,
                                          deploy: Callable[..., Any]) -> None:
    fake.functions.operations.mode = "stepped"
    operation = deploy()
    assert client.get_function(name=f"{PARENT}/functions/hello").state == \
        functions_v2.Function.State.DEPLOYING
    assert operation.result(polling=None, timeout=30).state == \
        functions_v2.Function.State.ACTIVE
    body = raw(fake, f"{PARENT}/operations")
    assert [op["done"] for op in body["operations"]] == [True]
    for op in body["operations"]:
        strict_operation(op)


def test_upload_url_rules(fake: GcpFake, client: Any) -> None:
    answer = client.generate_upload_url(request={"parent": PARENT})
    functions_v2.GenerateUploadUrlResponse.from_json(json.dumps(api_json(
        fake, "POST", f"{FUNCTIONS}/{PARENT}/functions:generateUploadUrl", {})),
        ignore_unknown_fields=False)
    assert answer.upload_url.startswith("https://storage.googleapis.com/gcf-v2-uploads-")
    assert requests.put(answer.upload_url, data=b"PK", timeout=10,
                        headers={"content-type": "application/octet-stream"}
                        ).status_code == 403
    assert requests.put(answer.upload_url + "x", data=b"PK", timeout=10,
                        headers={"content-type": "application/zip"}).status_code == 403
    assert requests.put(answer.upload_url, data=b"PK", timeout=10,
                        headers={"content-type": "application/zip"}).status_code == 200
