#!/usr/bin/env python3
"""Set-up and checks for unicompute on any machine with Python 3.11+ and a package registry.

    python3 dev.py demo    # examples/shop.yaml on all three clouds' fakes (offline): plan,
                           # launch, status with the cost comparison, destroy
    python3 dev.py test    # ruff, mypy --strict on src/, and the whole pytest suite

Both create ``.venv`` and install ``unicompute[all,dev]`` into it the first time, and again
whenever ``pyproject.toml`` or ``constraints.txt`` changes. ``constraints.txt`` pins every package
to the versions CI was last green with (regenerate it with ``pip freeze --exclude-editable``).
Extra arguments go to the command run (pytest for ``test``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".unicompute-installed"


def run(*argv: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(a) for a in argv), flush=True)
    done = subprocess.run([str(a) for a in argv], cwd=ROOT, check=False, env=env)
    if done.returncode:
        sys.exit(done.returncode)


def ensure_venv() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may be run by any python3
        sys.exit(f"unicompute needs Python 3.11+, this is {sys.version.split()[0]}")
    inputs = [ROOT / "pyproject.toml", ROOT / "constraints.txt"]
    wanted = hashlib.sha256(b"".join(path.read_bytes() for path in inputs)).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    if not (BIN / "python").exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(BIN / "python", "-m", "pip", "install", "--quiet", "-c", "constraints.txt",
        "-e", ".[all,dev]")
    STAMP.write_text(wanted)


def demo(args: list[str]) -> None:
    """The same workload (two VM groups and a function) on AWS, Azure and GCP at once, on the
    fakes of a background mock server of the demo's own, which is stopped at the end."""
    import tempfile

    unicompute = BIN / "unicompute"
    workload = ["examples/shop.yaml", "--cloud", "all", "--mock", *args]
    with tempfile.TemporaryDirectory(prefix="unicompute-demo-") as state:
        env = {**os.environ, "UNICOMPUTE_MOCK_DIR": state, "COLUMNS": "160"}
        try:
            run(unicompute, "plan", *workload, env=env)
            run(unicompute, "launch", *workload, env=env)
            run(unicompute, "status", *workload, env=env)
            run(unicompute, "destroy", *workload, env=env)
        finally:
            subprocess.run([str(unicompute), "mock", "stop"], cwd=ROOT, env=env, check=False)


def test(args: list[str]) -> None:
    run(BIN / "ruff", "check", "src", "tests", "benchmarks", "examples", "dev.py")
    run(BIN / "mypy", "--strict", "src")
    run(BIN / "python", "-m", "pytest", "-q", *args)


COMMANDS = {"demo": demo, "test": test}


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(f"usage: python3 dev.py {{{'|'.join(COMMANDS)}}} [args...]")
    ensure_venv()
    COMMANDS[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
