"""Microsoft.Web and Microsoft.Storage in the ARM fake, through the official clients, every
answer checked strictly against the SDK's models (no unknown key)."""

from __future__ import annotations

import azure.mgmt.storage.models as sm
import azure.mgmt.web.models as wm
import pytest
from arm_helpers import check
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from .conftest import Azure, flex_app


def test_flex_plan_and_app_are_created_read_and_listed(azure: Azure) -> None:
    site = check(flex_app(azure, "fn-crud"))
    assert site.default_host_name == "fn-crud.azurewebsites.net"
    assert "fn-crud.scm.azurewebsites.net" in site.enabled_host_names
    assert site.kind == "functionapp,linux" and site.state == "Running"
    assert site.function_app_config.scale_and_concurrency.instance_memory_mb == 2048
    plan = check(azure.web.app_service_plans.get(azure.group, "fn-crud-plan"))
    assert (plan.sku.name, plan.sku.tier, plan.number_of_sites) == ("FC1", "FlexConsumption", 1)
    got = check(azure.web.web_apps.get(azure.group, "fn-crud"))
    assert got.server_farm_id == plan.id
    names = [check(s).name for s in azure.web.web_apps.list_by_resource_group(azure.group)]
    assert "fn-crud" in names
    assert "fn-crud" in [check(s).name for s in azure.web.web_apps.list()]
    assert "fn-crud-plan" in [check(p).name for p in
                              azure.web.app_service_plans.list_by_resource_group(azure.group)]


def test_app_settings_are_secret_in_get_and_listed_by_post(azure: Azure) -> None:
    flex_app(azure, "fn-settings", settings={"A": "1"})
    site = azure.web.web_apps.get(azure.group, "fn-settings")
    assert site.site_config.app_settings is None
    listed = check(azure.web.web_apps.list_application_settings(azure.group, "fn-settings"))
    assert listed.properties == {"A": "1"}
    updated = check(azure.web.web_apps.update_application_settings(
        azure.group, "fn-settings", {"properties": {"A": "2", "B": "x"}}))
    assert updated.properties == {"A": "2", "B": "x"}
    config = check(azure.web.web_apps.get_configuration(azure.group, "fn-settings"))
    assert config.name == "web"


def test_keys_and_publishing_credentials(azure: Azure) -> None:
    flex_app(azure, "fn-keys")
    keys = check(azure.web.web_apps.list_host_keys(azure.group, "fn-keys"))
    assert keys.master_key and keys.function_keys["default"]
    assert keys.master_key != keys.function_keys["default"]
    user = check(azure.web.web_apps.begin_list_publishing_credentials(
        azure.group, "fn-keys").result())
    assert user.publishing_user_name == "$fn-keys" and user.publishing_password


@pytest.mark.parametrize("setting", ["FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_EXTENSION_VERSION"])
def test_flex_refuses_the_settings_azure_refuses_and_creates_nothing(
        azure: Azure, setting: str) -> None:
    with pytest.raises(HttpResponseError) as caught:
        flex_app(azure, "fn-bad-setting", settings={setting: "python"})
    assert caught.value.status_code == 400
    assert setting in str(caught.value)
    with pytest.raises(ResourceNotFoundError):
        azure.web.web_apps.get(azure.group, "fn-bad-setting")


def test_flex_memory_outside_the_instance_sizes_is_refused(azure: Azure) -> None:
    with pytest.raises(HttpResponseError) as caught:
        flex_app(azure, "fn-bad-memory", memory=1024)
    assert caught.value.status_code == 400 and "InstanceMemoryMB" in str(caught.value)


def test_site_names_are_unique_across_groups(azure: Azure) -> None:
    flex_app(azure, "fn-unique")
    azure.resource.resource_groups.create_or_update("rg-other", {"location": "eastus"})
    plan = azure.web.app_service_plans.get(azure.group, "fn-unique-plan")
    with pytest.raises(HttpResponseError) as caught:
        azure.web.web_apps.begin_create_or_update("rg-other", "fn-unique", {
            "location": "eastus", "kind": "functionapp,linux",
            "properties": {"serverFarmId": plan.id,
                           "functionAppConfig": azure.web.web_apps.get(
                               azure.group, "fn-unique").function_app_config.as_dict()}}
        ).result()
    assert caught.value.status_code == 409
    assert "Website with given name fn-unique already exists." in str(caught.value)


def test_missing_plan_is_404_and_plan_with_site_cannot_be_deleted(azure: Azure) -> None:
    with pytest.raises(HttpResponseError) as caught:
        azure.web.web_apps.begin_create_or_update(azure.group, "fn-noplan", {
            "location": "eastus", "kind": "functionapp,linux", "properties": {
                "serverFarmId": f"/subscriptions/{azure.fake.subscription_id}/resourceGroups/"
                                f"{azure.group}/providers/Microsoft.Web/serverfarms/nope"}}
        ).result()
    assert caught.value.status_code == 404
    flex_app(azure, "fn-plan-busy")
    with pytest.raises(HttpResponseError) as busy:
        azure.web.app_service_plans.delete(azure.group, "fn-plan-busy-plan")
    assert busy.value.status_code == 409


def test_deleting_the_app_deletes_its_empty_plan(azure: Azure) -> None:
    flex_app(azure, "fn-gone")
    azure.web.web_apps.delete(azure.group, "fn-gone")
    with pytest.raises(ResourceNotFoundError):
        azure.web.web_apps.get(azure.group, "fn-gone")
    with pytest.raises(ResourceNotFoundError):
        azure.web.app_service_plans.get(azure.group, "fn-gone-plan")


def test_storage_account_keys_containers_and_queues(azure: Azure) -> None:
    account = check(azure.storage.storage_accounts.begin_create(azure.group, "ucfnstore1", {
        "location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}).result())
    assert isinstance(account, sm.StorageAccount)
    assert account.primary_endpoints.queue == "https://ucfnstore1.queue.core.windows.net/"
    keys = check(azure.storage.storage_accounts.list_keys(azure.group, "ucfnstore1"))
    assert [k["keyName"] for k in keys.as_dict()["keys"]] == ["key1", "key2"]
    container = check(azure.storage.blob_containers.create(azure.group, "ucfnstore1",
                                                           "app-package-x", {}))
    assert container.name == "app-package-x"
    metadata = {"unicompute_managed": "true"}
    queue = check(azure.storage.queue.create(azure.group, "ucfnstore1", "uc-async-x",
                                             {"properties": {"metadata": metadata}}))
    assert queue.metadata == {"unicompute_managed": "true"}
    check(azure.storage.queue.get(azure.group, "ucfnstore1", "uc-async-x"))
    azure.storage.queue.delete(azure.group, "ucfnstore1", "uc-async-x")
    with pytest.raises(ResourceNotFoundError):
        azure.storage.queue.get(azure.group, "ucfnstore1", "uc-async-x")
    with pytest.raises(HttpResponseError) as bad:
        azure.storage.storage_accounts.begin_create(azure.group, "Bad_Name", {
            "location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}})
    assert bad.value.status_code == 400
    azure.storage.storage_accounts.delete(azure.group, "ucfnstore1")
    with pytest.raises(ResourceNotFoundError):
        azure.storage.storage_accounts.get_properties(azure.group, "ucfnstore1")


def test_updates_answer_strict_sdk_models(azure: Azure) -> None:
    check(flex_app(azure, "fn-models"))
    patched = check(azure.web.web_apps.update(azure.group, "fn-models", wm.SitePatchResource(
        {"tags": {"k": "v"}, "properties": {"functionAppConfig": {
            "scaleAndConcurrency": {"instanceMemoryMB": 4096}}}})))
    assert patched.tags == {"k": "v"}
    assert patched.function_app_config.scale_and_concurrency.instance_memory_mb == 4096
    assert patched.function_app_config.runtime.version == "3.12"  # merged, not replaced
    config = check(azure.web.web_apps.update_configuration(
        azure.group, "fn-models", wm.SiteConfigResource({"properties": {"http20Enabled": True}})))
    assert config.http20_enabled is True
    for listed in azure.web.web_apps.list_by_resource_group(azure.group):
        check(listed)


def test_storage_containers_and_queues_are_listed(azure: Azure) -> None:
    check(azure.storage.storage_accounts.begin_create(azure.group, "ucfnlist1", {
        "location": "eastus", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}).result())
    assert list(azure.storage.queue.list(azure.group, "ucfnlist1")) == []
    for container in ("app-package-b", "app-package-a"):
        azure.storage.blob_containers.create(azure.group, "ucfnlist1", container, {})
    azure.storage.queue.create(azure.group, "ucfnlist1", "jobs",
                               {"properties": {"metadata": {"k": "v"}}})
    containers = [check(c) for c in azure.storage.blob_containers.list(azure.group, "ucfnlist1")]
    assert [c.name for c in containers] == ["app-package-a", "app-package-b"]
    assert all(isinstance(c, sm.ListContainerItem) for c in containers)
    queues = [check(q) for q in azure.storage.queue.list(azure.group, "ucfnlist1")]
    assert [(q.name, q.metadata) for q in queues] == [("jobs", {"k": "v"})]
    azure.storage.queue.delete(azure.group, "ucfnlist1", "jobs")
    assert list(azure.storage.queue.list(azure.group, "ucfnlist1")) == []
    with pytest.raises(ResourceNotFoundError):
        list(azure.storage.queue.list(azure.group, "ucnosuchacct"))
    azure.storage.storage_accounts.delete(azure.group, "ucfnlist1")


def test_a_flex_plan_takes_one_site_and_the_site_names_its_sku(azure: Azure) -> None:
    site = check(flex_app(azure, "fn-only"))
    assert site.sku == "FlexConsumption"
    with pytest.raises(HttpResponseError) as second:
        azure.web.web_apps.begin_create_or_update(azure.group, "fn-second", {
            "location": azure.location, "kind": "functionapp,linux",
            "properties": {"serverFarmId": site.server_farm_id,
                           "functionAppConfig": site.function_app_config.as_dict()}})
    assert second.value.status_code == 400
    assert "one site per Flex Consumption serverfarm" in str(second.value)
    with pytest.raises(ResourceNotFoundError):
        azure.web.web_apps.get(azure.group, "fn-second")
    again = check(azure.web.web_apps.begin_create_or_update(  # the same site: an update
        azure.group, "fn-only", {"location": azure.location, "kind": "functionapp,linux",
                                 "tags": {"k": "v"},
                                 "properties": {"serverFarmId": site.server_farm_id}}).result())
    assert again.tags == {"k": "v"}
