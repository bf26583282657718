"""Libcloud's exceptions → unicompute's codes, and the state and capability tables."""

from __future__ import annotations

import pytest
import requests
from libcloud.common.exceptions import BaseHTTPError, RateLimitReachedError
from libcloud.common.types import (
    InvalidCredsError,
    MalformedResponseError,
    ProviderError,
    ServiceUnavailableError,
)
from libcloud.compute.providers import get_driver
from libcloud.compute.types import KeyPairDoesNotExistError, NodeState

from unicompute import errors
from unicompute._models import VMState
from unicompute.driver import Capability
from unicompute.providers.libcloud import capabilities, convert
from unicompute.providers.libcloud.errors import make_translator

generic = make_translator("libcloud:openstack", ["s3cr3t-value"], ec2_messages=False)
ec2 = make_translator("libcloud:ec2", ["AKIAEXAMPLEKEY"], ec2_messages=True)


@pytest.mark.parametrize(
    ("exc", "cls", "retryable"),
    [
        (InvalidCredsError(), errors.Unauthenticated, False),
        (RateLimitReachedError(), errors.Throttled, True),
        (ServiceUnavailableError(), errors.ProviderError, True),
        (ProviderError("boom", 500), errors.ProviderError, True),
        (ProviderError("no such server", 404), errors.NotFound, False),
        (ProviderError("forbidden", 403), errors.PermissionDenied, False),
        (ProviderError("state", 409), errors.Conflict, False),
        (BaseHTTPError(400, "bad flavor"), errors.InvalidRequest, False),
        (BaseHTTPError(502, "gateway"), errors.ProviderError, True),
        (MalformedResponseError("Failed to parse XML", body="<html>"), errors.ProviderError,
         True),
        (NotImplementedError(), errors.Unsupported, False),
        (ConnectionRefusedError(111, "refused"), errors.ProviderError, True),
        (TimeoutError("read timed out"), errors.Timeout, True),
        # What Libcloud's requests-based connection raises.
        (requests.exceptions.ReadTimeout("Read timed out. (read timeout=5)"), errors.Timeout,
         True),
        (requests.exceptions.ConnectTimeout("connect timed out"), errors.Timeout, True),
        (requests.exceptions.ConnectionError("Connection refused"), errors.ProviderError, True),
        # Some drivers raise ProviderError without a usable status.
        (ProviderError("odd answer", None), errors.ProviderError, False),
    ],
)
def test_generic_errors_map_by_kind_and_http_status(
    exc: BaseException, cls: type[errors.UnicomputeError], retryable: bool
) -> None:
    error = generic(exc, "vms.get")
    assert type(error) is cls
    assert error is not None
    assert error.retryable is retryable
    assert error.original is exc
    assert (error.provider, error.operation) == ("libcloud:openstack", "vms.get")


def test_key_pair_missing_is_not_found() -> None:
    driver = get_driver("dummy")(0)
    error = generic(KeyPairDoesNotExistError(name="k", driver=driver), "keys.delete")
    assert isinstance(error, errors.NotFound)


def test_exceptions_that_are_not_libclouds_are_left_alone() -> None:
    assert generic(ValueError("x"), "vms.get") is None
    assert generic(errors.NotFound("x"), "vms.get") is None


@pytest.mark.parametrize(
    ("message", "cls", "field"),
    [
        ("InvalidInstanceID.NotFound: The instance ID 'i-1' does not exist", errors.NotFound,
         None),
        ("InvalidInstanceID.Malformed: Invalid id: 'x'", errors.NotFound, None),
        ("InvalidKeyPair.Duplicate: The keypair 'k' already exists.", errors.AlreadyExists,
         None),
        ("InvalidKeyPair.Format: Key is not in valid OpenSSH public key format",
         errors.InvalidRequest, "public_key"),
        ("VolumeInUse: vol-1 is already attached to an instance", errors.Conflict, None),
        ("IncorrectInstanceState: The instance is not in a valid state", errors.Conflict, None),
        ("InsufficientInstanceCapacity: no capacity", errors.CapacityUnavailable, None),
        ("InstanceLimitExceeded: Your quota allows 20 more", errors.QuotaExceeded, None),
        ("RequestLimitExceeded: Request limit exceeded.", errors.Throttled, None),
        ("UnauthorizedOperation: You are not authorized", errors.PermissionDenied, None),
        ("InvalidAvailabilityZone: no zone", errors.InvalidRequest, "zone"),
        ("SomethingNew: what", errors.InvalidRequest, None),  # falls back to the HTTP 400
    ],
)
def test_ec2_codes_refine_the_status(
    message: str, cls: type[errors.UnicomputeError], field: str | None
) -> None:
    error = ec2(BaseHTTPError(400, message), "vms.launch")
    assert type(error) is cls
    assert getattr(error, "field", None) == field


def test_ec2_server_errors_are_transient() -> None:
    error = ec2(BaseHTTPError(500, "InternalError: An internal error has occurred"), "vms.get")
    assert isinstance(error, errors.ProviderError) and error.retryable


def test_ec2_auth_failures_from_libcloud() -> None:
    # Libcloud's EC2 driver raises InvalidCredsError for AuthFailure and OptInRequired.
    assert isinstance(ec2(InvalidCredsError("AuthFailure: bad key"), "x"), errors.Unauthenticated)
    assert isinstance(ec2(InvalidCredsError("OptInRequired: subscribe first"), "x"),
                      errors.PermissionDenied)


def test_credentials_never_appear_in_messages() -> None:
    error = ec2(InvalidCredsError("AuthFailure: key AKIAEXAMPLEKEY is not valid"), "connect")
    assert error is not None
    assert "AKIAEXAMPLEKEY" not in str(error) and "AKIAEXAMPLEKEY" not in repr(error)
    other = generic(ProviderError("token s3cr3t-value expired", 401), "vms.list")
    assert other is not None and "s3cr3t-value" not in str(other)


def test_every_node_state_has_a_portable_state() -> None:
    for state in NodeState:
        assert state.value in convert.NODE_STATES or state is NodeState.NORMAL
    assert convert.state_of(NodeState.STOPPED) is VMState.STOPPED
    assert convert.state_of(NodeState.SUSPENDED) is VMState.STOPPED
    assert convert.state_of(NodeState.REBOOTING) is VMState.PENDING
    assert convert.state_of(NodeState.ERROR) is VMState.UNKNOWN
    assert convert.state_of(NodeState.NORMAL) is VMState.UNKNOWN


def test_capabilities_are_declared_per_driver() -> None:
    ec2_caps = capabilities.capabilities("ec2", get_driver("ec2"))
    assert ec2_caps == {Capability.KEYS, Capability.VOLUMES, Capability.SNAPSHOTS,
                        Capability.REBOOT, Capability.TAGS, Capability.USER_DATA,
                        Capability.SPOT, Capability.FIREWALLS}
    assert Capability.FIREWALLS not in capabilities.capabilities("openstack",
                                                                 get_driver("openstack"))
    assert capabilities.capabilities("dummy", get_driver("dummy")) == {Capability.REBOOT}
    # A driver without an adapter gets only what NodeDriver methods it overrides give.
    assert Capability.TAGS not in capabilities.capabilities("openstack", get_driver("openstack"))
    assert "vms.stop" not in capabilities.operations(get_driver("dummy"))
    assert "vms.stop" in capabilities.operations(get_driver("ec2"))


def test_ec2_sizes_read_vcpus_gpus_and_arch() -> None:
    sizes = {s.id: s for s in get_driver("ec2")("k", "s").list_sizes()}
    graviton = convert.size(sizes["m6g.large"], provider="libcloud:ec2")
    assert (graviton.vcpus, graviton.memory_gib, graviton.arch) == (2, 8.0, "arm64")
    gpu = convert.size(sizes["p3.2xlarge"], provider="libcloud:ec2")
    assert (gpu.vcpus, gpu.gpus, gpu.arch) == (8, 1, "x86_64")
    assert gpu.hourly_price == sizes["p3.2xlarge"].price
