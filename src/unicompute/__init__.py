"""unicompute: one API for virtual machines and serverless functions on every cloud, with
offline fakes.

``import unicompute`` imports no cloud SDK; :func:`connect` loads the provider it is asked for.
Provider-only options live in ``unicompute.<provider>.Options`` (``unicompute.aws.Options``),
loaded on first access.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from . import errors
from ._cloud import Cloud, connect
from ._errors import (
    AlreadyExists,
    CapacityUnavailable,
    ClosedError,
    Conflict,
    ErrorCode,
    FunctionError,
    InvalidRequest,
    MissingDependency,
    NotFound,
    PermissionDenied,
    ProviderError,
    QuotaExceeded,
    Throttled,
    Timeout,
    Unauthenticated,
    UnicomputeError,
    Unsupported,
)
from ._function_models import (
    RUNTIMES,
    FunctionSpec,
    FunctionState,
    HttpTrigger,
    Invocation,
    LogLine,
    QueueTrigger,
    ScheduleTrigger,
)
from ._functions import Function, Functions
from ._keys import Keys
from ._models import (
    IMAGE_ALIASES,
    Image,
    InboundRule,
    KeyPair,
    LaunchPlan,
    Region,
    Size,
    Snapshot,
    VMSpec,
    VMState,
    Volume,
    VolumeState,
    Zone,
)
from ._registry import available as available_providers
from ._registry import register as register_provider
from ._vms import VM, VMs
from ._volumes import Volumes
from ._waiting import Poller

__version__ = "0.1.0"

_PROVIDER_OPTIONS = {
    "aws": "unicompute.providers.aws.options",
    "azure": "unicompute.providers.azure.options",
    "gcp": "unicompute.providers.gcp.options",
}


def __getattr__(name: str) -> ModuleType:
    if name in _PROVIDER_OPTIONS:
        return importlib.import_module(_PROVIDER_OPTIONS[name])
    raise AttributeError(f"module 'unicompute' has no attribute {name!r}")


__all__ = [
    "IMAGE_ALIASES",
    "RUNTIMES",
    "VM",
    "AlreadyExists",
    "CapacityUnavailable",
    "ClosedError",
    "Cloud",
    "Conflict",
    "ErrorCode",
    "Function",
    "FunctionError",
    "FunctionSpec",
    "FunctionState",
    "Functions",
    "HttpTrigger",
    "Image",
    "InboundRule",
    "InvalidRequest",
    "Invocation",
    "KeyPair",
    "Keys",
    "LaunchPlan",
    "LogLine",
    "MissingDependency",
    "NotFound",
    "PermissionDenied",
    "Poller",
    "ProviderError",
    "QueueTrigger",
    "QuotaExceeded",
    "Region",
    "ScheduleTrigger",
    "Size",
    "Snapshot",
    "Throttled",
    "Timeout",
    "Unauthenticated",
    "UnicomputeError",
    "Unsupported",
    "VMSpec",
    "VMState",
    "VMs",
    "Volume",
    "VolumeState",
    "Volumes",
    "Zone",
    "__version__",
    "available_providers",
    "connect",
    "errors",
    "register_provider",
]
