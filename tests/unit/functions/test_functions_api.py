"""The portable Functions layer without a cloud: capability and closed-state checks."""

from __future__ import annotations

import re

import pytest

import unicompute as uc
from unicompute._cloud import Cloud
from unicompute._context import CloudContext
from unicompute.driver import Limits, NamingRules, ProviderDrivers

LIMITS = Limits(names=NamingRules(pattern=re.compile(".+"), max_length=10, description="any"),
                max_user_data_bytes=1, max_tags=1, max_tag_key_length=1,
                max_tag_value_length=1, max_disk_gib=1, max_count=1)


def cloud_without_functions() -> Cloud:
    drivers = ProviderDrivers(provider="nofn", region="r", compute=None,  # type: ignore[arg-type]
                              limits=LIMITS, translate_error=lambda exc, op: None)
    return Cloud(CloudContext(drivers), {})


def test_a_provider_without_functions_raises_unsupported() -> None:
    cloud = cloud_without_functions()
    with pytest.raises(uc.Unsupported) as info:
        _ = cloud.functions
    assert info.value.provider == "nofn"
    cloud.close()
    with pytest.raises(uc.ClosedError):
        _ = cloud.functions


def test_function_error_is_a_unicompute_error() -> None:
    invocation = uc.Invocation(result=None, status_code=200, logs="x")
    error = uc.FunctionError("ValueError: boom", invocation=invocation, error_type="Unhandled",
                             native_type="ValueError", remote_traceback="tb")
    assert isinstance(error, uc.UnicomputeError)
    assert (error.invocation, error.error_type, error.remote_traceback) == (invocation,
                                                                            "Unhandled", "tb")
    assert uc.errors.error_class(uc.ErrorCode.FUNCTION_ERROR) is uc.FunctionError
