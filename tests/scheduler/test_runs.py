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
from ccsync.scheduler.claude import BARE_LOGIN, NOT_LOGGED_IN
from ccsync.scheduler.definitions import JobError, JobSpec
from ccsync.scheduler.execution import NOT_INSTALLED
from ccsync.services import Services, build_services
from ccsync.settings import Settings
from ccsync.storage.history.jobs import JobRecord
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
    monkeypatch.setenv("CLAUDE_DOUBLE_NOW", str(START // 1000))  # its resets, on this clock
    clock = FixedClock(START)
    settings = Settings(data_dir=tmp_path / "data", local_agent=False, allow_commands=False)
    async with build_services(settings, clock, start_loops=False) as services:
        # The warm-up's wait advances the fixed clock instead of sleeping.
        async def sleep(seconds: float) -> None:
            clock.advance(int(seconds * 1000))

        services.scheduler.executor.sleep = sleep
        yield services, clock


async def _job(services: Services, **fields: object) -> str:
    job = await services.scheduler.create_job(JobSpec(**fields))  # type: ignore[arg-type]
    return job.id


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
    assert claude["isError"] is False and claude["tokens"] == 12 + 5 + 20_000 + 3_000
    assert claude["costUSD"] == pytest.approx(0.0007287)  # what 2.1.332 charged for it
    assert claude["models"] == {"claude-haiku-5-5": 23_017}
    assert "rateLimits" not in run.details  # json output carries no rate_limit_event
    job = await services.scheduler.get_job(job_id)
    assert job.status == "inactive" and job.last_run is not None  # claude jobs start disabled
    assert job.enabled is False


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
    assert job.status == "error" and job.error_message == NOT_LOGGED_IN


async def test_bare_says_why_it_is_not_logged_in(running: tuple[Services, FixedClock]) -> None:
    """claude is logged in (a subscription), but --bare reads only ANTHROPIC_API_KEY."""
    services, _ = running
    job_id = await _job(services, name="ask", schedule="0 7 * * *", command="claude -p hi --bare")
    run = await services.scheduler.execute(job_id)
    assert run.status == "failed"
    assert run.error == f"claude: Not logged in · Please run /login ({BARE_LOGIN})"


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
    assert run.status == "failed" and run.details["claude"]["apiErrorStatus"] == 429
    # The double's clock is START (06:00 UTC); the limit resets an hour later.
    assert run.error == "claude: You've hit your 5-hour limit · resets 7:00am (UTC)"
    assert run.details["claude"]["costUSD"] == 0 and run.details["claude"]["models"] == {}


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
    assert (await services.scheduler.get_job(job_id)).enabled is True  # spends nothing
    run = await services.scheduler.execute(job_id)
    assert run.status == "succeeded", run.error
    host = services.scheduler.executor.host
    recorded = msgspec.json.decode(RECORDED_BLOCKS.read_bytes())
    assert run.details["ingest"]["deviceId"] == host.device_id
    assert run.details["ingest"]["blocks"] == len(recorded["blocks"])
    stored = await services.history.blocks.blocks(host.account, host.device_id)
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
    assert job.schedule == "0 6,11 * * *" and job.enabled is False
    run = await services.scheduler.execute(job_id)
    assert run.status == "succeeded", run.error
    assert run.details["warmup"]["action"] == "send" and run.details["sent"] is True
    assert doubles.prompts() == [
        [
            "-p",
            "Reply with OK.",
            "--model",
            "haiku",
            "--max-turns",
            "1",
            "--output-format",
            "stream-json",
            "--verbose",
        ]
    ]
    assert run.details["claude"]["models"] == {"claude-haiku-5-5": 23_017}


async def test_a_warmup_stored_by_an_older_version_streams(
    running: tuple[Services, FixedClock], doubles: Doubles
) -> None:
    services, _ = running
    stored = JobRecord(
        id="old-warmup",
        name="mornings",
        schedule="0 6 * * *",
        command="claude -p 'Reply with OK.' --model haiku --max-turns 1 --output-format json",
        kind="warmup",
        options={"resetAt": ["11:00"]},
        created_ms=START,
        updated_ms=START,
    )
    await services.history.jobs.create_job(stored)
    job = await services.scheduler.get_job("old-warmup")
    assert job.command.endswith("--output-format stream-json --verbose")
    run = await services.scheduler.execute("old-warmup")
    assert run.status == "succeeded" and run.details["rateLimits"]["reported"] is True
    assert doubles.prompts()[0][-3:] == ["--output-format", "stream-json", "--verbose"]


async def test_a_warmup_hands_the_official_reading_to_the_server(
    running: tuple[Services, FixedClock],
) -> None:
    """The stream's rate_limit_event is the host's official reading, as a status line's."""
    services, clock = running
    host = services.scheduler.executor.host
    job_id = await _warmup(services)
    run = await services.scheduler.execute(job_id)
    assert run.status == "succeeded", run.error
    now = START // 1000
    assert run.details["rateLimits"] == {
        "five_hour": {"used_percentage": 23.5, "resets_at": now + 7_200},
        "seven_day": {"used_percentage": 41.2, "resets_at": now + 400_000},
        "reported": True,
        "deviceId": host.device_id,
    }
    official = (await services.reporter.current_window(host.account)).official
    assert official["fiveHour"].used_percentage == 23.5
    assert official["fiveHour"].resets_at_ms == (now + 7_200) * 1000
    assert official["fiveHour"].device_id == host.device_id
    assert official["sevenDay"].used_percentage == 41.2
    # The next start time finds the window it started running, by the official reset.
    clock.advance(61 * M)
    again = await services.scheduler.execute(job_id)
    assert again.status == "skipped" and again.details["warmup"]["basis"] == "official"


async def test_a_warmup_that_hits_the_limit_reads_it(
    running: tuple[Services, FixedClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, _ = running
    monkeypatch.setenv("CLAUDE_DOUBLE_LIMIT", "1")
    host = services.scheduler.executor.host
    job_id = await _warmup(services)
    run = await services.scheduler.execute(job_id)
    assert run.status == "failed" and run.details["sent"] is True
    assert run.error == "claude: You've hit your 5-hour limit · resets 7:00am (UTC)"
    official = (await services.reporter.current_window(host.account)).official
    assert official["fiveHour"].used_percentage == 100
    assert official["fiveHour"].resets_at_ms == START + H
    assert "sevenDay" not in official


async def test_a_reading_the_server_refuses_does_not_fail_the_run(
    running: tuple[Services, FixedClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, _ = running
    monkeypatch.setenv("CLAUDE_DOUBLE_NOW", str(START // 1000 + 30 * 86_400))  # a wrong clock
    job_id = await _warmup(services)
    run = await services.scheduler.execute(job_id)
    assert run.status == "succeeded"
    reading = run.details["rateLimits"]
    assert reading["reported"] is False and "ahead of the server's clock" in reading["error"]
    host = services.scheduler.executor.host
    assert (await services.reporter.current_window(host.account)).official == {}


async def test_an_api_key_gives_no_reading(
    running: tuple[Services, FixedClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, _ = running
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-test")  # claude jobs keep it
    run = await services.scheduler.execute(await _warmup(services))
    assert run.status == "succeeded" and "rateLimits" not in run.details
    assert run.details["claude"]["models"] == {"claude-haiku-5-5": 23_017}


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
    running: tuple[Services, FixedClock], doubles: Doubles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without an official reading (an API key sends none), cooldown and cap bound them."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-test")
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
