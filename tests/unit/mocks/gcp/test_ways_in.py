"""Authentication in-process, the loopback server, and the environment start() sets."""

from __future__ import annotations

import os

import pytest
import requests
from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import AuthorizedSession
from google.cloud import compute_v1

from unicompute import InvalidRequest
from unicompute.mocks import mock_cloud
from unicompute.mocks.gcp import FAKE_PROJECT, GcpFake

from .conftest import COMPUTE, ZONE, vm_resource


def test_requests_without_a_token_get_gce_401(gcp: GcpFake) -> None:
    response = requests.get(f"{COMPUTE}/projects/p/zones/{ZONE}/instances", timeout=5)
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["status"] == "UNAUTHENTICATED" and error["errors"][0]["reason"] == "required"
    forged = requests.get(f"{COMPUTE}/projects/p/zones/{ZONE}/instances", timeout=5,
                          headers={"Authorization": "Bearer not-issued"})
    assert forged.status_code == 401
    assert forged.json()["error"]["errors"][0]["reason"] == "authError"


def test_start_sets_and_stop_restores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "users-real-project")
    monkeypatch.setenv("GCE_METADATA_HOST", "metadata.example")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    with mock_cloud(["gcp"]):
        assert os.environ["GOOGLE_CLOUD_PROJECT"] == FAKE_PROJECT
        assert "GCE_METADATA_HOST" not in os.environ
        path = os.environ["GOOGLE_APPLICATION_CREDENTIALS"]
        assert os.path.isfile(path)
        assert os.listdir(os.environ["CLOUDSDK_CONFIG"]) == []
    assert os.environ["GOOGLE_CLOUD_PROJECT"] == "users-real-project"
    assert os.environ["GCE_METADATA_HOST"] == "metadata.example"
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in os.environ
    assert not os.path.exists(path)


def test_served_fake_works_with_client_options_and_operation_clients() -> None:
    fake = GcpFake()
    endpoint = fake.serve()
    try:
        assert endpoint.startswith("http://127.0.0.1:")
        options = ClientOptions(api_endpoint=endpoint)
        credentials = AnonymousCredentials()
        instances = compute_v1.InstancesClient(client_options=options, credentials=credentials)
        zone_ops = compute_v1.ZoneOperationsClient(client_options=options,
                                                   credentials=credentials)
        # instant mode: result() needs no poll, so even the library's default-endpoint
        # operation client is never used
        instances.insert(project="p", zone=ZONE, instance_resource=vm_resource("a")).result()
        fake.operations.mode = "stepped"
        op = instances.insert_unary(project="p", zone=ZONE, instance_resource=vm_resource("b"))
        while zone_ops.wait(project="p", zone=ZONE, operation=op.name).status != (
                compute_v1.Operation.Status.DONE):
            pass
        assert [vm.name for vm in instances.list(project="p", zone=ZONE)] == ["a", "b"]
        assert instances.get(project="p", zone=ZONE, instance="b").status == "RUNNING"
    finally:
        fake.shutdown_server()


def test_unknown_paths_and_methods_answer_in_gce_form(gcp: GcpFake,
                                                      session: AuthorizedSession) -> None:
    missing = session.get(f"{COMPUTE}/projects/p/zones/{ZONE}/gadgets")
    assert missing.status_code == 404
    assert missing.json()["error"]["errors"][0]["reason"] == "notFound"
    wrong = session.put(f"{COMPUTE}/projects/p/zones/{ZONE}/instances/x", json={})
    assert wrong.status_code == 405


def test_seeding_checks_its_arguments() -> None:
    fake = GcpFake()
    with pytest.raises(InvalidRequest) as caught:
        fake.seed_instances(1, zone="mars-central1-a")
    assert caught.value.field == "zone"
    assert fake.seed_instances(2, labels={"a": "b"}) == ["seed-000000", "seed-000001"]
