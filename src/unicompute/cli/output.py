"""Printing: records (plain dicts, the ``--json`` form) shown as rich tables, and messages.

Every command that prints a table builds a list of records with the ``*_record`` functions and
hands it to :func:`show` with the columns to display, so the table and the JSON always agree.
Tables and results go to stdout; notes, plans in ``--json`` mode and progress go to stderr.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import click
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

import unicompute as uc

Record = dict[str, Any]


#: Width used when printing to a file or pipe: tables keep their natural width, unfolded.
_UNBOUNDED_WIDTH = 10_000


def console(*, stderr: bool = False) -> Console:
    """A console on the current stdout (or stderr). On a terminal, tables fit its width; in a
    file or pipe (no ``COLUMNS`` set) they are not folded, and the text is plain."""
    out = Console(stderr=stderr, highlight=False)
    if not out.is_terminal and "COLUMNS" not in os.environ:
        out.width = _UNBOUNDED_WIDTH
    return out


def note(message: str) -> None:
    """A line for the human reader on stderr, so that stdout stays machine-readable."""
    console(stderr=True).print(message, markup=False)


def money(value: object) -> str:
    """``$0.0416`` for a price, ``-`` when unknown."""
    return f"${value:.4f}" if isinstance(value, int | float) else "-"


def _text(value: object) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


@dataclass(frozen=True)
class Column:
    """One table column: the record ``key`` it shows, its ``header`` and how to format it."""

    key: str
    header: str
    justify: Literal["left", "right"] = "left"
    format: Callable[[object], str] = _text


def price_column(key: str = "hourly_price", header: str = "price/h") -> Column:
    return Column(key, header, "right", money)


VM_COLUMNS = (
    Column("id", "id"),
    Column("name", "name"),
    Column("state", "state"),
    Column("size", "size"),
    Column("zone", "zone"),
    Column("private_ip", "private IP"),
    Column("public_ip", "public IP"),
)
#: The VMs of a workload or of one launch: what each costs and how to reach it.
LAUNCHED_COLUMNS = (
    Column("name", "name"),
    Column("id", "id"),
    Column("state", "state"),
    Column("size", "size"),
    price_column(),
    Column("private_ip", "private IP"),
    Column("public_ip", "public IP"),
)
SIZE_COLUMNS = (
    Column("name", "size"),
    Column("vcpus", "vCPUs", "right"),
    Column("memory_gib", "memory GiB", "right"),
    Column("gpus", "GPUs", "right"),
    Column("family", "family"),
    Column("arch", "arch"),
    price_column(),
)
IMAGE_COLUMNS = (
    Column("alias", "alias"),
    Column("id", "id"),
    Column("name", "name"),
    Column("os", "os"),
    Column("arch", "arch"),
)


def vm_record(vm: uc.VM, *, price: float | None = None) -> Record:
    """The JSON form of a VM; ``hourly_price`` is ``price``: its size's on-demand price, or
    (workload commands) the catalog's price for how it runs, spot for a spot VM."""
    return {
        "id": vm.id,
        "name": vm.name,
        "state": vm.state.value,
        "size": vm.size,
        "hourly_price": price,
        "image": vm.image,
        "zone": vm.zone,
        "private_ip": vm.private_ip,
        "public_ip": vm.public_ip,
        "spot": vm.spot,
        "launched_at": vm.launched_at.isoformat() if vm.launched_at else None,
        "tags": dict(vm.tags),
    }


def size_record(size: uc.Size) -> Record:
    return {
        "name": size.name,
        "vcpus": size.vcpus,
        "memory_gib": size.memory_gib,
        "gpus": size.gpus,
        "family": size.family,
        "arch": size.arch,
        "hourly_price": size.hourly_price,
        "price_source": size.price_source,
    }


def image_record(image: uc.Image) -> Record:
    return {
        "alias": image.alias,
        "id": image.id,
        "name": image.name,
        "os": image.os,
        "arch": image.arch,
    }


def show(
    records: Sequence[Mapping[str, Any]],
    columns: Sequence[Column],
    *,
    as_json: bool,
    title: str | None = None,
    empty: str = "Nothing found.",
    stderr: bool = False,
) -> None:
    """Print ``records`` as a JSON list on stdout (``as_json``) or as a table of ``columns``
    (on stderr with ``stderr``, for context printed beside JSON).

    An empty table prints ``empty`` instead; the JSON form is then ``[]``.
    """
    if as_json:
        click.echo(json.dumps(list(records), indent=2))
        return
    out = console(stderr=stderr)
    if not records:
        out.print(empty, markup=False)
        return
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False)
    for column in columns:
        table.add_column(column.header, justify=column.justify, overflow="fold")
    for record in records:
        table.add_row(*(Text(column.format(record.get(column.key))) for column in columns))
    out.print(table)
