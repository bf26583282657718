"""``unicompute mock-server`` as another program uses it: started, endpoints read, stopped."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import requests

from unicompute.cli import mock_state


def test_mock_server_serves_every_fake_on_loopback_until_interrupted() -> None:
    argv = [sys.executable, "-m", "unicompute.cli", "mock-server", "--json",
            "--port", "aws=0", "--port", "azure=0", "--port", "gcp=0"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or lines[-1].rstrip() != "]":
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else "no output"
            lines.append(line)
        endpoints = {r["provider"]: r["endpoint"] for r in json.loads("".join(lines))}
        assert set(endpoints) == {"aws", "azure", "gcp"}
        assert all(url.startswith("http://127.0.0.1:") for url in endpoints.values())
        ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=endpoints["aws"],
                           aws_access_key_id="x", aws_secret_access_key="y")
        assert ec2.describe_instances()["Reservations"] == []
        requests.get(f"{endpoints['aws']}/?code=s3cr3t-function-key", timeout=30)
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Stopped." in err
    assert "HTTP/1.1" not in err and "s3cr3t" not in err  # no request lines: they carry secrets


def test_background_server_log_holds_no_warning_and_no_request_line(tmp_path: Path) -> None:
    """The server ``--mock`` starts logs to ``server.log``: not the RuntimeWarning of a module
    run as ``__main__`` after the package imported it, and no request lines (moto's werkzeug
    access log), which can carry secrets."""
    state = mock_state.ensure_server(tmp_path)
    try:
        endpoints = state["endpoints"]
        ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=endpoints["aws"],
                           aws_access_key_id="x", aws_secret_access_key="y")
        assert ec2.describe_instances()["Reservations"] == []
        for endpoint in endpoints.values():
            requests.get(f"{endpoint}/?code=s3cr3t-function-key", timeout=30)
    finally:
        mock_state.stop_server(tmp_path)
    log = (tmp_path / "server.log").read_text(encoding="utf-8")
    assert "Warning" not in log, log
    assert "HTTP/1.1" not in log and "s3cr3t" not in log, log


def test_mock_server_refuses_a_bad_port() -> None:
    done = subprocess.run([sys.executable, "-m", "unicompute.cli", "mock-server",
                           "--port", "aws=http"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--port" in done.stderr
