"""The workload file: a good file parses; every kind of mistake names the key path and the line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

import unicompute as uc
from unicompute.workloads import (
    DEFAULT_IMAGE,
    VMGroup,
    Workload,
    WorkloadError,
    load,
    parse,
    read_name,
    schema,
)
from unicompute.workloads.spec import (
    GROUP_KEYS,
    GROUP_REQUIRED,
    WORKLOAD_KEYS,
    WORKLOAD_REQUIRED,
)

EXAMPLE = Path(__file__).parents[3] / "examples" / "web.yaml"

GOOD = """\
name: web-demo
vms:
  - name: web
    count: 2
    vcpus: 2
    memory_gib: 4
    size: {aws: t3.medium}
    image: ubuntu-22.04
    user_data: |
      #!/bin/sh
      echo hello > /tmp/hello
    ports: [80, 443]
    disk_gib: 20
    spot: true
    tags: {team: demo, empty: ""}
  - name: worker
    memory_gib: 0.5
"""


def error_of(text: str) -> WorkloadError:
    with pytest.raises(WorkloadError) as info:
        parse(dedent(text), source="web.yaml")
    return info.value


def test_good_file_parses_into_frozen_dataclasses() -> None:
    workload = parse(GOOD, source="web.yaml")
    assert workload == Workload(
        name="web-demo",
        source="web.yaml",
        groups=(
            VMGroup(
                name="web",
                count=2,
                vcpus=2,
                memory_gib=4.0,
                size={"aws": "t3.medium"},
                image="ubuntu-22.04",
                user_data="#!/bin/sh\necho hello > /tmp/hello\n",
                ports=(80, 443),
                disk_gib=20,
                spot=True,
                tags={"team": "demo", "empty": ""},
            ),
            VMGroup(name="worker", memory_gib=0.5),
        ),
    )
    worker = workload.groups[1]
    assert (worker.count, worker.image, worker.ports, worker.spot) == (1, "ubuntu-24.04", (), False)
    assert workload.groups[0].size_for("aws") == "t3.medium"
    assert workload.groups[0].size_for("gcp") is None
    with pytest.raises(AttributeError):
        workload.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        workload.groups[0].tags["x"] = "y"  # type: ignore[index]


def test_example_file_is_valid() -> None:
    workload = load(EXAMPLE)
    assert workload.name == "web-demo"
    (group,) = workload.groups
    assert group.count == 2 and group.ports == (80, 443)
    assert group.user_data is not None and "nginx" in group.user_data


def test_user_data_file_is_read_relative_to_the_workload_file(tmp_path: Path) -> None:
    (tmp_path / "boot.sh").write_text("#!/bin/sh\necho hi\n")
    path = tmp_path / "w.yaml"
    path.write_text("name: w\nvms:\n  - name: a\n    vcpus: 1\n    user_data_file: boot.sh\n")
    assert load(path).groups[0].user_data == "#!/bin/sh\necho hi\n"


def test_merge_keys_share_settings_between_groups() -> None:
    workload = parse(
        dedent("""\
        name: w
        vms:
          - &base
            name: a
            vcpus: 2
            tags: {team: x}
          - <<: *base
            name: b
        """)
    )
    assert [(g.name, g.vcpus, dict(g.tags)) for g in workload.groups] == [
        ("a", 2, {"team": "x"}),
        ("b", 2, {"team": "x"}),
    ]


def test_null_optional_value_counts_as_absent() -> None:
    assert parse("name: w\nvms:\n  - name: a\n    vcpus: 1\n    tags:\n").groups[0].tags == {}


@pytest.mark.parametrize(
    ("text", "field", "line", "words"),
    [
        pytest.param(
            "name: w\nvms:\n  - name: a\n    vcpus: 1\n    count: 0\n",
            "vms[0].count",
            5,
            "integer from 1 to 1000",
            id="count-zero",
        ),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    vcpus: 1\n    count: two\n",
            "vms[0].count",
            5,
            "integer",
            id="count-type",
        ),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    vcpus: true\n",
            "vms[0].vcpus",
            4,
            "integer",
            id="bool-is-not-int",
        ),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    memory_gib: -1\n",
            "vms[0].memory_gib",
            4,
            "positive number",
            id="memory-negative",
        ),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    vcpus: 1\n    spot: maybe\n",
            "vms[0].spot",
            5,
            "true or false",
            id="spot-type",
        ),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    vcpus: 1\n    image: [x]\n",
            "vms[0].image",
            5,
            "single value",
            id="image-list",
        ),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    vcpus: 1\n    ports: 80\n",
            "vms[0].ports",
            5,
            "must be a list",
            id="ports-scalar",
        ),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    vcpus: 1\n    ports: [80, 70000]\n",
            "vms[0].ports[1]",
            5,
            "1 to 65535",
            id="port-range",
        ),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    vcpus: 1\n    ports: [80, 80]\n",
            "vms[0].ports[1]",
            5,
            "listed twice",
            id="port-twice",
        ),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    vcpus: 1\n    tags: {n: 1}\n",
            "vms[0].tags.n",
            5,
            "quote it",
            id="tag-number",
        ),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    vcpus: 1\n    tags: {'unicompute:workload': y}\n",
            "vms[0].tags.unicompute:workload",
            5,
            "is reserved (unicompute:workload...)",
            id="tag-reserved-by-workloads",
        ),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    vcpus: 1\n    tags: {'unicompute:managed': y}\n",
            "vms[0].tags.unicompute:managed",
            5,
            "is reserved (unicompute:managed...)",
            id="tag-reserved-by-the-core",
        ),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    vcpus: 1\n    size: {nocloud: e2-small}\n",
            "vms[0].size.nocloud",
            5,
            "unknown key; expected one of aws, azure, gcp",
            id="size-for-a-provider-not-available",
        ),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    vcpus: 1\n    size: {asw: t3.micro}\n",
            "vms[0].size.asw",
            5,
            "unknown key",
            id="size-unknown-cloud",
        ),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    vcpus: 1\n    size: t3.micro\n",
            "vms[0].size",
            5,
            "must be a mapping",
            id="size-not-per-cloud",
        ),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    vcpus: 1\n    cout: 2\n",
            "vms[0].cout",
            5,
            "unknown key",
            id="unknown-group-key",
        ),
        pytest.param("name: w\nvm: []\n", "vm", 2, "unknown key", id="unknown-top-key"),
        pytest.param("vms:\n  - name: a\n    vcpus: 1\n", "name", 1, "required", id="no-name"),
        pytest.param("name: w\n", "vms", 1, "required", id="no-vms"),
        pytest.param("name: w\nvms: []\n", "vms", 2, "at least one", id="empty-vms"),
        pytest.param(
            "name: w\nvms:\n  - vcpus: 1\n", "vms[0].name", 3, "required", id="no-group-name"
        ),
        pytest.param("name: w\nvms:\n  - name: a\n", "vms[0]", 3, "vcpus", id="no-size"),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    vcpus: 1\n  - name: a\n    vcpus: 2\n",
            "vms[1].name",
            5,
            "duplicate group name 'a' (first on line 3)",
            id="duplicate-group",
        ),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    vcpus: 1\n    vcpus: 2\n",
            "vms[0].vcpus",
            5,
            "duplicate key (first on line 4)",
            id="duplicate-key",
        ),
        pytest.param(
            "name: Web_Demo\nvms:\n  - name: a\n    vcpus: 1\n",
            "name",
            1,
            "lowercase",
            id="bad-name",
        ),
        pytest.param(
            f"name: {'w' * 33}\nvms:\n  - name: a\n    vcpus: 1\n",
            "name",
            1,
            "longer than 32",
            id="long-name",
        ),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    vcpus: 1\n    user_data: x\n"
            "    user_data_file: x.sh\n",
            "vms[0].user_data_file",
            6,
            "either",
            id="user-data-twice",
        ),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    vcpus: 1\n    user_data_file: nope.sh\n",
            "vms[0].user_data_file",
            5,
            "cannot read",
            id="user-data-missing",
        ),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    vcpus: !!python/name:os.system\n",
            "vms[0].vcpus",
            4,
            "unreadable value",
            id="unsafe-tag",
        ),
        pytest.param(
            "name: w\nvms:\n  - name: a\n    1: x\n    vcpus: 1\n",
            "vms[0]",
            4,
            "keys must be strings",
            id="non-string-key",
        ),
    ],
)
def test_each_error_names_key_path_and_line(text: str, field: str, line: int, words: str) -> None:
    error = error_of(text)
    assert isinstance(error, uc.InvalidRequest)
    assert (error.field, error.line, error.source) == (field, line, "web.yaml")
    assert str(error).startswith(f"web.yaml:{line}: {field}: ")
    assert words in str(error)


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        pytest.param("name: w\nvms: [\n", 3, "invalid YAML", id="syntax"),
        pytest.param("", 1, "empty", id="empty"),
        pytest.param("- a\n- b\n", 1, "must be a mapping", id="not-a-mapping"),
    ],
)
def test_whole_file_errors_name_the_line(text: str, line: int, words: str) -> None:
    error = error_of(text)
    assert error.field is None and error.line == line
    assert str(error).startswith(f"web.yaml:{line}: ") and words in str(error)


def test_unreadable_workload_file(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError, match="cannot read the workload file"):
        load(tmp_path / "missing.yaml")


def test_schema_and_validator_agree_on_keys() -> None:
    document = schema()
    assert set(document["properties"]) == WORKLOAD_KEYS
    assert set(document["required"]) == WORKLOAD_REQUIRED
    group = document["$defs"]["group"]
    assert set(group["properties"]) == GROUP_KEYS
    assert set(group["required"]) == GROUP_REQUIRED
    assert group["properties"]["size"]["propertyNames"] == {"enum": uc.available_providers()}
    assert group["properties"]["image"]["default"] == DEFAULT_IMAGE
    assert document["additionalProperties"] is False and group["additionalProperties"] is False
    assert all("description" in spec for spec in group["properties"].values())


def test_size_keys_are_the_available_providers(monkeypatch: pytest.MonkeyPatch) -> None:
    from unicompute.workloads import spec

    monkeypatch.setattr(spec, "available_providers", lambda: ["aws", "other"])
    text = "name: w\nvms:\n  - name: a\n    size: {aws: t3.micro, other: small}\n"
    assert dict(parse(text).groups[0].size) == {"aws": "t3.micro", "other": "small"}
    assert schema()["$defs"]["group"]["properties"]["size"]["propertyNames"] == {
        "enum": ["aws", "other"]
    }


def test_validating_a_file_imports_no_cloud_sdk() -> None:
    code = (
        "import sys\n"
        "from unicompute import workloads\n"
        f"workloads.load({str(EXAMPLE)!r})\n"
        "sdks = [m for m in sys.modules if m.split('.')[0] in "
        "('boto3', 'botocore', 'azure', 'google', 'libcloud')]\n"
        "assert not sdks, sdks\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_user_data_is_not_in_reprs() -> None:
    workload = parse("name: w\nvms:\n  - name: a\n    vcpus: 1\n    user_data: HUNTER2-script\n")
    assert workload.groups[0].user_data == "HUNTER2-script"
    assert "HUNTER2" not in repr(workload) and "HUNTER2" not in repr(workload.groups[0])
    assert "user_data" not in repr(workload)


def test_read_name_checks_only_the_name(tmp_path: Path) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("name: web\nvms:\n  - name: a\n    vcpus: 1\n    user_data_file: gone.sh\n")
    with pytest.raises(WorkloadError, match="cannot read"):
        load(path)
    assert read_name(path) == "web"


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        pytest.param("vms: []\n", 1, "name: required key is missing", id="no-name"),
        pytest.param("vms: []\nname: Web\n", 2, "name: 'Web' is not valid", id="bad-name"),
        pytest.param("name:\n", 1, "must be a string, not null", id="null-name"),
        pytest.param("- name: w\n", 1, "must be a mapping", id="not-a-mapping"),
        pytest.param("name: [w\n", 2, "invalid YAML", id="syntax"),
    ],
)
def test_read_name_errors_name_file_and_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = tmp_path / "w.yaml"
    path.write_text(text)
    with pytest.raises(WorkloadError) as info:
        read_name(path)
    assert str(info.value).startswith(f"{path}:{line}: ") and words in str(info.value)


def test_read_name_of_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(WorkloadError, match="cannot read the workload file"):
        read_name(tmp_path / "missing.yaml")
