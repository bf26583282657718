"""``plan --plot FILE.png``: the clouds' costs for a workload, side by side.

matplotlib (the ``plot`` extra) is imported only here, when a plot is asked for, with the Agg
backend (no display needed).
"""

from __future__ import annotations

from pathlib import Path

import click

from ..workloads.placement import Placement


def plot_costs(placement: Placement, path: Path) -> None:
    """Write a PNG with one bar per cloud and region that can hold the whole workload: its
    cost over the plan's hours, stacked by VM group; the chosen ones are marked."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise click.ClickException(
            "--plot needs matplotlib: pip install 'unicompute[plot]'") from exc
    options = sorted(placement.regional, key=lambda c: (c.total, c.provider, c.region))
    labels = [f"{c.provider}\n{c.region}" + ("\n(chosen)" if c in placement.chosen else "")
              for c in options]
    figure, axes = plt.subplots(figsize=(max(6.0, 1.3 * len(options)), 4.5))
    bottoms = [0.0] * len(options)
    for index, group in enumerate(placement.workload.groups):
        heights = [c.groups[index].candidate.total for c in options]
        axes.bar(labels, heights, bottom=bottoms, label=group.name)
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    for x, total in enumerate(bottoms):
        axes.annotate(f"${total:,.2f}", (x, total), ha="center", va="bottom", fontsize=8)
    axes.set_ylabel(f"USD over {placement.hours:g} h")
    axes.set_title(f"{placement.workload.name}: cost per cloud and region "
                   f"(catalog prices, billing rules applied)")
    if placement.workload.groups:
        axes.legend(title="VM group")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
