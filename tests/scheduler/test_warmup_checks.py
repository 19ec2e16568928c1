"""Warm-ups check themselves, and a tick missed while no server ran is caught up in time.

In-process on real stores (SQLite, memory) with a fixed clock; the ``claude`` double on
``PATH`` writes its transcript under ``$CLAUDE_CONFIG_DIR``, which the server's own host
agent follows (synced here when the run waits, as its watcher would).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from ccsync.clock import FixedClock
from ccsync.scheduler.definitions import JobSpec
from ccsync.scheduler.service import Scheduler
from ccsync.services import Services, build_services
from ccsync.settings import Settings
from ccsync.storage.history.jobs import RunRecord
from ccsync.usage.timestamps import iso_millis
from ccsync.wire import UsagePush
from fixtures.doubles import Doubles
from fixtures.payloads import now_entry

pytestmark = pytest.mark.timeout(60)

S = 1_000
M = 60 * S
H = 60 * M
START = int(datetime(2027, 3, 10, 6, 0, tzinfo=UTC).timestamp() * 1000)
"""The warm-up's fire time in these tests (``startAt`` 06:00 UTC)."""


@dataclass
class Server:
    services: Services
    clock: FixedClock
    monkeypatch: pytest.MonkeyPatch
    host_agent_syncs: bool = True
    """While a run waits, the host agent picks up the transcript claude wrote."""

    @property
    def scheduler(self) -> Scheduler:
        return self.services.scheduler

    def at(self, ms: int) -> None:
        """Set the server's clock, and the double's (its resets and transcript times)."""
        self.clock.ms = ms
        self.monkeypatch.setenv("CLAUDE_DOUBLE_NOW", str(ms / 1000))

    async def warmup(self, **options: object) -> str:
        job = await self.scheduler.create_job(
            JobSpec(
                name="mornings",
                kind="warmup",
                start_at=["06:00"],
                timezone="UTC",
                enabled=True,
                options=dict(options),
            )
        )
        return job.id

    async def runs(self, job_id: str) -> list[RunRecord]:
        return await self.services.history.jobs.runs(job_id)


@pytest.fixture
async def server(
    tmp_path: Path, doubles: Doubles, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Server]:
    doubles.install(monkeypatch)
    claude = tmp_path / "claude"
    (claude / "projects").mkdir(parents=True)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(claude))
    settings = Settings(
        data_dir=tmp_path / "data",
        local_agent=True,
        claude_dirs=(str(claude),),
        allow_commands=False,
    )
    clock = FixedClock(START)
    async with build_services(settings, clock, start_loops=False) as services:
        running = Server(services, clock, monkeypatch)
        running.at(START)
        host_agent = services.host_agent
        assert host_agent is not None

        async def sleep(seconds: float) -> None:  # the run's waits, on the fixed clock
            clock.advance(int(seconds * 1000))
            if running.host_agent_syncs:
                await host_agent.sync()

        services.scheduler.executor.sleep = sleep
        yield running


# -- verified: a window started -------------------------------------------------------------


async def test_a_new_official_reset_verifies_the_warmup(server: Server) -> None:
    """A subscriber's stream carries the 5-hour reading: its reset is new."""
    run = await server.scheduler.execute(await server.warmup())
    assert run.status == "succeeded", run.error
    assert run.details["windowStarted"] == {
        "verified": True,
        "by": "official",
        "resetsAt": iso_millis(START + 2 * H),  # the double's reset: two hours on
    }
    assert server.clock.now_ms() == START  # known at once: nothing waited


async def test_its_own_usage_line_verifies_the_warmup(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An API-key login streams no reading; the transcript's line reaches the server through
    the host agent while the run waits for it."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-test")
    run = await server.scheduler.execute(await server.warmup())
    assert run.status == "succeeded", run.error
    assert "rateLimits" not in run.details
    assert run.details["windowStarted"] == {
        "verified": True,
        "by": "usage",
        "blockStart": iso_millis(START),
        "firstRequest": iso_millis(START),
    }
    assert server.clock.now_ms() == START + 2 * S  # found at the first look after a wait
    host = server.scheduler.executor.host
    window = await server.services.reporter.current_window(host.account)
    assert window.block is not None
    assert {item.device for item in window.block.entries} == {host.device_id}


async def test_neither_means_not_verified(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-test")
    server.host_agent_syncs = False  # the line never arrives
    run = await server.scheduler.execute(await server.warmup(verifySeconds=5))
    assert run.status == "succeeded", run.error
    assert run.details["windowStarted"] == {
        "verified": False,
        "reason": "no official reading since the prompt went out; "
        "no synced usage line of it (waited 5 s)",
    }
    assert server.clock.now_ms() == START + 5 * S  # waited verifySeconds, no longer


async def test_a_warmup_the_limit_stopped_started_nothing(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_DOUBLE_LIMIT", "1")
    run = await server.scheduler.execute(await server.warmup())
    assert run.status == "failed" and run.details["sent"] is True
    assert run.details["limitReached"] is True
    assert run.details["windowStarted"] == {
        "verified": False,
        "reason": "the 5-hour limit stopped the prompt (the window resets 2027-03-10 07:00Z)",
    }
    assert server.clock.now_ms() == START  # no waiting for a line that started nothing


async def test_a_warmup_not_sent_checks_nothing(server: Server) -> None:
    job_id = await server.warmup()
    assert (await server.scheduler.execute(job_id)).details["windowStarted"]["verified"]
    server.at(START + 10 * M)
    again = await server.scheduler.execute(job_id)  # the window it started runs
    assert again.status == "skipped" and "windowStarted" not in again.details


# -- catch-up after a missed tick ------------------------------------------------------------


async def _tick(scheduler: Scheduler) -> list[RunRecord | None]:
    """One look of the loop, and the runs it started, once they ended."""
    await scheduler._tick()
    tasks = list(scheduler.runner._tasks)
    return list(await asyncio.gather(*tasks))


def _started_now(server: Server) -> Scheduler:
    """A server process started now (no tick seen yet), beside the fixture's."""
    services = server.services
    return Scheduler(
        jobs=services.history.jobs,
        settings=services.history.settings,
        values=services.live.values,
        bus=services.live.events,
        executor=services.scheduler.executor,
        clock=server.clock,
        allow_commands=False,
    )


async def test_a_tick_missed_10_minutes_ago_runs_once_as_a_catch_up(
    server: Server, doubles: Doubles
) -> None:
    server.at(START - H)
    job_id = await server.warmup()
    server.at(START + 10 * M)  # the server starts after the 06:00 tick
    [run] = await _tick(server.scheduler)
    assert run is not None and run.status == "succeeded", run
    assert run.trigger == "schedule" and run.scheduled_ms == START
    assert run.details["catchUp"] == {"lateSeconds": 600}
    assert run.details["warmup"]["action"] == "send" and run.details["windowStarted"]["verified"]
    assert len(doubles.prompts()) == 1
    # Once: neither this loop's next look nor another server started now runs it again.
    server.at(START + 12 * M)
    assert await _tick(server.scheduler) == []
    assert await _tick(_started_now(server)) == []
    assert len(await server.runs(job_id)) == 1


async def test_a_tick_missed_2_hours_ago_is_not_made_up(server: Server, doubles: Doubles) -> None:
    server.at(START - H)
    job_id = await server.warmup()
    server.at(START + 2 * H)
    assert await _tick(server.scheduler) == []
    assert await server.runs(job_id) == [] and doubles.prompts() == []


async def test_a_loop_that_slept_through_the_tick_catches_it_up_within_the_grace(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    server.at(START - H)
    job_id = await server.warmup(catchUpMinutes=15)
    server.at(START - M)
    assert await _tick(server.scheduler) == []  # the loop looked before the tick…
    server.at(START + 20 * M)  # …and the machine slept through it: too late
    with caplog.at_level(logging.WARNING, logger="ccsync.scheduler"):
        assert await _tick(server.scheduler) == []
    missed = [r for r in caplog.records if r.getMessage() == "cron.tick_missed"]
    assert [(r.__dict__["scheduled"], r.__dict__["late_seconds"]) for r in missed] == [
        (iso_millis(START), 1200)
    ]
    # The next day's tick, slept through by 10 minutes only, runs.
    server.at(START + 23 * H)
    assert await _tick(server.scheduler) == []
    server.at(START + 24 * H + 10 * M)
    [run] = await _tick(server.scheduler)
    assert run is not None and run.scheduled_ms == START + 24 * H
    assert run.details["catchUp"] == {"lateSeconds": 600}
    assert [r.scheduled_ms for r in await server.runs(job_id)] == [START + 24 * H]


async def test_a_catch_up_while_a_window_runs_is_skipped(server: Server, doubles: Doubles) -> None:
    """Never a ping into a running window, caught up or not."""
    server.at(START - H)
    job_id = await server.warmup()
    server.at(START + 10 * M)
    host = server.scheduler.executor.host
    push = msgspec.convert(
        {"entries": [now_entry(START + 10 * M, 1, minutes_ago=30)], "account": host.account},
        UsagePush,
    )
    await server.services.ingest.push("laptop", push)  # a window since 05:40, to 10:00
    [run] = await _tick(server.scheduler)
    assert run is not None and run.status == "skipped"
    assert run.output == "a window is already running for another 3 h 50 min (synced)"
    assert run.details["catchUp"] == {"lateSeconds": 600}
    assert "windowStarted" not in run.details and doubles.prompts() == []
    assert [r.id for r in await server.runs(job_id)] == [run.id]


async def test_other_jobs_catch_up_only_when_asked(server: Server) -> None:
    """As cron: a command job's tick missed while no server ran is not made up, unless the
    job has a grace of its own."""
    server.at(START - H)
    plain = await server.scheduler.create_job(
        JobSpec(name="blocks", schedule="0 6 * * *", command="ccusage blocks --json")
    )
    graced = await server.scheduler.create_job(
        JobSpec(
            name="graced",
            schedule="0 6 * * *",
            command="ccusage blocks --json",
            options={"catchUpMinutes": 30},
        )
    )
    server.at(START + 10 * M)
    [run] = await _tick(server.scheduler)
    assert run is not None and run.job_id == graced.id and run.status == "succeeded"
    assert await server.runs(plain.id) == []
