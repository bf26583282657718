"""A workload the price catalog cannot place is refused with the file and line of the key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

import unicompute as uc

Cli = Callable[..., Result]


@pytest.mark.parametrize("command", ["plan", "launch"])
def test_an_unpriced_size_names_file_line_and_key(cli: Cli, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  command: str) -> None:
    def no_cloud(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cloud was opened")

    monkeypatch.setattr(uc, "connect", no_cloud)
    path = tmp_path / "shop.yaml"
    path.write_text("name: shop\nvms:\n  - name: web\n    size: {aws: t9.nano}\n")
    result = cli(command, str(path), "--cloud", "aws")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        f"error: {path}:4: vms[0].size.aws: no priced size 't9.nano' in aws us-east-1")
