"""The behaviour every provider's VM API must show, as one pytest suite.

Subclass :class:`VMConformance` in a test module; the ``cloud`` fixture (from the unicompute
pytest plugin, or your own) decides the provider::

    @pytest.mark.clouds("aws")
    class TestAWS(VMConformance):
        pass

Every test tags what it creates with a fresh ``conformance-run`` value, lists by that tag to
prove what exists, and terminates what it launched. Optional features are skipped explicitly,
with the capability named, when the provider does not declare them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from .. import _errors as errors
from .._cloud import Cloud
from .._models import IMAGE_ALIASES, Size, VMSpec, VMState
from .._vms import VM
from ..driver import Capability
from .profiles import Profile, profile_for

# A real ed25519 public key (no private half kept anywhere); keys are only imported, never used.
PUBLIC_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGbOUXPPn2D3dkzqbpHwpEXkR1xNuAFrZoDrNRLTsr6R "
    "conformance@unicompute"
)
RUN_TAG = "conformance-run"
_SMALL_SIZES: dict[tuple[str, str], Size] = {}


class VMConformance:
    """Portable VM, key, firewall and volume behaviour, identical on every provider."""

    # -- helpers ------------------------------------------------------------------------------
    @pytest.fixture
    def profile(self, cloud: Cloud) -> Profile:
        return profile_for(cloud.provider)

    @pytest.fixture
    def run_tags(self, cloud: Cloud) -> Iterator[dict[str, str]]:
        """Tags for what a test creates; whatever carries them is removed afterwards, even when
        the test fails (on a live cloud, a leaked VM costs money)."""
        tags = {RUN_TAG: uuid.uuid4().hex[:12]}
        yield tags
        if cloud.closed:
            return
        for vm in cloud.vms.list(tags=tags):
            vm.terminate()
        if Capability.VOLUMES.value in cloud.capabilities:
            for volume in cloud.volumes.list(tags=tags):
                if volume.attached_to is None:
                    cloud.volumes.delete(volume.id)
        if Capability.SNAPSHOTS.value in cloud.capabilities:
            for snapshot in cloud.volumes.snapshots(tags=tags):
                cloud.volumes.delete_snapshot(snapshot.id)

    @pytest.fixture
    def spec(self, cloud: Cloud, run_tags: dict[str, str]) -> VMSpec:
        # The cheapest small size is chosen once per provider and region: reading a whole
        # catalog (EC2: ~1,400 types) per test would dominate the suite's time.
        key = (cloud.provider, cloud.region)
        if key not in _SMALL_SIZES:
            _SMALL_SIZES[key] = cloud.vms.cheapest_size(vcpus=1, memory_gib=0.5, arch="x86_64")
        return VMSpec(name="conf-vm", size=_SMALL_SIZES[key], image="ubuntu-24.04",
                      tags=run_tags)

    @pytest.fixture
    def launched(self, cloud: Cloud, spec: VMSpec) -> Iterator[VM]:
        vm = cloud.vms.launch(spec)
        yield vm
        vm.terminate()

    @staticmethod
    def _require(cloud: Cloud, capability: Capability) -> None:
        if capability.value not in cloud.capabilities:
            pytest.skip(f"{cloud.provider} does not declare the {capability.value} capability")

    @staticmethod
    def _names(cloud: Cloud, tags: dict[str, str]) -> list[str]:
        return sorted(vm.name for vm in cloud.vms.list(tags=tags))

    # -- lifecycle ----------------------------------------------------------------------------
    def test_launch_reports_the_spec(self, cloud: Cloud, spec: VMSpec, launched: VM) -> None:
        launched.wait_until(VMState.RUNNING, timeout=300)
        assert launched.name == spec.name
        assert launched.size == (spec.size if isinstance(spec.size, str) else spec.size.name)
        assert launched.state is VMState.RUNNING
        assert launched.private_ip
        assert dict(launched.tags).items() >= dict(spec.tags).items()
        assert launched.launched_at is not None
        assert launched.spot is False
        assert cloud.vms.get(launched.id) == launched

    def test_stop_start_reboot_terminate(self, cloud: Cloud, spec: VMSpec) -> None:
        vm = cloud.vms.launch(spec).wait_until(VMState.RUNNING, timeout=300)
        vm.stop().wait_until(VMState.STOPPED, timeout=300)
        assert cloud.vms.get(vm.id).state is VMState.STOPPED
        vm.start().wait_until(VMState.RUNNING, timeout=300)
        if Capability.REBOOT.value in cloud.capabilities:
            vm.reboot().wait_until(VMState.RUNNING, timeout=300)
        vm.terminate()
        vm.wait_until(VMState.TERMINATED, timeout=300)
        with pytest.raises(errors.NotFound):
            cloud.vms.get(vm.id)
        assert self._names(cloud, dict(spec.tags)) == []

    def test_waiting_for_an_unreachable_state_fails_at_once(
        self, cloud: Cloud, spec: VMSpec
    ) -> None:
        vm = cloud.vms.launch(spec)
        vm.terminate()
        with pytest.raises(errors.NotFound):
            vm.wait_until(VMState.RUNNING, timeout=300)

    def test_launch_count_names_each_vm(
        self, cloud: Cloud, spec: VMSpec, run_tags: dict[str, str]
    ) -> None:
        vms = cloud.vms.launch(spec, count=3)
        try:
            assert isinstance(vms, list)
            assert sorted(vm.name for vm in vms) == ["conf-vm-1", "conf-vm-2", "conf-vm-3"]
            assert self._names(cloud, run_tags) == ["conf-vm-1", "conf-vm-2", "conf-vm-3"]
        finally:
            for vm in vms if isinstance(vms, list) else [vms]:
                vm.terminate()

    def test_get_missing_vm_is_not_found_with_the_original_error(
        self, cloud: Cloud, profile: Profile
    ) -> None:
        with pytest.raises(errors.NotFound) as caught:
            cloud.vms.get(profile.missing_vm_id)
        assert caught.value.provider == cloud.provider
        assert caught.value.operation == "vms.get"
        assert caught.value.original is not None
        assert not isinstance(caught.value.original, errors.UnicomputeError)

    def test_list_filters_by_tags_and_states(
        self, cloud: Cloud, spec: VMSpec, run_tags: dict[str, str]
    ) -> None:
        web = cloud.vms.launch(VMSpec(name="conf-web", size=spec.size, image=spec.image,
                                      tags={**run_tags, "role": "web"}))
        db = cloud.vms.launch(VMSpec(name="conf-db", size=spec.size, image=spec.image,
                                     tags={**run_tags, "role": "db"}))
        try:
            db.wait_until(VMState.RUNNING, timeout=300).stop().wait_until(
                VMState.STOPPED, timeout=300)
            assert self._names(cloud, run_tags) == ["conf-db", "conf-web"]
            assert self._names(cloud, {**run_tags, "role": "web"}) == ["conf-web"]
            stopped = cloud.vms.list(tags=run_tags, states=[VMState.STOPPED])
            assert [vm.name for vm in stopped] == ["conf-db"]
            with pytest.raises(errors.InvalidRequest) as caught:
                list(cloud.vms.list(states=[VMState.TERMINATED]))
            assert caught.value.field == "states"
        finally:
            web.terminate()
            db.terminate()

    def test_set_tags_adds_and_keeps(self, cloud: Cloud, launched: VM) -> None:
        self._require(cloud, Capability.TAGS)
        launched.set_tags({"stage": "test"})
        fresh = cloud.vms.get(launched.id)
        assert fresh.tags["stage"] == "test"
        assert RUN_TAG in fresh.tags

    def test_user_data_round_trips(self, cloud: Cloud, spec: VMSpec) -> None:
        self._require(cloud, Capability.USER_DATA)
        script = "#!/bin/sh\necho 'héllo' > /tmp/hello\n"
        vm = cloud.vms.launch(VMSpec(name="conf-ud", size=spec.size, image=spec.image,
                                     user_data=script, tags=spec.tags))
        try:
            assert vm.user_data() == script.encode()
        finally:
            vm.terminate()

    def test_user_data_limit_is_exact(self, cloud: Cloud, spec: VMSpec,
                                      run_tags: dict[str, str]) -> None:
        self._require(cloud, Capability.USER_DATA)
        limit = cloud.limits.max_user_data_bytes
        largest = "#!/bin/sh\n" + "#" * (limit - len("#!/bin/sh\n"))
        with pytest.raises(errors.InvalidRequest) as caught:
            cloud.vms.launch(VMSpec(name="conf-ud-big", size=spec.size, image=spec.image,
                                    user_data=largest + "#", tags=spec.tags))
        assert caught.value.field == "user_data"
        assert self._names(cloud, run_tags) == []
        vm = cloud.vms.launch(VMSpec(name="conf-ud-max", size=spec.size, image=spec.image,
                                     user_data=largest, tags=spec.tags))
        try:
            assert vm.user_data() == largest.encode()
        finally:
            vm.terminate()

    def test_console_output_is_text(self, cloud: Cloud, spec: VMSpec) -> None:
        """Console output is a str (possibly empty: clouds lag behind the console); after
        terminate it is NotFound. A provider without the capability says Unsupported, naming
        itself and the operation."""
        vm = cloud.vms.launch(VMSpec(name="conf-console", size=spec.size, image=spec.image,
                                     tags=spec.tags))
        try:
            if Capability.CONSOLE_OUTPUT.value not in cloud.capabilities:
                with pytest.raises(errors.Unsupported) as refused:
                    vm.console_output()
                assert (refused.value.provider, refused.value.operation) == (
                    cloud.provider, "vms.console_output")
                return
            assert isinstance(vm.console_output(), str)
        finally:
            vm.terminate()
        with pytest.raises(errors.NotFound):
            vm.console_output()

    def test_closed_cloud_fails_clearly(self, cloud: Cloud) -> None:
        cloud.close()
        with pytest.raises(errors.ClosedError, match="closed"):
            cloud.vms.get("anything")
        with pytest.raises(errors.ClosedError):
            list(cloud.vms.list())

    def test_spot_launch_is_reported(self, cloud: Cloud, spec: VMSpec) -> None:
        self._require(cloud, Capability.SPOT)
        vm = cloud.vms.launch(VMSpec(name="conf-spot", size=spec.size, image=spec.image,
                                     spot=True, tags=spec.tags))
        try:
            assert vm.spot is True
            assert cloud.vms.get(vm.id).spot is True
        finally:
            vm.terminate()

    def test_regions_and_zones(self, cloud: Cloud) -> None:
        assert cloud.region in {region.name for region in cloud.regions()}
        zones = cloud.zones()
        assert zones
        assert {zone.region for zone in zones} == {cloud.region}

    def test_launch_in_a_zone(self, cloud: Cloud, spec: VMSpec) -> None:
        zone = cloud.zones()[-1].name
        vm = cloud.vms.launch(VMSpec(name="conf-zoned", size=spec.size, image=spec.image,
                                     zone=zone, tags=spec.tags))
        try:
            assert vm.zone == zone
        finally:
            vm.terminate()

    # -- catalog ------------------------------------------------------------------------------
    def test_sizes_meet_minimums_cheapest_first(self, cloud: Cloud) -> None:
        sizes = cloud.vms.sizes(vcpus=2, memory_gib=4)
        assert sizes
        assert all(s.vcpus >= 2 and s.memory_gib >= 4 for s in sizes)
        priced = [s.hourly_price for s in sizes if s.hourly_price is not None]
        assert priced == sorted(priced)
        cheapest = cloud.vms.cheapest_size(vcpus=2, memory_gib=4)
        assert cheapest.hourly_price == priced[0]
        assert all(s.gpus >= 1 for s in cloud.vms.sizes(gpus=1))
        with pytest.raises(errors.InvalidRequest) as caught:
            cloud.vms.sizes(vcpus=-1)
        assert caught.value.field == "vcpus"

    @pytest.mark.parametrize("alias", IMAGE_ALIASES)
    def test_image_aliases_resolve(self, cloud: Cloud, profile: Profile, spec: VMSpec,
                                   alias: str) -> None:
        if alias not in profile.image_aliases:  # the cloud publishes no such image
            with pytest.raises(errors.NotFound):
                cloud.vms.image(alias)
            with pytest.raises(errors.InvalidRequest) as caught:
                cloud.vms.check(VMSpec(name="conf-vm", size=spec.size, image=alias))
            assert caught.value.field == "image"
            return
        image = cloud.vms.image(alias)
        assert image.alias == alias
        assert image.arch == "x86_64"
        assert image.id in {i.id for i in cloud.vms.images()}

    # -- keys and firewalls ------------------------------------------------------------------
    def test_keys_import_list_delete(self, cloud: Cloud) -> None:
        self._require(cloud, Capability.KEYS)
        name = f"conf-key-{uuid.uuid4().hex[:8]}"
        key = cloud.keys.import_key(name, PUBLIC_KEY)
        assert key.name == name
        assert name in {k.name for k in cloud.keys.list()}
        with pytest.raises(errors.AlreadyExists):
            cloud.keys.import_key(name, PUBLIC_KEY)
        cloud.keys.delete(name)
        assert name not in {k.name for k in cloud.keys.list()}
        with pytest.raises(errors.NotFound):
            cloud.keys.delete(name)

    def test_launch_with_key(self, cloud: Cloud, spec: VMSpec) -> None:
        self._require(cloud, Capability.KEYS)
        name = f"conf-key-{uuid.uuid4().hex[:8]}"
        cloud.keys.import_key(name, PUBLIC_KEY)
        try:
            vm = cloud.vms.launch(VMSpec(name="conf-keyed", size=spec.size, image=spec.image,
                                         key_name=name, tags=spec.tags))
            assert vm.key_name == name
            assert cloud.vms.get(vm.id).key_name == name
            vm.terminate()
        finally:
            cloud.keys.delete(name)

    def test_firewall_opens_only_the_listed_ports(self, cloud: Cloud, spec: VMSpec) -> None:
        self._require(cloud, Capability.FIREWALLS)
        vm = cloud.vms.launch(VMSpec(name="conf-fw", size=spec.size, image=spec.image,
                                     open_ports=[22, 443], tags=spec.tags))
        closed = cloud.vms.launch(VMSpec(name="conf-closed", size=spec.size, image=spec.image,
                                         tags=spec.tags))
        try:
            rules = vm.inbound_rules()
            assert {(r.protocol, r.port_from, r.port_to) for r in rules} == {
                ("tcp", 22, 22), ("tcp", 443, 443)}
            assert closed.inbound_rules() == []
        finally:
            vm.terminate()
            closed.terminate()

    # -- volumes ------------------------------------------------------------------------------
    def test_volume_attach_detach_snapshot_delete(
        self, cloud: Cloud, launched: VM, run_tags: dict[str, str]
    ) -> None:
        self._require(cloud, Capability.VOLUMES)
        launched.wait_until(VMState.RUNNING, timeout=300)
        assert launched.zone is not None
        volume = cloud.volumes.create(8, name="conf-data", zone=launched.zone, tags=run_tags)
        assert volume.size_gib == 8
        assert [v.id for v in cloud.volumes.list(tags=run_tags)] == [volume.id]
        attached = cloud.volumes.attach(volume.id, launched.id)
        assert attached.attached_to == launched.id
        with pytest.raises(errors.Conflict):
            cloud.volumes.delete(volume.id)
        assert cloud.volumes.detach(volume.id).attached_to is None
        if Capability.SNAPSHOTS.value in cloud.capabilities:
            snap = cloud.volumes.snapshot(volume.id, name="conf-snap", tags=run_tags)
            assert snap.volume_id == volume.id
            assert [s.id for s in cloud.volumes.snapshots(tags=run_tags)] == [snap.id]
            cloud.volumes.delete_snapshot(snap.id)
            assert cloud.volumes.snapshots(tags=run_tags) == []
        cloud.volumes.delete(volume.id)
        assert cloud.volumes.list(tags=run_tags) == []

    def test_missing_volume_is_not_found(self, cloud: Cloud, profile: Profile) -> None:
        self._require(cloud, Capability.VOLUMES)
        with pytest.raises(errors.NotFound):
            cloud.volumes.get(profile.missing_volume_id)

    # -- bad input: rejected before any call, with the field named, nothing left -------------
    @pytest.mark.parametrize(
        ("field", "changes"),
        [
            ("name", {"name": "bad name!"}),
            ("name", {"name": "x" * 300}),
            ("size", {"size": "no-such-size.huge"}),
            ("image", {"image": "no-such-os-1.0"}),
            ("user_data", {"user_data": "#" * 1_000_000}),
            ("open_ports", {"open_ports": [0]}),
            ("open_ports", {"open_ports": [70000]}),
            ("disk_gib", {"disk_gib": -5}),
            ("disk_gib", {"disk_gib": 10**7}),
            ("disk_gib", {"disk_gib": 1}),  # smaller than any image: the driver's own check
            ("tags", {"tags": {"k": 5}}),
            ("tags", {"tags": {"unicompute:managed": "false"}}),
            ("zone", {"zone": "nowhere-1z"}),
            ("key_name", {"key_name": "no-such-key"}),
            ("options", {"options": object()}),
        ],
    )
    def test_bad_spec_is_rejected_and_nothing_is_created(
        self, cloud: Cloud, spec: VMSpec, run_tags: dict[str, str], field: str,
        changes: dict[str, object],
    ) -> None:
        fields: dict[str, object] = {
            "name": spec.name, "size": spec.size, "image": spec.image, "tags": run_tags}
        fields.update(changes)
        if field == "key_name" and Capability.KEYS.value not in cloud.capabilities:
            # No key pairs on this cloud: any key name is refused as unsupported.
            with pytest.raises(errors.Unsupported):
                cloud.vms.launch(VMSpec(**fields))  # type: ignore[arg-type]
        else:
            with pytest.raises(errors.InvalidRequest) as caught:
                cloud.vms.launch(VMSpec(**fields))  # type: ignore[arg-type]
            assert caught.value.field == field
        assert self._names(cloud, run_tags) == []
        if Capability.VOLUMES.value in cloud.capabilities:
            assert cloud.volumes.list(tags=run_tags) == []

    @pytest.mark.parametrize("count", [0, -1, 10_000, 1.5, True])
    def test_bad_count_is_rejected(
        self, cloud: Cloud, spec: VMSpec, run_tags: dict[str, str], count: object
    ) -> None:
        with pytest.raises(errors.InvalidRequest) as caught:
            cloud.vms.launch(spec, count=count)  # type: ignore[call-overload]
        assert caught.value.field == "count"
        assert self._names(cloud, run_tags) == []

    def test_bad_public_key_is_rejected(self, cloud: Cloud) -> None:
        self._require(cloud, Capability.KEYS)
        before = {k.name for k in cloud.keys.list()}
        with pytest.raises(errors.InvalidRequest) as caught:
            cloud.keys.import_key("conf-bad", "ssh-rsa not-base64!!")
        assert caught.value.field == "public_key"
        assert {k.name for k in cloud.keys.list()} == before
