"""Opening the AWS provider: config checking, the botocore session and client, the drivers.

Imported by :func:`unicompute.providers.aws.open_provider` on first use, so that importing the
package (for ``Options``) does not import botocore.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, InvalidRegionError, NoRegionError, ProfileNotFound

from ... import _config
from ..._errors import InvalidRequest, ProviderError
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
#: The shape of every AWS region name (us-east-1, us-gov-west-1, eu-central-2, ...). Only the
#: shape is checked, so a region newer than this botocore still works.
_REGION_NAME = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
CONFIG_KEYS = frozenset({"endpoint_url", "profile", "poll_interval"})

#: Retries are the portable layer's job (``UnicomputeError.retryable``), so botocore makes one
#: attempt per call; otherwise every throttled call would be retried twice over.
BOTO_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1})

#: Parsed botocore service models, shared by the sessions of every cloud this process opens, so
#: that each ``connect`` does not parse EC2's multi-megabyte model again (~0.2 s).
_LOADER = botocore.loaders.create_loader()


def new_session(profile: str | None) -> botocore.session.Session:
    """A botocore session sharing the parsed service models, on ``profile`` when given."""
    session = botocore.session.get_session()
    session.register_component("data_loader", _LOADER)
    if profile is not None:
        session.set_config_variable("profile", profile)
    return session


def create_client(session: botocore.session.Session, service: str, region: str,
                  endpoint_url: str | None) -> Any:
    """A client of ``service`` making one attempt per call (:data:`BOTO_CONFIG`). Against an
    endpoint override without credentials (a local fake), requests are signed with placeholder
    keys: fakes want signed requests, never real keys."""
    placeholder = None
    if endpoint_url is not None and session.get_credentials() is None:
        placeholder = "unicompute"
    return session.create_client(
        service,
        region_name=region,
        endpoint_url=endpoint_url,
        config=BOTO_CONFIG,
        aws_access_key_id=placeholder,
        aws_secret_access_key=placeholder,
    )


def open_provider(
    region: str | None,
    config: Mapping[str, object],
    *,
    limits: Limits,
    capabilities: frozenset[Capability],
) -> ProviderDrivers:
    """The AWS drivers for ``region``; ``config`` as described in the package docstring."""
    endpoint_url, profile, poll_interval = check_config(config)
    session = new_session(profile)
    try:
        session.get_scoped_config()  # reads the config files; fails for an unknown profile
        region = region or session.get_config_variable("region") or DEFAULT_REGION
        if not _REGION_NAME.fullmatch(region):
            raise InvalidRegionError(region_name=region)
        client = cast("EC2Client", create_client(session, "ec2", region, endpoint_url))
    except ProfileNotFound as exc:
        raise InvalidRequest(str(exc), field="profile", provider=PROVIDER, original=exc) from exc
    except (InvalidRegionError, NoRegionError) as exc:
        # Only the region is echoed: botocore's messages are not shown.
        raise InvalidRequest(
            f"{region!r} is not a valid AWS region name (e.g. us-east-1)",
            field="region",
            provider=PROVIDER,
            operation="connect",
            original=exc,
        ) from exc
    except BotoCoreError as exc:  # e.g. a credential process that fails
        raise translate_error(exc, "connect") or ProviderError(
            type(exc).__name__, provider=PROVIDER, operation="connect", original=exc
        ) from exc
    except ValueError as exc:
        if endpoint_url is None:
            raise
        # botocore's "Invalid endpoint: <url>" would echo the URL.
        raise InvalidRequest(
            "is not a valid endpoint URL", field="endpoint_url", provider=PROVIDER, original=exc
        ) from exc
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


def check_config(config: Mapping[str, object]) -> tuple[str | None, str | None, float]:
    """``endpoint_url``, ``profile`` and ``poll_interval`` from the provider settings."""
    _config.check_known(config, CONFIG_KEYS, provider=PROVIDER)
    return (
        _config.endpoint_url(config, provider=PROVIDER),
        _config.optional_str(config, "profile", provider=PROVIDER),
        _config.seconds(config, "poll_interval", DEFAULT_POLL_INTERVAL, provider=PROVIDER),
    )
