"""``plan --offline``: the cost comparison from the price catalog alone, for a user without
cloud accounts: no credentials, no cloud opened, no network; the same choice and prices as the
plan that opens the clouds (here the fakes, ``--mock``)."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from unicompute import _registry

Cli = Callable[..., Result]

SHOP = str(Path(__file__).parents[3] / "examples" / "shop.yaml")
_CREDENTIAL_PREFIXES = ("AWS_", "AZURE_", "GOOGLE_", "GCLOUD_", "CLOUDSDK_", "ARM_", "MSI_",
                        "IDENTITY_", "UNICOMPUTE_CACHE_DIR")
#: What must match between the offline plan and the plan made with the clouds open.
_CHOSEN_KEYS = ("cloud", "region", "group", "size", "pricing", "count", "hourly", "total")


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No cloud credentials in the environment and a HOME of the test's own (no ~/.aws,
    ~/.azure, ~/.config/gcloud)."""
    for name in list(os.environ):
        if name.startswith(_CREDENTIAL_PREFIXES):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@contextmanager
def _network_cut_off() -> Iterator[list[str]]:
    """Within the block every network connection and every opening of a cloud fails; yields
    the attempts made."""
    attempts: list[str] = []

    def refuse(what: str) -> Callable[..., Any]:
        def fail(*args: object, **kwargs: object) -> Any:
            attempts.append(what)
            raise OSError(f"the test forbids {what}")
        return fail

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse("socket.connect"))
        patch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
        patch.setattr(socket, "getaddrinfo", refuse("getaddrinfo"))
        patch.setattr(_registry, "open_provider", refuse("open_provider"))
        yield attempts


@pytest.fixture
def cut_off() -> Iterator[list[str]]:
    with _network_cut_off() as attempts:
        yield attempts


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _chosen(plan: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [tuple(record[key] for key in _CHOSEN_KEYS) for record in plan["chosen"]]


@pytest.mark.parametrize("extra", [(), ("--hours", "10", "--commitment", "1y")])
def test_offline_plan_without_credentials_matches_the_plan_on_the_clouds(
        cli: Cli, no_credentials: Path, extra: tuple[str, ...]) -> None:
    online = _json(cli("plan", SHOP, "--cloud", "cheapest", "--mock", "--json", *extra))
    with _network_cut_off() as attempts:
        result = cli("plan", SHOP, "--offline", "--cloud", "cheapest", "--json", *extra)
    assert attempts == []
    offline = _json(result)
    assert _chosen(offline) == _chosen(online) and offline["chosen"]
    assert len({record["cloud"] for record in offline["chosen"]}) == 1
    for key in ("mode", "hours", "hourly", "total", "options", "commitment", "catalog"):
        assert offline[key] == online[key], key
    assert online["offline"] is False and online["unchecked"] == []
    assert offline["offline"] is True
    assert all(r["existing"] is None and r["to_launch"] is None for r in offline["chosen"])
    assert all(r["existing"] == 0 for r in online["chosen"])  # the fakes were looked at
    # Functions: what they would cost there, but not whether they exist.
    strip = [{k: v for k, v in f.items() if k != "exists"} for f in online["functions"]]
    assert [{k: v for k, v in f.items() if k != "exists"} for f in offline["functions"]] == strip
    assert strip and all(f["exists"] is None for f in offline["functions"])
    # Said in the JSON and, for the reader, on stderr.
    assert "offline: nothing was checked on the clouds" in offline["unchecked"][0]
    assert "image aliases not resolved (ubuntu-24.04)" in offline["unchecked"][1]
    assert "offline: nothing was checked on the clouds" in result.stderr
    assert "image aliases not resolved" in result.stderr


def test_offline_plan_makes_no_connection_and_reads_no_credentials(
        cli: Cli, no_credentials: Path, cut_off: list[str], tmp_path: Path) -> None:
    png = tmp_path / "costs.png"
    result = cli("plan", SHOP, "--offline", "--cloud", "all", "--plot", str(png))
    assert result.exit_code == 0, result.output
    assert cut_off == []
    assert png.stat().st_size > 0
    text = " ".join(result.stdout.split())
    assert "Plan for shop (all, offline)" in text
    assert "offline: nothing was checked on the clouds" in text
    assert "image aliases not resolved (ubuntu-24.04)" in text
    assert "function shop-orders on aws: not checked;" in text
    assert "to launch;" not in text  # how many VMs exist is unknown offline


def test_without_offline_the_same_plan_needs_the_clouds(
        cli: Cli, no_credentials: Path, cut_off: list[str]) -> None:
    result = cli("plan", SHOP, "--cloud", "cheapest", "--json")
    assert result.exit_code != 0
    assert cut_off  # it tried to open a cloud: what --offline avoids


def test_offline_refuses_a_provider_without_a_catalog(
        cli: Cli, no_credentials: Path, cut_off: list[str]) -> None:
    result = cli("plan", SHOP, "--offline", "--cloud", "libcloud:ec2")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: offline: --offline plans from the price catalog")
    assert cut_off == []


def test_offline_still_names_the_file_and_line_of_a_bad_workload(
        cli: Cli, no_credentials: Path, cut_off: list[str], tmp_path: Path) -> None:
    path = tmp_path / "shop.yaml"
    path.write_text("name: shop\nvms:\n  - name: web\n    size: {aws: t9.nano}\n")
    result = cli("plan", str(path), "--offline", "--cloud", "aws")
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == (
        f"error: {path}:4: vms[0].size.aws: no priced size 't9.nano' in aws us-east-1")
    path.write_text("name: shop\nvms:\n  - name: web\n    cpus: 2\n")
    result = cli("plan", str(path), "--offline")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {path}:4")
    assert cut_off == []


def test_plan_help_offers_offline_and_its_json_keys(cli: Cli) -> None:
    text = " ".join(cli("plan", "--help").stdout.split())
    offline = text.split(" --offline ", 1)[1].split(" --", 1)[0]
    assert "read no credentials" in offline and "not counted" in offline
    json_help = text.split(" --json ", 1)[1].split(" --", 1)[0]
    assert "offline, unchecked" in json_help
