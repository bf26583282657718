"""Which cloud a command talks to: the connection options every command takes, and opening it.

The options are accepted both before the command (``unicompute --mock launch web.yaml``) and after
it (``unicompute launch web.yaml --mock``); a value given after the command wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import click

import unicompute as uc

from .params import F, key_values

#: Config names containing one of these words hold credentials: never printed.
_SECRET_NAME = re.compile(r"key|secret|token|password|credential", re.IGNORECASE)
_HIDDEN = "***"


@dataclass
class Settings:
    """The connection options of one invocation."""

    cloud: str = "aws"
    region: str | None = None
    endpoint: str | None = None
    mock: bool = False
    config: dict[str, str] = field(default_factory=dict)

    def connect_config(self) -> dict[str, str]:
        """The ``**config`` for :func:`unicompute.connect`."""
        extra = {"endpoint_url": self.endpoint} if self.endpoint else {}
        return {**self.config, **extra}

    def secrets(self) -> list[str]:
        """Values that must never be printed (those of config names that look like secrets)."""
        return [value for name, value in self.config.items() if _SECRET_NAME.search(name) and value]

    def describe(self, cloud: uc.Cloud) -> str:
        """``aws us-east-1 (mock)`` plus the endpoint and config, with secrets hidden."""
        extras = [
            f"{name}={_HIDDEN if _SECRET_NAME.search(name) else value}"
            for name, value in self.connect_config().items()
        ]
        if self.mock:
            extras.insert(0, "in-process fake")
        suffix = f" ({', '.join(extras)})" if extras else ""
        return f"{cloud.provider} {cloud.region}{suffix}"


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


def connection_options(command: F) -> F:
    """Add ``--cloud``, ``--region``, ``--endpoint``, ``--config`` and ``--mock`` to ``command``."""
    options = [
        click.option(
            "--cloud",
            callback=_store("cloud"),
            expose_value=False,
            metavar="NAME",
            help="Provider to use (default: aws).",
        ),
        click.option(
            "--region",
            callback=_store("region"),
            expose_value=False,
            help="Region (default: the provider's default region).",
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
            help="Talk to in-process fakes instead of the cloud; nothing leaves the "
            "machine and everything is forgotten when the command ends.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def open_cloud(ctx: click.Context) -> uc.Cloud:
    """Connect as the options say; the cloud (and the fakes, with ``--mock``) close when the
    command ends."""
    current = settings(ctx)
    if current.mock:
        if current.endpoint:
            raise click.UsageError("--mock and --endpoint cannot be used together")
        from unicompute.mocks import mock_cloud

        ctx.with_resource(mock_cloud())
    cloud = uc.connect(current.cloud, region=current.region, **current.connect_config())
    return ctx.with_resource(cloud)
