"""Azure's function limits and the app settings a spec becomes, checked without any call."""

import json
from pathlib import Path

import pytest

from unicompute import FunctionSpec, HttpTrigger, InvalidRequest, QueueTrigger, ScheduleTrigger
from unicompute._function_models import check_spec
from unicompute.providers.azure import LIMITS
from unicompute.providers.azure.functions_convert import (
    HOST_BATCH_SETTING,
    HOST_TIMEOUT_SETTING,
    app_settings,
    async_queue_name,
    container_name,
    function_info,
    parse_triggers,
    storage_account_name,
    triggers_json,
)
from unicompute.providers.azure.functions_deploy import Shared
from unicompute.providers.azure.functions_limits import (
    FUNCTION_LIMITS,
    check_azure_spec,
    instance_memory_mb,
)


def spec(tmp_path: Path, **changes: object) -> FunctionSpec:
    fields: dict[str, object] = {"name": "thumbs", "runtime": "python3.12",
                                 "handler": "app.handler", "source": tmp_path}
    fields.update(changes)
    return FunctionSpec(**fields)  # type: ignore[arg-type]


def test_provider_limits_carry_the_function_limits() -> None:
    assert LIMITS.functions is FUNCTION_LIMITS
    assert FUNCTION_LIMITS.shim == "azure_functions"
    assert FUNCTION_LIMITS.max_timeout_s == 230


@pytest.mark.parametrize(("changes", "field"), [
    ({"name": "9starts-with-digit"}, "name"),
    ({"name": "double--hyphen"}, "name"),
    ({"name": "x" * 61}, "name"),
    ({"memory_mb": 4097}, "memory_mb"),
    ({"timeout_s": 231}, "timeout_s"),
    ({"env": {"AzureWebJobsStorage": "x"}}, "env"),
])
def test_generic_checks_name_the_field(tmp_path: Path, changes: dict[str, object],
                                       field: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        check_spec(spec(tmp_path, **changes), FUNCTION_LIMITS, None)
    assert info.value.field == field


@pytest.mark.parametrize(("changes", "field"), [
    ({"env": {"WEBSITE_TIME_ZONE": "UTC"}}, "env"),
    ({"env": {"FUNCTIONS_WORKER_PROCESS_COUNT": "2"}}, "env"),
    ({"tags": {"a/b": "x"}}, "tags"),
    ({"triggers": (ScheduleTrigger("rate(7 minutes)"),)}, "triggers"),
    ({"triggers": (QueueTrigger("Upper_Case"),)}, "triggers"),
    ({"triggers": (QueueTrigger("jobs", 2), QueueTrigger("more-jobs", 3))}, "triggers"),
    ({"concurrency": 1001}, "concurrency"),
])
def test_azure_checks_name_the_field(tmp_path: Path, changes: dict[str, object],
                                     field: str) -> None:
    with pytest.raises(InvalidRequest) as info:
        check_azure_spec(spec(tmp_path, **changes))
    assert info.value.field == field


def test_memory_picks_the_smallest_flex_instance() -> None:
    assert [instance_memory_mb(m) for m in (128, 512, 513, 2048, 4096)] == [
        512, 512, 2048, 2048, 4096]


def test_settings_hold_env_shim_and_host_overrides(tmp_path: Path) -> None:
    s = spec(tmp_path, env={"MODE": "fast"}, timeout_s=60, memory_mb=256,
             triggers=(HttpTrigger(auth="key"), QueueTrigger("jobs", 4)))
    settings = app_settings(s, connection="conn", insights="ikey")
    assert settings["MODE"] == "fast"
    assert settings["UNICOMPUTE_HANDLER"] == "app.handler"
    assert settings["UNICOMPUTE_MEMORY_MB"] == "256"
    assert settings[HOST_TIMEOUT_SETTING] == "00:01:05"  # the shim's 60 s + the host's grace
    assert settings[HOST_BATCH_SETTING] == "4"
    assert settings["AzureWebJobsStorage"] == "conn"
    assert parse_triggers(settings["UNICOMPUTE_TRIGGERS"]) == s.triggers


def test_triggers_round_trip_with_ncrontab(tmp_path: Path) -> None:
    triggers = (HttpTrigger(), ScheduleTrigger("cron(0 12 * * ? *)"), QueueTrigger("q-1", 3))
    text = triggers_json("thumbs", triggers)
    assert '"ncrontab":"0 0 12 * * *"' in text
    assert parse_triggers(text) == triggers


def test_derived_names_fit_azure_rules() -> None:
    long = "a" + "-b" * 29  # 59 characters
    account = storage_account_name("0000", "rg", "eastus")
    assert account.isalnum() and account.islower() and 3 <= len(account) <= 24
    assert account != storage_account_name("0000", "rg", "westus")
    for name in (container_name(long), async_queue_name(long), container_name("A")):
        assert 3 <= len(name) <= 63 and name == name.lower() and "--" not in name


def test_function_info_shows_the_users_view() -> None:
    site = {"name": "thumbs", "tags": {"team": "x", "unicompute:managed": "true",
                                       "unicompute:code": "ab" * 32,
                                       "unicompute:storage": "acct",
                                       "unicompute:concurrency": "4",
                                       "unicompute:workload": "shop"},
            "properties": {"state": "Running", "defaultHostName": "thumbs.azurewebsites.net",
                           "functionAppConfig": {"runtime": {"name": "python",
                                                             "version": "3.12"}}}}
    settings = {"MODE": "x", "AzureWebJobsStorage": "secret", "UNICOMPUTE_HANDLER": "app.h",
                "UNICOMPUTE_MEMORY_MB": "256", "UNICOMPUTE_TIMEOUT_S": "30",
                "UNICOMPUTE_TRIGGERS": triggers_json("thumbs", (HttpTrigger(),))}
    info = function_info(site, settings, {"status": 4})
    assert (info.runtime, info.handler, info.memory_mb, info.timeout_s) == (
        "python3.12", "app.h", 256, 30)
    # unicompute's bookkeeping is hidden; the workload tag (as on VMs) is the user's
    assert dict(info.env) == {"MODE": "x"}
    assert dict(info.tags) == {"team": "x", "unicompute:workload": "shop"}
    assert info.url == "https://thumbs.azurewebsites.net/api/thumbs"
    assert info.state.value == "active" and info.code_sha256 == bytes.fromhex("ab" * 32)
    assert function_info(site, settings, {"status": 3, "status_text": "boom"}).state.value == (
        "failed")
    assert function_info(site, settings, {"status": 1}).state.value == "updating"
    assert function_info(site, settings, None).state.value == "pending"
    changed = function_info(site, {**settings, "MODE": "y"}, {"status": 4})
    assert changed.version != info.version
    assert function_info(site, dict(settings), {"status": 4}).version == info.version


def test_raw_site_never_holds_app_settings() -> None:
    site = {"name": "f", "properties": {"state": "Running", "siteConfig": {
        "appSettings": [{"name": "AzureWebJobsStorage", "value": "AccountKey=secret"}]}}}
    info = function_info(site, {}, None)
    assert "secret" not in json.dumps(info.raw)
    assert site["properties"]["siteConfig"]["appSettings"]  # the caller's copy is untouched


def test_shared_resources_never_show_their_keys() -> None:
    shared = Shared(account="ucabc", connection="AccountName=ucabc;AccountKey=s3cr3t==",
                    insights_connection="InstrumentationKey=k3y;ApplicationId=x")
    assert "ucabc" in repr(shared)
    assert "s3cr3t" not in repr(shared) and "k3y" not in repr(shared)
