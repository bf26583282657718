"""The client inside fake VMs of the three clouds (``unicompute.mocks``' metadata servers):
the identity is what the control plane reports, interruptions show and then stop the VM, and
user data runs once with its output in ``vm.console_output()``."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import unicompute as uc
from unicompute import metadata
from unicompute.mocks import mock_cloud
from unicompute.testing.profiles import profile_for

SIZES = {"aws": "t3.micro", "azure": "Standard_B1s", "gcp": "e2-small"}
CLOUDS = ["aws", "azure", "gcp"]


@pytest.fixture(params=CLOUDS)
def opened(request: pytest.FixtureRequest) -> Iterator[tuple[uc.Cloud, object]]:
    provider = request.param
    with mock_cloud([provider], run_user_data=True) as mock, \
            uc.connect(provider, region=profile_for(provider).region) as cloud:
        yield cloud, mock


def _spec(cloud: uc.Cloud, **changes: object) -> uc.VMSpec:
    fields: dict[str, object] = {
        "name": "md-vm", "size": SIZES[cloud.provider], "image": "ubuntu-24.04",
        "tags": {"app": "web", "run": uuid.uuid4().hex[:8]},
    }
    fields.update(changes)
    return uc.VMSpec(**fields)  # type: ignore[arg-type]


def test_identity_is_what_the_control_plane_reports(opened) -> None:
    cloud, mock = opened
    vm = cloud.vms.launch(_spec(cloud, user_data="#!/bin/sh\necho ready\n"))
    vm.wait_until("running", timeout=60)
    with mock.inside(vm):
        me = metadata.current()
    seen = cloud.vms.get(vm.id)
    assert me is not None
    assert (me.provider, me.instance_id, me.zone, me.size, me.image, me.private_ip,
            me.public_ip, me.spot) == (
        cloud.provider, seen.id, seen.zone, seen.size, seen.image, seen.private_ip,
        seen.public_ip, seen.spot)
    assert me.user_data == vm.user_data() == b"#!/bin/sh\necho ready\n"
    assert me.region == cloud.region
    if cloud.provider == "gcp":  # labels are not in GCE's metadata server
        assert (me.name, me.tags) == (seen.name, None)
    else:
        assert (me.name, me.tags) == (seen.name, dict(seen.tags))
    # tags set later show (where the metadata service has them)
    vm.set_tags({"stage": "two"})
    with mock.inside(vm):
        later = metadata.current()
    assert later is not None
    if cloud.provider != "gcp":
        assert later.tags is not None and later.tags["stage"] == "two"
    # outside the VM: no cloud (the fakes' servers are only reachable from inside)
    assert metadata.current(timeout=0.3) is None


def test_spot_interruption_shows_then_the_vm_goes(opened) -> None:
    cloud, mock = opened
    vm = cloud.vms.launch(_spec(cloud, name="md-spot", spot=True))
    vm.wait_until("running", timeout=60)
    with mock.inside(vm):
        assert metadata.interruption_notice() is None
    interruption = mock.interrupt(vm)
    with mock.inside(vm):
        notice = metadata.interruption_notice()
        assert metadata.current() is not None
    assert notice is not None and notice.provider == cloud.provider
    assert notice.action in ("terminate", "stop")
    interruption.complete()
    if notice.action == "terminate":
        with pytest.raises(uc.NotFound):
            cloud.vms.get(vm.id).wait_until("terminated", timeout=30)
    else:
        assert cloud.vms.get(vm.id).wait_until("stopped", timeout=30).state is uc.VMState.STOPPED


def test_user_data_runs_once_and_its_output_is_console_output(opened) -> None:
    cloud, mock = opened
    marker = f"hello-{uuid.uuid4().hex[:8]}"
    script = f"#!/bin/sh\necho {marker}\necho x >> ran.txt\n"
    vm = cloud.vms.launch(_spec(cloud, name="md-ud", user_data=script))
    vm.wait_until("running", timeout=60)
    first = vm.console_output()
    assert isinstance(first, str) and marker in first
    vm.reboot()
    vm.wait_until("running", timeout=60)
    vm.stop().wait_until("stopped", timeout=60)
    vm.start().wait_until("running", timeout=60)
    assert vm.console_output().count(marker) == 1
    with mock.inside(vm) as box:
        assert box.root is not None
        assert Path(box.root, "ran.txt").read_text() == "x\n"


def test_aws_tag_keys_imds_cannot_hold_leave_tags_out_of_metadata() -> None:
    """EC2 refuses InstanceMetadataTags with a key such as ``team/app``: such a launch goes
    without it (and the identity says tags unknown) instead of failing."""
    with mock_cloud(["aws"]) as mock, uc.connect("aws", region="us-east-1") as cloud:
        plain = cloud.vms.launch(_spec(cloud, name="md-plain"))
        slashed = cloud.vms.launch(_spec(cloud, name="md-slash", tags={"team/app": "x"}))
        options = {vm.name: vm.raw["MetadataOptions"].get("InstanceMetadataTags")
                   for vm in (cloud.vms.get(plain.id), cloud.vms.get(slashed.id))}
        assert options == {"md-plain": "enabled", "md-slash": "disabled"}
        with mock.inside(slashed):
            me = metadata.current()
        assert me is not None and (me.instance_id, me.tags, me.name) == (slashed.id, None, None)


def test_azure_launch_enables_managed_boot_diagnostics() -> None:
    with mock_cloud(["azure"]), uc.connect("azure", region="eastus") as cloud:
        vm = cloud.vms.launch(_spec(cloud))
        diagnostics = cloud.vms.get(vm.id).raw.diagnostics_profile.boot_diagnostics
        assert diagnostics.enabled is True and not diagnostics.storage_uri
