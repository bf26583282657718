"""The Azure Functions provider against the ARM fake, through the official SDKs: what deploy
makes and delete removes, undo of a half-made deploy, no write on an identical re-deploy,
async invokes, logs, timer and queue triggers, and the served fake reached by endpoint_url.

Each test works in its own resource group, so it sees exactly the resources it made.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from azure.core.exceptions import ResourceNotFoundError
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.web import WebSiteManagementClient

import unicompute as uc
from unicompute._cloud import Cloud
from unicompute._context import CloudContext
from unicompute._waiting import Poller
from unicompute.providers.azure import LIMITS, open_provider
from unicompute.providers.azure.functions_convert import async_queue_name, container_name
from unicompute.providers.azure.functions_deploy import INSIGHTS_API, WORKSPACE_API

SOURCE = '''\
import json

def handler(event, context):
    print("event", json.dumps(event, sort_keys=True))
    return {"n": event.get("n") if isinstance(event, dict) else None}
'''
WRITES = {"PUT", "POST", "PATCH", "DELETE"}


class Group:
    """A portable cloud in a fresh resource group, plus SDK clients to look at it."""

    def __init__(self, fake: Any, name: str, **config: Any) -> None:
        self.fake = fake
        self.name = name
        self.drivers = open_provider("eastus", {"poll_interval": 0, "retry_total": 0,
                                                "resource_group": name, **config})
        self.cloud = Cloud(CloudContext(self.drivers, poller=Poller(interval=0,
                                                                    sleep=lambda _: None)), {})
        clients: Any = self.drivers.functions.clients  # type: ignore[union-attr]
        self.web: WebSiteManagementClient = clients.web
        self.storage: StorageManagementClient = clients.storage
        self.resources: ResourceManagementClient = clients.ctx.clients.resources

    def inventory(self) -> dict[str, list[str]]:
        """Everything of the group a function deploy can make, by kind."""
        if not self.resources.resource_groups.check_existence(self.name):
            return {k: [] for k in ("sites", "plans", "accounts", "containers", "queues",
                                    "insights")}
        found: dict[str, list[str]] = {
            "sites": [s.name for s in self.web.web_apps.list_by_resource_group(self.name)],
            "plans": [p.name for p in self.web.app_service_plans.list_by_resource_group(
                self.name)],
            "accounts": [a.name for a in self.storage.storage_accounts.list_by_resource_group(
                self.name)],
            "containers": [], "queues": [], "insights": []}
        for account in found["accounts"]:
            found["containers"] += [c.name for c in self.storage.blob_containers.list(
                self.name, account)]
            found["queues"] += [q.name for q in self.storage.queue.list(self.name, account)]
        for kind, api in (("Microsoft.Insights/components/uc-insights-eastus", INSIGHTS_API),
                          ("Microsoft.OperationalInsights/workspaces/uc-logs-eastus",
                           WORKSPACE_API)):
            rid = (f"/subscriptions/{self.fake.subscription_id}/resourceGroups/{self.name}"
                   f"/providers/{kind}")
            try:
                self.resources.resources.get_by_id(rid, api_version=api)
                found["insights"].append(kind.rsplit("/", 1)[1])
            except ResourceNotFoundError:
                pass
        return {k: sorted(v) for k, v in found.items()}

    def deploy(self, spec: uc.FunctionSpec) -> uc.Function:
        return self.cloud.functions.deploy(spec)

    def writes_since(self, start: int) -> list[str]:
        """ARM writes since request ``start`` (``POST .../list*`` actions only read)."""
        return [f"{r.method} {r.path}" for r in list(self.fake.app.requests)[start:]
                if r.method in WRITES and not (
                    r.method == "POST" and r.path.rsplit("/", 1)[-1].lower().startswith("list"))]


@pytest.fixture
def group(fake: Any) -> Iterator[Group]:
    made = Group(fake, f"rg-fn-{uuid.uuid4().hex[:8]}")
    yield made
    made.drivers.close()


@pytest.fixture
def source(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(SOURCE)
    return tmp_path


def spec(source: Path, name: str, **changes: Any) -> uc.FunctionSpec:
    fields: dict[str, Any] = {"name": name, "runtime": "python3.12", "handler": "app.handler",
                              "source": source, "memory_mb": 256, "timeout_s": 30,
                              "tags": {"suite": "azure-fn"}}
    fields.update(changes)
    return uc.FunctionSpec(**fields)


def fn_name() -> str:
    return f"fn-{uuid.uuid4().hex[:10]}"


def test_deploy_makes_and_delete_removes_everything(group: Group, source: Path) -> None:
    assert group.inventory()["sites"] == [] and list(group.cloud.functions.list()) == []
    name = fn_name()
    triggers = (uc.HttpTrigger(), uc.QueueTrigger("jobs", 2), uc.ScheduleTrigger("rate(1 hour)"))
    group.deploy(spec(source, name, triggers=triggers))
    made = group.inventory()
    assert made["sites"] == [name] and made["plans"] == [f"{name}-plan"]
    assert len(made["accounts"]) == 1
    assert made["containers"] == [container_name(name)]
    assert made["queues"] == sorted(["jobs", async_queue_name(name)])
    account = made["accounts"][0]
    async_queue = group.storage.queue.get(group.name, account, async_queue_name(name))
    assert async_queue.metadata == {"unicompute_managed": "true"}
    assert made["insights"] == ["uc-insights-eastus", "uc-logs-eastus"]
    site = group.web.web_apps.get(group.name, name)
    assert site.kind == "functionapp,linux"
    assert site.tags["unicompute:managed"] == "true" and site.tags["suite"] == "azure-fn"
    group.cloud.functions.delete(name)
    # All gone but the user's queue (its messages are the user's) and the account holding it.
    assert group.inventory() == {**{k: [] for k in made}, "accounts": [account],
                                 "queues": ["jobs"]}


def test_shared_resources_stay_while_another_app_uses_them(group: Group, source: Path) -> None:
    first, second = fn_name(), fn_name()
    group.deploy(spec(source, first))
    group.deploy(spec(source, second))
    group.cloud.functions.delete(first)
    left = group.inventory()
    assert left["sites"] == [second] and len(left["accounts"]) == 1
    assert left["insights"] == ["uc-insights-eastus", "uc-logs-eastus"]
    group.cloud.functions.delete(second)
    assert group.inventory()["accounts"] == []


def test_failure_half_way_undoes_the_deploy(group: Group, source: Path) -> None:
    group.fake.faults.fail_next("site_put", status=400, code="InvalidParameter",
                                message="injected")
    with pytest.raises(uc.InvalidRequest):
        group.deploy(spec(source, fn_name()))
    assert group.inventory() == {"sites": [], "plans": [], "accounts": [], "containers": [],
                                 "queues": [], "insights": []}


BAD_INPUT = [
    ({"triggers": (uc.ScheduleTrigger("rate(7 minutes)"),)}, "triggers"),
    ({"triggers": (uc.ScheduleTrigger("cron(0 12 ? * 2#1 *)"),)}, "triggers"),
    ({"env": {"WEBSITE_TIME_ZONE": "UTC"}}, "env"),
    ({"env": {"AzureFunctionsJobHost__functionTimeout": "00:10:00"}}, "env"),
    ({"triggers": (uc.QueueTrigger("Not_A_Queue"),)}, "triggers"),
    ({"triggers": (uc.QueueTrigger("uc-async-theirs"),)}, "triggers"),
    ({"triggers": (uc.QueueTrigger("jobs", 2), uc.QueueTrigger("more-jobs", 3))}, "triggers"),
    ({"tags": {"a/b": "x"}}, "tags"),
    ({"concurrency": 1001}, "concurrency"),
    ({"tags": {f"t{i}": "v" for i in range(47)}, "concurrency": 5}, "tags"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_INPUT)
def test_bad_input_makes_no_call_at_all(group: Group, source: Path, changes: dict[str, Any],
                                        field: str) -> None:
    start = len(group.fake.app.requests)
    with pytest.raises(uc.InvalidRequest) as info:
        group.deploy(spec(source, fn_name(), **changes))
    assert info.value.field == field
    assert [f"{r.method} {r.path}" for r in list(group.fake.app.requests)[start:]] == []


def test_as_many_tags_as_allowed_fit_beside_unicomputes_own(group: Group, source: Path) -> None:
    assert LIMITS.functions is not None
    tags = {f"t{i}": "v" for i in range(LIMITS.functions.max_tags)}
    fn = group.deploy(spec(source, fn_name(), tags=tags, concurrency=5))
    assert dict(fn.tags) == tags
    site = group.web.web_apps.get(group.name, fn.name)
    assert len(site.tags) == 50  # ARM's cap, reached with unicompute's four


def test_bad_update_of_a_deployed_function_makes_no_call(group: Group, source: Path) -> None:
    name = fn_name()
    group.deploy(spec(source, name))
    start = len(group.fake.app.requests)
    with pytest.raises(uc.InvalidRequest) as info:
        group.deploy(spec(source, name, triggers=(uc.QueueTrigger("Bad_Queue"),)))
    assert info.value.field == "triggers"
    assert list(group.fake.app.requests)[start:] == []


def test_identical_redeploy_writes_nothing_and_publishes_nothing(group: Group,
                                                                  source: Path) -> None:
    name = fn_name()
    first = group.deploy(spec(source, name, triggers=(uc.HttpTrigger(),)))
    deployments = first.raw["deployment"]["id"]
    start = len(group.fake.app.requests)
    again = group.deploy(spec(source, name, triggers=(uc.HttpTrigger(),)))
    assert group.writes_since(start) == []
    assert again.version == first.version and again.raw["deployment"]["id"] == deployments
    (source / "app.py").write_text(SOURCE + "\n# changed\n")
    start = len(group.fake.app.requests)
    changed = group.deploy(spec(source, name, triggers=(uc.HttpTrigger(),)))
    assert [w.split()[0] for w in group.writes_since(start)] == ["PATCH"]  # the code tag
    assert changed.raw["deployment"]["id"] != deployments and changed.version != first.version


def test_async_invoke_runs_and_logs_come_from_app_insights(group: Group, fake: Any,
                                                            source: Path) -> None:
    fn = group.deploy(spec(source, fn_name()))
    assert fn.invoke({"n": 5}, mode="async").status_code == 202
    assert fake.functions.drain(30)
    messages = [line.message for line in fn.logs()]
    assert any('event {"n": 5}' in m for m in messages), messages
    assert fn.invoke({"n": 6}).result == {"n": 6}
    assert fn.invoke({"n": 7}, mode="dry_run").status_code == 204


def test_logs_keep_the_order_lines_were_written_in(group: Group, fake: Any,
                                                   source: Path) -> None:
    fn = group.deploy(spec(source, fn_name()))
    fn.invoke({"n": 1})
    messages = [line.message for line in fn.logs()]
    executing = next(i for i, m in enumerate(messages) if m.startswith("Executing"))
    executed = next(i for i, m in enumerate(messages) if m.startswith("Executed"))
    assert executing < executed, messages


def test_failed_invoke_logs_the_error_as_lambda_does(group: Group, fake: Any,
                                                      source: Path) -> None:
    (source / "app.py").write_text(SOURCE + '''

def fail(event, context):
    raise ValueError("no good " + str(event))
''')
    fn = group.deploy(spec(source, fn_name(), handler="app.fail"))
    with pytest.raises(uc.FunctionError) as info:
        fn.invoke({"n": 9})
    assert info.value.error_type == "Unhandled"
    messages = [line.message for line in fn.logs()]
    logged = "[ERROR] ValueError: no good {'n': 9}"
    assert logged in messages, messages
    at = messages.index(logged)
    assert messages[at + 1] == "Traceback (most recent call last):"
    assert any('raise ValueError("no good " + str(event))' in m for m in messages[at:])
    assert logged in (info.value.invocation.logs or "")


def test_timer_and_queue_triggers_fire(group: Group, fake: Any, source: Path) -> None:
    fn = group.deploy(spec(source, fn_name(), triggers=(
        uc.ScheduleTrigger("rate(5 minutes)"), uc.QueueTrigger("work-items"))))
    deployed = fake.clock.now()
    fake.clock.advance(301)
    fake.functions.send("work-items", "hello queue")
    assert fake.functions.poll() == 1
    assert fake.functions.messages("work-items") == []
    events = [json.loads(line.message.split("event ", 1)[1]) for line in fn.logs()
              if line.message.startswith("event ")]
    schedules = [e for e in events if e.get("source") == "unicompute.schedule"]
    # EventBridge's scheduled event, at the occurrence the fake clock fired (a 5-minute mark
    # of the fake's time, not the wall clock's), naming the timer function.
    assert len(schedules) == 1 and schedules[0]["detail-type"] == "Scheduled Event"
    assert schedules[0]["detail"] == {"schedule": "rate(5 minutes)"}
    fired = datetime.strptime(schedules[0]["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert deployed < fired <= fake.clock.now() and fired.minute % 5 == fired.second == 0
    assert schedules[0]["region"] == "eastus"
    # The full ARM id of the timer function, and the subscription as the account, read from
    # App Service's WEBSITE_OWNER_NAME as on Azure.
    subscription = fake.subscription_id
    assert schedules[0]["account"] == subscription
    assert schedules[0]["resources"][0].startswith(f"/subscriptions/{subscription}/")
    assert schedules[0]["resources"][0].endswith(f"{fn.name}/functions/uc-timer-0")
    records = [e["Records"][0] for e in events if "Records" in e]
    assert records and records[0]["body"] == "hello queue"
    assert (records[0]["eventSource"], records[0]["eventSourceARN"]) == (
        "azure:queue", "work-items")


class _NoToken:
    """A credential that must never be asked: the served fake is plain HTTP."""

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        raise AssertionError("no token may be requested for an http:// endpoint")


def test_served_fake_through_endpoint_url(fake: Any, source: Path) -> None:
    url = fake.serve()
    try:
        group = Group(fake, f"rg-fn-{uuid.uuid4().hex[:8]}", endpoint_url=url,
                      credential=_NoToken())
        name = fn_name()
        fn = group.deploy(spec(source, name, triggers=(uc.HttpTrigger(),)))
        assert fn.invoke({"n": 3}).result == {"n": 3}
        assert fn.url == f"https://{name.lower()}.azurewebsites.net/api/{name}"
        host = fn.url.split("/")[2]
        answer = requests.post(f"{url}/api/{name}", data='{"n": 1}', timeout=30,
                               headers={"Host": host})
        assert answer.status_code == 200 and answer.json() == {"n": None}
        fn.delete()
        group.drivers.close()
    finally:
        fake.shutdown_server()


def test_a_web_app_of_the_same_name_is_never_overwritten(group: Group, source: Path) -> None:
    group.resources.resource_groups.create_or_update(group.name, {"location": "eastus"})
    plan = group.web.app_service_plans.begin_create_or_update(group.name, "web-plan", {
        "location": "eastus", "sku": {"name": "B1"}, "properties": {"reserved": True}}).result()
    name = fn_name()
    group.web.web_apps.begin_create_or_update(group.name, name, {
        "location": "eastus", "kind": "app,linux",
        "properties": {"serverFarmId": plan.id}}).result()
    with pytest.raises(uc.Conflict):
        group.deploy(spec(source, name))
    assert group.web.web_apps.get(group.name, name).kind == "app,linux"
    assert group.inventory() == {"sites": [name], "plans": ["web-plan"], "accounts": [],
                                 "containers": [], "queues": [], "insights": []}


def test_logs_without_a_valid_token_are_unauthenticated(group: Group, source: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    fn = group.deploy(spec(source, fn_name()))
    clients: Any = group.drivers.functions.clients  # type: ignore[union-attr]
    real = clients.token
    monkeypatch.setattr(clients, "token",
                        lambda scope: "" if "applicationinsights" in scope else real(scope))
    with pytest.raises(uc.Unauthenticated) as info:
        fn.logs()
    assert "App Insights" in str(info.value) and "401" in str(info.value)
