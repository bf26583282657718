"""The command's surface: help, the README's ``--mock`` launch, exit codes and error lines.

Tests here use no shared fake: commands either open nothing or bring their own with ``--mock``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import Result

import unicompute as uc
from unicompute.cli import main
from unicompute.cli.session import Settings, redact

Cli = Callable[..., Result]
EXAMPLE = str(Path(__file__).parents[3] / "examples" / "web.yaml")


class FakeCloud:
    """What ``Settings.describe`` reads of a cloud."""

    provider, region = "aws", "eu-west-1"


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from command_paths(command, (*prefix, name))
        else:
            yield (*prefix, name)


def assert_one_error_line(result: Result, code: int, *words: str) -> str:
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert line.startswith("error: ")
    for word in words:
        assert word in line
    return line


@pytest.mark.parametrize("path", list(command_paths(main)), ids=lambda p: " ".join(p) or "main")
def test_every_command_has_help(cli: Cli, path: tuple[str, ...]) -> None:
    result = cli(*path, "--help")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Usage: unicompute {' '.join(path)}".rstrip())


def test_table_commands_take_json_and_connection_options(cli: Cli) -> None:
    for path in [
        ("vms", "list"),
        ("vms", "launch"),
        ("sizes",),
        ("images",),
        ("plan",),
        ("launch",),
        ("status",),
        ("destroy",),
    ]:
        text = cli(*path, "--help").stdout
        for option in ("--json", "--cloud", "--region", "--endpoint", "--mock"):
            assert option in text, (path, option)


def test_readme_launch_on_the_mock_prints_the_vms(cli: Cli) -> None:
    result = cli("launch", EXAMPLE, "--cloud", "aws", "--mock")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Plan for web-demo (aws)" in out
    for header in ("cloud", "name", "id", "state", "size", "price/h", "private IP", "public IP"):
        assert header in out
    rows = [line.split() for line in out.splitlines() if line.split()[:2] in (
        ["aws", "web-demo-web-1"], ["aws", "web-demo-web-2"])]
    assert [row[1] for row in rows] == ["web-demo-web-1", "web-demo-web-2"]
    for _cloud, _name, vm_id, state, size, price, private_ip, public_ip in rows:
        assert vm_id.startswith("i-") and (state, size) == ("running", "t3.medium")
        assert re.fullmatch(r"\$\d+\.\d{4}", price)
        assert re.fullmatch(r"[\d.]+", private_ip) and re.fullmatch(r"[\d.]+", public_ip)
    assert "launched: web-demo-web-1 (i-" in result.stderr


def test_mock_state_is_kept_between_commands_until_reset(cli: Cli) -> None:
    assert cli("launch", EXAMPLE, "--mock", "--no-wait").exit_code == 0
    result = cli("--mock", "status", EXAMPLE, "--json")  # options also go before the command
    assert result.exit_code == 0, result.output
    assert [vm["name"] for vm in json.loads(result.stdout)] == ["web-demo-web-1",
                                                                "web-demo-web-2"]
    assert cli("mock", "reset").exit_code == 0
    result = cli("--mock", "status", EXAMPLE, "--json")
    assert json.loads(result.stdout) == []


def test_bad_workload_file_fails_before_any_cloud_is_opened(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "web.yaml"
    bad.write_text("name: w\nvms:\n  - name: a\n    vcpus: 1\n    count: 0\n")
    for command in ("plan", "launch"):
        result = cli(command, str(bad), "--cloud", "no-such-cloud")
        assert_one_error_line(result, 2, "web.yaml:5: vms[0].count: must be an integer")
    bad.write_text("vms: []\nname: Web\n")
    for command in ("status", "destroy"):
        result = cli(command, str(bad), "--cloud", "no-such-cloud")
        assert_one_error_line(result, 2, "web.yaml:2: name: 'Web' is not valid")


def test_status_and_destroy_need_only_the_name(cli: Cli, tmp_path: Path) -> None:
    stale = tmp_path / "web.yaml"
    stale.write_text("name: w\nvms:\n  - name: a\n    vcpus: 1\n    user_data_file: gone.sh\n")
    assert_one_error_line(cli("plan", str(stale), "--mock"), 2, "cannot read")
    for command in ("status", "destroy"):
        result = cli(command, str(stale), "--mock")
        assert result.exit_code == 0, result.output
        assert "No VMs of w." in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("vms", "launch", "x", "--mock"), id="no-size"),
        pytest.param(("vms", "launch", "x", "--size", "t3.micro", "--vcpus", "2"), id="both"),
        pytest.param(("vms", "list", "--tag", "novalue"), id="bad-tag"),
        pytest.param(("vms", "list", "--state", "terminated"), id="terminated-not-listable"),
        pytest.param(
            ("sizes", "--mock", "--endpoint", "http://127.0.0.1:5000"), id="mock-and-endpoint"
        ),
        pytest.param(("launch", "no-such-file.yaml"), id="missing-file"),
        pytest.param(("vms", "stop"), id="no-ids"),
    ],
)
def test_usage_errors_exit_2(cli: Cli, args: tuple[str, ...]) -> None:
    result = cli(*args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output


def test_unknown_provider_is_bad_input(cli: Cli) -> None:
    assert_one_error_line(cli("--cloud", "nope", "sizes"), 2, "unknown provider 'nope'")


def test_unknown_size_is_bad_input(cli: Cli) -> None:
    result = cli("vms", "launch", "x", "--size", "t3.gigantic", "--mock")
    assert result.exit_code == 2 and "t3.gigantic" in result.stderr


def test_cloud_errors_exit_1_with_one_line(cli: Cli) -> None:
    line = assert_one_error_line(
        cli("vms", "stop", "i-0123456789abcdef0", "--mock"), 1, "i-0123456789abcdef0"
    )
    assert "provider=aws" in line


def test_secret_config_values_are_never_printed(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(provider: str, **config: Any) -> uc.Cloud:
        raise uc.Unauthenticated(f"token {config['api_token']} was\nrejected", provider=provider)

    monkeypatch.setattr(uc, "connect", refuse)
    result = cli("images", "--config", "api_token=s3cr3t-value", "--config", "profile=dev")
    line = assert_one_error_line(result, 1, "token *** was rejected")
    assert "s3cr3t-value" not in line


def test_settings_hide_secrets_when_described() -> None:
    settings = Settings(
        endpoint="http://127.0.0.1:5000",
        config={"profile": "dev", "secret_access_key": "abc", "Password": "pw"},
    )
    assert settings.secrets() == ["abc", "pw"]

    text = settings.describe(FakeCloud())  # type: ignore[arg-type]
    assert text == (
        "aws eu-west-1 (profile=dev, secret_access_key=***, Password=***, "
        "endpoint_url=http://127.0.0.1:5000)"
    )
    assert redact("abc and pw and abcd", settings.secrets()) == "*** and *** and ***d"


def test_endpoint_user_info_and_query_values_are_never_printed(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = "https://bob:pa%24s@api.example.com:8443/v1?token=HUNTER2&sig=a%2Bb"

    def refuse(provider: str, **config: Any) -> uc.Cloud:
        raise uc.Unauthenticated(
            f"{config['endpoint_url']} said no to pa$s, a+b", provider=provider
        )

    monkeypatch.setattr(uc, "connect", refuse)
    line = assert_one_error_line(cli("images", "--endpoint", endpoint), 1, "said no")
    for secret in ("bob", "pa%24s", "pa$s", "HUNTER2", "a%2Bb", "a+b"):
        assert secret not in line
    assert "api.example.com:8443" in line

    text = Settings(endpoint=endpoint).describe(FakeCloud())  # type: ignore[arg-type]
    assert text == "aws eu-west-1 (endpoint_url=https://api.example.com:8443)"


def test_later_connection_options_win(cli: Cli) -> None:
    result = cli("--cloud", "nope", "sizes", "--cloud", "aws", "--mock", "--limit", "1", "--json")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 1
