"""``plan|launch|status|destroy`` of the shop example on all three fakes through the shared
background mock server, as separate commands: the state carries from one to the next."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import Result

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
