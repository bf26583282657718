"""FunctionSpec, triggers and the limit checks: bad input is InvalidRequest naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest

import unicompute as uc
from unicompute._function_models import BOOKKEEPING_TAGS, check_spec, encode_payload, user_tags
from unicompute.providers.aws import FUNCTION_LIMITS
from unicompute.providers.aws.options import Options


def spec(**changes: object) -> uc.FunctionSpec:
    fields: dict[str, object] = {"name": "fn", "runtime": "python3.12",
                                 "handler": "app.handler", "source": "."}
    fields.update(changes)
    return uc.FunctionSpec(**fields)  # type: ignore[arg-type]


def field_of(call: object) -> str | None:
    assert callable(call)
    with pytest.raises(uc.InvalidRequest) as info:
        call()
    return info.value.field


def test_defaults_and_frozen_copies() -> None:
    env = {"AB": "1"}
    made = spec(env=env, triggers=[uc.HttpTrigger()])
    env["AB"] = "2"
    assert made.memory_mb == 128 and made.timeout_s == 30 and made.concurrency is None
    assert made.env == {"AB": "1"} and made.env["AB"] == "1" and dict(made.env) == {"AB": "1"}
    assert made.triggers == (uc.HttpTrigger(auth="none"),)
    assert made.source == Path(".")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": ""}, "name"),
        ({"runtime": "python2.7"}, "runtime"),
        ({"runtime": "nodejs22.x"}, "runtime"),
        ({"handler": "handler"}, "handler"),
        ({"handler": "app.handler()"}, "handler"),
        ({"source": ""}, "source"),
        ({"memory_mb": 128.5}, "memory_mb"),
        ({"timeout_s": True}, "timeout_s"),
        ({"env": {"1BAD": "x"}}, "env"),
        ({"env": {"A": "x"}}, "env"),  # Lambda: a letter and at least one more character
        ({"env": {"BAD-KEY": "x"}}, "env"),
        ({"env": {"OK": 1}}, "env"),
        ({"triggers": [uc.HttpTrigger(), uc.HttpTrigger(auth="key")]}, "triggers"),
        ({"triggers": ["http"]}, "triggers"),
        ({"triggers": "http"}, "triggers"),
        ({"tags": {"k": 1}}, "tags"),
        ({"concurrency": 0}, "concurrency"),
    ],
)
def test_bad_spec_fields_are_named(changes: dict[str, object], field: str) -> None:
    assert field_of(lambda: spec(**changes)) == field


def test_secret_env_values_are_not_echoed() -> None:
    with pytest.raises(uc.InvalidRequest) as info:
        spec(env={"TOKEN": 12345678})
    assert "12345678" not in str(info.value)


def test_env_values_are_not_in_reprs() -> None:
    from unicompute._function_models import FunctionInfo, FunctionState
    from unicompute.mocks.runtime import WorkerConfig

    secret = "s3cr3t-value"
    made = spec(env={"DB_PASSWORD": secret})
    info = FunctionInfo(name="fn", runtime="python3.12", handler="app.handler", memory_mb=128,
                        timeout_s=3, state=FunctionState.ACTIVE, env={"DB_PASSWORD": secret})
    config = WorkerConfig(code_dir=".", entry="app.handler", function_name="fn",
                          env={"DB_PASSWORD": secret}, platform_env={"AWS_SESSION_TOKEN": secret})
    for shown in (repr(made), str(made), repr(made.env), repr(info), repr(config)):
        assert secret not in shown
    assert "DB_PASSWORD" in repr(made) and info.env["DB_PASSWORD"] == secret


def test_env_size_is_measured_as_lambda_does_with_the_shim_variable() -> None:
    # Lambda measures the variables as a JSON object; the shim's UNICOMPUTE_HANDLER counts.
    overhead = len('{"BIG":"","UNICOMPUTE_HANDLER":"app.handler"}')
    fits = spec(env={"BIG": "x" * (4096 - overhead)})
    assert check_spec(fits, FUNCTION_LIMITS, Options) is fits
    over = spec(env={"BIG": "x" * (4096 - overhead + 1)})
    assert field_of(lambda: check_spec(over, FUNCTION_LIMITS, Options)) == "env"
    wide = spec(env={"BIG": "\u00e9" * ((4096 - overhead) // 2 + 1)})  # 2 UTF-8 bytes each
    assert field_of(lambda: check_spec(wide, FUNCTION_LIMITS, Options)) == "env"


@pytest.mark.parametrize("expression", ["rate(1 minute)", "rate(5 minutes)", "rate(2 hours)",
                                        "rate(1 day)", "cron(0 12 * * ? *)",
                                        "cron(0/15 8-17 ? * MON-FRI *)"])
def test_good_schedules(expression: str) -> None:
    assert uc.ScheduleTrigger(expression).expression == expression


@pytest.mark.parametrize("expression", ["rate(5 minute)", "rate(1 minutes)", "rate(0 minutes)",
                                        "every 5 minutes", "cron(0 12 * * ?)", "rate(5 weeks)"])
def test_bad_schedules(expression: str) -> None:
    assert field_of(lambda: uc.ScheduleTrigger(expression)) == "triggers.expression"


def test_trigger_fields() -> None:
    assert field_of(lambda: uc.HttpTrigger(auth="iam")) == "triggers.auth"  # type: ignore[arg-type]
    assert field_of(lambda: uc.QueueTrigger("")) == "triggers.queue"
    assert field_of(lambda: uc.QueueTrigger("q", batch_size=11)) == "triggers.batch_size"
    assert uc.QueueTrigger("q").batch_size == 10


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "has space"}, "name"),
        ({"name": "x" * 65}, "name"),
        ({"memory_mb": 127}, "memory_mb"),
        ({"memory_mb": 10241}, "memory_mb"),
        ({"timeout_s": 0}, "timeout_s"),
        ({"timeout_s": 901}, "timeout_s"),
        ({"env": {"AWS_REGION": "x"}}, "env"),
        ({"env": {"UNICOMPUTE_HANDLER": "x"}}, "env"),
        ({"env": {"BIG": "x" * 4096}}, "env"),
        ({"tags": {"aws:x": "1"}}, "tags"),
        ({"tags": {"unicompute:role": "admin"}}, "tags"),
        ({"tags": {f"k{i}": "v" for i in range(49)}}, "tags"),
        ({"options": object()}, "options"),
    ],
)
def test_lambda_limits(changes: dict[str, object], field: str) -> None:
    checked = spec(**changes)
    assert field_of(lambda: check_spec(checked, FUNCTION_LIMITS, Options)) == field


def test_lambda_limits_accept_the_extremes() -> None:
    for changes in ({"memory_mb": 128, "timeout_s": 1}, {"memory_mb": 10240, "timeout_s": 900},
                    {"memory_mb": 1769}, {"name": "a_b-C9" + "x" * 58}):
        made = spec(**changes)
        assert check_spec(made, FUNCTION_LIMITS, Options) is made


def test_lambda_tags_accept_its_character_class_and_lengths() -> None:
    tags = {
        "team": "web",
        "Ünïcödé-名前": "a b.c:d/e=f+g-h@i_j",  # letters of any script, space, punctuation
        "n\u00a0\u0663": "",  # a no-break space (Zs), an Arabic-Indic digit (Nd), an empty value
        "k" * 128: "v" * 256,
    }
    made = spec(tags=tags)
    assert check_spec(made, FUNCTION_LIMITS, Options) is made


@pytest.mark.parametrize(("tags", "named"), [
    ({"bad!key": "v"}, "tag key 'bad!key' has '!'"),
    ({"hash#": "v"}, "tag key 'hash#' has '#'"),
    ({"dollar$": "v"}, "'$'"),
    ({"line\nbreak": "v"}, "U+000A"),
    ({"smile\U0001f600": "v"}, "U+1F600"),  # an emoji is a symbol (So), not a letter
    ({"ok": "a,b"}, "value of tag 'ok' has ','"),
    ({"ok": "quote\"d"}, "value of tag 'ok'"),
    ({"aws:owner": "me"}, "tag key 'aws:owner' is reserved"),
    ({"k" * 129: "v"}, "longer than 128"),
    ({"ok": "v" * 257}, "value of 'ok' longer than 256"),
    ({f"k{i}": "v" for i in range(49)}, "49 tags; at most 48"),
])
def test_lambda_tag_rules_are_checked_naming_the_tag(tags: dict[str, str], named: str) -> None:
    made = spec(tags=tags)
    with pytest.raises(uc.InvalidRequest) as info:
        check_spec(made, FUNCTION_LIMITS, Options)
    assert info.value.field == "tags" and named in info.value.message


@pytest.mark.parametrize("key", [
    "unicompute:managed", "unicompute:role", "unicompute:storage", "unicompute:code",
    "unicompute:concurrency", "unicompute:http", "unicompute:batch-size",
    "Unicompute:Role", "UNICOMPUTE:MANAGED", "unicompute:managed-by",
])
def test_unicomputes_bookkeeping_tags_are_refused_in_any_case(key: str) -> None:
    with pytest.raises(uc.InvalidRequest) as info:
        check_spec(spec(tags={key: "x"}), FUNCTION_LIMITS, Options)
    assert info.value.field == "tags" and "reserved" in info.value.message


def test_the_workload_tag_vms_carry_is_an_ordinary_function_tag() -> None:
    made = spec(tags={"unicompute:workload": "shop", "unicompute:owner": "me"})
    assert check_spec(made, FUNCTION_LIMITS, Options) is made
    assert user_tags({**made.tags, "unicompute:managed": "true", "unicompute:role": "r"}) == {
        "unicompute:workload": "shop", "unicompute:owner": "me"}
    from unicompute.driver import MANAGED_TAG
    from unicompute.providers.aws.lambda_convert import ROLE_TAG
    from unicompute.providers.azure.functions_convert import CODE_TAG, STORAGE_TAG
    from unicompute.providers.azure.functions_deploy import CONCURRENCY_TAG as AZ_CAP
    from unicompute.providers.gcp.functions_convert import BATCH_TAG, CONCURRENCY_TAG, HTTP_TAG
    assert {MANAGED_TAG, ROLE_TAG, CODE_TAG, STORAGE_TAG, AZ_CAP, BATCH_TAG, CONCURRENCY_TAG,
            HTTP_TAG} == BOOKKEEPING_TAGS


def test_payload_limits_per_mode() -> None:
    six_mb = "x" * (6 * 1024 * 1024 - 2)  # the JSON string's quotes make it exactly 6 MiB
    assert len(encode_payload(six_mb, "sync", FUNCTION_LIMITS)) == 6 * 1024 * 1024
    assert field_of(lambda: encode_payload(six_mb + "x", "sync", FUNCTION_LIMITS)) == "payload"
    one_mb = "x" * (1024 * 1024 - 2)
    assert encode_payload(one_mb, "async", FUNCTION_LIMITS)
    assert field_of(lambda: encode_payload(one_mb + "x", "async", FUNCTION_LIMITS)) == "payload"
    assert field_of(lambda: encode_payload({1, 2}, "sync", FUNCTION_LIMITS)) == "payload"
    assert field_of(lambda: encode_payload(float("nan"), "sync", FUNCTION_LIMITS)) == "payload"
    assert field_of(lambda: encode_payload({}, "later", FUNCTION_LIMITS)) == "mode"  # type: ignore[arg-type]


def test_role_arn_option_is_checked() -> None:
    assert Options(role_arn="arn:aws:iam::123456789012:role/service/my-role").role_arn
    assert field_of(lambda: Options(role_arn="my-role")) == "options.role_arn"
