"""The console-output pieces of each provider, on stand-ins for what the SDKs return: EC2's
``Latest`` fallback and base64, Azure's SAS blob read (which never leaks the URL), GCE's paging
through ``next``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from botocore.exceptions import ClientError
from google.cloud import compute_v1
from werkzeug.wrappers import Request, Response

from unicompute import ProviderError
from unicompute.providers.aws import console as aws_console
from unicompute.providers.azure import console as azure_console
from unicompute.providers.gcp import console as gcp_console

from .conftest import closed_port


# -- AWS ------------------------------------------------------------------------------------
class _Ec2:
    """What boto3's EC2 client gives: ``Output`` already decoded from base64 by botocore."""

    def __init__(self, refuse_latest: str | None, output: str | None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.refuse_latest = refuse_latest
        self.output = output

    def get_console_output(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        if kwargs.get("Latest") and self.refuse_latest:
            raise ClientError({"Error": {"Code": self.refuse_latest, "Message": "no"}},
                              "GetConsoleOutput")
        answer: dict[str, Any] = {"InstanceId": kwargs["InstanceId"]}
        if self.output is not None:
            answer["Output"] = self.output
        return answer


@dataclass
class _Ec2Context:
    client: _Ec2

    def live_instance(self, vm_id: str) -> dict[str, str]:
        return {"InstanceId": vm_id}


def test_aws_asks_for_the_latest_output() -> None:
    client = _Ec2(None, "boot\nhéllo\n")
    assert aws_console.console_output(_Ec2Context(client), "i-1") == "boot\nhéllo\n"  # type: ignore[arg-type]
    assert client.calls == [{"InstanceId": "i-1", "Latest": True}]


def test_aws_repeats_without_latest_where_it_is_unsupported() -> None:
    client = _Ec2("UnsupportedOperation", "old")
    text = aws_console.console_output(_Ec2Context(client), "i-1")  # type: ignore[arg-type]
    assert text == "old"
    assert [c.get("Latest") for c in client.calls] == [True, None]


def test_aws_other_errors_propagate_and_no_output_is_empty() -> None:
    with pytest.raises(ClientError):
        aws_console.console_output(_Ec2Context(_Ec2("UnauthorizedOperation", "")), "i-1")  # type: ignore[arg-type]
    assert aws_console.console_output(_Ec2Context(_Ec2(None, None)), "i-1") == ""  # type: ignore[arg-type]


# -- Azure ----------------------------------------------------------------------------------
SECRET = "sv=2024&sig=Zm9vYmFyc2VjcmV0"


@dataclass
class _Result:
    serial_console_log_blob_uri: str | None
    console_screenshot_blob_uri: str | None = None


class _Vms:
    def __init__(self, uri: str | None) -> None:
        self.uri = uri
        self.calls: list[tuple[Any, ...]] = []

    def retrieve_boot_diagnostics_data(self, group: str, name: str,
                                       **kwargs: Any) -> _Result:
        self.calls.append((group, name, kwargs))
        return _Result(self.uri)


def _blob(status: int, body: bytes = b"") -> Any:
    def handler(request: Request) -> Response:
        assert "Authorization" not in request.headers  # the SAS is the only credential
        headers = {"x-ms-error-code": "AuthenticationFailed"} if status == 403 else {}
        return Response(body, status=status, headers=headers)

    return handler


def test_azure_reads_the_serial_log_blob(serve) -> None:
    served = serve(_blob(200, "[    0.0] Linux\nhéllo\n".encode()))
    vms = _Vms(f"{served.url}/bootdiagnostics-x/vm.serialconsole.log?{SECRET}")
    text = azure_console.console_output(vms, "rg", "vm", "/subscriptions/s/vm")
    assert text == "[    0.0] Linux\nhéllo\n"
    assert vms.calls == [("rg", "vm", {"sas_uri_expiration_time_in_minutes": 5})]
    assert served.seen[0].args["sig"] == "Zm9vYmFyc2VjcmV0"


def test_azure_missing_blob_or_uri_is_empty(serve) -> None:
    served = serve(_blob(404))
    assert azure_console.console_output(_Vms(f"{served.url}/b?{SECRET}"), "rg", "vm", "id") == ""
    assert azure_console.console_output(_Vms(None), "rg", "vm", "id") == ""


def test_azure_blob_errors_never_show_the_sas_url(serve) -> None:
    served = serve(_blob(403))
    for uri in (f"{served.url}/b?{SECRET}", f"http://127.0.0.1:{closed_port()}/b?{SECRET}"):
        with pytest.raises(ProviderError) as caught:
            azure_console.console_output(_Vms(uri), "rg", "vm", "vm-id")
        error = caught.value
        assert (error.provider, error.operation, error.resource) == (
            "azure", "vms.console_output", "vm-id")
        shown = f"{error} {error!r} {error.__cause__!r} {error.__context__!r}"
        assert "sig=" not in shown and "Zm9vYmFyc2VjcmV0" not in shown
    assert "403 AuthenticationFailed" in str(caught.value) or "ConnectionError" in str(
        caught.value)


# -- GCP ------------------------------------------------------------------------------------
@dataclass
class _Serial:
    contents: str
    next_: int
    start: int


class _Instances:
    """Serial port output of ``log``, ``page`` bytes per call, oldest ``dropped`` bytes gone."""

    def __init__(self, log: str, page: int, dropped: int = 0) -> None:
        self.log, self.page, self.dropped = log, page, dropped
        self.starts: list[int] = []

    def get_serial_port_output(self, *, request: compute_v1.GetSerialPortOutputInstanceRequest,
                               **rpc: Any) -> _Serial:
        assert isinstance(request, compute_v1.GetSerialPortOutputInstanceRequest)
        assert (request.project, request.zone, request.instance, request.port, rpc) == (
            "p", "z", "vm", 1, {"timeout": 30})
        start = request.start
        self.starts.append(start)
        begin = max(start, self.dropped)
        chunk = self.log[begin:begin + self.page]
        return _Serial(chunk, begin + len(chunk), begin)


def _gcp(instances: _Instances) -> str:
    return gcp_console.console_output(instances, {"timeout": 30}, project="p", zone="z",
                                      name="vm")


def test_gcp_follows_next_until_the_end() -> None:
    log = "".join(f"line {i}\n" for i in range(100))
    instances = _Instances(log, page=64)
    assert _gcp(instances) == log
    # 64 bytes a call, then one call at the end that comes back empty
    assert instances.starts == [*range(0, len(log), 64), len(log)]


def test_gcp_starts_from_what_gce_still_holds() -> None:
    log = "x" * 50 + "kept\n"
    assert _gcp(_Instances(log, page=1000, dropped=50)) == "kept\n"


def test_gcp_empty_console() -> None:
    instances = _Instances("", page=10)
    assert _gcp(instances) == "" and instances.starts == [0]
