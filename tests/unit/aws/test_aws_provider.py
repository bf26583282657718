"""``open_provider``: config checking, region default, limits, capabilities, options."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from unicompute import _errors as errors
from unicompute.driver import Capability, ComputeDriver, KeyDriver, VolumeDriver
from unicompute.mocks.aws import AwsFake
from unicompute.providers.aws import LIMITS, Options, open_provider
from unicompute.providers.aws.ec2 import Ec2Compute


def test_drivers_and_policies(fake: AwsFake) -> None:
    drivers = open_provider("eu-west-1", {"poll_interval": 0.5})
    try:
        assert (drivers.provider, drivers.region) == ("aws", "eu-west-1")
        assert isinstance(drivers.compute, ComputeDriver)
        assert isinstance(drivers.keys, KeyDriver)
        assert isinstance(drivers.volumes, VolumeDriver)
        assert drivers.options_type is Options
        assert drivers.capabilities == frozenset(Capability)
        assert drivers.limits is LIMITS
        assert {z.region for z in drivers.compute.zones()} == {"eu-west-1"}
    finally:
        drivers.close()


def test_numeric_strings_from_the_url_form(fake: AwsFake) -> None:
    drivers = open_provider("us-east-1", {"poll_interval": "0.25"})
    assert isinstance(drivers.compute, Ec2Compute)
    assert drivers.compute.client.meta.region_name == "us-east-1"
    assert drivers.compute._ctx.poll_interval == 0.25


def test_region_defaults(fake: AwsFake, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    assert open_provider(None, {}).region == "us-east-1"
    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-south-1")
    assert open_provider(None, {}).region == "ap-south-1"


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"options": {}}, "options"),
        ({"endpoint_url": 5}, "endpoint_url"),
        ({"profile": ""}, "profile"),
        ({"poll_interval": -1}, "poll_interval"),
        ({"poll_interval": True}, "poll_interval"),
        ({"poll_interval": "fast"}, "poll_interval"),
        ({"poll_interval": "nan"}, "poll_interval"),
        ({"poll_interval": float("inf")}, "poll_interval"),
    ],
)
def test_bad_config_names_the_key(config: dict[str, object], field: str) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        open_provider("us-east-1", config)
    assert caught.value.field == field


@pytest.mark.parametrize(
    "url",
    [
        "http://AKIDEXAMPLE:s3cr3t@localhost:5000",
        "https://s3cr3t@ec2.example.com",
        "ftp://s3cr3t.example.com",
        "http://[s3cr3t",
        "http://s3cr3t.example.com:port",
        "s3cr3t",
    ],
)
def test_bad_endpoint_url_is_rejected_without_echoing_it(url: str) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        open_provider("us-east-1", {"endpoint_url": url})
    assert caught.value.field == "endpoint_url"
    assert "s3cr3t" not in f"{caught.value} {caught.value!r}"


@pytest.mark.parametrize("region", ["us east 1", "us-east-1/../x", "-bad-", "mars-1", "US-EAST-1"])
def test_bad_region_is_invalid_request_naming_only_the_region(region: str) -> None:
    with pytest.raises(errors.InvalidRequest) as caught:
        open_provider(region, {"endpoint_url": "http://localhost:5000"})
    assert caught.value.field == "region"
    assert caught.value.provider == "aws"
    assert repr(region) in str(caught.value)
    assert "localhost" not in str(caught.value)


@pytest.mark.parametrize("region", ["us-east-1", "us-gov-west-1", "eu-central-2", "ap-southeast-7"])
def test_every_region_shape_is_accepted(region: str) -> None:
    opened = open_provider(region, {"endpoint_url": "http://localhost:5000"})
    assert opened.region == region
    opened.close()


def test_unknown_profile_is_invalid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    with pytest.raises(errors.InvalidRequest) as caught:
        open_provider("us-east-1", {"profile": "no-such-profile"})
    assert caught.value.field == "profile"


def test_limits() -> None:
    assert LIMITS.names.check("web-1") is None
    assert LIMITS.names.check("a" * 63) is None
    assert LIMITS.names.check("a" * 64) is not None
    for bad in ("-web", "web-", "web_1", "web 1", ""):
        assert LIMITS.names.check(bad) is not None, bad
    assert (LIMITS.max_user_data_bytes, LIMITS.max_tags, LIMITS.max_count) == (16384, 45, 100)
    assert (LIMITS.max_tag_key_length, LIMITS.max_tag_value_length) == (127, 256)
    # EC2 rejects aws: keys; the others are the provider's bookkeeping (terminate_vm reads them).
    assert LIMITS.reserved_tag_prefixes == (
        "aws:", "unicompute:sg", "unicompute:root", "unicompute:client-token"
    )
    # Name holds the VM name: a user's Name tag would silently rename the VM.
    assert LIMITS.reserved_tag_keys == ("Name",)
    assert LIMITS.max_disk_gib == 16384
    assert isinstance(LIMITS.names.pattern, re.Pattern)


def test_options_defaults_and_checks() -> None:
    options = Options()
    assert (options.volume_type, options.require_imdsv2, options.security_group_ids) == (
        "gp3",
        True,
        (),
    )
    assert Options(security_group_ids=["sg-1"]).security_group_ids == ("sg-1",)  # type: ignore[arg-type]
    cases: list[tuple[dict[str, object], str]] = [
        ({"volume_type": "ssd"}, "options.volume_type"),
        # Not boot volumes (st1, sc1) or not without an Iops value (io1, io2).
        ({"volume_type": "st1"}, "options.volume_type"),
        ({"volume_type": "sc1"}, "options.volume_type"),
        ({"volume_type": "io1"}, "options.volume_type"),
        ({"volume_type": "io2"}, "options.volume_type"),
        ({"security_group_ids": "sg-1"}, "options.security_group_ids"),
        ({"subnet_id": ""}, "options.subnet_id"),
        ({"require_imdsv2": "yes"}, "options.require_imdsv2"),
        ({"associate_public_ip": 1}, "options.associate_public_ip"),
    ]
    for kwargs, field in cases:
        with pytest.raises(errors.InvalidRequest) as caught:
            Options(**kwargs)  # type: ignore[arg-type]
        assert caught.value.field == field
    with pytest.raises(AttributeError):
        options.volume_type = "gp2"  # type: ignore[misc]
    assert {Options(volume_type=t).volume_type for t in ("gp2", "gp3", "standard")} == {
        "gp2",
        "gp3",
        "standard",
    }


def test_options_import_without_the_sdk() -> None:
    code = (
        "import sys\n"
        "from unicompute.providers.aws import LIMITS, Options\n"
        "Options(subnet_id='subnet-1')\n"
        "assert not {'boto3', 'botocore'} & set(sys.modules), sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ})


def test_missing_sdk_propagates_the_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # unicompute.connect (the registry) turns it into MissingDependency naming the extra.
    import unicompute.providers.aws as package

    monkeypatch.delitem(sys.modules, "unicompute.providers.aws._session", raising=False)
    monkeypatch.delattr(package, "_session", raising=False)
    monkeypatch.setitem(sys.modules, "botocore", None)  # import fails
    with pytest.raises(ImportError) as caught:
        open_provider("us-east-1", {})
    assert not isinstance(caught.value, errors.UnicomputeError)
    assert caught.value.name == "botocore"
