"""The real Claude Code 2.1.332 reporting to a real ccsync server over OTLP/HTTP.

``ccsync otel-env``'s output, pasted into a shell, makes the real CLI (talking to the
stand-in API on loopback) send its telemetry to the server, in both protocols: the
server's report is then the transcript's (up to the project, which events do not say,
and the few milliseconds the event is logged after the line). The real agent then pushes
the same transcript from another device: every request still counts once, and the report
is exactly ccsync's local report of the transcript. And the other way round: the agent
first, then what the CLI exported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from fixtures.claude_mock_api import MockAPI
from fixtures.otlp_capture import Recorder, run_prompts, telemetry_env
from fixtures.processes import agent_once, base_env, server_process
from fixtures.real_claude import claude_env

pytestmark = pytest.mark.timeout(240)

ADMIN = "ccs_admin-token-for-the-otlp-e2e"
PROTOCOLS = ("http/json", "http/protobuf")
SHOWN_FIELDS = ("inputTokens", "outputTokens", "cacheCreationTokens", "cacheReadTokens")


def _token(url: str, device: str) -> str:
    made = httpx.post(
        f"{url}/api/tokens",
        json={"deviceId": device},
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=10,
    )
    assert made.status_code == 201, made.text
    token: str = made.json()["token"]
    return token


def _report(url: str) -> dict[str, Any]:
    answer = httpx.get(
        f"{url}/api/reports/session",
        headers={"Authorization": f"Bearer {ADMIN}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


def _local_report(home: Path) -> dict[str, Any]:
    """ccsync's local report of the transcripts the CLI wrote (ccusage's numbers)."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ccsync",
            "report",
            "session",
            "--json",
            "--claude-dir",
            str(home / ".claude"),
        ],
        capture_output=True,
        text=True,
        env=base_env(home),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def _usage(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What a session report says of usage: tokens, cost and models per session."""
    return [
        (
            row["sessionId"],
            *(row[field] for field in SHOWN_FIELDS),
            round(row["totalCost"], 9),
            sorted(row["modelsUsed"]),
        )
        for row in report["sessions"]
    ]


def _agent(home: Path, url: str, device: str, token: str, state: Path) -> None:
    done = agent_once(home / ".claude", device, url, state, "--token", token)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_otel_env_makes_the_real_cli_report_and_the_agent_adds_nothing(
    protocol: str, tmp_path: Path, real_claude: Path, stand_in_api: MockAPI
) -> None:
    home = tmp_path / "home"
    with server_process(tmp_path / "server", CCSYNC_ADMIN_TOKEN=ADMIN) as server:
        token = _token(server.url, "laptop")
        printed = subprocess.run(
            [
                sys.executable,
                "-m",
                "ccsync",
                "otel-env",
                "--server",
                server.url,
                "--token",
                token,
                "--device",
                "laptop",
                "--protocol",
                protocol,
            ],
            capture_output=True,
            text=True,
            env=base_env(tmp_path),
            timeout=60,
        )
        assert printed.returncode == 0, printed.stderr
        env = claude_env(home, stand_in_api, real_claude, "oauth")
        env["HOME"] = str(home)
        if protocol == "http/protobuf":
            env["OTEL_EXPORTER_OTLP_COMPRESSION"] = "gzip"  # the exporter's own gzip
        (home / "project").mkdir(parents=True)
        script = (
            f"{printed.stdout}\nexec claude -p 'Reply with OK' --model haiku --output-format json\n"
        )
        done = subprocess.run(
            ["bash", "-c", script],
            env=env,
            cwd=home / "project",
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["result"] == "OK"

        local = _local_report(home)
        assert len(local["sessions"]) == 1
        through_telemetry = _report(server.url)
        assert _usage(through_telemetry) == _usage(local)
        assert through_telemetry["sessions"][0]["projectPath"] == "otel"

        # The agent pushes the transcript from another device: nothing counts twice, and
        # the transcript's copy is what is counted now (its project too).
        _agent(home, server.url, "desk", _token(server.url, "desk"), tmp_path / "agent")
        both = _report(server.url)
        assert _usage(both) == _usage(local)
        assert both["sessions"] == local["sessions"]
        assert both["totals"] == local["totals"]


def test_the_transcript_first_then_what_the_cli_exported(
    tmp_path: Path, real_claude: Path, stand_in_api: MockAPI
) -> None:
    home = tmp_path / "home"
    with Recorder() as recorder:
        env = claude_env(home, stand_in_api, real_claude, "oauth")
        env.update(
            HOME=str(home),
            OTEL_RESOURCE_ATTRIBUTES="ccsync.device=laptop",
            **telemetry_env(recorder.url, "http/protobuf"),
        )
        run_prompts(real_claude, env, home / "project")
    exports = list(recorder.exports)
    assert {e.path for e in exports} == {"/v1/logs", "/v1/metrics"}
    local = _local_report(home)
    with server_process(tmp_path / "server", CCSYNC_ADMIN_TOKEN=ADMIN) as server:
        _agent(home, server.url, "desk", _token(server.url, "desk"), tmp_path / "agent")
        assert _report(server.url)["sessions"] == local["sessions"]
        headers = {"Authorization": f"Bearer {_token(server.url, 'laptop')}"}
        for export in exports:
            answer = httpx.post(
                f"{server.url}{export.path}",
                content=export.body,
                headers={**headers, "content-type": export.content_type},
                timeout=30,
            )
            assert answer.status_code == 200, answer.content
        after = _report(server.url)
        assert after["sessions"] == local["sessions"] and after["totals"] == local["totals"]
        checks = httpx.get(
            f"{server.url}/api/otlp/sessions",
            headers={"Authorization": f"Bearer {ADMIN}"},
            timeout=30,
        ).json()
        assert checks["disagreeing"] == 0 and checks["sessions"][0]["entryCount"] == 2
