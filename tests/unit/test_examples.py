"""The shipped examples run as the README says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_quickstart_runs_on_the_fake_and_leaves_nothing_running() -> None:
    done = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py")], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("i-")
    assert "InboundRule(protocol='tcp', port_from=80" in lines[0]
    assert "name='web-1', state='stopped'" in lines[1]
    assert lines[-1].endswith("left running: []")


def test_hello_function_deploys_and_runs_through_the_portable_api_on_the_fake() -> None:
    import json

    import boto3

    import unicompute as uc
    from unicompute.mocks import mock_cloud

    with mock_cloud(), uc.connect("aws", region="us-east-1", poll_interval=0) as cloud:
        fn = cloud.functions.deploy(uc.FunctionSpec(
            name="hello", runtime="python3.12", handler="app.handler",
            source=EXAMPLES / "functions" / "hello", memory_mb=256, timeout_s=10,
            env={"GREETING": "hi"}))
        out = fn.invoke({"name": "Ada"})
        result = out.result
        assert result["greeting"] == "hi, Ada!"
        assert result["function"] == "hello" and result["memory_mb"] == 256
        assert result["request_id"] == out.request_id
        assert 0 < result["remaining_ms"] <= 10_000
        assert "INFO greeting Ada" in out.logs and out.cold_start is True
        # The same deployed function through plain boto3 inside mock_cloud().
        answer = boto3.client("lambda", region_name="us-east-1").invoke(
            FunctionName="hello", Payload=json.dumps({"name": "Bo"}).encode())
        assert json.loads(answer["Payload"].read())["greeting"] == "hi, Bo!"
        fn.delete()
        assert list(cloud.functions.list()) == []
