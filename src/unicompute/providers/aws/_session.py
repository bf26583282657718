"""Opening the AWS provider: config checking, the botocore session and client, the drivers.

Imported by :func:`unicompute.providers.aws.open_provider` on first use, so that importing the
package (for ``Options``) does not import botocore.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import ProfileNotFound

from ..._errors import InvalidRequest
from ...driver import Capability, Limits, ProviderDrivers
from ._context import DEFAULT_POLL_INTERVAL, Context
from .convert import PROVIDER
from .ec2 import Ec2Compute
from .errors import translate_error
from .keys import Ec2Keys
from .options import Options
from .volumes import Ec2Volumes

if TYPE_CHECKING:
    from mypy_boto3_ec2 import EC2Client

DEFAULT_REGION = "us-east-1"
CONFIG_KEYS = frozenset({"endpoint_url", "profile", "poll_interval"})

#: Retries are the portable layer's job (``UnicomputeError.retryable``), so botocore makes one
#: attempt per call; otherwise every throttled call would be retried twice over.
_BOTO_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1})

#: Parsed botocore service models, shared by the sessions of every cloud this process opens, so
#: that each ``connect`` does not parse EC2's multi-megabyte model again (~0.2 s).
_LOADER = botocore.loaders.create_loader()


def open_provider(
    region: str | None,
    config: Mapping[str, object],
    *,
    limits: Limits,
    capabilities: frozenset[Capability],
) -> ProviderDrivers:
    """The AWS drivers for ``region``; ``config`` as described in the package docstring."""
    endpoint_url, profile, poll_interval = _check_config(config)
    session = botocore.session.get_session()
    session.register_component("data_loader", _LOADER)
    if profile is not None:
        session.set_config_variable("profile", profile)
    try:
        session.get_scoped_config()  # reads the config files; fails for an unknown profile
        region = region or session.get_config_variable("region") or DEFAULT_REGION
    except ProfileNotFound as exc:
        raise InvalidRequest(str(exc), field="profile", provider=PROVIDER, original=exc) from exc
    placeholder = None
    if endpoint_url is not None and session.get_credentials() is None:
        placeholder = "unicompute"  # a local fake wants signed requests, not real keys
    client = cast(
        "EC2Client",
        session.create_client(
            "ec2",
            region_name=region,
            endpoint_url=endpoint_url,
            config=_BOTO_CONFIG,
            aws_access_key_id=placeholder,
            aws_secret_access_key=placeholder,
        ),
    )
    ctx = Context(client=client, region=region, poll_interval=poll_interval)
    return ProviderDrivers(
        provider=PROVIDER,
        region=region,
        compute=Ec2Compute(ctx),
        limits=limits,
        translate_error=translate_error,
        capabilities=capabilities,
        keys=Ec2Keys(ctx),
        volumes=Ec2Volumes(ctx),
        options_type=Options,
        close=client.close,
    )


def _check_config(config: Mapping[str, object]) -> tuple[str | None, str | None, float]:
    for key in config:
        if key not in CONFIG_KEYS:
            raise InvalidRequest(
                f"unknown AWS setting; expected one of {', '.join(sorted(CONFIG_KEYS))}",
                field=str(key),
                provider=PROVIDER,
            )
    endpoint_url = config.get("endpoint_url")
    profile = config.get("profile")
    poll_interval = config.get("poll_interval", DEFAULT_POLL_INTERVAL)
    if isinstance(poll_interval, str):  # from the URL form, aws://region?poll_interval=1
        with contextlib.suppress(ValueError):
            poll_interval = float(poll_interval)
    for key, value in (("endpoint_url", endpoint_url), ("profile", profile)):
        if value is not None and (not isinstance(value, str) or not value):
            raise InvalidRequest("must be a non-empty str", field=key, provider=PROVIDER)
    if (
        isinstance(poll_interval, bool)
        or not isinstance(poll_interval, int | float)
        or not 0 <= poll_interval < math.inf
    ):
        raise InvalidRequest(
            "must be a number of seconds >= 0", field="poll_interval", provider=PROVIDER
        )
    return (
        endpoint_url if isinstance(endpoint_url, str) else None,
        profile if isinstance(profile, str) else None,
        float(poll_interval),
    )
