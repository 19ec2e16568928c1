"""Runs of every kind, in-process on real stores (SQLite, memory) with a fixed clock.

The programs are real processes: the ``claude`` and ``ccusage`` doubles on ``PATH``.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pytest

from ccsync.clock import FixedClock
from ccsync.scheduler.definitions import JobError, JobSpec
from ccsync.scheduler.execution import NOT_INSTALLED, NOT_LOGGED_IN
from ccsync.services import Services, build_services
from ccsync.settings import Settings
from ccsync.wire import RateLimit, RateLimits, UsagePush
from fixtures.doubles import RECORDED_BLOCKS, Doubles
from fixtures.payloads import now_entry

pytestmark = pytest.mark.timeout(60)

M = 60_000
H = 60 * M
START = int(datetime(2027, 3, 10, 6, 0, tzinfo=UTC).timestamp() * 1000)


@pytest.fixture
async def running(
    tmp_path: Path, doubles: Doubles, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Services, FixedClock]]:
    doubles.install(monkeypatch)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    clock = FixedClock(START)
    settings = Settings(data_dir=tmp_path / "data", local_agent=False, allow_commands=False)
    async with build_services(settings, clock) as services:
        # The warm-up's wait advances the fixed clock instead of sleeping.
        async def sleep(seconds: float) -> None:
            clock.advance(int(seconds * 1000))

        services.scheduler.executor.sleep = sleep
        yield services, clock


async def _job(services: Services, **fields: object) -> str:
    job = await services.scheduler.create_job(JobSpec(**fields))  # type: ignore[arg-type]
    return str(job["id"])


async def test_a_claude_job_records_the_result(
    running: tuple[Services, FixedClock], doubles: Doubles
) -> None:
    services, _ = running
    prompt = "Summarise; don't $(run) `this` | or > that"
    command = shlex.join(["claude", "-p", prompt, "--model", "haiku", "--output-format", "json"])
    job_id = await _job(services, name="ask", schedule="0 7 * * *", command=command)
    run = await services.scheduler.execute(job_id)
    assert run.status == "succeeded" and run.exit_code == 0 and run.trigger == "manual"
    assert doubles.prompts() == [["-p", prompt, "--model", "haiku", "--output-format", "json"]]
    claude = run.details["claude"]
    assert claude["isError"] is False and claude["costUSD"] == 0.00162 and claude["tokens"] == 1213
    job = await services.scheduler.get_job(job_id)
    assert job["status"] == "inactive" and job["lastRun"] is not None  # claude jobs start disabled
    assert job["enabled"] is False


async def test_logged_out_claude_fails_the_run_clearly(
    running: tuple[Services, FixedClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, _ = running
    monkeypatch.setenv("CLAUDE_DOUBLE_LOGGED_OUT", "1")
    job_id = await _job(
        services, name="ask", schedule="0 7 * * *", command="claude -p hi --output-format json"
    )
    run = await services.scheduler.execute(job_id)
    assert run.status == "failed" and run.exit_code == 1
    assert run.error == NOT_LOGGED_IN
    job = await services.scheduler.get_job(job_id)
    assert job["status"] == "error" and job["errorMessage"] == NOT_LOGGED_IN


async def test_missing_claude_fails_the_run_clearly(
    running: tuple[Services, FixedClock], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    services, _ = running
    job_id = await _job(services, name="ask", schedule="0 7 * * *", command="claude -p hi")
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    run = await services.scheduler.execute(job_id)
    assert run.status == "failed" and run.exit_code is None and run.error == NOT_INSTALLED


async def test_a_usage_limit_result_is_the_error(
    running: tuple[Services, FixedClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, _ = running
    monkeypatch.setenv("CLAUDE_DOUBLE_LIMIT", "1")
    job_id = await _job(
        services, name="ask", schedule="0 7 * * *", command="claude -p hi --output-format json"
    )
    run = await services.scheduler.execute(job_id)
    assert run.status == "failed"
    assert run.error == "claude: You've hit your session limit · resets 3:45pm"


async def test_a_timeout_is_recorded(
    running: tuple[Services, FixedClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, _ = running
    monkeypatch.setenv("CLAUDE_DOUBLE_SLEEP", "30")
    job_id = await _job(
        services,
        name="slow",
        schedule="0 7 * * *",
        command="claude -p hi",
        options={"timeoutSeconds": 1},
    )
    run = await services.scheduler.execute(job_id)
    assert run.status == "timeout" and run.exit_code == 143
    assert "timed out" in (run.error or "")


async def test_ccusage_blocks_are_ingested_as_the_host(
    running: tuple[Services, FixedClock],
) -> None:
    services, _ = running
    job_id = await _job(
        services, name="blocks", schedule="*/5 * * * *", command="ccusage blocks --json"
    )
    assert (await services.scheduler.get_job(job_id))["enabled"] is True  # spends nothing
    run = await services.scheduler.execute(job_id)
    assert run.status == "succeeded", run.error
    host = services.scheduler.executor.host
    recorded = msgspec.json.decode(RECORDED_BLOCKS.read_bytes())
    assert run.details["ingest"]["deviceId"] == host.device_id
    assert run.details["ingest"]["blocks"] == len(recorded["blocks"])
    stored = await services.history.blocks(host.account, host.device_id)
    assert {b.block_id for b in stored} == {b["id"] for b in recorded["blocks"]}


async def test_other_programs_only_with_allow_commands(
    running: tuple[Services, FixedClock],
) -> None:
    services, _ = running
    with pytest.raises(JobError, match="--allow-commands"):
        await _job(services, name="x", schedule="* * * * *", command="python3 -c 'print(1)'")
    services.scheduler.allow_commands = True
    job_id = await _job(services, name="x", schedule="* * * * *", command="python3 -c 'print(1)'")
    services.scheduler.allow_commands = False
    # The server restarted without the flag: the stored job does not run.
    run = await services.scheduler.execute(job_id)
    assert run.status == "failed" and "--allow-commands" in (run.error or "")
    services.scheduler.executor.allow_commands = True
    run = await services.scheduler.execute(job_id)
    assert run.status == "succeeded" and run.output == "1\n"


# -- warm-up --------------------------------------------------------------------------------


async def _warmup(services: Services, **options: object) -> str:
    return await _job(
        services,
        name="warm",
        kind="warmup",
        reset_at=["11:00", "16:00"],
        timezone="UTC",
        options=options,
    )


async def test_warmup_is_sent_when_no_window_runs(
    running: tuple[Services, FixedClock], doubles: Doubles
) -> None:
    services, _ = running
    job_id = await _warmup(services)
    job = await services.scheduler.get_job(job_id)
    assert job["schedule"] == "0 6,11 * * *" and job["enabled"] is False
    run = await services.scheduler.execute(job_id)
    assert run.status == "succeeded", run.error
    assert run.details["warmup"]["action"] == "send" and run.details["sent"] is True
    assert doubles.prompts() == [
        ["-p", "Reply with OK.", "--model", "haiku", "--max-turns", "1", "--output-format", "json"]
    ]


async def test_warmup_is_skipped_while_the_window_runs(
    running: tuple[Services, FixedClock], doubles: Doubles
) -> None:
    services, clock = running
    host = services.scheduler.executor.host
    push = msgspec.convert(
        {"entries": [now_entry(clock.now_ms(), 1, minutes_ago=30)], "account": host.account},
        UsagePush,
    )
    await services.ingest.push("laptop", push)
    job_id = await _warmup(services)
    run = await services.scheduler.execute(job_id)
    assert run.status == "skipped" and "already running" in run.output
    assert run.details["warmup"]["basis"] == "synced"
    assert doubles.prompts() == []


async def test_warmup_trusts_the_official_reset(
    running: tuple[Services, FixedClock], doubles: Doubles
) -> None:
    services, clock = running
    host = services.scheduler.executor.host
    resets = (clock.now_ms() + 2 * H) / 1000
    limits = RateLimits(
        five_hour=RateLimit(used_percentage=12, resets_at=resets), account=host.account
    )
    await services.ingest.report_limits("laptop", limits)
    job_id = await _warmup(services)
    run = await services.scheduler.execute(job_id)
    assert run.status == "skipped" and run.details["warmup"]["basis"] == "official"
    assert doubles.prompts() == []


async def test_warmup_waits_for_a_window_about_to_end(
    running: tuple[Services, FixedClock], doubles: Doubles
) -> None:
    services, clock = running
    host = services.scheduler.executor.host
    resets = (clock.now_ms() + 10 * M) / 1000
    limits = RateLimits(
        five_hour=RateLimit(used_percentage=80, resets_at=resets), account=host.account
    )
    await services.ingest.report_limits("laptop", limits)
    job_id = await _warmup(services)
    before = clock.now_ms()
    run = await services.scheduler.execute(job_id)
    assert run.status == "succeeded" and run.details["warmup"]["action"] == "send"
    assert clock.now_ms() - before == 10 * M + 5_000  # waited (on the fixed clock) until the reset
    assert len(doubles.prompts()) == 1


async def test_warmup_cooldown_and_monthly_cap(
    running: tuple[Services, FixedClock], doubles: Doubles
) -> None:
    services, clock = running
    job_id = await _warmup(services, cooldownMinutes=60, monthlyCap=2)
    assert (await services.scheduler.execute(job_id)).status == "succeeded"
    clock.advance(30 * M)
    cooled = await services.scheduler.execute(job_id)
    assert cooled.status == "skipped" and "cooldown" in cooled.output
    clock.advance(31 * M)
    assert (await services.scheduler.execute(job_id)).status == "succeeded"
    clock.advance(6 * H)
    capped = await services.scheduler.execute(job_id)
    assert capped.status == "skipped" and "monthly cap reached: 2 of 2" in capped.output
    assert len(doubles.prompts()) == 2
    # A new month starts a new count.
    clock.ms = int(datetime(2027, 4, 1, 0, 5, tzinfo=UTC).timestamp() * 1000)
    assert (await services.scheduler.execute(job_id)).status == "succeeded"
    assert len(doubles.prompts()) == 3


async def test_failed_starts_do_not_count_toward_the_cap(
    running: tuple[Services, FixedClock], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    services, clock = running
    job_id = await _warmup(services, cooldownMinutes=0, monthlyCap=1)
    with_doubles = os.environ["PATH"]
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    missing = await services.scheduler.execute(job_id)
    assert missing.status == "failed" and missing.details["sent"] is False
    monkeypatch.setenv("PATH", with_doubles)
    clock.advance(M)
    assert (await services.scheduler.execute(job_id)).status == "succeeded"


async def test_shutdown_stops_a_run_and_records_it(
    running: tuple[Services, FixedClock], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    services, _ = running
    pidfile = tmp_path / "child.pid"
    monkeypatch.setenv("CLAUDE_DOUBLE_SLEEP", "60")
    monkeypatch.setenv("CLAUDE_DOUBLE_IGNORE_TERM", "1")
    monkeypatch.setenv("CLAUDE_DOUBLE_CHILD_PIDFILE", str(pidfile))
    job_id = await _job(services, name="long", schedule="0 7 * * *", command="claude -p hi")
    pending = asyncio.create_task(services.scheduler.execute(job_id))
    for _ in range(200):
        if pidfile.exists() and pidfile.read_text():
            break
        await asyncio.sleep(0.05)
    assert services.scheduler.busy == {job_id}
    started = time.monotonic()
    await services.scheduler.aclose()
    assert time.monotonic() - started < 8
    with pytest.raises(asyncio.CancelledError):
        await pending
    [run] = await services.history.jobs.runs(job_id)
    assert run.status == "cancelled" and run.error == "the server stopped during the run"
    child = int(pidfile.read_text())
    for _ in range(100):
        if (
            not Path(f"/proc/{child}").exists()
            or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]
        ):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the run's child process outlived the shutdown")
