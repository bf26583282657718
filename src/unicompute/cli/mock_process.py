"""``python -m unicompute.cli.mock_process DIR``: the background mock server's process.

A module of its own that the ``unicompute.cli`` package never imports, so that running it as
``__main__`` loads nothing twice (``-m unicompute.cli.mock_state`` warned that the module was
already in ``sys.modules``). The server itself is :func:`~unicompute.cli.mock_state.serve`.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .mock_state import serve

if __name__ == "__main__":
    serve(Path(sys.argv[1]))
