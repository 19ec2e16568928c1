"""``ccsync doctor``: one line per check, what to do when one fails, exit 1 on a required one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
    assert any(line.startswith("ok  claude on PATH") for line in lines)


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
