"""Which cloud a command talks to: the connection options every command takes, and opening it.

The options are accepted both before the command (``unicompute --mock launch web.yaml``) and after
it (``unicompute launch web.yaml --mock``); a value given after the command wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, unquote_plus, urlsplit

import click

import unicompute as uc

from .params import F, key_values

#: Config names containing one of these words hold credentials: never printed.
_SECRET_NAME = re.compile(r"key|secret|token|password|credential", re.IGNORECASE)
_HIDDEN = "***"


@dataclass
class Settings:
    """The connection options of one invocation. ``cloud`` is ``None`` when ``--cloud`` was
    not given (a workload's ``placement.cloud`` then decides; other commands use ``aws``)."""

    cloud: str | None = None
    region: str | None = None
    endpoint: str | None = None
    mock: bool = False
    config: dict[str, str] = field(default_factory=dict)

    def connect_config(self) -> dict[str, str]:
        """The ``**config`` for :func:`unicompute.connect`."""
        extra = {"endpoint_url": self.endpoint} if self.endpoint else {}
        return {**self.config, **extra}

    def secrets(self) -> list[str]:
        """Values that must never be printed: those of config names that look like secrets, and
        the user-info and query values of ``--endpoint`` (``?token=...``)."""
        config = [value for name, value in self.config.items() if _SECRET_NAME.search(name)]
        return [value for value in (*config, *_endpoint_secrets(self.endpoint)) if value]

    def describe(self, cloud: uc.Cloud) -> str:
        """``aws us-east-1 (mock)`` plus the config and the endpoint's ``scheme://host:port``,
        with secrets hidden."""
        extras = [
            f"{name}={_HIDDEN if _SECRET_NAME.search(name) else value}"
            for name, value in self.config.items()
        ]
        if self.endpoint:
            extras.append(f"endpoint_url={_public_endpoint(self.endpoint)}")
        if self.mock:
            extras.insert(0, "fake")
        suffix = f" ({', '.join(extras)})" if extras else ""
        return f"{cloud.provider} {cloud.region}{suffix}"


def _endpoint_secrets(endpoint: str | None) -> list[str]:
    """The user name, password and query values of ``endpoint``, as written and decoded."""
    if not endpoint:
        return []
    try:
        parts = urlsplit(endpoint)
    except ValueError:
        return [endpoint]  # unparsable: hide all of it
    found = [parts.username or "", parts.password or ""]
    found += [pair.partition("=")[2] for pair in parts.query.split("&")]
    return [form for value in found for form in {value, unquote(value), unquote_plus(value)}]


def _public_endpoint(endpoint: str) -> str:
    """``scheme://host:port`` of ``endpoint``: no user-info, path, query or fragment."""
    try:
        parts = urlsplit(endpoint)
        port = parts.port
    except ValueError:
        return _HIDDEN
    if not parts.scheme or not parts.hostname:
        return _HIDDEN
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def redact(text: str, secrets: list[str]) -> str:
    """``text`` with every secret value replaced by ``***``."""
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, _HIDDEN)
    return text


def settings(ctx: click.Context) -> Settings:
    """The settings of this invocation (created on first use)."""
    return ctx.ensure_object(Settings)


def _store(attribute: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value in (None, False, ()):
            return value  # not given here: keep what an outer command set
        current = settings(ctx)
        if attribute == "config":
            current.config.update(key_values(ctx, param, value))
        else:
            setattr(current, attribute, value)
        return value

    return callback


#: ``--cloud`` and ``--region`` as most commands read them.
CLOUD_HELP = "Provider: aws, azure, gcp or libcloud:<driver> (default: aws)."
REGION_HELP = "Region (default: the provider's default region)."
#: ... as the root group shows them, for every command after it.
ROOT_CLOUD_HELP = (
    "Provider for the command: aws, azure, gcp or libcloud:<driver> (default: aws); "
    "plan/launch/status/destroy also take cheapest and all and default to the file's "
    "placement.cloud; functions commands take all.")


def connection_options_with(*, cloud_help: str = CLOUD_HELP, region_help: str = REGION_HELP
                            ) -> Callable[[F], F]:
    """:func:`connection_options` with a command's own help for ``--cloud`` and ``--region``
    (what values it accepts and what it defaults to)."""

    def decorate(command: F) -> F:
        options = [
            click.option(
                "--cloud",
                callback=_store("cloud"),
                expose_value=False,
                metavar="NAME",
                help=cloud_help,
            ),
            click.option(
                "--region",
                callback=_store("region"),
                expose_value=False,
                help=region_help,
            ),
            click.option(
                "--endpoint",
                callback=_store("endpoint"),
                expose_value=False,
                metavar="URL",
                help="Send the provider's API calls to URL, e.g. a "
                "`unicompute mock-server` (passed as endpoint_url).",
            ),
            click.option(
                "--config",
                callback=_store("config"),
                expose_value=False,
                multiple=True,
                metavar="KEY=VALUE",
                help="Provider config for unicompute.connect (repeatable). Values of "
                "names containing key/secret/token/password are never printed.",
            ),
            click.option(
                "--mock",
                callback=_store("mock"),
                expose_value=False,
                is_flag=True,
                help="Talk to the built-in fakes instead of the cloud; nothing leaves the "
                "machine. A background mock server keeps their state between commands "
                "(`unicompute mock status|reset|stop`).",
            ),
        ]
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def connection_options(command: F) -> F:
    """Add ``--cloud``, ``--region``, ``--endpoint``, ``--config`` and ``--mock`` to ``command``."""
    return connection_options_with()(command)


def open_cloud(ctx: click.Context, provider: str | None = None, region: str | None = None
               ) -> uc.Cloud:
    """Connect as the options say (``provider`` and ``region`` override ``--cloud`` and
    ``--region``); the cloud closes when the command ends. With ``--mock`` the cloud is the
    background mock server's fake (started on demand, see :mod:`.mock_state`); a provider
    without a served fake gets in-process fakes that end with the command."""
    current = settings(ctx)
    name = provider or current.cloud or "aws"
    where = region or current.region
    if current.mock:
        if current.endpoint:
            raise click.UsageError("--mock and --endpoint cannot be used together")
        from .mock_state import FAKE_CONFIG

        if name in FAKE_CONFIG:
            return ctx.with_resource(_mock_cloud(ctx, name, where))
        from unicompute.mocks import mock_cloud

        ctx.with_resource(mock_cloud())
    cloud = uc.connect(name, region=where, **current.connect_config())
    return ctx.with_resource(cloud)


def _mock_cloud(ctx: click.Context, provider: str, region: str | None) -> uc.Cloud:
    """``provider`` on the background mock server, with the fake's own account settings."""
    from . import mock_state

    state = ctx.meta.get("unicompute.mock_state")
    if state is None:
        state = ctx.meta["unicompute.mock_state"] = mock_state.ensure_server()
        _use_fake_aws_credentials(ctx)
    config = {**settings(ctx).config, **mock_state.FAKE_CONFIG[provider],
              "endpoint_url": state["endpoints"][provider]}
    return uc.connect(provider, region=region, **config)


def _use_fake_aws_credentials(ctx: click.Context) -> None:
    """Sign AWS requests to the fake with its fake credentials (never the user's), for this
    command only."""
    import os

    from .mock_state import AWS_FAKE_ENV

    saved = {key: os.environ.get(key) for key in AWS_FAKE_ENV}
    os.environ.update(AWS_FAKE_ENV)

    def restore() -> None:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    ctx.call_on_close(restore)


def cloud_opener(ctx: click.Context) -> Callable[[str, str], uc.Cloud]:
    """A function opening ``(provider, region)`` as the options say, for work on several clouds
    at once (each in its own thread): the caller closes what it opens. With ``--mock`` the
    background mock server is started here, before any thread runs."""
    current = settings(ctx)
    if not current.mock:
        return lambda provider, region: uc.connect(provider, region=region,
                                                   **current.connect_config())
    if current.endpoint:
        raise click.UsageError("--mock and --endpoint cannot be used together")
    from . import mock_state

    state = ctx.meta.get("unicompute.mock_state")
    if state is None:
        state = ctx.meta["unicompute.mock_state"] = mock_state.ensure_server()
        _use_fake_aws_credentials(ctx)
    endpoints: dict[str, str] = state["endpoints"]

    def open_fake(provider: str, region: str) -> uc.Cloud:
        if provider not in endpoints:
            raise click.UsageError(f"--mock has no fake for {provider!r} here")
        return uc.connect(provider, region=region, **current.config,
                          **mock_state.FAKE_CONFIG[provider], endpoint_url=endpoints[provider])

    return open_fake
