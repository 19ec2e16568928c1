"""``ccsync doctor``: one line per check, what to do when one fails, exit 1 on a required one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from fixtures.doubles import Doubles
from fixtures.processes import server_process
from fixtures.server import free_port

pytestmark = pytest.mark.timeout(120)


def doctor(home: Path, server: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ccsync", "doctor"],
        capture_output=True,
        text=True,
        env={
            "PATH": os.environ["PATH"],
            **{k: v for k, v in os.environ.items() if k == "PYTHONPATH"},  # this checkout's code
            "HOME": str(home),
            "CCSYNC_SERVER": server,
            "CCSYNC_STATE_DIR": str(home / "state"),
            **env,
        },
        timeout=60,
    )


def test_a_healthy_setup(tmp_path: Path, doubles: Doubles) -> None:
    claude_dir = tmp_path / "claude"
    (claude_dir / "projects").mkdir(parents=True)
    env = {**doubles.env, "CLAUDE_CONFIG_DIR": str(claude_dir)}
    with server_process(tmp_path / "server", **env) as server:
        done = doctor(tmp_path, server.url, **env)
    lines = done.stdout.splitlines()
    assert any(line.startswith("ok  server http") and "answers" in line for line in lines), (
        done.stdout
    )
    assert "ok  server history store: sqlite" in lines
    assert "ok  server scheduler: 0 jobs, 0 enabled" in lines
    assert "ok  claude on the server host: logged in (claude.ai, max)" in lines
    assert f"ok  claude on PATH ({doubles.bin_dir / 'claude'}): 2.1.332 (Claude Code)" in lines
    assert "ok  claude doctor: no invalid settings" in lines


def test_a_logged_out_claude_and_a_missing_server(tmp_path: Path, doubles: Doubles) -> None:
    env = {**doubles.env, "CLAUDE_DOUBLE_LOGGED_OUT": "1", "CLAUDE_CONFIG_DIR": str(tmp_path / "c")}
    with server_process(tmp_path / "server", **env) as server:
        done = doctor(tmp_path, server.url, **env)
    assert (
        "fix claude on the server host: not logged in: run `claude auth login` there" in done.stdout
    )

    gone = doctor(tmp_path, f"http://127.0.0.1:{free_port()}", **env)
    assert gone.returncode == 1
    assert "unreachable" in gone.stdout and "start `ccsync serve`" in gone.stdout


def test_settings_claude_ignores_are_named(tmp_path: Path, doubles: Doubles) -> None:
    """``claude doctor`` lists what claude ignores in a settings file; doctor says so."""
    claude_dir = tmp_path / "claude"
    claude_dir.mkdir()
    settings = claude_dir / "settings.json"
    settings.write_text(
        json.dumps(
            {
                "hooks": {
                    "BogusEvent": [{"hooks": [{"type": "command", "command": "x"}]}],
                    "UserPromptSubmit": [
                        {"hooks": [{"type": "command", "command": "x", "timeout": "15"}]}
                    ],
                }
            }
        )
    )
    env = {**doubles.env, "CLAUDE_CONFIG_DIR": str(claude_dir)}
    done = doctor(tmp_path, f"http://127.0.0.1:{free_port()}", **env)
    fixes = [line for line in done.stdout.splitlines() if "Claude Code ignores a setting" in line]
    assert len(fixes) == 2, done.stdout
    assert fixes[0].startswith(f"fix Claude Code ignores a setting: {settings} ")
    assert 'hooks.BogusEvent: Unknown hook event "BogusEvent" was ignored' in fixes[0]
    assert "hooks.UserPromptSubmit.0.hooks.0: Invalid command hook (timeout" in fixes[1]
    assert fixes[1].endswith("fix that file (`claude doctor` says more)")
    assert "claude doctor: no invalid settings" not in done.stdout

    settings.write_text("{not json")
    done = doctor(tmp_path, f"http://127.0.0.1:{free_port()}", **env)
    assert f"Claude Code ignores a setting: {settings}: Invalid or malformed JSON" in done.stdout


def test_a_claude_that_does_not_answer(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    broken = bin_dir / "claude"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    done = doctor(
        tmp_path,
        f"http://127.0.0.1:{free_port()}",
        PATH=f"{bin_dir}:{os.environ['PATH']}",
    )
    assert f"fix claude on PATH ({broken}): `claude --version` failed (exit 3)" in done.stdout


def test_a_device_whose_claude_code_deleted_transcripts(tmp_path: Path, doubles: Doubles) -> None:
    sweep = {
        "event.name": "retention_sweep",
        "session.id": "s1",
        "result": "complete",
        "period_days": "30",
        "transcripts_deleted": "4",
    }
    record = {
        "timeUnixNano": str(time.time_ns()),
        "body": {"stringValue": "claude_code.retention_sweep"},
        "attributes": [{"key": k, "value": {"stringValue": v}} for k, v in sweep.items()],
    }
    resource = {"attributes": [{"key": "ccsync.device", "value": {"stringValue": "box"}}]}
    export = {"resourceLogs": [{"resource": resource, "scopeLogs": [{"logRecords": [record]}]}]}
    env = {**doubles.env, "CLAUDE_CONFIG_DIR": str(tmp_path / "c")}
    with server_process(tmp_path / "server", **env) as server:
        assert httpx.post(f"{server.url}/v1/logs", json=export, timeout=10).json() == {}
        done = doctor(tmp_path, server.url, **env)
    day = time.strftime("%Y-%m-%d", time.gmtime())
    assert (
        f"fix device box: Claude Code deleted 4 transcripts on {day} (cleanupPeriodDays 30): "
        "usage in them is only on this server now" in done.stdout
    ), done.stdout
