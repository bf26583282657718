"""Fixtures: the GCE fake in-process (as ``mock_cloud(["gcp"])`` runs it) and raw HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import google.auth
import pytest
from google.auth.transport.requests import AuthorizedSession
from google.cloud import compute_v1

from unicompute.mocks import mock_cloud
from unicompute.mocks.gcp import GcpFake

ZONE = "us-central1-a"
COMPUTE = "https://compute.googleapis.com/compute/v1"


@pytest.fixture
def gcp() -> Iterator[GcpFake]:
    with mock_cloud(["gcp"]) as mocks:
        fake = mocks.fake("gcp")
        assert isinstance(fake, GcpFake)
        yield fake


@pytest.fixture
def project(gcp: GcpFake) -> str:
    """The project ``google.auth.default()`` names inside the mock."""
    _, found = google.auth.default()
    assert found is not None
    return found


@pytest.fixture
def session(gcp: GcpFake) -> AuthorizedSession:
    """A raw HTTP session with the default credentials, for wire-level checks."""
    credentials, _ = google.auth.default(
        scopes=["https://www.googleapis.com/auth/cloud-platform"])
    return AuthorizedSession(credentials)


def vm_resource(name: str, *, machine: str = "e2-medium", image: str =
                "projects/debian-cloud/global/images/family/debian-12",
                labels: dict[str, str] | None = None, external_ip: bool = True,
                **extra: Any) -> compute_v1.Instance:
    """An instance body as Google's samples build it."""
    boot = compute_v1.AttachedDisk(
        boot=True, auto_delete=True,
        initialize_params=compute_v1.AttachedDiskInitializeParams(
            source_image=image, disk_size_gb=10,
            disk_type=f"zones/{ZONE}/diskTypes/pd-balanced"))
    nic = compute_v1.NetworkInterface(network="global/networks/default")
    if external_ip:
        nic.access_configs = [compute_v1.AccessConfig(name="External NAT",
                                                      type_="ONE_TO_ONE_NAT")]
    return compute_v1.Instance(name=name, machine_type=f"zones/{ZONE}/machineTypes/{machine}",
                               disks=[boot], network_interfaces=[nic], labels=labels or {},
                               **extra)


def create_vm(project: str, name: str, **kwargs: Any) -> compute_v1.Instance:
    client = compute_v1.InstancesClient()
    operation = client.insert(project=project, zone=ZONE,
                              instance_resource=vm_resource(name, **kwargs))
    operation.result(timeout=10)
    return client.get(project=project, zone=ZONE, instance=name)
