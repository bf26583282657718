"""The shipped examples run as the README says."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_quickstart_runs_the_same_code_on_three_fakes_and_leaves_nothing_running() -> None:
    done = subprocess.run([sys.executable, str(EXAMPLES / "quickstart.py")], capture_output=True,
                          text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 9
    for provider, (launched, listed, summary) in zip(
            ("aws", "azure", "gcp"), (lines[i:i + 3] for i in range(0, 9, 3)), strict=True):
        assert launched.startswith(f"{provider} ") and "(80, '0.0.0.0/0')" in launched
        assert "(443, '0.0.0.0/0')" in launched and "(22," not in launched
        assert listed == f"{provider} web-1 stopped"
        assert summary.startswith(f"{provider}: ") and "price snapshot of" in summary
        assert summary.endswith("left running: []")


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
