"""Fixtures: the Azure fake in-process (``mock_cloud``) with the official azure-mgmt-web and
azure-mgmt-storage clients, and a deployed function app built from a small ``function_app.py``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from azure.identity import DefaultAzureCredential
from azure.mgmt.resource.resources import ResourceManagementClient
from azure.mgmt.storage import StorageManagementClient
from azure.mgmt.web import WebSiteManagementClient
from zips import zip_of

from unicompute.mocks import mock_cloud

FUNCTION_APP = '''
import json
import logging
import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="hello/{name}", methods=["GET", "POST"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    logging.info("hello called for %s", req.route_params["name"])
    return func.HttpResponse(json.dumps({"name": req.route_params["name"],
                                         "q": req.params.get("q"),
                                         "body": req.get_body().decode()}),
                             status_code=201, mimetype="application/json")


@app.route(route="open", auth_level=func.AuthLevel.ANONYMOUS)
def open_door(req: func.HttpRequest) -> str:
    return "open"


@app.route(route="boom", auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("kaboom")


@app.route(route="slow", auth_level=func.AuthLevel.ANONYMOUS)
def slow(req: func.HttpRequest) -> func.HttpResponse:
    import time
    time.sleep(5)
    return func.HttpResponse("late")


@app.timer_trigger(schedule="0 */5 * * * *", arg_name="timer", run_on_startup=False)
def tick(timer: func.TimerRequest) -> None:
    print("tick past_due=%s" % timer.past_due)


@app.queue_trigger(arg_name="msg", queue_name="jobs", connection="AzureWebJobsStorage")
def job(msg: func.QueueMessage) -> None:
    body = msg.get_body().decode()
    print("job " + body + " try " + str(msg.dequeue_count))
    if body == "bad":
        raise ValueError("bad message")


@app.queue_trigger(arg_name="msg", queue_name="uc-async-x", connection="AzureWebJobsStorage")
def later(msg: func.QueueMessage, context: func.Context) -> None:
    print("later " + msg.get_body().decode() + " in " + context.function_name)
'''


def package(source: str = FUNCTION_APP, host: str = '{"version": "2.0"}') -> bytes:
    return zip_of({"function_app.py": source, "host.json": host})


@dataclass
class Azure:
    mock: Any
    fake: Any
    web: WebSiteManagementClient
    storage: StorageManagementClient
    resource: ResourceManagementClient
    group: str = "rg-fn"
    location: str = "eastus"


@pytest.fixture(scope="module")
def azure() -> Iterator[Azure]:
    with mock_cloud(["azure"]) as mock:
        credential = DefaultAzureCredential()
        sub = os.environ["AZURE_SUBSCRIPTION_ID"]
        opts: dict[str, Any] = {"retry_total": 0, "polling_interval": 0}
        env = Azure(mock, mock.fake("azure"), WebSiteManagementClient(credential, sub, **opts),
                    StorageManagementClient(credential, sub, **opts),
                    ResourceManagementClient(credential, sub, **opts))
        env.resource.resource_groups.create_or_update(env.group, {"location": "eastus"})
        yield env


def flex_app(azure: Azure, name: str, *, settings: dict[str, str] | None = None,
             memory: int = 2048) -> Any:
    """A Flex plan and app named ``name`` (returns the Site)."""
    plan = azure.web.app_service_plans.begin_create_or_update(azure.group, f"{name}-plan", {
        "location": azure.location, "kind": "functionapp",
        "sku": {"name": "FC1", "tier": "FlexConsumption"},
        "properties": {"reserved": True}}).result()
    app_settings = [{"name": k, "value": v} for k, v in (settings or {}).items()]
    return azure.web.web_apps.begin_create_or_update(azure.group, name, {
        "location": azure.location, "kind": "functionapp,linux",
        "properties": {
            "serverFarmId": plan.id, "httpsOnly": True,
            "siteConfig": {"appSettings": app_settings},
            "functionAppConfig": {
                "deployment": {"storage": {
                    "type": "blobContainer",
                    "value": f"https://acct.blob.core.windows.net/app-package-{name}",
                    "authentication": {"type": "StorageAccountConnectionString",
                                       "storageAccountConnectionStringName":
                                           "DEPLOYMENT_STORAGE_CONNECTION_STRING"}}},
                "runtime": {"name": "python", "version": "3.12"},
                "scaleAndConcurrency": {"instanceMemoryMB": memory,
                                        "maximumInstanceCount": 100}}}}).result()
