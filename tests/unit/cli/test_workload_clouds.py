"""``plan|launch|status|destroy`` of the shop example on all three fakes through the shared
background mock server, as separate commands: the state carries from one to the next."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

import unicompute as uc
from unicompute.catalog import load_catalog
from unicompute.cli import mock_state
from unicompute.workloads.deploy import Opener, Target, cost_so_far, status, targets
from unicompute.workloads.spec import Placement

Cli = Callable[..., Result]

SHOP = str(Path(__file__).parents[3] / "examples" / "shop.yaml")
ALL = ("--cloud", "all", "--mock")


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_shop_on_all_clouds_then_cheapest_across_separate_commands(cli: Cli, tmp_path: Path
                                                                   ) -> None:
    png = tmp_path / "costs.png"
    plan = _json(cli("plan", SHOP, *ALL, "--json", "--hours", "10", "--plot", str(png)))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {o["cloud"] for o in plan["options"]} == {"aws", "azure", "gcp"}
    assert all(o["chosen"] for o in plan["options"]) and plan["hours"] == 10
    assert plan["hourly"] == sum(o["hourly"] for o in plan["options"])
    assert all(p["to_launch"] == p["count"] for p in plan["chosen"])

    launched = _json(cli("launch", SHOP, *ALL, "--json"))
    vms = [r for r in launched if r["kind"] == "vm"]
    assert sorted({r["cloud"] for r in vms}) == ["aws", "azure", "gcp"] and len(vms) == 9
    assert all(r["state"] == "running" for r in vms)
    functions = [r for r in launched if r["kind"] == "function"]
    assert all(r["name"] == "shop-orders" and r["deployed"] for r in functions)

    again = cli("launch", SHOP, *ALL)
    assert again.exit_code == 0, again.output
    assert "Launched 0 VM(s) and deployed 0 function(s)" in again.stderr

    status = _json(cli("status", SHOP, *ALL, "--json"))
    assert sorted(r["id"] for r in status if r["kind"] == "vm") == sorted(r["id"] for r in vms)
    assert all(r["cost_so_far"] is not None and r["cost_so_far"] >= 0
               for r in status if r["kind"] == "vm")
    # Per hour, launch and status price each VM as the plan did: spot VMs at the spot price.
    assert any(r["spot"] for r in vms)
    for records in (vms, [r for r in status if r["kind"] == "vm"]):
        assert sum(r["hourly_price"] for r in records) == pytest.approx(plan["hourly"])

    gone = _json(cli("destroy", SHOP, *ALL, "--json"))
    assert sorted(r["id"] for r in gone if r["kind"] == "vm") == sorted(r["id"] for r in vms)
    assert _json(cli("status", SHOP, *ALL, "--json")) == []

    # Without --cloud the file's placement (cheapest) applies: one cloud, the cheapest option.
    cheapest = _json(cli("plan", SHOP, "--mock", "--json"))
    (best, *_rest) = sorted(cheapest["options"], key=lambda o: o["hourly"])
    assert [o["cloud"] for o in cheapest["options"] if o["chosen"]] == [best["cloud"]]
    launched = _json(cli("launch", SHOP, "--mock", "--json"))
    assert {r["cloud"] for r in launched} == {best["cloud"]}
    assert _json(cli("destroy", SHOP, "--mock", "--json"))
    assert _json(cli("status", SHOP, "--mock", "--json")) == []


def test_over_max_hourly_cost_is_refused_before_anything_is_made(cli: Cli, tmp_path: Path
                                                                  ) -> None:
    text = Path(SHOP).read_text().replace("max_hourly_cost: 2.0", "max_hourly_cost: 0.01")
    costly = tmp_path / "shop.yaml"
    costly.write_text(text)
    (tmp_path / "functions").symlink_to(Path(SHOP).parent / "functions")
    result = cli("launch", str(costly), *ALL)
    assert result.exit_code == 2
    assert "placement.max_hourly_cost" in result.stderr and "nothing was created" in \
        result.stderr
    assert _json(cli("status", str(costly), *ALL, "--json")) == []


def test_mock_status_and_stop(cli: Cli) -> None:
    assert _json(cli("sizes", "--mock", "--limit", "1", "--json"))
    running = _json(cli("mock", "status", "--json"))
    assert {r["provider"] for r in running} == {"aws", "azure", "gcp"}
    assert all(r["endpoint"].startswith("http://127.0.0.1:") for r in running)
    stopped = cli("mock", "stop")
    assert stopped.exit_code == 0 and f"pid {running[0]['pid']}" in stopped.stderr
    assert _json(cli("mock", "status", "--json")) == []


def deploy_targets() -> tuple[Target, ...]:
    """Where ``--cloud all`` puts a workload without placement.regions."""
    return targets(Placement(), "all")


@contextlib.contextmanager
def _served_opener() -> Iterator[Opener]:
    """Opens a cloud on the running background mock server, as ``--mock`` commands do."""
    state = mock_state.read_state()
    assert state is not None

    def opener(provider: str, region: str) -> uc.Cloud:
        return uc.connect(provider, region=region, **mock_state.FAKE_CONFIG[provider],
                          endpoint_url=state["endpoints"][provider])

    with pytest.MonkeyPatch.context() as patch:
        for key, value in mock_state.AWS_FAKE_ENV.items():
            patch.setenv(key, value)
        yield opener


def _one_vm_workload(directory: Path, name: str) -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(f"name: {name}\nvms:\n  - name: app\n    vcpus: 2\n    memory_gib: 4\n"
                    "    disk_gib: 30\n")
    return path


def test_vms_launched_later_carry_their_own_launch_time_and_cost(cli: Cli, tmp_path: Path
                                                                 ) -> None:
    """The served fakes keep wall-clock time: a VM launched a second after another, by a later
    command, has a later launch time on every cloud, and so a different cost so far."""
    early, late = (_one_vm_workload(tmp_path, name) for name in ("early", "late"))
    _json(cli("launch", str(early), *ALL, "--json"))
    time.sleep(1.5)
    _json(cli("launch", str(late), *ALL, "--json"))
    try:
        first = {r["cloud"]: r for r in _json(cli("status", str(early), *ALL, "--json"))}
        then = {r["cloud"]: r for r in _json(cli("status", str(late), *ALL, "--json"))}
        assert sorted(first) == sorted(then) == ["aws", "azure", "gcp"]
        for cloud in first:
            gap = (datetime.fromisoformat(then[cloud]["launched_at"])
                   - datetime.fromisoformat(first[cloud]["launched_at"]))
            assert gap >= timedelta(seconds=1), (cloud, gap)

        # An hour after the later launch, the earlier VM has run longer and cost more.
        now = max(datetime.fromisoformat(r["launched_at"]) for r in then.values()) \
            + timedelta(hours=1)
        with _served_opener() as opener:
            seen = {name: status(name, deploy_targets(), opener, now=now)
                    for name in ("early", "late")}
        for target in deploy_targets():
            (a,) = seen["early"][target.key].vms.vms
            (b,) = seen["late"][target.key].vms.vms
            costs = [cost_so_far(vm, target.provider, target.region, now=now,
                                 catalog=load_catalog()) for vm in (a, b)]
            assert costs[0] is not None and costs[1] is not None
            assert costs[0] > costs[1], (target, costs)
    finally:
        for path in (early, late):
            _json(cli("destroy", str(path), *ALL, "--json"))


def test_ctrl_c_on_one_cloud_stops_all_exits_130_and_says_what_each_made(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from unicompute.cli import workload as commands
    from unicompute.workloads import Progress, Step

    first_launched = threading.Barrier(3, timeout=30)
    interrupted = threading.Event()

    def progress(event: Progress) -> None:
        if event.step is not Step.LAUNCHED:
            return
        first_launched.wait()  # every cloud launched one VM; then Azure is interrupted
        if event.cloud == "azure":
            interrupted.set()
            raise KeyboardInterrupt
        assert interrupted.wait(30)

    @contextlib.contextmanager
    def interrupting(verb: str) -> Iterator[Callable[[Progress], None]]:
        yield progress

    path = tmp_path / "trio.yaml"
    path.write_text("name: trio\nvms:\n  - {name: app, count: 3, vcpus: 2, memory_gib: 4, "
                    "disk_gib: 30}\n")
    monkeypatch.setattr(commands, "_progress", interrupting)
    stopped = cli("launch", str(path), *ALL)
    monkeypatch.undo()
    try:
        assert stopped.exit_code == 130, stopped.output
        assert "Traceback" not in stopped.output and "Aborted!" not in stopped.output
        for cloud in ("aws", "azure", "gcp"):
            assert f"[{cloud}] stopped: launched 1 VM(s), deployed 0 function(s)" in \
                stopped.stderr
        assert "Interrupted after launching 3 VM(s):" in stopped.stderr
        assert f"`unicompute launch {path}` again" in stopped.stderr
        seen = _json(cli("status", str(path), *ALL, "--json"))
        assert sorted(r["cloud"] for r in seen) == ["aws", "azure", "gcp"]
        again = _json(cli("launch", str(path), *ALL, "--json"))  # completes the workload
        assert len(again) == 9 and all(r["state"] == "running" for r in again)
    finally:
        assert _json(cli("destroy", str(path), *ALL, "--json"))
    assert _json(cli("status", str(path), *ALL, "--json")) == []


def test_plan_with_a_commitment_and_the_functions_cost_per_million(cli: Cli) -> None:
    plan = _json(cli("plan", SHOP, *ALL, "--json", "--commitment", "3y",
                     "--function-ms", "200"))
    assert plan["commitment"] == "commit-3y"
    assert {r["pricing"] for r in plan["chosen"]} <= {"commit-3y", "on-demand", "spot"}
    for record in plan["chosen"]:
        assert record["commitment_fell_back"] == (record["pricing"] == "on-demand")
    catalog = load_catalog()
    assert sorted(f["cloud"] for f in plan["functions"]) == ["aws", "azure", "gcp"]
    for function in plan["functions"]:
        assert function["name"] == "shop-orders" and function["assumed_ms"] == 200
        assert function["cost_per_million"] == pytest.approx(
            catalog.functions(function["cloud"]).cost_per_million(256, 200))
    fell_back = [f"{r['cloud']} {r['group']}" for r in plan["chosen"]
                 if r["commitment_fell_back"]]

    text = cli("plan", SHOP, *ALL, "--commitment", "3y", "--function-ms", "200")
    assert text.exit_code == 0, text.output
    assert "function shop-orders on gcp: to deploy; $" in text.stdout
    assert "per million invocations of 200 ms at 256 MB" in text.stdout
    if fell_back:
        assert f"No commit-3y price in the catalog, priced on demand: {', '.join(fell_back)}." \
            in " ".join(text.stdout.split())
    plain = _json(cli("plan", SHOP, *ALL, "--json"))
    assert plain["commitment"] is None
    assert not any(r["commitment_fell_back"] for r in plain["chosen"])
