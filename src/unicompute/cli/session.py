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
            extras.insert(0, "in-process fake")
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
