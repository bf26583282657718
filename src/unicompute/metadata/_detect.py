"""Which cloud this process runs on: the three metadata services probed at once.

Each probe runs in a daemon thread, so a probe stuck in a DNS lookup or a connect that ignores
its timeout cannot hold up the answer, nor the interpreter's exit.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

from . import _aws, _azure, _gcp
from ._records import InstanceIdentity, InterruptionNotice


class Client(Protocol):
    @property
    def provider(self) -> str: ...

    def identity(self) -> InstanceIdentity: ...

    def interruption(self) -> InterruptionNotice | None: ...


#: provider → probe(timeout) returning a client or ``None``; order is the preference when more
#: than one answers (never on a real VM).
PROBES: dict[str, Callable[[float], Client | None]] = {
    "aws": _aws.Imds.probe,
    "azure": _azure.Imds.probe,
    "gcp": _gcp.MetadataServer.probe,
}


def detect(timeout: float, providers: tuple[str, ...] = tuple(PROBES)) -> Client | None:
    """The client of the first of ``providers`` whose metadata service answers within
    ``timeout`` seconds (all probed in parallel), or ``None``."""
    results: queue.Queue[tuple[str, Client | None]] = queue.Queue()

    def run(provider: str) -> None:
        try:
            found = PROBES[provider](timeout)
        except Exception:  # a probe that breaks means "not this cloud", never a crash
            found = None
        results.put((provider, found))

    for provider in providers:
        threading.Thread(target=run, args=(provider,), name=f"unicompute-probe-{provider}",
                         daemon=True).start()
    answers: dict[str, Client | None] = {}
    # A little beyond ``timeout``: the probes' own socket timeouts end them first.
    deadline = time.monotonic() + timeout + 0.25
    while len(answers) < len(providers):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            provider, found = results.get(timeout=remaining)
        except queue.Empty:
            break
        answers[provider] = found
        if found is not None and all(p in answers for p in providers[:providers.index(provider)]):
            return found  # every more preferred cloud has already said no
    for provider in providers:
        if answers.get(provider) is not None:
            return answers[provider]
    return None
