"""Parameter types shared by the commands."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..workloads import DEFAULT_TIMEOUT

#: A decorated command function.
F = TypeVar("F", bound=Callable[..., Any])


def key_values(
    ctx: click.Context | None, param: click.Parameter | None, values: tuple[str, ...]
) -> dict[str, str]:
    """Option callback: repeated ``KEY=VALUE`` strings as a dict (the value may be empty)."""
    result: dict[str, str] = {}
    for value in values:
        key, sep, rest = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", ctx=ctx, param=param)
        result[key] = rest
    return result


#: ``--json``: the machine-readable form of a command's table.
json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print a JSON list of objects instead of a table."
)

#: ``--timeout``: how long ``--wait`` waits for each VM.
timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="How long to wait for each VM.",
)


def tag_option(text: str) -> Callable[[F], F]:
    """``--tag KEY=VALUE`` (repeatable, ``text`` is its help), passed as a dict ``tags``."""
    return click.option(
        "--tag", "tags", callback=key_values, multiple=True, metavar="KEY=VALUE", help=text
    )
