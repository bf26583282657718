"""The AWS provider: EC2 instances, EBS volumes and snapshots, key pairs, Lambda functions,
over boto3.

Importing this package does not import botocore (``Options`` is public API); the SDK is imported
when a cloud is first opened. Config keys of :func:`open_provider`:

* ``endpoint_url`` (str): talk to this endpoint for EC2 and the function services (Lambda,
  IAM, EventBridge, SQS, CloudWatch Logs), e.g. ``unicompute mock-server``'s. When no
  AWS credentials are configured, placeholder ones are used, since a local fake needs some. An
  http(s) URL without user name or password (rejected without being echoed).
* ``profile`` (str): boto3 profile name.
* ``poll_interval`` (seconds, a number or numeric str): delay between polls while waiting for
  EC2 (default 5).

Any other key raises ``InvalidRequest`` naming it. The region defaults to the boto3 session's,
else ``us-east-1``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ..._function_models import RUNTIMES, FunctionLimits
from ...driver import Capability, Limits, NamingRules, ProviderDrivers, TagCharacters
from .options import Options

#: Lambda's limits (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
FUNCTION_LIMITS = FunctionLimits(
    names=NamingRules(
        pattern=re.compile(r"[a-zA-Z0-9_-]+"),
        max_length=64,
        description="letters, digits, hyphens and underscores, at most 64 characters",
    ),
    runtimes=frozenset(RUNTIMES),
    shim="aws_lambda",
    min_memory_mb=128,
    max_memory_mb=10240,
    memory_step_mb=1,
    max_timeout_s=900,
    max_sync_payload_bytes=6 * 1024 * 1024,
    max_async_payload_bytes=1024 * 1024,
    max_env_bytes=4096,
    reserved_env_keys=frozenset({
        "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION",
        "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
    }),
    max_package_bytes=50 * 1024 * 1024,
    max_tags=48,  # Lambda allows 50; unicompute adds unicompute:managed and unicompute:role
    max_tag_key_length=128,
    max_tag_value_length=256,
    reserved_tag_prefixes=("aws:",),
    # Lambda's pattern for keys and values: [\p{L}\p{Z}\p{N}_.:/=+\-@]*
    tag_characters=TagCharacters(
        categories=("L", "Z", "N"), extra="_.:/=+-@",
        description="letters, numbers, spaces and _ . : / = + - @"),
)

#: Names go into the ``Name`` tag and the security group name, so the portable rule applies.
LIMITS = Limits(
    names=NamingRules(
        pattern=re.compile(r"^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$"),
        max_length=63,
        description=(
            "letters, digits and hyphens, starting and ending with a letter or digit, "
            "at most 63 characters"
        ),
    ),
    max_user_data_bytes=16384,
    max_tags=45,  # EC2 allows 50; unicompute adds Name, unicompute:managed and unicompute:sg
    max_tag_key_length=127,
    max_tag_value_length=256,
    max_disk_gib=16384,
    max_count=100,
    # EC2 rejects user tags starting with aws:; the others are the provider's bookkeeping, which
    # terminate_vm and volume listing read.
    reserved_tag_prefixes=("aws:", "unicompute:sg", "unicompute:root", "unicompute:client-token"),
    # Name holds the VM's name: a user's Name tag would silently rename the VM.
    reserved_tag_keys=("Name",),
    functions=FUNCTION_LIMITS,
)

CAPABILITIES = frozenset(
    {
        Capability.KEYS,
        Capability.VOLUMES,
        Capability.SNAPSHOTS,
        Capability.FIREWALLS,
        Capability.SPOT,
        Capability.REBOOT,
        Capability.USER_DATA,
        Capability.TAGS,
        Capability.FUNCTIONS,
        Capability.CONSOLE_OUTPUT,
    }
)


def open_provider(region: str | None, config: Mapping[str, object]) -> ProviderDrivers:
    """The AWS drivers for ``region``.

    Without botocore the ``ImportError`` propagates; ``unicompute.connect`` turns it into
    ``MissingDependency`` naming ``pip install 'unicompute[aws]'``.
    """
    from . import _session

    drivers = _session.open_provider(region, config, limits=LIMITS, capabilities=CAPABILITIES)
    try:
        from .lambda_ import open_functions

        functions = open_functions(drivers.region, config)
    except BaseException:
        drivers.close()
        raise
    close_compute = drivers.close

    def close() -> None:
        functions.close()
        close_compute()

    drivers.functions = functions
    drivers.close = close
    return drivers


__all__ = ["CAPABILITIES", "FUNCTION_LIMITS", "LIMITS", "Options", "open_provider"]
