"""The shipped examples run as the README says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_quickstart_runs_on_the_fake_and_leaves_nothing_running() -> None:
    done = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py")], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("i-")
    assert "InboundRule(protocol='tcp', port_from=80" in lines[0]
    assert "name='web-1', state='stopped'" in lines[1]
    assert lines[-1].endswith("left running: []")
