"""The user-data runner: exit codes, output, the timeout, what a script leaves running, and
that nothing (process or directory) outlives the mock."""

from __future__ import annotations

import os
import time
from pathlib import Path

import boto3
import pytest
from moto.ec2.models.amis import AMIS

from unicompute.mocks import mock_cloud
from unicompute.mocks.metadata._boot import run_script


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper does not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def _gone(pid: int) -> bool:
    """Whether ``pid`` stops running within a second (SIGKILL lands asynchronously)."""
    deadline = time.monotonic() + 1
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return not _alive(pid)


def _children() -> set[int]:
    mine = str(os.getpid())
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if fields[1] == mine and _alive(int(entry.name)):
                found.add(int(entry.name))
    return found


def test_a_background_process_does_not_hold_the_boot_and_is_killed(tmp_path: Path) -> None:
    script = b"#!/bin/sh\nsleep 60 &\necho $! > daemon.pid\necho started\nexit 3\n"
    began = time.monotonic()
    code, output = run_script(script, str(tmp_path / "root"), {}, 10.0)
    assert time.monotonic() - began < 5  # not the 10 s timeout
    assert code == 3 and output == "started\n"
    pid = int((tmp_path / "root" / "daemon.pid").read_text())
    assert _gone(pid)


def test_the_timeout_kills_the_script_and_says_so(tmp_path: Path) -> None:
    code, output = run_script(b"#!/bin/sh\necho started\nsleep 60\n", str(tmp_path / "r"),
                              {"ONLY": "this"}, 0.3)
    assert code is None and output.startswith("started\n") and "timed out" in output


def test_output_keeps_its_tail(tmp_path: Path) -> None:
    script = b"#!/bin/sh\nhead -c 1100000 /dev/zero | tr '\\0' a\necho END\n"
    _, output = run_script(script, str(tmp_path / "r"), {}, 10.0)
    assert len(output) == 1 << 20 and output.endswith("aaaEND\n")


def test_nothing_outlives_the_mock() -> None:
    before = _children()
    with mock_cloud(["aws"], run_user_data=True, user_data_timeout=0.5) as mock:
        ec2 = boto3.client("ec2", region_name="us-east-1")
        for script in ("#!/bin/sh\nsleep 60 &\necho $! > daemon.pid\n",
                       "#!/bin/sh\nsleep 60\n"):
            ec2.run_instances(ImageId=AMIS[0]["ami_id"], MinCount=1, MaxCount=1,
                              UserData=script)
        first, second = mock.boots("aws")
        assert first.exit_code == 0 and second.exit_code is None
        daemon = int(Path(first.root, "daemon.pid").read_text())
        with mock.inside(first.vm_id) as box:
            assert box.root == first.root
        roots = Path(first.root).parent
        assert roots.is_dir()
    assert _gone(daemon)
    assert not roots.exists()
    assert _children() <= before


def test_without_run_user_data_scripts_do_not_run_and_the_console_is_a_boot_log() -> None:
    with mock_cloud(["aws"]) as mock:
        ec2 = boto3.client("ec2", region_name="us-east-1")
        out = ec2.run_instances(ImageId=AMIS[0]["ami_id"], MinCount=1, MaxCount=1,
                                UserData="#!/bin/sh\necho booted-ok\n")
        instance_id = out["Instances"][0]["InstanceId"]
        output = ec2.get_console_output(InstanceId=instance_id)["Output"]
        assert "Linux version" in output and "booted-ok" not in output
        assert mock.boots("aws") == []


def test_boot_options_are_checked_before_anything_starts() -> None:
    from unicompute import InvalidRequest

    with pytest.raises(InvalidRequest) as caught:
        mock_cloud(["aws"], run_user_data="yes")  # type: ignore[arg-type]
    assert caught.value.field == "run_user_data"
    for timeout in (0, -1, 3601, True, "30"):
        with pytest.raises(InvalidRequest) as caught:
            mock_cloud(["aws"], user_data_timeout=timeout)  # type: ignore[arg-type]
        assert caught.value.field == "user_data_timeout"
