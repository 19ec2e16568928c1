"""Confined jobs (hostile review findings B3, B5, B8 and B9), against real servers.

The jobs run real processes: the ``claude`` double (``fixtures/claude_double.py``) or small
scripts put first on ``PATH``, found by the server exactly as it finds the real programs.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from ccsync.scheduler.commands import CLAUDE_REFUSED_FLAGS, CLAUDE_SUBCOMMANDS
from ccsync.storage.history.jobs import JobRecord
from ccsync.usage.timestamps import parse_timestamp
from fixtures.doubles import Doubles
from fixtures.processes import ServerProcess, wait_for
from fixtures.server import RunningServer, backend_server

pytestmark = pytest.mark.timeout(120)

ADMIN = "ccs_admin-token-for-job-tests"
DB_PASSWORD = "PgS3cretPW"
SECRETS = {
    "CCSYNC_ADMIN_TOKEN": ADMIN,
    "CCSYNC_TOKEN": "ccs_agent-token-of-this-host",
    "DATABASE_URL": f"postgresql://postgres:{DB_PASSWORD}@127.0.0.1:1/ccsync",
    "REDIS_URL": "redis://:RedisPW0@127.0.0.1:1/0",
    "REDIS_PASSWORD": "RedisPW1",
    "PGPASSWORD": "PgPW2",
    "SOME_SERVICE_API_KEY": "ApiKey3",
    "DEPLOY_SECRET": "Secret4",
}
CLAUDE_LOGIN = {"CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-for-claude-only"}

HOOKS = '{"hooks":{"SessionStart":[{"hooks":[{"type":"command","command":"touch p"}]}]}}'
MCP = '{"mcpServers":{"x":{"command":"sh","args":["-c","id"]}}}'
ENV_PRINTER = "import json, os\nprint(json.dumps(dict(os.environ)))\n"
FAILS_LOUDLY = (
    "import os, sys\nsys.stderr.write('the secret is ' + os.environ['HOME'])\nsys.exit(3)\n"
)


def _script(bin_dir: Path, name: str, source: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    path = bin_dir / name
    path.write_text(f"#!{sys.executable}\n{source}")
    path.chmod(0o755)


async def _create(http: httpx.AsyncClient, command: str, **job: Any) -> dict[str, Any]:
    response = await http.post(
        "/api/cron", json={"name": "job", "schedule": "0 7 * * *", "command": command, **job}
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()["job"]
    return created


@asynccontextmanager
async def _socket(server: RunningServer, token: str) -> AsyncIterator[ClientConnection]:
    url = "ws" + server.url.removeprefix("http") + f"/ws?token={token}"
    async with connect(url) as ws:
        yield ws


async def _receive(ws: ClientConnection, kind: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        raw = await asyncio.wait_for(ws.recv(), timeout=max(0.01, deadline - time.monotonic()))
        message: dict[str, Any] = json.loads(raw)
        if message.get("type") == kind:
            return message


def _ms(iso: str) -> int:
    ms = parse_timestamp(iso)
    assert ms is not None, iso
    return ms


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return True
    return state == "Z"


# -- B3 ---------------------------------------------------------------------------------------


async def test_claude_jobs_are_confined_to_the_allow_list(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    doubles: Doubles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """B3: without --allow-commands, claude flags and subcommands that run other programs,
    load settings or MCP servers, or change permissions answer 400 naming the flag; the
    allowed ones are accepted; a job stored before the rule does not run."""
    doubles.install(monkeypatch)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    async with (
        backend_server(request, "memory+sqlite", tmp_path) as running,
        running.client() as http,
    ):
        refused = [(f"claude -p hi {flag} x", flag) for flag in CLAUDE_REFUSED_FLAGS]
        refused += [(f"claude {name} x", f"claude {name}") for name in CLAUDE_SUBCOMMANDS]
        refused += [
            (f"claude -p x --settings '{HOOKS}'", "--settings"),
            (f"claude -p x --mcp-config '{MCP}'", "--mcp-config"),
            ("claude mcp add -s user evil -- sh -c 'touch p'", "claude mcp"),
            ("claude -p update", "'update'"),
            ("claude -p hi --unknown-flag", "--unknown-flag"),
            ("claude --print=hi", "--print"),
        ]
        wrong = []
        for command, named in refused:
            answer = await http.post(
                "/api/cron", json={"name": "x", "schedule": "0 7 * * *", "command": command}
            )
            message = answer.json().get("error", "")
            lifted = "--allow-commands" in message or command == "claude --print=hi"
            if answer.status_code != 400 or named not in message or not lifted:
                wrong.append((command, answer.status_code, message))
        assert wrong == []
        assert (await http.get("/api/cron")).json() == {"jobs": []}

        checked = await http.post(
            "/api/cron/validate-schedule",
            json={
                "schedule": "0 7 * * *",
                "command": "claude -p hi --dangerously-skip-permissions",
            },
        )
        assert checked.status_code == 400
        assert "--dangerously-skip-permissions" in checked.json()["error"]

        allowed = (
            "claude -p 'Reply with OK.' --model haiku --fallback-model sonnet "
            "--output-format=json --max-turns 2 --max-budget-usd 0.05 "
            "--append-system-prompt 'Be brief.' --no-session-persistence"
        )
        job = await _create(http, allowed)
        run = (await http.post(f"/api/cron/{job['id']}/execute")).json()
        assert run["success"] is True, run
        for command in ("claude --version", "claude auth status", "claude -p hi --verbose"):
            await _create(http, command)

        # A job stored by an older version, before the rule: refused again when it runs.
        stored = JobRecord(
            id="old",
            name="old",
            schedule="0 7 * * *",
            command="claude -p hi --dangerously-skip-permissions",
            created_ms=1,
            updated_ms=1,
        )
        await running.services.history.jobs.create_job(stored)
        calls = len(doubles.calls())
        old = (await http.post("/api/cron/old/execute")).json()
        assert old["status"] == "failed" and "--dangerously-skip-permissions" in old["error"]
        assert len(doubles.calls()) == calls  # claude never started


# -- B5 ---------------------------------------------------------------------------------------


async def test_jobs_get_no_secrets_and_only_admins_read_output(
    tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B5: even with --allow-commands, a job's environment holds none of the server's
    secrets (claude keeps its own login), and device tokens read runs, jobs and
    cron events without what the program printed."""
    bin_dir = tmp_path / "bin"
    _script(bin_dir, "claude", ENV_PRINTER)
    _script(bin_dir, "fails-loudly", FAILS_LOUDLY)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    for name, value in {**SECRETS, **CLAUDE_LOGIN}.items():
        monkeypatch.setenv(name, value)
    async with backend_server(
        request, "memory+sqlite", tmp_path, allow_commands=True, admin_token=ADMIN
    ) as running:
        async with running.client(ADMIN) as admin:
            device = (await admin.post("/api/tokens", json={"deviceId": "laptop"})).json()["token"]
            env_job = await _create(admin, "env")
            claude_job = await _create(admin, "claude -p hi")
            failing = await _create(admin, "fails-loudly")
            async with _socket(running, device) as ws:
                await _receive(ws, "initial-data")
                await ws.send(json.dumps({"type": "subscribe", "channel": "cron"}))
                await _receive(ws, "subscribed")
                env_run = (await admin.post(f"/api/cron/{env_job['id']}/execute")).json()
                event = await _receive(ws, "cron_job_executed")
            claude_run = (await admin.post(f"/api/cron/{claude_job['id']}/execute")).json()
            failed = (await admin.post(f"/api/cron/{failing['id']}/execute")).json()

        assert env_run["success"] is True and "PATH=" in env_run["output"]
        printed = env_run["output"]
        names = {line.partition("=")[0] for line in printed.splitlines()}
        assert not set(SECRETS) & names
        for value in SECRETS.values():
            assert value not in printed
        assert DB_PASSWORD not in printed and CLAUDE_LOGIN["CLAUDE_CODE_OAUTH_TOKEN"] not in printed
        claude_env = json.loads(claude_run["output"])
        assert claude_env["CLAUDE_CODE_OAUTH_TOKEN"] == CLAUDE_LOGIN["CLAUDE_CODE_OAUTH_TOKEN"]
        assert not set(SECRETS) & set(claude_env)
        assert failed["status"] == "failed" and "the secret is" in failed["error"]

        assert event["jobId"] == env_job["id"] and event["status"] == "succeeded"
        assert not {"output", "error", "details"} & set(event)

        async with running.client(device) as reader:
            runs = (await reader.get(f"/api/cron/{env_job['id']}/runs")).json()["runs"]
            assert runs[0]["status"] == "succeeded" and runs[0]["output"] is None
            failed_runs = (await reader.get(f"/api/cron/{failing['id']}/runs")).json()["runs"]
            assert failed_runs[0]["exitCode"] == 3 and failed_runs[0]["error"] is None
            jobs = (await reader.get("/api/cron")).json()["jobs"]
            assert {job["id"]: job["status"] for job in jobs}[failing["id"]] == "error"
            assert all(job["errorMessage"] is None for job in jobs)
            one = (await reader.get(f"/api/cron/{failing['id']}")).json()["job"]
            assert one["errorMessage"] is None
        async with running.client(ADMIN) as admin:
            runs = (await admin.get(f"/api/cron/{env_job['id']}/runs")).json()["runs"]
            assert runs[0]["output"] == printed
            one = (await admin.get(f"/api/cron/{failing['id']}")).json()["job"]
            assert "the secret is" in one["errorMessage"]


# -- B8 ---------------------------------------------------------------------------------------


async def test_concurrent_runs_are_capped(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    doubles: Doubles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """B8: 30 concurrent executes run at most max_runs programs at once and one per job; the
    rest answer 409 (the job runs) or 429 (the server is full), saying so."""
    doubles.install(monkeypatch)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    monkeypatch.setenv("CLAUDE_DOUBLE_SLEEP", "1.5")
    async with (
        backend_server(request, "memory+sqlite", tmp_path, max_runs=4) as running,
        running.client() as http,
    ):
        jobs = [await _create(http, f"claude -p 'job {n}'") for n in range(10)]
        targets = [job["id"] for job in jobs for _ in range(3)]
        answers = await asyncio.gather(
            *(http.post(f"/api/cron/{job_id}/execute", timeout=60) for job_id in targets)
        )
        runs = [
            run
            for job in jobs
            for run in (await http.get(f"/api/cron/{job['id']}/runs")).json()["runs"]
        ]

    codes = sorted(answer.status_code for answer in answers)
    assert len(answers) == 30 and set(codes) <= {200, 409, 429}, codes
    assert codes.count(200) >= 4 and 429 in codes, codes
    for answer in answers:
        if answer.status_code == 409:
            assert "running already" in answer.json()["error"]
        elif answer.status_code == 429:
            assert "the most it runs at once" in answer.json()["error"]
            assert answer.headers["retry-after"] == "5"
    assert len(runs) == codes.count(200) and all(r["status"] == "succeeded" for r in runs)
    spans = [(_ms(r["startedAt"]), _ms(r["endedAt"])) for r in runs]
    at_once = max(sum(start <= moment < end for start, end in spans) for moment, _ in spans)
    assert at_once <= 4, spans
    assert len(doubles.prompts()) == len(runs)


# -- B9 ---------------------------------------------------------------------------------------


def test_a_run_orphaned_by_a_killed_server_is_closed_and_stopped(
    tmp_path: Path, doubles: Doubles
) -> None:
    """B9: SIGKILL the server mid-run; the restarted server closes the run as lost, stops
    its process group (a child that ignores SIGTERM too) before starting the next tick."""
    child_pidfile = tmp_path / "child.pid"
    children: list[int] = []
    server = ServerProcess(
        tmp_path / "server",
        **doubles.env,
        CLAUDE_CONFIG_DIR=str(tmp_path / "claude"),
        CLAUDE_DOUBLE_SLEEP="600",
        CLAUDE_DOUBLE_IGNORE_TERM="1",
        CLAUDE_DOUBLE_CHILD_PIDFILE=str(child_pidfile),
    ).start()
    try:
        job = httpx.post(
            f"{server.url}/api/cron",
            json={
                "name": "long",
                "schedule": "* * * * * *",
                "command": "claude -p 'take your time'",
                "enabled": True,
            },
            timeout=10,
        ).json()["job"]
        wait_for(lambda: doubles.prompts() and child_pidfile.exists() and child_pidfile.read_text())
        [orphan] = [r for r in _runs(server.url, job["id"]) if r["status"] == "running"]
        leader = json.loads(doubles.log.read_text().splitlines()[0])["pid"]
        child = int(child_pidfile.read_text())
        children.append(child)
        assert server.process is not None
        server.process.kill()
        server.process.communicate(timeout=10)
        assert not _gone(leader) and not _gone(child)  # the program outlived its server

        server.start()
        wait_for(lambda: _run(server.url, job["id"], orphan["id"])["status"] == "lost", 40)
        lost = _run(server.url, job["id"], orphan["id"])
        assert "died during the run" in lost["error"] and "was stopped" in lost["error"]
        assert lost["endedAt"] is not None
        wait_for(lambda: _gone(leader) and _gone(child), 10)
        # The next tick started only once the orphan was closed and stopped.
        wait_for(lambda: len(_runs(server.url, job["id"])) > len([orphan]) + 1, 20)
        later = [
            r
            for r in _runs(server.url, job["id"])
            if r["instance"] != orphan["instance"] and r["status"] != "skipped"
        ]
        assert later and all(_ms(r["startedAt"]) >= _ms(lost["endedAt"]) for r in later)
    finally:
        server.stop()
        if child_pidfile.exists() and child_pidfile.read_text():
            children.append(int(child_pidfile.read_text()))
        for pid in _pids(doubles) + children:
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)


def _runs(url: str, job_id: str) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = httpx.get(
        f"{url}/api/cron/{job_id}/runs", params={"limit": 500}, timeout=10
    ).json()["runs"]
    return runs


def _run(url: str, job_id: str, run_id: int) -> dict[str, Any]:
    [run] = [r for r in _runs(url, job_id) if r["id"] == run_id]
    return run


def _pids(doubles: Doubles) -> list[int]:
    if not doubles.log.exists():
        return []
    return [json.loads(line)["pid"] for line in doubles.log.read_text().splitlines()]
