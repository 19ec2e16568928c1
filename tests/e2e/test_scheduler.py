"""The scheduler across real server processes: replicas fire each tick once; restarts keep
jobs and history. The jobs run the ``claude``/``ccusage`` doubles found on ``PATH``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import pytest

from ccsync.scheduler.schedule import Schedule
from ccsync.usage.timestamps import parse_timestamp
from fixtures.doubles import Doubles
from fixtures.processes import server_process, wait_for

pytestmark = pytest.mark.timeout(180)


def _runs(url: str, job_id: str) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = httpx.get(
        f"{url}/api/cron/{job_id}/runs", params={"limit": 500}, timeout=10
    ).json()["runs"]
    return runs


@pytest.mark.services
def test_two_replicas_run_each_tick_once(
    tmp_path: Path,
    doubles: Doubles,
    redis_url: str,
    redis_prefix: str,
    database_url: str,
    pg_schema: str,
) -> None:
    separator = "&" if "?" in database_url else "?"
    env = {
        **doubles.env,
        "REDIS_URL": redis_url,
        "CCSYNC_REDIS_PREFIX": redis_prefix,
        "DATABASE_URL": f"{database_url}{separator}schema={quote(pg_schema)}",
        "CLAUDE_CONFIG_DIR": str(tmp_path / "claude"),
    }
    with (
        server_process(tmp_path / "a", **env) as first,
        server_process(tmp_path / "b", **env) as second,
    ):
        created = httpx.post(
            f"{first.url}/api/cron",
            json={
                "name": "every two seconds",
                "schedule": "*/2 * * * * *",
                "command": "claude -p 'tick; $(date)' --model haiku --output-format json",
                "enabled": True,
            },
            timeout=10,
        )
        assert created.status_code == 201, created.text
        job_id = created.json()["job"]["id"]
        created_ms = parse_ms(created.json()["job"]["createdAt"])
        time.sleep(10)
        disabled = httpx.post(f"{second.url}/api/cron/{job_id}/disable", timeout=10)
        disabled_ms = int(time.time() * 1000)
        assert disabled.status_code == 200
        wait_for(lambda: all(r["status"] != "running" for r in _runs(first.url, job_id)), 20)
        runs = _runs(second.url, job_id)
        statuses = (
            httpx.get(f"{first.url}/api/status", timeout=10).json()["scheduler"],
            httpx.get(f"{second.url}/api/status", timeout=10).json()["scheduler"],
        )

    fired = [parse_ms(r["scheduledFor"]) for r in runs]
    assert len(fired) == len(set(fired)), "a tick ran twice"
    assert all(t % 2000 == 0 for t in fired)
    # Every tick well inside the 10 seconds ran (the edges depend on when the loops looked).
    inside = {
        t
        for t in range(created_ms - created_ms % 2000 + 2000, disabled_ms, 2000)
        if created_ms + 1000 < t < disabled_ms - 1000
    }
    assert inside <= set(fired), (sorted(inside), sorted(fired))
    assert 4 <= len(fired) <= 6
    assert all(r["status"] == "succeeded" and r["trigger"] == "schedule" for r in runs), runs
    # The program ran once per recorded tick, in total over both processes.
    assert len(doubles.prompts()) == len(runs)
    assert all(argv[1] == "tick; $(date)" for argv in doubles.prompts())
    instances = {r["instance"] for r in runs}
    assert instances <= {statuses[0]["instance"], statuses[1]["instance"]}
    won = statuses[0]["exactlyOnce"]["claimsWon"] + statuses[1]["exactlyOnce"]["claimsWon"]
    lost = statuses[0]["exactlyOnce"]["claimsLost"] + statuses[1]["exactlyOnce"]["claimsLost"]
    assert won == len(runs) and lost >= len(runs) - 1  # both tried (nearly) every tick
    assert statuses[0]["exactlyOnce"]["mode"] == "claims"


def test_jobs_and_runs_survive_a_restart(tmp_path: Path, doubles: Doubles) -> None:
    env = {**doubles.env, "CLAUDE_CONFIG_DIR": str(tmp_path / "claude")}
    data = tmp_path / "server"
    with server_process(data, **env) as server:
        nightly = httpx.post(
            f"{server.url}/api/cron",
            json={
                "name": "nightly",
                "schedule": "15 3 * * *",
                "command": "ccusage blocks --json",
                "timezone": "America/New_York",
            },
            timeout=10,
        ).json()["job"]
        ticking = httpx.post(
            f"{server.url}/api/cron",
            json={"name": "ticking", "schedule": "* * * * * *", "command": "ccusage blocks --json"},
            timeout=10,
        ).json()["job"]
        manual = httpx.post(f"{server.url}/api/cron/{nightly['id']}/execute", timeout=30).json()
        assert manual["success"] is True
        wait_for(lambda: len(_runs(server.url, ticking["id"])) >= 2, 20)
        before_jobs = httpx.get(f"{server.url}/api/cron", timeout=10).json()["jobs"]
        before_runs = _runs(server.url, nightly["id"])
        first_instance = before_runs[0]["instance"]

    with server_process(data, **env) as server:
        jobs = {
            job["id"]: job for job in httpx.get(f"{server.url}/api/cron", timeout=10).json()["jobs"]
        }
        assert set(jobs) == {job["id"] for job in before_jobs}
        for job in before_jobs:
            again = jobs[job["id"]]
            same = {k: v for k, v in again.items() if k not in ("nextRun", "lastRun", "status")}
            assert same == {
                k: v for k, v in job.items() if k not in ("nextRun", "lastRun", "status")
            }
        assert _runs(server.url, nightly["id"]) == before_runs
        # nextRun is computed again from the schedule and the clock.
        now = int(time.time() * 1000)
        expected = Schedule.parse("15 3 * * *").next_after(now, ZoneInfo("America/New_York"))
        assert expected is not None
        assert parse_ms(jobs[nightly["id"]]["nextRun"]) == expected
        assert parse_ms(jobs[ticking["id"]]["nextRun"]) - now <= 2_000
        # And the enabled job fires again, from the new process.
        wait_for(
            lambda: any(r["instance"] != first_instance for r in _runs(server.url, ticking["id"])),
            20,
        )


def parse_ms(iso: str) -> int:
    ms = parse_timestamp(iso)
    assert ms is not None, iso
    return ms
