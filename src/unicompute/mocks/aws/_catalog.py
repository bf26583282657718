"""A cache for moto's DescribeInstanceTypes answer, which never changes but is slow to build.

moto serializes all ~1,400 instance types to XML on every call (about 2 s); real AWS code asks
for the whole catalog once per client, and test suites open a fresh fake (and client) per test.
While a patch from :func:`cached_catalog` is active, requests for the whole catalog (no
``InstanceTypes``, no filters, no paging) are answered with the bytes moto produced the first
time. Requests with parameters go to moto unchanged.

The memo is process-wide on purpose: it holds no emulator state, only the serialized form of
moto's own static, process-wide type table, so sharing it cannot leak resources between fakes.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

#: Serialized whole-catalog answers (status, headers, body) by serializer (wire protocol).
_ANSWERS: dict[str, Any] = {}


def cached_catalog() -> Any:
    """A ``mock.patch`` (not started) that answers whole-catalog requests from the memo.

    ``None`` when this moto version does not have the hooks the memo relies on.
    """
    cache = _ANSWERS
    try:
        from moto.core.responses import ActionResult
        from moto.ec2.responses.instances import InstanceResponse
    except ImportError:  # pragma: no cover - a moto without them: no cache, same answers
        return None
    original = getattr(InstanceResponse, "describe_instance_types", None)
    if original is None:  # pragma: no cover
        return None

    class CachedResult(ActionResult):
        def execute_result(self, context: Any) -> Any:
            key = str(getattr(context.serializer_class, "__name__", "serializer"))
            if key not in cache:
                cache[key] = super().execute_result(context)
            status, headers, body = cache[key]
            return status, dict(headers), body

    def describe_instance_types(response: Any) -> Any:
        result = original(response)
        whole = not any(
            name.startswith(("InstanceType", "Filter", "MaxResults", "NextToken"))
            for name in getattr(response, "querystring", {})
        )
        if whole and type(result) is ActionResult:
            return CachedResult(result.result)
        return result

    return mock.patch.object(InstanceResponse, "describe_instance_types", describe_instance_types)
