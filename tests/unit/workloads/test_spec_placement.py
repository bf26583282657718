"""The workload file's functions, placement, gpus and ``spot: prefer``: parsed into what the
planner and the clouds get, and every mistake named by file, line and key path."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import jsonschema
import pytest
import yaml

import unicompute as uc
from unicompute.workloads import WorkloadError, load, parse, schema
from unicompute.workloads.spec import (
    FUNCTION_KEYS,
    FUNCTION_REQUIRED,
    PLACEMENT_KEYS,
)

EXAMPLES = Path(__file__).parents[3] / "examples"

GOOD = """\
name: shop
vms:
  - name: gpu
    gpus: 1
    spot: prefer
functions:
  - name: api
    runtime: python3.12
    handler: app.handler
    source: src
    memory_mb: 256
    timeout_s: 20
    env: {MODE: test}
    tags: {team: a}
    triggers:
      - http: {auth: key}
      - schedule: rate(5 minutes)
      - queue: {name: jobs, batch_size: 5}
placement:
  cloud: cheapest
  regions: {aws: [us-west-2, us-east-1], gcp: [us-central1]}
  max_hourly_cost: 3
"""


@pytest.fixture
def base(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def handler(event, context):\n    return 1\n")
    return tmp_path


def error_of(text: str, base: Path) -> WorkloadError:
    with pytest.raises(WorkloadError) as info:
        parse(dedent(text), source="w.yaml", base_dir=base)
    return info.value


def test_functions_and_placement_parse(base: Path) -> None:
    workload = parse(GOOD, source="w.yaml", base_dir=base)
    (group,) = workload.groups
    assert (group.gpus, group.spot, group.vcpus) == (1, "prefer", None)
    (function,) = workload.functions
    spec = function.spec
    assert function.name == "api" and spec.name == "shop-api"
    assert spec.source == base / "src" and (spec.memory_mb, spec.timeout_s) == (256, 20)
    assert dict(spec.tags) == {"team": "a", "unicompute:workload": "shop"}
    assert spec.env["MODE"] == "test"
    assert spec.triggers == (uc.HttpTrigger(auth="key"), uc.ScheduleTrigger("rate(5 minutes)"),
                             uc.QueueTrigger("jobs", batch_size=5))
    placement = workload.placement
    assert placement.cloud == "cheapest" and placement.max_hourly_cost == 3.0
    assert dict(placement.regions) == {"aws": ("us-west-2", "us-east-1"), "gcp": ("us-central1",)}


def test_a_workload_of_functions_only(base: Path) -> None:
    text = "name: fns\nfunctions:" + GOOD.split("functions:")[1].split("placement:")[0]
    workload = parse(text, base_dir=base)
    assert workload.groups == () and workload.functions[0].spec.name == "fns-api"


def test_spot_true_and_false_stay_booleans(base: Path) -> None:
    text = "name: w\nvms:\n  - {name: a, vcpus: 1, spot: true}\n  - {name: b, vcpus: 1}\n"
    spots = [g.spot for g in parse(text, base_dir=base).groups]
    assert spots == [True, False] and all(isinstance(s, bool) for s in spots)


FN = "name: w\nfunctions:\n  - name: f\n    runtime: python3.12\n    handler: app.handler\n" \
     "    source: src\n"


@pytest.mark.parametrize(
    ("text", "field", "line", "words"),
    [
        pytest.param("name: w\nvms:\n  - {name: a, vcpus: 1, spot: often}\n", "vms[0].spot", 3,
                     "'prefer'", id="spot-word"),
        pytest.param("name: w\nvms:\n  - {name: a, gpus: -1}\n", "vms[0].gpus", 3, ">= 0",
                     id="gpus-negative"),
        pytest.param(FN.replace("python3.12", "python2.7"), "functions[0].runtime", 4,
                     "not a supported runtime", id="runtime"),
        pytest.param(FN.replace("app.handler", "handler"), "functions[0].handler", 5,
                     "module.function", id="handler"),
        pytest.param(FN.replace("source: src", "source: nowhere"), "functions[0].source", 6,
                     "not a directory", id="source-missing"),
        pytest.param(FN + "    memory: 128\n", "functions[0].memory", 7, "unknown key",
                     id="unknown-function-key"),
        pytest.param(FN + "    env: {1X: a}\n", "functions[0].env", 7, "variable name",
                     id="env-name"),
        pytest.param(FN + "    triggers:\n      - schedule: rate(5 lightyears)\n",
                     "functions[0].triggers[0].schedule", 8, "rate", id="schedule"),
        pytest.param(FN + "    triggers:\n      - http: {auth: token}\n",
                     "functions[0].triggers[0].http", 8, "'none' or 'key'", id="http-auth"),
        pytest.param(FN + "    triggers:\n      - {http: {}, schedule: rate(1 hour)}\n",
                     "functions[0].triggers[0]", 8, "exactly one", id="two-kinds"),
        pytest.param(FN + "    triggers:\n      - queue: {name: q, batch_size: 11}\n",
                     "functions[0].triggers[0].queue.batch_size", 8, "from 1 to 10",
                     id="batch-size"),
        pytest.param(FN + "    tags: {team: a, Unicompute:Role: admin}\n",
                     "functions[0].tags.Unicompute:Role", 7, "reserved (unicompute's own)",
                     id="function-bookkeeping-tag"),
        pytest.param(FN + "    tags: {unicompute:workload: other}\n",
                     "functions[0].tags.unicompute:workload", 7, "reserved", id="workload-tag"),
        pytest.param(FN + "  - name: f\n    runtime: python3.12\n    handler: a.b\n"
                     "    source: src\n", "functions[1].name", 7, "duplicate function",
                     id="duplicate-function"),
        pytest.param(FN + "placement: {cloud: cheapest-ish}\n", "placement.cloud", 7,
                     "is not one of", id="placement-cloud"),
        pytest.param(FN + "placement:\n  regions: {aws: []}\n", "placement.regions.aws", 8,
                     "at least one region", id="no-regions"),
        pytest.param(FN + "placement:\n  regions: {aws: [a, a]}\n", "placement.regions.aws", 8,
                     "twice", id="region-twice"),
        pytest.param(FN + "placement:\n  regions: {ibm: [a]}\n", "placement.regions.ibm", 8,
                     "unknown key", id="region-cloud"),
        pytest.param(FN + "placement:\n  max_hourly_cost: 0\n", "placement.max_hourly_cost", 8,
                     "positive number", id="max-cost"),
        pytest.param("name: w\n", "vms", 1, "vms, functions or both", id="nothing"),
    ],
)
def test_each_error_names_key_path_and_line(
    base: Path, text: str, field: str, line: int, words: str
) -> None:
    error = error_of(text, base)
    assert (error.field, error.line) == (field, line)
    assert str(error).startswith(f"w.yaml:{line}: {field}: ") and words in str(error)


def test_env_values_are_not_in_errors_or_reprs(base: Path) -> None:
    workload = parse(FN + "    env: {TOKEN: s3cret-value}\n", base_dir=base)
    assert "s3cret-value" not in repr(workload)


def test_schema_documents_functions_and_placement() -> None:
    document = schema()
    function = document["$defs"]["function"]
    assert set(function["properties"]) == FUNCTION_KEYS
    assert set(function["required"]) == FUNCTION_REQUIRED
    placement = document["$defs"]["placement"]
    assert set(placement["properties"]) == PLACEMENT_KEYS
    assert placement["properties"]["cloud"]["enum"] == [*uc.available_providers(), "cheapest",
                                                        "all"]
    assert "gpus" in document["$defs"]["group"]["properties"]


@pytest.mark.parametrize("name", ["web.yaml", "shop.yaml"])
def test_examples_are_valid_for_the_schema_and_the_parser(name: str) -> None:
    jsonschema.validate(yaml.safe_load((EXAMPLES / name).read_text()), schema())
    load(EXAMPLES / name)


def test_schema_rejects_what_the_parser_rejects(base: Path) -> None:
    bad = yaml.safe_load(GOOD.replace("cloud: cheapest", "cloud: nowhere"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema())
    with pytest.raises(WorkloadError):
        parse(GOOD.replace("cloud: cheapest", "cloud: nowhere"), base_dir=base)


def test_shop_example_has_two_groups_and_one_function() -> None:
    workload = load(EXAMPLES / "shop.yaml")
    assert [g.name for g in workload.groups] == ["web", "worker"]
    assert [f.name for f in workload.functions] == ["orders"]
    assert workload.functions[0].spec.source.is_dir()


def test_read_function_file_merges_defaults_file_and_overrides(base: Path) -> None:
    from unicompute.workloads.spec import read_function_file

    path = base / "src" / "function.yaml"
    path.write_text("name: api\nhandler: app.handler\nenv: {AA: file, BB: file}\n"
                    "triggers:\n  - http: {auth: none}\n")
    spec = read_function_file(path, defaults={"runtime": "python3.12", "memory_mb": 128},
                              overrides={"memory_mb": 512, "env": {"BB": "cli"}})
    assert (spec.name, spec.runtime, spec.memory_mb, spec.source) == (
        "api", "python3.12", 512, base / "src")
    assert dict(spec.env) == {"AA": "file", "BB": "cli"}
    assert spec.triggers == (uc.HttpTrigger(),) and dict(spec.tags) == {}
    path.write_text("name: api\nhandler: app.handler\nruntime: python2\n")
    with pytest.raises(WorkloadError) as info:
        read_function_file(path)
    assert (info.value.field, info.value.line) == ("runtime", 3)
    path.write_text("name: api\nhandler: app.handler\n")
    with pytest.raises(uc.InvalidRequest) as refused:
        read_function_file(path, overrides={"runtime": "python2"})
    assert refused.value.field == "runtime" and not isinstance(refused.value, WorkloadError)


def test_function_concurrency_in_a_workload_file_and_the_schema(base: Path) -> None:
    text = FN + "    concurrency: 5\n"
    assert parse(text, base_dir=base).functions[0].spec.concurrency == 5
    jsonschema.validate(yaml.safe_load(text), schema())
    assert parse(FN, base_dir=base).functions[0].spec.concurrency is None
    error = error_of(FN + "    concurrency: 0\n", base)
    assert (error.field, error.line) == ("functions[0].concurrency", 7)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(yaml.safe_load(FN + "    concurrency: 0\n"), schema())
