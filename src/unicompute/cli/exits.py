"""The ``unicompute`` command's exit statuses, and how a command says what to do after Ctrl-C."""

from __future__ import annotations

import click

#: Exit status for bad input (also click's own for usage errors) and for cloud failures.
EXIT_BAD_INPUT = 2
EXIT_CLOUD_ERROR = 1
#: Exit status after Ctrl-C, as a shell reports a process ended by SIGINT (128 + 2).
EXIT_INTERRUPTED = 130
#: ``ctx.meta`` key: what to tell the user to run after Ctrl-C stopped the command.
INTERRUPT_HINT = "unicompute.interrupt_hint"


def on_interrupt(ctx: click.Context, hint: str) -> None:
    """Have Ctrl-C during the rest of this command end with ``interrupted (Ctrl-C); <hint>``."""
    ctx.meta[INTERRUPT_HINT] = hint
