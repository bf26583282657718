"""``unicompute mock-server`` as another program uses it: started, endpoints read, stopped."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import boto3


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
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Stopped." in err


def test_mock_server_refuses_a_bad_port() -> None:
    done = subprocess.run([sys.executable, "-m", "unicompute.cli", "mock-server",
                           "--port", "aws=http"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--port" in done.stderr
