"""The portable layer's own rules, on a recording stand-in driver (no cloud SDK involved)."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from typing import Any

import pytest

import unicompute as uc
from unicompute import _registry
from unicompute._context import MAX_ATTEMPTS
from unicompute._models import Page, VMInfo
from unicompute._waiting import Poller
from unicompute.driver import Capability, Limits, NamingRules, ProviderDrivers


class NativeError(Exception):
    """Stands in for an SDK's exception type."""

    def __init__(self, code: str) -> None:
        super().__init__(f"native {code}")
        self.code = code


TABLE = {"Missing": uc.NotFound, "SlowDown": uc.Throttled}


def translate(exc: BaseException, operation: str) -> uc.UnicomputeError | None:
    if isinstance(exc, NativeError):
        return TABLE.get(exc.code, uc.ProviderError)(str(exc), original=exc)
    return None


SIZES = [
    uc.Size(name="big", vcpus=8, memory_gib=32, hourly_price=0.4),
    uc.Size(name="small", vcpus=2, memory_gib=4, hourly_price=0.05),
    uc.Size(name="mystery", vcpus=2, memory_gib=8, hourly_price=None),
    uc.Size(name="gpu", vcpus=8, memory_gib=32, gpus=1, hourly_price=1.2),
]


class Compute:
    """Records calls; ``fail`` maps a method name to a list of exceptions to raise in turn."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.fail: dict[str, list[BaseException]] = {}
        self.pages = [[_info("a"), _info("b")], [_info("c")]]

    def _maybe_fail(self, name: str) -> None:
        self.calls.append(name)
        if self.fail.get(name):
            raise self.fail[name].pop(0)

    def get_vm(self, vm_id: str) -> VMInfo:
        self._maybe_fail("get_vm")
        return _info(vm_id)

    def list_vms(self, *, tags: Any, states: Any, page_token: str | None) -> Page[VMInfo]:
        self._maybe_fail("list_vms")
        index = int(page_token or 0)
        nxt = str(index + 1) if index + 1 < len(self.pages) else None
        return Page(self.pages[index], nxt)

    def list_sizes(self) -> list[uc.Size]:
        self._maybe_fail("list_sizes")
        return list(SIZES)

    def get_size(self, name: str) -> uc.Size:
        self._maybe_fail("get_size")
        for size in SIZES:
            if size.name == name:
                return size
        raise NativeError("Missing")

    def resolve_image(self, ref: str, *, arch: str) -> uc.Image:
        self._maybe_fail("resolve_image")
        if ref != "ubuntu-24.04":
            raise NativeError("Missing")
        return uc.Image(id="img-1", name="ubuntu", arch=arch, alias=ref)

    def zones(self) -> list[uc.Zone]:
        return [uc.Zone(name="z-1a", region="r-1")]

    def check_launch(self, plan: Any) -> None:
        self._maybe_fail("check_launch")

    def launch(self, plan: Any) -> list[VMInfo]:
        self._maybe_fail("launch")
        return [_info(name) for name in plan.names]


def _info(vm_id: str) -> VMInfo:
    return VMInfo(id=vm_id, name=vm_id, state=uc.VMState.RUNNING, size="small", image="img-1",
                  zone="z-1a", private_ip="10.0.0.1", public_ip=None, tags={},
                  launched_at=None, spot=False)


LIMITS = Limits(
    names=NamingRules(pattern=re.compile(r"[a-z][a-z0-9-]*"), max_length=20,
                      description="lowercase letters, digits and '-'"),
    max_user_data_bytes=100, max_tags=3, max_tag_key_length=10, max_tag_value_length=10,
    max_disk_gib=100, max_count=5,
)


@pytest.fixture
def compute() -> Compute:
    return Compute()


@pytest.fixture
def cloud(compute: Compute, monkeypatch: pytest.MonkeyPatch) -> Iterator[uc.Cloud]:
    sleeps: list[float] = []

    def factory(region: str | None, config: Any) -> ProviderDrivers:
        return ProviderDrivers(provider="stub", region=region or "r-1", compute=compute,
                               limits=LIMITS, translate_error=translate,
                               capabilities=frozenset({Capability.TAGS, Capability.USER_DATA}))

    monkeypatch.setitem(_registry._REGISTERED, "stub", factory)
    with uc.connect("stub", region="r-1", secret_key="hunter2") as opened:
        opened.poller = Poller(interval=0.01, sleep=sleeps.append)
        yield opened


def test_native_errors_are_wrapped_once_with_the_original(cloud: uc.Cloud,
                                                          compute: Compute) -> None:
    native = NativeError("Missing")
    compute.fail["get_vm"] = [native]
    with pytest.raises(uc.NotFound) as caught:
        cloud.vms.get("i-1")
    assert caught.value.original is native
    assert caught.value.__cause__ is native
    assert (caught.value.provider, caught.value.operation, caught.value.resource) == (
        "stub", "vms.get", "i-1")


def test_notes_on_a_native_error_survive_wrapping(cloud: uc.Cloud, compute: Compute) -> None:
    native = NativeError("Missing")
    native.add_note("could not delete nic-1 while undoing; delete it by hand")
    compute.fail["get_vm"] = [native]
    with pytest.raises(uc.NotFound) as caught:
        cloud.vms.get("i-1")
    assert caught.value.__notes__ == ["could not delete nic-1 while undoing; delete it by hand"]


def test_unknown_exceptions_become_provider_errors(cloud: uc.Cloud, compute: Compute) -> None:
    compute.fail["get_vm"] = [KeyError("odd")]
    with pytest.raises(uc.ProviderError) as caught:
        cloud.vms.get("i-1")
    assert isinstance(caught.value.original, KeyError)


def test_reads_are_retried_while_throttled(cloud: uc.Cloud, compute: Compute) -> None:
    compute.fail["get_vm"] = [NativeError("SlowDown"), NativeError("SlowDown")]
    sleeps: list[float] = []
    cloud.poller = Poller(interval=1, backoff=2, max_interval=8, sleep=sleeps.append)
    assert cloud.vms.get("i-1").id == "i-1"
    assert compute.calls == ["get_vm"] * 3
    assert sleeps == [1, 2]  # the cloud's poller paces the retries, with its backoff


def test_retries_give_up_after_max_attempts(cloud: uc.Cloud, compute: Compute) -> None:
    compute.fail["get_vm"] = [NativeError("SlowDown") for _ in range(MAX_ATTEMPTS)]
    with pytest.raises(uc.Throttled) as caught:
        cloud.vms.get("i-1")
    assert caught.value.retryable
    assert compute.calls == ["get_vm"] * MAX_ATTEMPTS


def test_mutations_are_not_retried(cloud: uc.Cloud, compute: Compute) -> None:
    compute.fail["launch"] = [NativeError("SlowDown")]
    with pytest.raises(uc.Throttled):
        cloud.vms.launch(uc.VMSpec(name="web", size="small", image="ubuntu-24.04"))
    assert compute.calls.count("launch") == 1


def test_list_pages_lazily(cloud: uc.Cloud, compute: Compute) -> None:
    listing = cloud.vms.list()
    assert compute.calls == []
    assert next(listing).id == "a"
    assert compute.calls == ["list_vms"]
    assert [vm.id for vm in listing] == ["b", "c"]
    assert compute.calls == ["list_vms", "list_vms"]


def test_sizes_are_cheapest_first_and_cached(cloud: uc.Cloud, compute: Compute) -> None:
    assert [s.name for s in cloud.vms.sizes(vcpus=2)] == ["small", "big", "gpu", "mystery"]
    assert cloud.vms.cheapest_size(memory_gib=8).name == "big"
    assert cloud.vms.cheapest_size(gpus=1).name == "gpu"
    with pytest.raises(uc.NotFound):
        cloud.vms.cheapest_size(vcpus=64)
    assert compute.calls.count("list_sizes") == 1
    assert cloud.vms.size("big").vcpus == 8  # from the catalog now: no further call
    assert "get_size" not in compute.calls


def test_a_named_size_is_looked_up_without_the_catalog(cloud: uc.Cloud, compute: Compute) -> None:
    cloud.vms.launch(uc.VMSpec(name="web", size="small", image="ubuntu-24.04"))
    assert "get_size" in compute.calls
    assert "list_sizes" not in compute.calls


@pytest.mark.parametrize(
    ("field", "spec", "count"),
    [
        ("name", {"name": "Web_1"}, 1),
        ("name", {"name": "a" * 19}, 2),  # a-19-2 is too long once numbered
        ("count", {}, 6),
        ("size", {"size": "huge"}, 1),
        ("image", {"image": "plan9"}, 1),
        ("user_data", {"user_data": "x" * 101}, 1),
        ("disk_gib", {"disk_gib": 101}, 1),
        ("tags", {"tags": {"a": "1", "b": "2", "c": "3", "d": "4"}}, 1),
        ("tags", {"tags": {"k" * 11: "v"}}, 1),
        ("zone", {"zone": "z-9"}, 1),
        ("options", {"options": "fast"}, 1),
    ],
)
def test_bad_launches_name_the_field_and_create_nothing(
    cloud: uc.Cloud, compute: Compute, field: str, spec: dict[str, Any], count: int
) -> None:
    fields: dict[str, Any] = {"name": "web", "size": "small", "image": "ubuntu-24.04", **spec}
    with pytest.raises(uc.InvalidRequest) as caught:
        cloud.vms.launch(uc.VMSpec(**fields), count=count)
    assert caught.value.field == field
    assert "launch" not in compute.calls


def test_unsupported_features_name_the_capability(cloud: uc.Cloud) -> None:
    with pytest.raises(uc.Unsupported, match="keys"):
        cloud.keys.list()
    with pytest.raises(uc.Unsupported, match="firewalls"):
        cloud.vms.launch(uc.VMSpec(name="web", size="small", image="ubuntu-24.04",
                                   open_ports=[80]))


def test_launch_count_names_vms(cloud: uc.Cloud) -> None:
    vms = cloud.vms.launch(uc.VMSpec(name="web", size="small", image="ubuntu-24.04"), count=2)
    assert isinstance(vms, list)
    assert [vm.name for vm in vms] == ["web-1", "web-2"]


def test_closed_cloud_refuses_calls_and_hides_config_values(cloud: uc.Cloud) -> None:
    assert "hunter2" not in repr(cloud)
    with cloud:
        pass
    assert cloud.closed
    with pytest.raises(uc.ClosedError):
        cloud.vms.get("i-1")
    with pytest.raises(uc.ClosedError):
        cloud.vms.sizes()


def test_wait_until_times_out_on_the_injected_clock(cloud: uc.Cloud, compute: Compute) -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    cloud.poller = Poller(interval=1, backoff=2, max_interval=8, clock=lambda: now[0],
                          sleep=sleep)
    vm = cloud.vms.get("i-1")
    with pytest.raises(uc.Timeout, match="stopped"):
        vm.wait_until(uc.VMState.STOPPED, timeout=30)
    assert now[0] == 30
    polls = compute.calls.count("get_vm") - 1
    assert polls == 7  # after 0, 1, 3, 7, 15, 23 s and at the 30 s deadline


def test_connect_url_form_and_conflicts(cloud: uc.Cloud) -> None:
    assert uc.connect("stub://r-2").region == "r-2"
    with pytest.raises(uc.InvalidRequest) as caught:
        uc.connect("stub://r-2", region="r-3")
    assert caught.value.field == "region"
    with pytest.raises(uc.InvalidRequest) as caught:
        uc.connect("nope")
    assert caught.value.field == "provider"
    assert "aws" in str(caught.value)


def test_missing_sdk_names_the_pip_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "unicompute.providers.aws", None)
    with pytest.raises(uc.MissingDependency, match=r"pip install 'unicompute\[aws\]'"):
        uc.connect("aws", region="us-east-1")


def test_import_loads_no_cloud_sdk() -> None:
    import subprocess

    code = ("import sys, unicompute, unicompute.mocks, unicompute.testing.plugin;"
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'boto3', 'botocore', 'moto', 'azure', 'google', 'libcloud'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_spec_shape_errors_name_the_field() -> None:
    for field, bad in [("name", ""), ("spot", "yes"), ("open_ports", "80"),
                       ("tags", {"a": None}), ("key_name", ""), ("user_data", 5)]:
        fields: dict[str, Any] = {"name": "web", "size": "s", "image": "i", field: bad}
        with pytest.raises(uc.InvalidRequest) as caught:
            uc.VMSpec(**fields)
        assert caught.value.field == field


def test_public_key_validation() -> None:
    from unicompute._keys import check_public_key

    good = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGbOUXPPn2D3dkzqbpHwpEXkR1xNuAFrZoDrNRLTsr6R "
            "me@host")
    assert check_public_key("  " + good + "\n") == good
    for bad in ["", "ssh-dss AAAA", "ssh-rsa !!!", good.replace("ssh-ed25519", "ssh-rsa"), 42]:
        with pytest.raises(uc.InvalidRequest):
            check_public_key(bad)




def test_url_credentials_are_refused_without_echoing_them(cloud: uc.Cloud) -> None:
    with pytest.raises(uc.InvalidRequest) as caught:
        uc.connect("stub://AKIDEXAMPLE:s3cr3t@r-1")
    assert caught.value.field == "provider"
    assert "s3cr3t" not in str(caught.value) and "AKIDEXAMPLE" not in str(caught.value)


def test_provider_open_failures_are_wrapped_without_their_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def factory(region: str | None, config: Any) -> ProviderDrivers:
        raise ValueError(f"bad token {config['token']}")

    monkeypatch.setitem(_registry._REGISTERED, "broken", factory)
    with pytest.raises(uc.ProviderError) as caught:
        uc.connect("broken", token="hunter2")
    assert isinstance(caught.value.original, ValueError)
    assert "hunter2" not in str(caught.value)


def test_reserved_tags_are_refused_at_launch_and_set_tags(cloud: uc.Cloud) -> None:
    spec = {"name": "web", "size": "small", "image": "ubuntu-24.04"}
    with pytest.raises(uc.InvalidRequest, match="reserved") as caught:
        cloud.vms.launch(uc.VMSpec(**spec, tags={"unicompute:managed": "no"}))
    assert caught.value.field == "tags"
    vm = cloud.vms.get("i-1")
    with pytest.raises(uc.InvalidRequest, match="reserved"):
        vm.set_tags({"unicompute:managed": "false"})
    # Reserved prefixes hold in any case (AWS reserves aws:, AWS:, Aws: ... alike).
    with pytest.raises(uc.InvalidRequest, match="reserved"):
        vm.set_tags({"UniCompute:Managed": "false"})


def test_spec_repr_hides_user_data() -> None:
    spec = uc.VMSpec(name="web", size="s", image="i", user_data="PASSWORD=hunter2")
    assert "hunter2" not in repr(spec)


def test_driver_errors_get_the_call_context(cloud: uc.Cloud, compute: Compute) -> None:
    compute.fail["get_vm"] = [uc.NotFound("gone")]
    with pytest.raises(uc.NotFound) as caught:
        cloud.vms.get("i-9")
    assert (caught.value.provider, caught.value.operation, caught.value.resource) == (
        "stub", "vms.get", "i-9")


@pytest.mark.parametrize("timeout", [-1, "5", True])
def test_bad_timeouts_are_invalid_requests(cloud: uc.Cloud, timeout: object) -> None:
    with pytest.raises(uc.InvalidRequest) as caught:
        cloud.vms.get("i-1").wait_until(uc.VMState.STOPPED, timeout=timeout)  # type: ignore[arg-type]
    assert caught.value.field == "timeout"


def test_timeouts_name_the_provider_operation_and_vm(cloud: uc.Cloud) -> None:
    now = [0.0]
    cloud.poller = Poller(clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    with pytest.raises(uc.Timeout) as caught:
        cloud.vms.get("i-1").wait_until("stopped", timeout=5)
    assert (caught.value.provider, caught.value.operation, caught.value.resource) == (
        "stub", "vms.wait_until", "i-1")
    assert caught.value.retryable


@pytest.mark.parametrize(("call", "field"), [
    (lambda c: c.vms.get(""), "vm_id"),
    (lambda c: c.vms.size(None), "name"),
    (lambda c: c.vms.image(""), "ref"),
    (lambda c: c.vms.sizes(family=3), "family"),
    (lambda c: list(c.vms.list(states="r")), "states"),
])
def test_ids_and_filters_are_checked_before_any_call(
    cloud: uc.Cloud, compute: Compute, call: Any, field: str
) -> None:
    with pytest.raises(uc.InvalidRequest) as caught:
        call(cloud)
    assert caught.value.field == field
    assert compute.calls == []


def test_states_may_be_given_by_value(cloud: uc.Cloud) -> None:
    assert [vm.id for vm in cloud.vms.list(states=["running"])] == ["a", "b", "c"]
    assert [vm.id for vm in cloud.vms.list(states="running")] == ["a", "b", "c"]


def test_error_classes_agree_with_their_codes() -> None:
    assert isinstance(uc.ClosedError("x"), uc.InvalidRequest)
    assert isinstance(uc.MissingDependency("x"), uc.Unsupported)
    for code in uc.ErrorCode:
        assert uc.errors.error_class(code).code is code


def test_the_driver_check_runs_in_vms_check(cloud: uc.Cloud, compute: Compute) -> None:
    compute.fail["check_launch"] = [uc.InvalidRequest("too small", field="disk_gib")]
    with pytest.raises(uc.InvalidRequest) as caught:
        cloud.vms.launch(uc.VMSpec(name="web", size="small", image="ubuntu-24.04", disk_gib=1))
    assert caught.value.field == "disk_gib"
    assert caught.value.provider == "stub"
    assert "launch" not in compute.calls


def test_terminate_passes_its_timeout_and_checks_it(cloud: uc.Cloud, compute: Compute) -> None:
    seen: list[float | None] = []
    compute.terminate_vm = lambda vm_id, *, timeout=None: seen.append(timeout)  # type: ignore[attr-defined]
    vm = cloud.vms.get("i-1")
    vm.terminate(timeout=42)
    assert seen == [42.0]
    assert vm.state is uc.VMState.TERMINATED
    with pytest.raises(uc.InvalidRequest) as caught:
        cloud.vms.get("i-2").terminate(timeout=-1)
    assert caught.value.field == "timeout"
    assert seen == [42.0]


def test_error_maker_fills_the_context_and_names_fields_only_on_invalid_request() -> None:
    from unicompute._errors import error_maker

    make = error_maker("p")
    original = KeyError("k")
    bad = make(uc.InvalidRequest, "too big", "vms.launch", original, field="disk_gib")
    assert isinstance(bad, uc.InvalidRequest) and bad.field == "disk_gib"
    assert (bad.provider, bad.operation, bad.original) == ("p", "vms.launch", original)
    busy = make(uc.Throttled, "slow down", "vms.get", original, field="ignored", transient=True)
    assert isinstance(busy, uc.Throttled) and busy.retryable and not hasattr(busy, "field")

