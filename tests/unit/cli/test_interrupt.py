"""Ctrl-C ends every command with one line and exit status 130, whatever it was doing.

Ctrl-C is simulated by the first cloud connection (or the placement) raising
``KeyboardInterrupt``, as Python does on the main thread when SIGINT arrives.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

import unicompute as uc
from unicompute.cli import workload as workload_cli

Cli = Callable[..., Result]
EXAMPLES = Path(__file__).parents[3] / "examples"
WEB = str(EXAMPLES / "web.yaml")
SHOP = str(EXAMPLES / "shop.yaml")


def _ctrl_c(*args: Any, **kwargs: Any) -> Any:
    raise KeyboardInterrupt


def assert_interrupted(result: Result) -> str:
    assert result.exit_code == 130, result.output
    assert "Aborted!" not in result.output and "Traceback" not in result.output
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("interrupted (Ctrl-C)")
    return line


@pytest.mark.parametrize("args", [
    ("vms", "list"),
    ("sizes", "--cloud", "aws"),
    ("plan", SHOP, "--cloud", "aws"),
    ("plan", WEB),
    ("functions", "list", "--cloud", "azure"),
    ("functions", "invoke", "hello", "--cloud", "gcp"),
], ids=" ".join)
def test_ctrl_c_anywhere_exits_130_with_one_line(cli: Cli, monkeypatch: pytest.MonkeyPatch,
                                                  args: tuple[str, ...]) -> None:
    monkeypatch.setattr(uc, "connect", _ctrl_c)
    result = cli(*args)
    assert assert_interrupted(result) == "interrupted (Ctrl-C)"
    assert result.stderr.strip() == "interrupted (Ctrl-C)"


def test_ctrl_c_while_launch_places_the_workload(cli: Cli, monkeypatch: pytest.MonkeyPatch
                                                  ) -> None:
    monkeypatch.setattr(workload_cli, "place", _ctrl_c)
    assert_interrupted(cli("launch", SHOP, "--cloud", "all", "--mock"))


def test_ctrl_c_during_status_on_several_regions(cli: Cli, monkeypatch: pytest.MonkeyPatch
                                                  ) -> None:
    monkeypatch.setattr(workload_cli.deploy, "status", _ctrl_c)
    assert assert_interrupted(cli("status", SHOP, "--cloud", "all")) == "interrupted (Ctrl-C)"


def test_ctrl_c_during_destroy_says_how_to_finish(cli: Cli, monkeypatch: pytest.MonkeyPatch
                                                   ) -> None:
    monkeypatch.setattr(workload_cli.deploy, "destroy", _ctrl_c)
    line = assert_interrupted(cli("destroy", SHOP, "--cloud", "all"))
    assert f"run `unicompute destroy {SHOP}` again (same options) to remove what is left" in line
    monkeypatch.setattr(uc, "connect", _ctrl_c)
    line = assert_interrupted(cli("destroy", WEB, "--cloud", "aws"))  # one region: no threads
    assert f"run `unicompute destroy {WEB}` again" in line


def test_ctrl_c_during_a_function_deploy_says_how_to_finish(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(uc, "connect", _ctrl_c)
    line = assert_interrupted(cli("functions", "deploy", str(EXAMPLES / "functions" / "hello"),
                                  "--cloud", "aws"))
    assert "deploy again to finish" in line
