"""Fixtures for the Cloud Functions fake: official REST clients inside ``mock_cloud()`` and a
helper that uploads a zip the way GCF documents it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from zips import zip_of

from unicompute.mocks import MockCloud
from unicompute.mocks.gcp import FAKE_PROJECT, GcpFake

LOCATION = "us-central1"
PARENT = f"projects/{FAKE_PROJECT}/locations/{LOCATION}"

MAIN = '''\
import json
import os


def hello(request):
    print("hello called", request.method, request.path)
    return {"mode": os.environ.get("MODE"), "service": os.environ.get("K_SERVICE"),
            "path": request.path, "body": request.get_data(as_text=True)}


def teapot(request):
    return "short and stout", 418, {"X-Pot": "tea"}


def boom(request):
    raise ValueError("boom")


def on_event(cloud_event):
    import base64
    print("event", cloud_event["type"], base64.b64decode(cloud_event.data["message"]["data"]))
'''


def api_json(fake: GcpFake, method: str, url: str,
             body: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fake's raw JSON answer to ``method url`` (a Google API, called with a token the
    fake issued), for parsing with the SDK's models strictly."""
    token = next(iter(fake.tokens)) if fake.tokens else fake.token_app.ids.hex(4)
    answer = requests.request(method, url, json=body, timeout=10,
                              headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


@pytest.fixture
def fake(mock: MockCloud) -> GcpFake:
    found: GcpFake = mock.gcp
    return found


@pytest.fixture
def client(mock: MockCloud) -> Any:
    from google.cloud import functions_v2

    return functions_v2.FunctionServiceClient(transport="rest")


@pytest.fixture
def upload(client: Any) -> Callable[..., dict[str, str]]:
    """Upload ``files`` (default: ``main.py`` = MAIN) and return the storage source."""

    def run(files: dict[str, str] | None = None) -> dict[str, str]:
        answer = client.generate_upload_url(request={"parent": PARENT})
        put = requests.put(answer.upload_url, data=zip_of(files or {"main.py": MAIN}),
                           headers={"content-type": "application/zip"}, timeout=10)
        assert put.status_code == 200, put.text
        return {"bucket": answer.storage_source.bucket, "object": answer.storage_source.object_}

    return run


@pytest.fixture
def deploy(client: Any, upload: Callable[..., dict[str, str]]) -> Callable[..., Any]:
    """Create a function and wait for its operation; returns the operation."""

    def run(function_id: str = "hello", entry_point: str = "hello",
            files: dict[str, str] | None = None, **extra: Any) -> Any:
        body: dict[str, Any] = {
            "build_config": {"runtime": "python312", "entry_point": entry_point,
                             "source": {"storage_source": upload(files)}},
            "service_config": {"available_memory": "256Mi", "timeout_seconds": 30,
                               "environment_variables": {"MODE": "fast"}},
        }
        body.update(extra)
        return client.create_function(request={"parent": PARENT, "function": body,
                                               "function_id": function_id})

    return run


@pytest.fixture
def fresh_id_token(fake: GcpFake) -> Iterator[Callable[[str], str]]:
    yield fake.functions.id_token
