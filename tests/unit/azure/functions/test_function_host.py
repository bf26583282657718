"""The data plane: publish a package to the SCM site, then the function host runs
``function_app.py`` in the local runtime (HTTP routes and keys, admin invoke, queue and timer
triggers, logs through the App Insights query API)."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import azure.mgmt.web.models as wm
import pytest
import requests
from arm_helpers import check

from unicompute.mocks.azure import AzureFake

from .conftest import Azure, flex_app, package

SCM = "https://fn-host.scm.azurewebsites.net"
HOST = "https://fn-host.azurewebsites.net"
BEARER = {"Authorization": "Bearer token"}


def _publish(scm: str, body: bytes, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(f"{scm}/api/publish?RemoteBuild=false", data=body,
                         headers={**BEARER, "Content-Type": "application/zip", **(headers or {})})


def _latest(scm: str) -> dict[str, Any]:
    answer = requests.get(f"{scm}/api/deployments/latest", headers=BEARER)
    assert answer.status_code == 200
    result: dict[str, Any] = answer.json()
    return result


@pytest.fixture(scope="module")
def deployed(azure: Azure) -> Iterator[Azure]:
    component = azure.resource.resources.begin_create_or_update_by_id(
        f"/subscriptions/{azure.fake.subscription_id}/resourceGroups/{azure.group}/providers/"
        "Microsoft.Insights/components/uc-insights-eastus",
        {"location": "eastus", "kind": "web", "properties": {"Application_Type": "web"}},
        api_version="2020-02-02").result()
    flex_app(azure, "fn-host", settings={
        "APPLICATIONINSIGHTS_CONNECTION_STRING": component.properties["ConnectionString"],
        "AzureFunctionsJobHost__functionTimeout": "00:00:02"})
    answer = _publish(SCM, package())
    assert answer.status_code == 202
    assert answer.headers["Location"].startswith(f"{SCM}/api/deployments/latest")
    azure.app_id = component.properties["AppId"]  # type: ignore[attr-defined]
    yield azure


def _keys(azure: Azure) -> Any:
    return azure.web.web_apps.list_host_keys(azure.group, "fn-host")


def test_publish_needs_a_token_and_reports_success(deployed: Azure) -> None:
    assert requests.post(f"{SCM}/api/publish", data=b"zip").status_code == 401
    assert requests.post(f"{SCM}/api/publish", data=b"zip",
                         headers={"Authorization": "Basic JGZuLWhvc3Q6d3Jvbmc="}
                         ).status_code == 401
    latest = _latest(SCM)
    assert latest["status"] == 4 and latest["complete"] is True and latest["end_time"]


def test_publish_of_a_non_zip_fails_with_status_3(azure: Azure) -> None:
    flex_app(azure, "fn-badzip")
    scm = "https://fn-badzip.scm.azurewebsites.net"
    assert _publish(scm, b"not a zip").status_code == 202
    latest = _latest(scm)
    assert latest["status"] == 3 and latest["complete"] is True


def test_functions_of_the_package_are_listed_by_arm(deployed: Azure) -> None:
    listed = {check(f).name: f for f in deployed.web.web_apps.list_functions(
        deployed.group, "fn-host")}
    assert set(listed) == {f"fn-host/{n}" for n in
                           ("hello", "open_door", "boom", "slow", "tick", "job", "later")}
    hello = check(deployed.web.web_apps.get_function(deployed.group, "fn-host", "hello"))
    assert isinstance(hello, wm.FunctionEnvelope)
    assert hello.invoke_url_template == f"{HOST}/api/hello/{{name}}"
    assert hello.config["bindings"][0]["type"] == "httpTrigger"
    keys = check(deployed.web.web_apps.list_function_keys(deployed.group, "fn-host", "hello"))
    assert keys.properties["default"]


def test_http_function_wants_a_key(deployed: Azure) -> None:
    assert requests.get(f"{HOST}/api/hello/ann").status_code == 401
    assert requests.get(f"{HOST}/api/hello/ann", headers={"x-functions-key": "nope"}
                        ).status_code == 401
    fn_key = deployed.web.web_apps.list_function_keys(deployed.group, "fn-host",
                                                      "hello").properties["default"]
    host_key = _keys(deployed).function_keys["default"]
    for key in (fn_key, host_key, _keys(deployed).master_key):
        answer = requests.post(f"{HOST}/api/hello/ann?q=1", data=b"hi",
                               headers={"x-functions-key": key})
        assert answer.status_code == 201
        assert answer.json() == {"name": "ann", "q": "1", "body": "hi"}
        assert answer.headers["Content-Type"].startswith("application/json")
    assert requests.get(f"{HOST}/api/hello/bob?code={fn_key}").json()["name"] == "bob"


def test_anonymous_routes_errors_and_missing_routes(deployed: Azure) -> None:
    answer = requests.get(f"{HOST}/api/open")
    assert (answer.status_code, answer.text) == (200, "open")
    assert requests.get(f"{HOST}/api/boom").status_code == 500
    assert requests.get(f"{HOST}/api/nothing-here").status_code == 404


def test_function_timeout_from_the_app_setting_answers_500(deployed: Azure) -> None:
    started = time.monotonic()
    assert requests.get(f"{HOST}/api/slow").status_code == 500
    assert time.monotonic() - started < 4.5


def test_admin_invoke_runs_a_queue_function_in_the_background(deployed: Azure) -> None:
    master = _keys(deployed).master_key
    url = f"{HOST}/admin/functions/later"
    assert requests.post(url, json={"input": "{\"x\": 1}"}).status_code == 401
    assert requests.post(url, json={"input": "{\"x\": 1}"},
                         headers={"x-functions-key": master}).status_code == 202
    assert requests.post(f"{HOST}/admin/functions/missing", json={"input": ""},
                         headers={"x-functions-key": master}).status_code == 404
    assert deployed.fake.functions.drain()
    lines = [line.message for line in deployed.fake.functions.logs("fn-host", "later")]
    assert 'later {"x": 1} in later' in lines


def test_queue_messages_are_delivered_and_poisoned_after_five_failures(deployed: Azure) -> None:
    functions = deployed.fake.functions
    functions.send("jobs", "good")
    functions.send("jobs", "bad")
    assert functions.poll() == 1
    assert functions.messages("jobs") == [b"bad"]
    for _ in range(4):
        functions.poll()
    assert functions.messages("jobs") == []
    assert functions.messages("jobs-poison") == [b"bad"]
    lines = [line.message for line in functions.logs("fn-host", "job")]
    assert "job good try 1" in lines and "job bad try 5" in lines


def test_timer_fires_per_occurrence_as_the_clock_advances(deployed: Azure) -> None:
    functions = deployed.fake.functions
    before = len(functions.logs("fn-host", "tick"))
    deployed.fake.clock.advance(600)
    ticks = [line for line in functions.logs("fn-host", "tick")[before:]
             if line.message == "tick past_due=False"]
    assert len(ticks) == 2


def test_logs_are_read_through_the_app_insights_query_api(deployed: Azure) -> None:
    requests.get(f"{HOST}/api/open")
    app_id = deployed.app_id  # type: ignore[attr-defined]
    query = ("traces | where cloud_RoleName == 'fn-host' | top 500 by timestamp desc"
             " | project timestamp, message")
    url = f"https://api.applicationinsights.io/v1/apps/{app_id}/query"
    assert requests.get(url, params={"query": query}).status_code == 401
    answer = requests.get(url, params={"query": query}, headers=BEARER)
    assert answer.status_code == 200
    rows = answer.json()["tables"][0]["rows"]
    assert any(row[1].startswith("Executed 'Functions.open_door' (Succeeded") for row in rows)
    unknown = requests.get("https://api.applicationinsights.io/v1/apps/nope/query",
                           params={"query": query}, headers=BEARER)
    assert unknown.status_code == 404


def test_changing_app_settings_restarts_the_host_with_them(deployed: Azure) -> None:
    source = ('import os\nimport azure.functions as func\napp = func.FunctionApp()\n'
              '@app.route(route="env", auth_level=func.AuthLevel.ANONYMOUS)\n'
              'def env(req):\n    return os.environ.get("GREETING", "-") + " "'
              ' + os.environ["WEBSITE_SITE_NAME"]\n')
    flex_app(deployed, "fn-env")
    assert _publish("https://fn-env.scm.azurewebsites.net", package(source)).status_code == 202
    assert requests.get("https://fn-env.azurewebsites.net/api/env").text == "- fn-env"
    deployed.web.web_apps.update_application_settings(deployed.group, "fn-env",
                                                      {"properties": {"GREETING": "hi"}})
    assert requests.get("https://fn-env.azurewebsites.net/api/env").text == "hi fn-env"


def test_served_fake_dispatches_on_the_host_header() -> None:
    fake = AzureFake().start()
    try:
        base = fake.serve()
        headers = {"Authorization": "Bearer t", "Content-Type": "application/json"}
        sub = fake.subscription_id
        arm = f"{base}/subscriptions/{sub}/resourceGroups/rg"
        assert requests.put(f"{arm}?api-version=2021-04-01", json={"location": "eastus"},
                            headers=headers).status_code == 201
        plan = requests.put(
            f"{arm}/providers/Microsoft.Web/serverfarms/p?api-version=2024-11-01",
            json={"location": "eastus", "sku": {"name": "Y1", "tier": "Dynamic"},
                  "properties": {"reserved": True}}, headers=headers).json()
        site = requests.put(
            f"{arm}/providers/Microsoft.Web/sites/served-fn?api-version=2024-11-01",
            json={"location": "eastus", "kind": "functionapp,linux",
                  "properties": {"serverFarmId": plan["id"],
                                 "siteConfig": {"linuxFxVersion": "Python|3.12"}}},
            headers=headers)
        assert site.status_code == 200
        source = ('import azure.functions as func\napp = func.FunctionApp()\n'
                  '@app.route(route="ping", auth_level=func.AuthLevel.ANONYMOUS)\n'
                  'def ping(req):\n    return "pong"\n')
        deploy = requests.post(f"{base}/api/zipdeploy?isAsync=true", data=package(source),
                               headers={"Host": "served-fn.scm.azurewebsites.net",
                                        "Authorization": "Bearer t"})
        assert deploy.status_code == 202
        answer = requests.get(f"{base}/api/ping", headers={"Host": "served-fn.azurewebsites.net"})
        assert (answer.status_code, answer.text) == (200, "pong")
    finally:
        fake.shutdown_server()
        fake.stop()


def test_deleting_the_app_stops_serving_it(azure: Azure) -> None:
    flex_app(azure, "fn-del")
    source = ('import azure.functions as func\napp = func.FunctionApp()\n'
              '@app.route(route="x", auth_level=func.AuthLevel.ANONYMOUS)\n'
              'def x(req):\n    return "x"\n')
    _publish("https://fn-del.scm.azurewebsites.net", package(source))
    assert requests.get("https://fn-del.azurewebsites.net/api/x").status_code == 200
    azure.web.web_apps.delete(azure.group, "fn-del")
    assert requests.get("https://fn-del.azurewebsites.net/api/x").status_code == 404
    registered: list[str] = azure.fake.functions.runtime.keys()
    assert not [k for k in registered if "fn-del" in k]
    assert "fn-del" not in [s.name for s in azure.web.web_apps.list()]


def test_app_insights_since_compares_instants_not_text(deployed: Azure) -> None:
    clock = deployed.fake.clock
    clock.advance(math.floor(clock.time()) + 1 - clock.time())
    whole = clock.now()
    assert whole.microsecond == 0  # a whole second: the clock prints it with no fraction
    requests.get(f"{HOST}/api/open")
    app_id = deployed.app_id  # type: ignore[attr-defined]
    url = f"https://api.applicationinsights.io/v1/apps/{app_id}/query"

    def rows(since: str) -> list[list[str]]:
        query = (f"traces | where cloud_RoleName == 'fn-host' and timestamp >= "
                 f"datetime({since}) | top 500 by timestamp desc | project timestamp, message")
        answer = requests.get(url, params={"query": query}, headers=BEARER)
        assert answer.status_code == 200
        found: list[list[str]] = answer.json()["tables"][0]["rows"]
        return found

    stamp = whole.strftime("%Y-%m-%dT%H:%M:%S")
    at_whole = rows(f"{stamp}.000Z")
    assert at_whole and all(row[0] == f"{stamp}.0000000Z" for row in at_whole)
    assert rows(f"{stamp}.500Z") == []  # the lines are half a second before


@pytest.mark.parametrize(("host_json", "path"), [
    ('{"version": "2.0", "extensions": {"http": {"routePrefix": ""}}}', "/x"),
    ('{"version": "2.0", "extensions": {"http": {"routePrefix": "v1/fn"}}}', "/v1/fn/x"),
    ('{"version": "2.0", "extensions": []}', "/api/x"),
])
def test_host_json_route_prefix(azure: Azure, host_json: str, path: str) -> None:
    flex_app(azure, "fn-prefix")
    source = ('import azure.functions as func\napp = func.FunctionApp()\n'
              '@app.route(route="x", auth_level=func.AuthLevel.ANONYMOUS)\n'
              'def x(req):\n    return "x"\n')
    answer = _publish("https://fn-prefix.scm.azurewebsites.net", package(source, host_json))
    assert answer.status_code == 202
    assert requests.get(f"https://fn-prefix.azurewebsites.net{path}").text == "x"
    if path != "/api/x":
        assert requests.get("https://fn-prefix.azurewebsites.net/api/x").status_code == 404
    azure.web.web_apps.delete(azure.group, "fn-prefix")
