"""``unicompute functions ...``: the hello example deployed unchanged to aws, azure and gcp from
the command line, invoked on each, listed, logged and deleted; failures on some clouds; bad input
refused before any cloud is called; and ``--mock`` state kept between separate processes.

The in-process tests run inside one ``mock_cloud()`` (emptied before each test) and without
``--mock``, so that the commands' providers reach the in-process fakes; the last test runs the
real ``unicompute`` command twice per cloud against the background mock server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import unicompute as uc
from unicompute.cli import main
from unicompute.mocks import MockCloud, mock_cloud

Cli = Callable[..., Result]
HELLO = Path(__file__).parents[3] / "examples" / "functions" / "hello"
CLOUDS = ("aws", "azure", "gcp")
REGIONS = {"aws": "us-east-1", "azure": "eastus", "gcp": "us-central1"}


@pytest.fixture(scope="module")
def _fakes() -> Iterator[MockCloud]:
    with mock_cloud(CLOUDS) as fakes:
        yield fakes


@pytest.fixture
def fakes(_fakes: MockCloud) -> MockCloud:
    _fakes.reset()
    return _fakes


@pytest.fixture
def cli() -> Cli:
    """``cli(*args)`` runs ``unicompute ARGS`` in-process; stdout and stderr kept apart."""

    def run(*args: str) -> Result:
        return CliRunner().invoke(main, list(args), prog_name="unicompute")

    return run


def records(result: Result, exit_code: int = 0) -> list[dict[str, Any]]:
    assert result.exit_code == exit_code, (result.stdout, result.stderr)
    found = json.loads(result.stdout)
    assert isinstance(found, list)
    return found


def one_line_error(result: Result, exit_code: int) -> str:
    assert result.exit_code == exit_code, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def names_on(provider: str) -> list[str]:
    with uc.connect(provider, region=REGIONS[provider]) as cloud:
        try:
            return sorted(fn.name for fn in cloud.functions.list())
        except uc.NotFound:  # Azure before anything was deployed: no resource group
            return []


def write_app(directory: Path, body: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "app.py").write_text(f"def handler(event, context):\n    {body}\n")
    return directory


@pytest.mark.usefixtures("fakes")
def test_hello_deploys_unchanged_to_every_cloud_and_runs_on_each(cli: Cli,
                                                                 tmp_path: Path) -> None:
    deployed = records(cli("functions", "deploy", str(HELLO), "--cloud", "all", "--json"))
    assert [(r["cloud"], r["region"]) for r in deployed] == list(REGIONS.items())
    for record in deployed:  # function.yaml's settings, on every cloud
        assert (record["name"], record["state"], record["runtime"], record["handler"],
                record["memory_mb"], record["timeout_s"], record["env"]) == (
            "hello", "active", "python3.12", "app.handler", 256, 30, ["GREETING"])
        assert record["triggers"] == "http(auth=none)"
        assert record["url"].startswith("https://")

    payload = tmp_path / "event.json"
    payload.write_text('{"name": "grace"}')
    for provider in CLOUDS:
        invoked = records(cli("functions", "invoke", "hello", "--cloud", provider, "--json",
                              "--payload", '{"name": "ada"}'))
        assert len(invoked) == 1 and invoked[0]["cloud"] == provider
        result = invoked[0]["result"]
        assert (result["greeting"], result["function"], result["memory_mb"]) == (
            "hello, ada!", "hello", 256)
        assert "greeting ada" in invoked[0]["logs"]
        from_file = records(cli("functions", "invoke", "hello", "--cloud", provider, "--json",
                                "--payload-file", str(payload)))
        assert from_file[0]["result"]["greeting"] == "hello, grace!"

    dry = records(cli("functions", "invoke", "hello", "--cloud", "all", "--mode", "dry-run",
                      "--json"))
    assert [(r["cloud"], r["mode"], r["result"]) for r in dry] == [
        (provider, "dry-run", None) for provider in CLOUDS]

    table = cli("functions", "list", "--cloud", "all")
    assert table.exit_code == 0, table.stderr
    rows = [line.split() for line in table.stdout.splitlines() if " hello " in line]
    assert [(row[0], row[2], row[3]) for row in rows] == [
        (provider, "hello", "active") for provider in CLOUDS]

    logs = records(cli("functions", "logs", "hello", "--cloud", "all", "--json"))
    for provider in CLOUDS:
        lines = [r["message"] for r in logs if r["cloud"] == provider]
        assert sum("greeting ada" in line for line in lines) == 1, (provider, lines)
        stamps = [r["timestamp_ms"] for r in logs if r["cloud"] == provider]
        assert stamps == sorted(stamps), provider  # oldest first

    deleted = records(cli("functions", "delete", "hello", "--cloud", "all", "--json"))
    assert [(r["cloud"], r["deleted"]) for r in deleted] == [(p, True) for p in CLOUDS]
    assert records(cli("functions", "list", "--cloud", "all", "--json")) == []
    assert all(names_on(provider) == [] for provider in CLOUDS)
    gone = cli("functions", "delete", "hello", "--cloud", "all")
    assert "exists on none of aws, azure, gcp" in one_line_error(gone, 1)


@pytest.mark.usefixtures("fakes")
def test_options_override_function_yaml(cli: Cli) -> None:
    deployed = records(cli("functions", "deploy", str(HELLO), "--cloud", "gcp", "--json",
                           "--name", "greeter", "--env", "GREETING=hi", "--memory", "512",
                           "--schedule", "rate(1 hour)"))
    assert [(r["name"], r["memory_mb"], r["timeout_s"], r["triggers"]) for r in deployed] == [
        ("greeter", 512, 30, "schedule(rate(1 hour))")]
    invoked = records(cli("functions", "invoke", "greeter", "--cloud", "gcp", "--json",
                          "--payload", '{"name": "ada"}'))
    assert invoked[0]["result"]["greeting"] == "hi, ada!"
    assert names_on("gcp") == ["greeter"]


@pytest.mark.usefixtures("fakes")
def test_a_failing_handler_and_a_missing_function_fail_per_cloud(cli: Cli,
                                                                  tmp_path: Path) -> None:
    source = write_app(tmp_path / "orders", "raise ValueError('no such order')")
    deployed = records(cli("functions", "deploy", str(source), "--cloud", "aws", "--json",
                           "--http", "key"))
    assert [(r["name"], r["handler"], r["runtime"], r["triggers"]) for r in deployed] == [
        ("orders", "app.handler", "python3.12", "http(auth=key)")]  # defaults: no function.yaml

    alone = cli("functions", "invoke", "orders", "--cloud", "aws")
    assert "ValueError: no such order" in one_line_error(alone, 1)

    everywhere = cli("functions", "invoke", "orders", "--cloud", "all", "--json")
    assert "failed on 3 of 3 cloud(s)" in one_line_error(everywhere, 1)
    rows = records(everywhere, 1)
    assert [(r["cloud"], r["name"], r["error_type"]) for r in rows] == [
        ("aws", "orders", "Unhandled"), ("azure", "orders", "NotFound"),
        ("gcp", "orders", "NotFound")]
    assert "ValueError: no such order" in rows[0]["error"]

    fine = write_app(tmp_path / "ok", "return {'ok': True}")
    records(cli("functions", "deploy", str(fine), "--cloud", "azure", "--json"))
    partly = cli("functions", "invoke", "ok", "--cloud", "all", "--json")
    rows = records(partly, 1)
    assert [(r["cloud"], r.get("result"), r.get("error_type")) for r in rows] == [
        ("aws", None, "NotFound"), ("azure", {"ok": True}, None), ("gcp", None, "NotFound")]
    assert "failed on 2 of 3 cloud(s)" in one_line_error(partly, 1)


@pytest.mark.usefixtures("fakes")
@pytest.mark.parametrize(("args", "words"), [
    (("--runtime", "python2.7"), ("runtime: 'python2.7' is not a supported runtime",)),
    (("--name", "Bad_Name", "--cloud", "gcp"), ("name: 'Bad_Name' is not a valid name",)),
    (("--name", "a", "--cloud", "azure"), ("name: 'a' is not a valid name",)),
    (("--timeout", "4000", "--cloud", "gcp"), ("timeout_s: 4000 s is not 1..3600 s",)),
    (("--env", "1X=a"), ("env: '1X' is not a variable name",)),
    (("--schedule", "every day"), ("triggers.expression: 'every day'",)),
    # refused by one or two of the three clouds: deployed on none
    (("--memory", "8192", "--cloud", "all"),
     ("error: azure: memory_mb: 8192 MB is not 128..4096 MB in steps of 1 MB",)),
    (("--name", "Bad_Name", "--cloud", "all"),
     ("error: azure: name: 'Bad_Name' is not a valid name",
      "; gcp: name: 'Bad_Name' is not a valid name")),
])
def test_bad_deploys_are_refused_before_any_call(cli: Cli, tmp_path: Path,
                                                  args: tuple[str, ...],
                                                  words: tuple[str, ...]) -> None:
    source = write_app(tmp_path / "fn", "return 1")
    line = one_line_error(cli("functions", "deploy", str(source), *args), 2)
    assert all(part in line for part in words), line
    assert all(names_on(provider) == [] for provider in CLOUDS)


@pytest.mark.parametrize(("args", "words"), [
    (("invoke", "hello", "--payload", "{not json"), "not JSON"),
    (("invoke", "hello", "--payload", "1", "--payload-file", __file__), "not both"),
    (("invoke", "hello", "--mode", "later"), "'later' is not one of"),
    (("list", "--cloud", "cheapest"), "--cloud cheapest is for workloads"),
    (("list", "--cloud", "all", "--region", "eu-west-1"), "each cloud uses its default"),
    (("logs", "hello", "--limit", "0"), "--limit"),
])
def test_usage_errors_exit_2_without_calling_a_cloud(cli: Cli, args: tuple[str, ...],
                                                     words: str) -> None:
    result = cli("functions", *args)  # no fake runs here: a cloud call would fail otherwise
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert words in result.stderr


def test_every_subcommand_takes_the_connection_options_and_json(cli: Cli) -> None:
    listed = cli("functions", "--help")
    assert all(name in listed.stdout for name in ("deploy", "invoke", "list", "logs", "delete"))
    for command in ("deploy", "invoke", "list", "logs", "delete"):
        text = cli("functions", command, "--help").stdout
        for option in ("--json", "--cloud", "--region", "--endpoint", "--config", "--mock"):
            assert option in text, (command, option)


def test_mock_state_is_kept_between_separate_commands(tmp_path: Path) -> None:
    """The issue's two commands, each a process of its own, on every cloud."""
    env = {**os.environ, "UNICOMPUTE_MOCK_DIR": str(tmp_path / "mock")}

    def unicompute(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "unicompute.cli", *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False)

    try:
        deployed = unicompute("functions", "deploy", str(HELLO), "--cloud", "all", "--mock",
                              "--json")
        assert deployed.returncode == 0, deployed.stderr
        assert [r["cloud"] for r in json.loads(deployed.stdout)] == list(CLOUDS)
        for provider in CLOUDS:
            invoked = unicompute("functions", "invoke", "hello", "--cloud", provider, "--mock",
                                 "--payload", '{"name":"ada"}', "--json")
            assert invoked.returncode == 0, invoked.stderr
            result = json.loads(invoked.stdout)[0]["result"]
            assert (result["greeting"], result["function"]) == ("hello, ada!", "hello")
    finally:
        from unicompute.cli.mock_state import stop_server

        stop_server(tmp_path / "mock")


@pytest.mark.usefixtures("fakes")
def test_concurrency_from_function_yaml_and_the_option(cli: Cli, tmp_path: Path) -> None:
    app = write_app(tmp_path / "capped", "return {'ok': True}")
    (app / "function.yaml").write_text("concurrency: 4\nmemory_mb: 256\n")
    deployed = records(cli("functions", "deploy", str(app), "--cloud", "all", "--json"))
    assert [(r["cloud"], r["name"], r["concurrency"]) for r in deployed] == [
        (cloud, "capped", 4) for cloud in CLOUDS]
    again = records(cli("functions", "deploy", str(app), "--cloud", "aws", "--json",
                        "--concurrency", "2"))
    assert [(r["name"], r["concurrency"], r["memory_mb"]) for r in again] == [("capped", 2, 256)]
    (app / "function.yaml").write_text("concurrency: 0\n")
    error = one_line_error(cli("functions", "deploy", str(app), "--cloud", "aws"), 2)
    assert f"{app / 'function.yaml'}:1: concurrency:" in error


@pytest.mark.usefixtures("fakes")
def test_list_shows_what_deploy_showed_triggers_and_url_on_every_cloud(cli: Cli) -> None:
    deployed = records(cli("functions", "deploy", str(HELLO), "--cloud", "all", "--json",
                           "--http", "none", "--schedule", "rate(5 minutes)"))
    listed = records(cli("functions", "list", "--cloud", "all", "--json"))
    assert [(r["cloud"], r["name"], r["triggers"], r["url"]) for r in listed] == [
        (r["cloud"], r["name"], r["triggers"], r["url"]) for r in deployed]
    assert all(r["triggers"] == "http(auth=none), schedule(rate(5 minutes))" for r in listed)
    assert all(r["url"] and r["url"].startswith("https://") for r in listed)

    table = cli("functions", "list", "--cloud", "all")
    assert table.exit_code == 0, table.stderr
    for record in deployed:
        row = next(line for line in table.stdout.splitlines()
                   if line.split()[:1] == [record["cloud"]])
        assert record["url"] in row and "schedule(rate(5 minutes))" in row

    brief = records(cli("functions", "list", "--cloud", "all", "--json", "--no-details"))
    assert [(r["cloud"], r["name"]) for r in brief] == [(p, "hello") for p in CLOUDS]
    assert all("triggers" not in r and "url" not in r for r in brief)  # not read: left out
    header = cli("functions", "list", "--cloud", "aws", "--no-details").stdout.splitlines()
    assert "triggers" not in " ".join(header) and " url" not in " ".join(header)
    assert "hello" in " ".join(header)
