"""Commands one after another against one fake: launch, status, re-launch, destroy; VM actions."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

import unicompute as uc
from unicompute.mocks import MockCloud

Cli = Callable[..., Result]
EXAMPLE = str(Path(__file__).parents[3] / "examples" / "web.yaml")
REGION = ("--region", "us-east-1")
VM_KEYS = {
    "id",
    "name",
    "state",
    "size",
    "hourly_price",
    "image",
    "zone",
    "private_ip",
    "public_ip",
    "spot",
    "launched_at",
    "tags",
}


def json_of(result: Result) -> list[dict[str, Any]]:
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert isinstance(records, list) and all(isinstance(r, dict) for r in records)
    return records


@pytest.mark.usefixtures("fake")
def test_workload_lifecycle(cli: Cli) -> None:
    # plan --json is one object (the placement); its "chosen" records are the groups.
    result = cli("plan", EXAMPLE, "--json", *REGION)
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)["chosen"]
    assert [(p["cloud"], p["group"], p["size"], p["count"], p["existing"], p["to_launch"])
            for p in plan] == [("aws", "web", "t3.medium", 2, 0, 2)]

    launched = json_of(cli("launch", EXAMPLE, "--json", *REGION))
    assert [vm["name"] for vm in launched] == ["web-demo-web-1", "web-demo-web-2"]
    assert all(set(vm) == VM_KEYS | {"kind", "cloud", "region"} and vm["state"] == "running"
               for vm in launched)
    assert all(vm["tags"]["unicompute:workload"] == "web-demo" for vm in launched)
    assert all(vm["hourly_price"] > 0 for vm in launched)

    status = json_of(cli("status", EXAMPLE, "--json", *REGION))
    assert [vm["id"] for vm in status] == [vm["id"] for vm in launched]

    again = cli("launch", EXAMPLE, *REGION)
    assert again.exit_code == 0, again.output
    assert "0 VM(s) to launch" in again.stdout and "Launched 0 VM(s)" in again.stderr
    assert len(json_of(cli("vms", "list", "--json", *REGION))) == 2

    gone = json_of(cli("destroy", EXAMPLE, "--json", *REGION))
    assert sorted(vm["id"] for vm in gone) == sorted(vm["id"] for vm in launched)
    assert {vm["state"] for vm in gone} == {"terminated"}
    empty = cli("status", EXAMPLE, *REGION)
    assert empty.exit_code == 0 and "No VMs of web-demo." in empty.stdout
    assert json_of(cli("destroy", EXAMPLE, "--json", *REGION)) == []


@pytest.mark.usefixtures("fake")
def test_launch_json_keeps_stdout_machine_readable(cli: Cli) -> None:
    result = cli("launch", EXAMPLE, "--json", "--no-wait", *REGION)
    assert len(json_of(result)) == 2
    assert "Plan for web-demo" in result.stderr


@pytest.mark.usefixtures("fake")
def test_single_vm_commands(cli: Cli) -> None:
    launched = json_of(
        cli(
            "vms",
            "launch",
            "box",
            "--size",
            "t3.micro",
            "--count",
            "2",
            "--tag",
            "team=x",
            "--port",
            "22",
            "--wait",
            "--json",
            *REGION,
        )
    )
    assert [vm["name"] for vm in launched] == ["box-1", "box-2"]
    assert all(vm["size"] == "t3.micro" and vm["tags"]["team"] == "x" for vm in launched)
    ids = [vm["id"] for vm in launched]

    table = cli("vms", "list", *REGION)
    assert table.exit_code == 0 and all(vm_id in table.stdout for vm_id in ids)
    assert len(json_of(cli("vms", "list", "--tag", "team=x", "--json", *REGION))) == 2
    assert json_of(cli("vms", "list", "--tag", "team=y", "--json", *REGION)) == []

    stopped = cli("vms", "stop", ids[0], "--wait", *REGION)
    assert stopped.exit_code == 0, stopped.output
    assert f"stopping {ids[0]} (box-1)" in stopped.stdout and "is stopped" in stopped.stdout
    states = json_of(cli("vms", "list", "--state", "stopped", "--json", *REGION))
    assert [vm["id"] for vm in states] == [ids[0]]
    assert cli("vms", "start", ids[0], "--wait", *REGION).exit_code == 0

    missing = cli("vms", "terminate", ids[0], "i-0000000000000000f", *REGION)
    assert missing.exit_code == 1  # every id is looked up before anything changes
    assert len(json_of(cli("vms", "list", "--json", *REGION))) == 2

    assert cli("vms", "terminate", *ids, "--wait", *REGION).exit_code == 0
    assert json_of(cli("vms", "list", "--json", *REGION)) == []


@pytest.mark.usefixtures("fake")
def test_launch_by_resources_picks_the_cheapest_size(cli: Cli) -> None:
    sizes = json_of(
        cli("sizes", "--vcpus", "2", "--memory", "4", "--limit", "0", "--json", *REGION)
    )
    priced = [s["hourly_price"] for s in sizes if s["hourly_price"] is not None]
    assert priced == sorted(priced)
    assert all(s["vcpus"] >= 2 and s["memory_gib"] >= 4 for s in sizes)
    (vm,) = json_of(cli("vms", "launch", "one", "--vcpus", "2", "--memory", "4", "--json", *REGION))
    assert vm["size"] == sizes[0]["name"] and vm["hourly_price"] == sizes[0]["hourly_price"]


@pytest.mark.usefixtures("fake")
def test_sizes_limit_and_images(cli: Cli) -> None:
    limited = cli("sizes", "--family", "t3", "--limit", "2", *REGION)
    assert limited.exit_code == 0 and "2 of " in limited.stderr and "t3.nano" in limited.stdout
    assert "Prices: AWS on-demand price snapshot of 2024-10-01 (not live prices)." in (
        limited.stderr.replace("\n", " "))
    images = json_of(cli("images", "--json", *REGION))
    assert {"ubuntu-24.04", "debian-12"} <= {image["alias"] for image in images}
    assert set(images[0]) == {"alias", "id", "name", "os", "arch"}


def test_fake_fixture_starts_empty(fake: MockCloud, cli: Cli) -> None:
    assert json_of(cli("vms", "list", "--json", *REGION)) == []


@pytest.mark.usefixtures("fake")
def test_launch_failing_part_way_names_what_was_launched(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = uc.VMs.launch
    calls: list[str] = []

    def launch(self: uc.VMs, spec: uc.VMSpec, **kwargs: Any) -> Any:
        calls.append(spec.name)
        if len(calls) == 2:
            raise uc.CapacityUnavailable("no t3.medium capacity", provider="aws")
        return real(self, spec, **kwargs)

    monkeypatch.setattr(uc.VMs, "launch", launch)
    failed = cli("launch", EXAMPLE, *REGION)
    assert failed.exit_code == 1
    (line,) = [line for line in failed.stderr.splitlines() if line.startswith("error: ")]
    assert "no t3.medium capacity" in line and "web-demo-web-1 (i-" in line
    assert "Traceback" not in failed.output

    monkeypatch.undo()
    assert len(json_of(cli("status", EXAMPLE, "--json", *REGION))) == 1
    completed = cli("launch", EXAMPLE, *REGION)
    assert "1 VM(s) to launch" in completed.stdout and "Launched 1 VM(s)" in completed.stderr
    assert len(json_of(cli("status", EXAMPLE, "--json", *REGION))) == 2


def interrupt_launch_call(monkeypatch: pytest.MonkeyPatch, number: int) -> None:
    """Ctrl-C arrives during the ``number``-th ``VMs.launch`` call of the next command."""
    real = uc.VMs.launch
    calls: list[str] = []

    def launch(self: uc.VMs, spec: uc.VMSpec, **kwargs: Any) -> Any:
        calls.append(spec.name)
        if len(calls) == number:
            raise KeyboardInterrupt
        return real(self, spec, **kwargs)

    monkeypatch.setattr(uc.VMs, "launch", launch)


@pytest.mark.usefixtures("fake")
def test_ctrl_c_during_launch_lists_what_was_launched(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    interrupt_launch_call(monkeypatch, 2)
    stopped = cli("launch", EXAMPLE, *REGION)
    assert stopped.exit_code == 130, stopped.output
    assert "Aborted!" not in stopped.output and "Traceback" not in stopped.output
    (vm,) = json_of(cli("status", EXAMPLE, "--json", *REGION))
    assert f"Interrupted after launching 1 VM(s):\n  web-demo-web-1 ({vm['id']})" in stopped.stderr
    assert f"`unicompute launch {EXAMPLE}` again" in stopped.stderr
    assert f"`unicompute destroy {EXAMPLE}`" in stopped.stderr

    interrupt_launch_call(monkeypatch, 1)  # web-2 is interrupted before any launch completes
    again = cli("launch", EXAMPLE, *REGION)
    assert again.exit_code == 130 and "before any VM launch had completed" in again.stderr

    monkeypatch.undo()
    completed = cli("launch", EXAMPLE, *REGION)
    assert "Launched 1 VM(s) and deployed 0 function(s) on aws; 2 VM(s) in the workload" \
        in completed.stderr


@pytest.mark.usefixtures("fake")
def test_vms_launch_with_user_data_file(cli: Cli, tmp_path: Path) -> None:
    script = tmp_path / "boot.sh"
    script.write_text("#!/bin/sh\necho booted\n")
    (vm,) = json_of(
        cli(
            "vms",
            "launch",
            "ud",
            "--size",
            "t3.nano",
            "--user-data-file",
            str(script),
            "--json",
            *REGION,
        )
    )
    with uc.connect("aws", region="us-east-1") as cloud:
        assert cloud.vms.get(vm["id"]).user_data() == b"#!/bin/sh\necho booted\n"
