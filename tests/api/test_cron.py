"""The scheduler's REST API over real sockets, on memory+SQLite and Redis+PostgreSQL.

The jobs run real programs: the ``claude`` and ``ccusage`` doubles put first on ``PATH``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ccsync.usage.timestamps import parse_timestamp
from fixtures.doubles import Doubles
from fixtures.server import BACKENDS, RunningServer, backend_server

from .test_ws import receive, send, socket

pytestmark = pytest.mark.timeout(90)

PREFIXES = ["/api/cron", "/api/cron/jobs"]


@pytest.fixture(params=BACKENDS)
async def cron_server(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    doubles: Doubles,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[RunningServer]:
    doubles.install(monkeypatch)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    async with backend_server(request, request.param, tmp_path) as running:
        yield running


async def _create(http: httpx.AsyncClient, prefix: str = "/api/cron", **job: Any) -> dict[str, Any]:
    response = await http.post(prefix, json=job)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["success"] is True
    return body["job"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("prefix", PREFIXES)
async def test_jobs_round_trip(cron_server: RunningServer, prefix: str) -> None:
    async with cron_server.client() as http:
        job = await _create(
            http,
            prefix,
            name="morning",
            schedule="0 7 * * 1-5",
            command="claude -p 'Reply with OK.' --model haiku",
            timezone="Europe/Berlin",
        )
        assert job["enabled"] is False and job["status"] == "inactive"  # spends usage: off
        assert job["nextRun"] is None and job["timezone"] == "Europe/Berlin"
        job_id = job["id"]
        assert (await http.get(f"{prefix}/{job_id}")).json() == {"job": job}
        assert (await http.get(prefix)).json() == {"jobs": [job]}

        enabled = (await http.post(f"{prefix}/{job_id}/enable")).json()
        assert enabled["success"] and enabled["job"]["status"] == "active"
        next_run = enabled["job"]["nextRun"]
        assert next_run is not None and next_run.endswith(("T05:00:00.000Z", "T06:00:00.000Z"))

        changed = await http.put(
            f"{prefix}/{job_id}", json={"schedule": "30 8 * * *", "name": "later"}
        )
        assert changed.status_code == 200
        assert changed.json()["job"]["schedule"] == "30 8 * * *"
        assert changed.json()["job"]["name"] == "later" and changed.json()["job"]["enabled"]

        disabled = (await http.post(f"{prefix}/{job_id}/disable")).json()["job"]
        assert disabled["status"] == "inactive" and disabled["nextRun"] is None

        assert (await http.delete(f"{prefix}/{job_id}")).json() == {"success": True, "id": job_id}
        for method in ("GET", "PUT", "DELETE"):
            missing = await http.request(
                method, f"{prefix}/{job_id}", json={} if method == "PUT" else None
            )
            assert missing.status_code == 404 and "no cron job" in missing.json()["error"]
        assert (await http.get(f"{prefix}/{job_id}/runs")).status_code == 404


async def test_schedules_are_validated_with_examples(cron_server: RunningServer) -> None:
    async with cron_server.client() as http:
        for prefix in PREFIXES:
            good = await http.post(
                f"{prefix}/validate-schedule", json={"schedule": "*/2 * * * * *", "timezone": "UTC"}
            )
            assert good.status_code == 200
            runs = good.json()["nextRuns"]
            assert good.json()["valid"] is True and len(runs) == 5
            seconds = [int(r[17:19]) for r in runs]
            assert all(s % 2 == 0 for s in seconds)
        for schedule in ("61 * * * *", "* * *", "0 0 30 2 *", "every day"):
            bad = await http.post("/api/cron/validate-schedule", json={"schedule": schedule})
            assert bad.status_code == 400, schedule
            assert bad.json()["valid"] is False and "e.g. '0 7 * * 1-5'" in bad.json()["error"]
            created = await http.post(
                "/api/cron",
                json={"name": "x", "schedule": schedule, "command": "ccusage blocks --json"},
            )
            assert created.status_code == 400 and created.json()["examples"]
        zone = await http.post(
            "/api/cron",
            json={
                "name": "x",
                "schedule": "0 7 * * *",
                "command": "ccusage daily",
                "timezone": "Mars/Olympus",
            },
        )
        assert zone.status_code == 400 and "Mars/Olympus" in zone.json()["error"]


async def test_bad_jobs_are_4xx(cron_server: RunningServer) -> None:
    async with cron_server.client() as http:
        cases: list[tuple[Any, int, str]] = [
            (
                {"name": "x", "schedule": "* * * * *", "command": "rm -rf /"},
                400,
                "--allow-commands",
            ),
            ({"name": "x", "schedule": "* * * * *", "command": "claude hello"}, 400, "add -p"),
            (
                {"name": "x", "schedule": "* * * * *", "command": "claude -p 'open"},
                400,
                "No closing quotation",
            ),
            ({"name": "x", "schedule": "* * * * *"}, 400, "needs a command"),
            ({"name": "x", "command": "ccusage daily"}, 400, "needs a schedule"),
            ({"schedule": "* * * * *", "command": "ccusage daily"}, 400, "needs a name"),
            (
                {"name": "x", "schedule": "* * * * *", "command": "ccusage", "shell": True},
                422,
                "shell",
            ),
            (
                {"name": "x", "kind": "warmup", "resetAt": ["07:00", "12:30"]},
                400,
                "share their minute",
            ),
            ({"name": "x", "kind": "warmup", "resetAt": ["7h"]}, 422, "resetAt"),
            (
                {
                    "name": "x",
                    "kind": "warmup",
                    "schedule": "0 2 * * *",
                    "command": "ccusage daily",
                },
                400,
                "runs claude",
            ),
            (
                {
                    "name": "x",
                    "schedule": "0 2 * * *",
                    "command": "ccusage daily",
                    "model": "haiku",
                },
                400,
                "warm-up option",
            ),
            ([1, 2], 422, "invalid request"),
        ]
        for body, status, message in cases:
            response = await http.post("/api/cron", json=body)
            assert response.status_code == status, (body, response.text)
            assert message in response.json()["error"], (body, response.json())
        garbage = await http.post(
            "/api/cron", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert 400 <= garbage.status_code < 500
        assert (await http.get("/api/cron")).json() == {"jobs": []}


async def test_execute_answers_and_broadcasts(cron_server: RunningServer, doubles: Doubles) -> None:
    prompt = """Say "hi"; then $(curl evil) `rm -rf ~` | tee /etc/passwd"""
    async with cron_server.client() as http, socket(cron_server) as ws:
        await receive(ws, "initial-data")
        await send(ws, {"type": "subscribe", "channel": "cron"})
        await receive(ws, "subscribed")
        job = await _create(
            http,
            name="ask",
            schedule="0 7 * * *",
            command=f"claude -p '{prompt}' --output-format json",
        )
        answer = (await http.post(f"/api/cron/{job['id']}/execute")).json()
        assert answer["success"] is True and answer["error"] is None
        assert '"result":"OK"' in answer["output"] and answer["executedAt"].endswith("Z")
        assert answer["run"]["details"]["claude"]["costUSD"] == 0.012574  # sonnet, by default
        assert doubles.prompts() == [["-p", prompt, "--output-format", "json"]]

        event = await receive(ws, "cron_job_executed")
        assert event["jobId"] == job["id"] and event["name"] == "ask" and event["success"] is True
        assert (
            event["trigger"] == "manual"
            and event["instance"] == cron_server.services.scheduler.instance
        )
        assert "output" not in event

        runs = (await http.get(f"/api/cron/{job['id']}/runs")).json()["runs"]
        assert [r["trigger"] for r in runs] == ["manual"]
        metrics = (await http.get("/metrics")).text
        assert (
            'ccsync_cron_runs_total{kind="command",status="succeeded",trigger="manual"} 1.0'
            in metrics
        )
        assert runs[0]["exitCode"] == 0 and runs[0]["endedAt"] >= runs[0]["startedAt"]
        after = (await http.get(f"/api/cron/{job['id']}")).json()["job"]
        assert after["lastRun"] is not None and after["status"] == "inactive"


async def test_a_failing_run_marks_the_job_and_the_server_keeps_going(
    cron_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_DOUBLE_LOGGED_OUT", "1")
    async with cron_server.client() as http:
        job = await _create(
            http, name="ask", schedule="0 7 * * *", command="claude -p hi --output-format json"
        )
        answer = (await http.post(f"/api/cron/{job['id']}/execute")).json()
        assert answer["success"] is False and "not logged in" in answer["error"]
        stored = (await http.get(f"/api/cron/{job['id']}")).json()["job"]
        assert stored["status"] == "error" and "claude auth login" in stored["errorMessage"]
        status = (await http.get("/api/status")).json()
        assert status["tools"]["claude"]["found"] is True
        assert (await http.get("/health")).status_code == 200


async def test_scheduled_runs_fire_on_time(cron_server: RunningServer) -> None:
    async with cron_server.client() as http:
        job = await _create(
            http, name="blocks", schedule="* * * * * *", command="ccusage blocks --json"
        )
        assert job["enabled"] is True  # ccusage spends nothing
        deadline = time.monotonic() + 20
        runs: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            runs = (await http.get(f"/api/cron/{job['id']}/runs")).json()["runs"]
            if len([r for r in runs if r["status"] != "running"]) >= 3:
                break
            await asyncio.sleep(0.2)
        await http.post(f"/api/cron/{job['id']}/disable")
        done = [r for r in runs if r["status"] != "running"]
        assert len(done) >= 3, runs
        assert {r["trigger"] for r in done} == {"schedule"}
        assert all(r["status"] == "succeeded" for r in done), done
        fired = sorted(r["scheduledFor"] for r in done)
        assert len(set(fired)) == len(fired)  # one run per tick
        assert all(f.endswith(".000Z") for f in fired)
        for run in done:  # started within a second of its fire time
            lag = parse_ms(run["startedAt"]) - parse_ms(run["scheduledFor"])
            assert 0 <= lag < 1500, run
        assert (
            done[0]["details"]["ingest"]["deviceId"]
            == cron_server.services.scheduler.executor.host.device_id
        )
        status = (await http.get("/api/status")).json()["scheduler"]
        assert (
            status["available"] and status["jobs"] == 1 and status["exactlyOnce"]["claimsWon"] >= 3
        )


async def test_warmup_jobs(cron_server: RunningServer, doubles: Doubles) -> None:
    async with cron_server.client() as http:
        job = await _create(
            http,
            name="windows",
            kind="warmup",
            resetAt=["07:00", "12:00", "17:00", "22:00"],
            timezone="UTC",
        )
        assert job["schedule"] == "0 2,7,12,17 * * *" and job["enabled"] is False
        assert job["command"] == (
            "claude -p 'Reply with OK.' --model haiku --max-turns 1 "
            "--output-format stream-json --verbose"
        )
        assert job["options"] == {"resetAt": ["07:00", "12:00", "17:00", "22:00"]}
        changed = (
            await http.put(f"/api/cron/{job['id']}", json={"model": "sonnet", "monthlyCap": 20})
        ).json()["job"]
        assert "--model sonnet" in changed["command"] and changed["options"]["monthlyCap"] == 20
        first = (await http.post(f"/api/cron/{job['id']}/execute")).json()
        assert first["success"] is True and first["run"]["details"]["warmup"]["action"] == "send"
        assert first["run"]["details"]["claude"]["models"] == {"claude-sonnet-5-5": 23_017}
        # The stream's rate_limit_event became the server host's official reading.
        host = cron_server.services.scheduler.executor.host
        official = (await http.get("/api/window")).json()["official"]
        assert official["fiveHour"]["usedPercentage"] == 23.5
        assert official["fiveHour"]["source"] == "warmup"
        assert official["fiveHour"]["deviceId"] == host.device_id
        assert official["sevenDay"]["usedPercentage"] == 41.2
        # So the next start time sees the window it started.
        second = (await http.post(f"/api/cron/{job['id']}/execute")).json()
        assert second["status"] == "skipped" and "already running" in second["output"]
        assert second["run"]["details"]["warmup"]["basis"] == "official"
        assert len(doubles.prompts()) == 1
        # The first one started a window, as the new official reset shows.
        started = first["run"]["windowStarted"]
        reset = official["fiveHour"]["resetsAt"]
        assert started == {"verified": True, "by": "official", "resetsAt": reset}
        assert started == first["run"]["details"]["windowStarted"]
        runs = (await http.get(f"/api/cron/{job['id']}/runs")).json()["runs"]
        assert [run["windowStarted"] for run in runs] == [None, started]  # newest first


async def test_warmup_checks_and_catch_up_are_options(cron_server: RunningServer) -> None:
    async with cron_server.client() as http:
        job = await _create(
            http,
            name="windows",
            kind="warmup",
            startAt=["06:00"],
            verifySeconds=60,
            catchUpMinutes=0,
        )
        assert job["options"] == {"startAt": ["06:00"], "verifySeconds": 60, "catchUpMinutes": 0}
        for field, value in (("verifySeconds", -1), ("catchUpMinutes", 24 * 60 + 1)):
            refused = await http.put(f"/api/cron/{job['id']}", json={field: value})
            assert refused.status_code == 422 and field in refused.json()["error"]
        blocks = await http.post(
            "/api/cron",
            json={"name": "b", "schedule": "0 6 * * *", "command": "ccusage blocks --json"}
            | {"catchUpMinutes": 15, "verifySeconds": 5},
        )
        assert blocks.status_code == 400 and "'verifySeconds' is a warm-up option" in blocks.text


async def test_status_shows_scheduler_and_claude(cron_server: RunningServer) -> None:
    async with cron_server.client() as http:
        await _create(http, name="a", schedule="0 3 * * *", command="ccusage blocks --json")
        status = (await http.get("/api/status")).json()
    scheduler = status["scheduler"]
    assert scheduler["available"] is True and scheduler["enabledJobs"] == 1
    assert scheduler["nextFire"]["name"] == "a" and scheduler["nextFire"]["at"].endswith(
        "T03:00:00.000Z"
    )
    backend = cron_server.services.live.backend
    assert scheduler["exactlyOnce"]["mode"] == ("claims" if backend == "redis" else "single-node")
    claude = status["tools"]["claude"]
    assert claude["found"] and claude["version"] == "2.1.332 (Claude Code)"
    assert claude["auth"] == {
        "loggedIn": True,
        "authMethod": "claude.ai",
        "apiProvider": "firstParty",
        "subscriptionType": "max",
    }


async def test_tokens_mode_needs_admin_for_cron(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    doubles: Doubles,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doubles.install(monkeypatch)
    async with backend_server(
        request, "memory+sqlite", tmp_path, admin_token="ccs_admin"
    ) as running:
        async with running.client() as anonymous:
            assert (await anonymous.get("/api/cron")).status_code == 401
        async with running.client("ccs_admin") as admin:
            assert (
                await admin.post(
                    "/api/cron",
                    json={"name": "a", "schedule": "0 3 * * *", "command": "ccusage blocks --json"},
                )
            ).status_code == 201


def parse_ms(iso: str) -> int:
    ms = parse_timestamp(iso)
    assert ms is not None, iso
    return ms
