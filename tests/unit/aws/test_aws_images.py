"""Alias resolution logic, with a stub EC2 client (the moto-backed checks are in test_aws_ec2)."""

from __future__ import annotations

from typing import Any

import pytest

from unicompute import _errors as errors
from unicompute._models import IMAGE_ALIASES
from unicompute.providers.aws import images


class StubEc2:
    """Answers describe_images with fixed images and records the requests."""

    def __init__(self, found: list[dict[str, Any]]) -> None:
        self.found = found
        self.requests: list[dict[str, Any]] = []

    def describe_images(self, **kwargs: Any) -> dict[str, Any]:
        self.requests.append(kwargs)
        return {"Images": self.found}


def test_every_portable_alias_has_a_query() -> None:
    assert set(images.ALIASES) == set(IMAGE_ALIASES)


def test_newest_creation_date_wins_over_name_order() -> None:
    stub = StubEc2(
        [
            {
                "ImageId": "ami-old",
                "Name": "debian-12-amd64-20991231-9999",
                "CreationDate": "2020-01-01T00:00:00.000Z",
                "Architecture": "x86_64",
            },
            {
                "ImageId": "ami-new",
                "Name": "debian-12-amd64-20240101-1000",
                "CreationDate": "2024-01-01T00:00:00.000Z",
                "Architecture": "x86_64",
            },
        ]
    )
    image = images.resolve(stub, "debian-12", "x86_64")  # type: ignore[arg-type]
    assert image.id == "ami-new"
    (request,) = stub.requests
    assert request["Owners"] == ["136693071363"]
    assert {f["Name"]: f["Values"] for f in request["Filters"]} == {
        "name": ["debian-12-amd64-*"],
        "architecture": ["x86_64"],
        "state": ["available"],
    }


@pytest.mark.parametrize(
    ("alias", "arch", "owner", "pattern"),
    [
        (
            "ubuntu-22.04",
            "arm64",
            "099720109477",
            "ubuntu/images/hvm-ssd*/ubuntu-jammy-22.04-arm64-server-*",
        ),
        (
            "ubuntu-24.04",
            "x86_64",
            "099720109477",
            "ubuntu/images/hvm-ssd*/ubuntu-noble-24.04-amd64-server-*",
        ),
        ("amazon-linux-2023", "arm64", "137112412989", "al2023-ami-2023.*-kernel-*-arm64"),
        ("windows-2022", "x86_64", "801119661308", "Windows_Server-2022-English-Full-Base-*"),
    ],
)
def test_alias_queries(alias: str, arch: str, owner: str, pattern: str) -> None:
    stub = StubEc2([{"ImageId": "ami-1", "Name": "x", "Architecture": arch}])
    assert images.resolve(stub, alias, arch).alias == alias  # type: ignore[arg-type]
    (request,) = stub.requests
    assert request["Owners"] == [owner]
    assert request["Filters"][0] == {"Name": "name", "Values": [pattern]}


def test_no_match_is_not_found() -> None:
    with pytest.raises(errors.NotFound):
        images.resolve(StubEc2([]), "ubuntu-24.04", "arm64")  # type: ignore[arg-type]
