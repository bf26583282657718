"""SSH keys on GCE: project metadata items ``unicompute-ssh-key-<name>`` (never the project's
``ssh-keys``), given to a VM launched with ``key_name`` through its own ``ssh-keys``."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from google.cloud import compute_v1
from werkzeug.wrappers import Request, Response

import unicompute as uc
from unicompute import _errors as errors
from unicompute.mocks.gcp import GcpFake
from unicompute.providers.gcp import Options

ZONE = "us-central1-a"
KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGbOUXPPn2D3dkzqbpHwpEXkR1xNuAFrZoDrNRLTsr6R "
       "me@laptop")


def project_items(project: str) -> dict[str, str]:
    found = compute_v1.ProjectsClient().get(project=project).common_instance_metadata
    return {item.key: item.value for item in found.items}


def set_project_items(project: str, items: dict[str, str]) -> None:
    client = compute_v1.ProjectsClient()
    fingerprint = client.get(project=project).common_instance_metadata.fingerprint
    client.set_common_instance_metadata(project=project, metadata_resource=compute_v1.Metadata(
        fingerprint=fingerprint,
        items=[compute_v1.Items(key=k, value=v) for k, v in items.items()])).result()


def instance_items(project: str, name: str) -> dict[str, str]:
    found = compute_v1.InstancesClient().get(project=project, zone=ZONE, instance=name)
    return {item.key: item.value for item in found.metadata.items}


def test_keys_are_project_metadata_items_next_to_the_users_own(
        cloud: uc.Cloud, project: str, tmp_path: Path) -> None:
    set_project_items(project, {"enable-oslogin": "FALSE", "ssh-keys": "admin:ssh-rsa AAAA x"})
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "t@h", "-f",
                    str(tmp_path / "id")], check=True)
    line = (tmp_path / "id.pub").read_text().strip()
    expected = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(tmp_path / "id.pub")],
                              check=True, capture_output=True, text=True).stdout.split()[1]
    key = cloud.keys.import_key("laptop_1", line)
    assert (key.name, key.fingerprint) == ("laptop_1", expected)
    assert project_items(project) == {"enable-oslogin": "FALSE",
                                      "ssh-keys": "admin:ssh-rsa AAAA x",
                                      "unicompute-ssh-key-laptop_1": line}
    cloud.keys.import_key("other", KEY)
    assert [(k.name, k.fingerprint) for k in cloud.keys.list()] == [
        ("laptop_1", expected),
        ("other", "SHA256:POEEKs/1DvLZavZ+ywR5CSDiX3KIuRIRj3p+92OmVxk")]  # ssh-keygen -l
    with pytest.raises(errors.AlreadyExists):
        cloud.keys.import_key("other", line)
    assert project_items(project)["unicompute-ssh-key-other"] == KEY
    cloud.keys.delete("laptop_1")
    with pytest.raises(errors.NotFound):
        cloud.keys.delete("laptop_1")
    assert project_items(project) == {"enable-oslogin": "FALSE",
                                      "ssh-keys": "admin:ssh-rsa AAAA x",
                                      "unicompute-ssh-key-other": KEY}


@pytest.mark.parametrize("name", ["has.dot", "k" * 110])
def test_names_metadata_cannot_hold_are_refused_before_any_call(
        cloud: uc.Cloud, fake: GcpFake, name: str) -> None:
    cloud.keys.list()
    fake.app.requests.clear()
    with pytest.raises(errors.InvalidRequest) as caught:
        cloud.keys.import_key(name, KEY)
    assert caught.value.field == "name"
    with pytest.raises(errors.InvalidRequest) as caught:
        cloud.keys.delete(name)
    assert caught.value.field == "name"
    assert list(fake.app.requests) == []
    assert cloud.keys.import_key("k" * 109, KEY).name == "k" * 109


def test_a_concurrent_change_is_read_again_and_kept(
        cloud: uc.Cloud, fake: GcpFake, project: str) -> None:
    real_get = fake.app.projects_get
    raced = []

    def racing_get(request: Request, project: str) -> Response:
        answer: Response = real_get(request, project)
        if not raced:  # another writer changes the metadata after our first read
            raced.append(True)
            state = fake.app.project(project)
            state.common_metadata = {"kind": "compute#metadata", "fingerprint": "b3RoZXI=",
                                     "items": [{"key": "theirs", "value": "1"}]}
        return answer

    fake.app.projects_get = racing_get  # type: ignore[method-assign]
    cloud.keys.import_key("mine", KEY)
    assert project_items(project) == {"theirs": "1", "unicompute-ssh-key-mine": KEY}
    sets = [r for r in fake.app.requests
            if r.endpoint == "projects_set_common_instance_metadata"]
    assert [r.status for r in sets] == [412, 200]


def test_a_second_stale_fingerprint_is_a_conflict(cloud: uc.Cloud, fake: GcpFake,
                                                   project: str) -> None:
    fake.faults.fail_next("projects_set_common_instance_metadata", status=412,
                          code="conditionNotMet", times=2,
                          message="Supplied fingerprint does not match current metadata "
                                  "fingerprint.")
    with pytest.raises(errors.Conflict):
        cloud.keys.import_key("mine", KEY)
    assert project_items(project) == {}


def test_launch_with_a_key_gives_it_to_that_vm_only(cloud: uc.Cloud, project: str) -> None:
    cloud.keys.import_key("deploy", KEY)
    spec: dict[str, Any] = {"size": "e2-small", "image": "debian-12"}
    keyed = cloud.vms.launch(uc.VMSpec(name="keyed", key_name="deploy", **spec))
    other = cloud.vms.launch(uc.VMSpec(name="plain", **spec,
                                       options=Options(ssh_user="alice")))
    custom = cloud.vms.launch(uc.VMSpec(name="custom", key_name="deploy", **spec,
                                        options=Options(ssh_user="alice")))
    assert keyed.key_name == "deploy" and cloud.vms.get(keyed.id).key_name == "deploy"
    assert custom.key_name == "deploy"
    assert other.key_name is None and cloud.vms.get(other.id).key_name is None
    assert instance_items(project, "keyed")["ssh-keys"] == f"unicompute:{KEY}"
    assert instance_items(project, "keyed")["unicompute-key-name"] == "deploy"
    assert instance_items(project, "custom")["ssh-keys"] == f"alice:{KEY}"
    assert "ssh-keys" not in instance_items(project, "plain")
    assert "ssh-keys" not in project_items(project)


def test_launch_with_a_key_is_refused_on_windows_and_for_a_missing_key(
        cloud: uc.Cloud, project: str) -> None:
    cloud.keys.import_key("deploy", KEY)
    for key_name, image in (("deploy", "windows-2022"), ("nope", "debian-12")):
        with pytest.raises(errors.InvalidRequest) as caught:
            cloud.vms.launch(uc.VMSpec(name="keyed", size="e2-standard-2", image=image,
                                       key_name=key_name))
        assert caught.value.field == "key_name"
    assert list(compute_v1.InstancesClient().list(project=project, zone=ZONE)) == []


@pytest.mark.parametrize("user", ["Root", "a:b", "", "x" * 33, "1abc"])
def test_bad_ssh_user_is_refused(user: str) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        Options(ssh_user=user)
    assert caught.value.field == "options.ssh_user"
