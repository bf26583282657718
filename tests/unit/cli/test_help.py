"""What ``--help`` says matches what the commands do: the values ``--cloud`` takes and its default
per command, ``plan --json``'s shape, and what the tool is for."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from unicompute.mocks import MockServer

Cli = Callable[..., Result]
EXAMPLE = str(Path(__file__).parents[3] / "examples" / "web.yaml")
STALE = "Provider to use (default: aws)"


def help_text(cli: Cli, *path: str) -> str:
    result = cli(*path, "--help")
    assert result.exit_code == 0, result.output
    return " ".join(result.stdout.split())  # unwrapped, whatever the terminal width


def option_help(text: str, option: str, until: str = " --") -> str:
    """The help of ``option`` in unwrapped ``--help`` text: up to ``until`` (the next option)."""
    after = text.split(f" {option} ", 1)[1]
    return after.split(until, 1)[0]


@pytest.mark.parametrize("command", ["plan", "launch", "status", "destroy"])
def test_workload_commands_say_cloud_defaults_to_the_files_placement(cli: Cli, command: str
                                                                     ) -> None:
    text = help_text(cli, command)
    cloud = option_help(text, "--cloud NAME")
    assert STALE not in text
    assert "default: the file's placement.cloud, else aws" in cloud
    for value in ("aws", "azure", "gcp", "cheapest", "all"):
        assert value in cloud


@pytest.mark.parametrize("command", ["deploy", "invoke", "list", "logs", "delete"])
def test_functions_commands_say_cloud_takes_all(cli: Cli, command: str) -> None:
    text = help_text(cli, "functions", command)
    cloud = option_help(text, "--cloud NAME")
    assert STALE not in text
    assert "all: each of them at once" in cloud and "(default: aws)" in cloud
    assert "cheapest" not in cloud and "placement" not in cloud
    assert "not with --cloud all" in option_help(text, "--region TEXT", " --endpoint")


def test_plan_help_describes_its_json_object(cli: Cli) -> None:
    json_help = option_help(help_text(cli, "plan"), "--json")
    assert "one JSON object" in json_help and "list of objects" not in json_help
    for key in ("workload", "mode", "hourly", "total", "chosen", "options", "catalog"):
        assert key in json_help


def test_plan_json_is_one_object_as_the_help_says(cli: Cli) -> None:
    catalog = json.loads(cli("plan", EXAMPLE, "--json", "--cloud", "aws", "--mock").stdout)
    assert isinstance(catalog, dict) and catalog["workload"] == "web-demo"
    with MockServer(ports={"aws": 0}) as server:  # a provider without a price catalog
        result = cli("plan", EXAMPLE, "--json", "--cloud", "libcloud:ec2", "--region",
                     "us-east-1", "--endpoint", server.endpoints["aws"],
                     "--config", "key=testing", "--config", "secret=testing")
    assert result.exit_code == 0, result.output
    legacy = json.loads(result.stdout)
    assert isinstance(legacy, dict)
    assert legacy["workload"] == "web-demo" and legacy["mode"] == "libcloud:ec2"
    assert [group["group"] for group in legacy["chosen"]] == ["web"]
    assert legacy["to_launch"] == 2


def test_top_level_help_names_functions_and_workloads(cli: Cli) -> None:
    text = help_text(cli)
    assert "One command line for virtual machines on every cloud." not in text
    assert "serverless functions" in text and "workloads" in text
    assert "functions deploy" in text
    cloud = option_help(text, "--cloud NAME")
    assert STALE not in text
    assert "placement.cloud" in cloud and "cheapest" in cloud and "all" in cloud


def test_vm_commands_keep_the_plain_cloud_help(cli: Cli) -> None:
    cloud = option_help(help_text(cli, "vms", "list"), "--cloud NAME")
    assert "(default: aws)" in cloud and "cheapest" not in cloud


@pytest.mark.parametrize("command", ["plan", "launch", "status", "destroy"])
def test_workload_region_help_says_it_must_be_one_the_file_allows(cli: Cli, command: str
                                                                   ) -> None:
    region = option_help(help_text(cli, command), "--region TEXT", " --endpoint")
    assert "one of the file's placement.regions" in region and "refused" in region
    assert "Not with cheapest or all" in region
