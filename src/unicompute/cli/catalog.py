"""``unicompute sizes`` and ``unicompute images``: what a cloud offers."""

from __future__ import annotations

import click

from .output import IMAGE_COLUMNS, SIZE_COLUMNS, image_record, note, show, size_record
from .params import json_option
from .session import connection_options, open_cloud


@click.command()
@click.option("--vcpus", type=click.IntRange(min=0), help="At least this many vCPUs.")
@click.option(
    "--memory",
    "memory_gib",
    type=click.FloatRange(min=0),
    metavar="GIB",
    help="At least this much memory.",
)
@click.option("--gpus", type=click.IntRange(min=0), help="At least this many GPUs.")
@click.option("--family", help="Only this family, e.g. t3.")
@click.option("--arch", type=click.Choice(["x86_64", "arm64"]), help="Only this architecture.")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    help="Show the N cheapest; 0 shows all.",
)
@json_option
@connection_options
@click.pass_context
def sizes(
    ctx: click.Context,
    vcpus: int | None,
    memory_gib: float | None,
    gpus: int | None,
    family: str | None,
    arch: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List machine sizes with at least the given resources, cheapest first."""
    cloud = open_cloud(ctx)
    found = cloud.vms.sizes(vcpus=vcpus, memory_gib=memory_gib, gpus=gpus, family=family, arch=arch)
    shown = found[:limit] if limit else found
    show(
        [size_record(size) for size in shown],
        SIZE_COLUMNS,
        as_json=as_json,
        empty="No size has these resources.",
    )
    if len(shown) < len(found):
        note(f"{len(shown)} of {len(found)} sizes shown; --limit 0 shows all.")
    sources = sorted({size.price_source for size in shown if size.price_source})
    if sources and not as_json:
        note(f"Prices: {'; '.join(sources)} (not live prices).")


@click.command()
@json_option
@connection_options
@click.pass_context
def images(ctx: click.Context, as_json: bool) -> None:
    """List the images the portable aliases resolve to, and the account's own."""
    cloud = open_cloud(ctx)
    show(
        [image_record(image) for image in cloud.vms.images()],
        IMAGE_COLUMNS,
        as_json=as_json,
        empty="No images.",
    )
