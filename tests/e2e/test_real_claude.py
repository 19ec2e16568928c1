"""ccsync with the real Claude Code CLI (2.1.332): the scheduler's runs, the hook, the status
line and ``doctor``, each against a real ccsync server over sockets.

The CLI is the real program where it is installed (``fixtures/real_claude.py``: skipped
otherwise, a failure in CI), talking only to the stand-in API on loopback, from a temporary
home, with made-up logins.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from ccsync.scheduler.claude import NOT_LOGGED_IN
from fixtures.claude_mock_api import MockAPI
from fixtures.processes import server_process, wait_for
from fixtures.real_claude import HAIKU, HAIKU_COST, STREAM, TOKENS, VERSION, claude_env

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def api(stand_in_api: MockAPI) -> MockAPI:
    return stand_in_api


def _execute(url: str, **job: Any) -> dict[str, Any]:
    body = job if job.get("kind") == "warmup" else {"schedule": "0 7 * * *", **job}
    created = httpx.post(f"{url}/api/cron", json=body, timeout=10)
    assert created.status_code == 201, created.text
    job_id = created.json()["job"]["id"]
    answer = httpx.post(f"{url}/api/cron/{job_id}/execute", timeout=120)
    assert answer.status_code == 200, answer.text
    run: dict[str, Any] = answer.json()["run"]
    return run


# -- the scheduler ------------------------------------------------------------------------------


def test_scheduled_prompts_and_warmups_with_the_real_cli(
    tmp_path: Path, real_claude: Path, api: MockAPI
) -> None:
    env = claude_env(tmp_path / "host", api, real_claude, "oauth")
    with server_process(tmp_path / "server", **env) as server:
        # A prompt job: the run holds the real CLI's result.
        run = _execute(
            server.url,
            name="ask",
            command="claude -p 'Reply with OK' --model haiku --output-format json",
        )
        assert run["status"] == "succeeded", run
        claude = run["details"]["claude"]
        assert claude["isError"] is False and claude["result"] == "OK"
        assert claude["models"] == {HAIKU: TOKENS}  # `haiku` is claude-haiku-5-5 in 2.1.332
        assert claude["costUSD"] == pytest.approx(HAIKU_COST)
        assert "rateLimits" not in run["details"]  # json output carries no rate_limit_event
        assert [r["model"] for r in api.messages()] == [HAIKU]

        # A warm-up streams: its rate_limit_event becomes the host's official reading.
        before = time.time()
        run = _execute(server.url, name="warm", kind="warmup", resetAt=["07:00"], timezone="UTC")
        assert run["status"] == "succeeded", run
        assert run["details"]["warmup"]["action"] == "send" and run["details"]["sent"] is True
        assert tuple(run["details"]["argv"][-3:]) == STREAM
        assert run["details"]["claude"]["models"] == {HAIKU: TOKENS}
        reading = run["details"]["rateLimits"]
        assert reading["reported"] is True
        assert reading["five_hour"]["used_percentage"] == 23.5
        assert reading["seven_day"]["used_percentage"] == 41.2
        assert before + 7_200 - 5 <= reading["five_hour"]["resets_at"] <= time.time() + 7_205
        official = httpx.get(f"{server.url}/api/window", timeout=10).json()["official"]
        assert official["fiveHour"]["usedPercentage"] == 23.5
        assert official["fiveHour"]["source"] == "warmup"
        assert official["fiveHour"]["deviceId"] == reading["deviceId"]
        assert official["sevenDay"]["usedPercentage"] == 41.2

        # The 5-hour limit: the run fails with claude's words, and that is a reading too.
        api.mode = "429"
        run = _execute(
            server.url,
            name="limited",
            command="claude -p hi --model haiku --output-format stream-json --verbose",
        )
        assert run["status"] == "failed" and run["exitCode"] == 1
        assert run["error"].startswith("claude: You've hit your 5-hour limit · resets ")
        assert run["error"].endswith("(UTC)")
        assert run["details"]["claude"]["apiErrorStatus"] == 429
        assert run["details"]["claude"]["costUSD"] == 0 and run["details"]["claude"]["models"] == {}
        official = httpx.get(f"{server.url}/api/window", timeout=10).json()["official"]
        assert official["fiveHour"]["usedPercentage"] == 100

        status = httpx.get(f"{server.url}/api/status", timeout=30).json()["tools"]["claude"]
        assert status["version"] == f"{VERSION} (Claude Code)"
        assert status["auth"]["loggedIn"] is True and status["auth"]["authMethod"] == "oauth_token"


def test_a_logged_out_claude_fails_the_run_clearly(
    tmp_path: Path, real_claude: Path, api: MockAPI
) -> None:
    env = claude_env(tmp_path / "host", api, real_claude, None)
    with server_process(tmp_path / "server", **env) as server:
        run = _execute(server.url, name="ask", command="claude -p hi --output-format json")
        assert run["status"] == "failed" and run["exitCode"] == 1
        assert run["error"] == NOT_LOGGED_IN
        assert run["details"]["claude"]["result"] == "Not logged in · Please run /login"
        status = httpx.get(f"{server.url}/api/status", timeout=30).json()["tools"]["claude"]
        assert status["auth"]["loggedIn"] is False and status["auth"]["authMethod"] == "none"
    assert api.messages() == []  # it never asked


# -- the hook and doctor -----------------------------------------------------------------------


def _ccsync(env: dict[str, str], *args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "ccsync", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )
    assert done.returncode in (0, 1), done.stderr
    return done.stdout


def _device_env(home: Path, api: MockAPI, real_claude: Path, server: str) -> dict[str, str]:
    return {
        **os.environ,
        **claude_env(home, api, real_claude, "oauth"),
        "HOME": str(home),
        "CCSYNC_SERVER": server,
        "CCSYNC_STATE_DIR": str(home / "state"),
        "CCSYNC_DEVICE": "laptop",
    }


def test_the_hook_pushes_what_the_real_cli_wrote(
    tmp_path: Path, real_claude: Path, api: MockAPI
) -> None:
    home, project = tmp_path / "home", tmp_path / "my_project"
    project.mkdir()
    with server_process(tmp_path / "server") as server:
        env = _device_env(home, api, real_claude, server.url)
        _ccsync(env, "hook", "install")
        doctor = _ccsync(env, "doctor", cwd=project).splitlines()
        assert f"ok  claude on PATH ({home / 'bin' / 'claude'}): {VERSION} (Claude Code)" in doctor
        assert "ok  claude doctor: no invalid settings" in doctor  # claude takes ccsync's settings
        assert any(line.startswith("ok  Claude Code hook and status line in") for line in doctor)

        def ask() -> list[dict[str, Any]]:
            done = subprocess.run(
                [*("claude", "-p", "Reply with OK", "--model", "haiku"), *STREAM],
                capture_output=True,
                text=True,
                env=env,
                cwd=project,
                timeout=120,
            )
            assert done.returncode == 0, done.stderr
            return [json.loads(line) for line in done.stdout.splitlines()]

        first = ask()
        hooks = [m for m in first if m.get("subtype") == "hook_response"]
        assert [(h["hook_event"], h["exit_code"], h["outcome"]) for h in hooks] == [
            ("SessionStart", 0, "success")
        ]
        session = next(m["session_id"] for m in first if m["type"] == "result")
        # The folder claude chose: every character outside [a-zA-Z0-9] is "-".
        folder = home / ".claude" / "projects" / str(project).replace("/", "-").replace("_", "-")
        assert (folder / f"{session}.jsonl").exists()
        # The hooks ran before the answer was written; the next prompt's hook sends it.
        ask()

        def sessions() -> dict[str, dict[str, Any]]:
            report = httpx.get(f"{server.url}/api/reports/session", timeout=10).json()
            return {s["sessionId"]: s for s in report["sessions"]}

        wait_for(lambda: session in sessions(), 30)
        sent = sessions()[session]
        assert sent["totalTokens"] == TOKENS and sent["modelsUsed"] == [HAIKU]
        devices = httpx.get(f"{server.url}/api/usage", timeout=10).json()
        assert "laptop" in json.dumps(devices)


# -- the status line -----------------------------------------------------------------------------


def _drain(fd: int, seconds: float) -> bytes:
    out = b""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                out += os.read(fd, 65_536)
            except OSError:
                break
    return out


def test_the_status_line_forwards_claudes_own_percentages(
    tmp_path: Path, real_claude: Path, api: MockAPI
) -> None:
    """The interactive CLI (in a terminal of its own) runs ccsync's status line with its
    ``rate_limits``; the status line hands them to the server as official readings."""
    home, project = tmp_path / "home", tmp_path / "project"
    project.mkdir()
    with server_process(tmp_path / "server") as server:
        env = _device_env(home, api, real_claude, server.url)
        _ccsync(env, "hook", "install")
        # A user who has used claude here before: onboarded, the folder trusted.
        (home / ".claude" / ".claude.json").write_text(
            json.dumps(
                {
                    "hasCompletedOnboarding": True,
                    "theme": "dark",
                    "projects": {str(project): {"hasTrustDialogAccepted": True}},
                }
            )
        )
        controller, terminal = pty.openpty()
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        claude = subprocess.Popen(
            ["claude", "--model", "haiku"],
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            cwd=project,
            env={**env, "TERM": "xterm-256color"},
            start_new_session=True,
        )
        os.close(terminal)
        screen = b""
        try:
            deadline = time.monotonic() + 60
            while "\u276f".encode() not in screen:  # the prompt box is drawn: it takes input
                assert time.monotonic() < deadline, screen[-3000:].decode(errors="replace")
                screen += _drain(controller, 0.2)
            screen += _drain(controller, 1)
            os.write(controller, b"Reply with OK")
            screen += _drain(controller, 0.5)
            os.write(controller, b"\r")

            def forwarded() -> bool:
                nonlocal screen
                screen += _drain(controller, 0.2)
                window = httpx.get(f"{server.url}/api/window", timeout=10).json()
                return "fiveHour" in window["official"]

            try:
                wait_for(forwarded, 60)
            except AssertionError:
                raise AssertionError(screen[-3000:].decode(errors="replace")) from None
        finally:
            os.killpg(claude.pid, signal.SIGTERM)
            try:
                claude.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(claude.pid, signal.SIGKILL)
                claude.wait(10)
            os.close(controller)
        official = httpx.get(f"{server.url}/api/window", timeout=10).json()["official"]
        assert official["fiveHour"]["usedPercentage"] == 23.5
        assert official["fiveHour"]["source"] == "statusline"
        assert official["fiveHour"]["deviceId"] == "laptop"
        assert official["sevenDay"]["usedPercentage"] == 41.2
        assert any(r["model"] == HAIKU for r in api.messages())
