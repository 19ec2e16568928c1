"""How many runs at once: the process cap, one per job, and a job running on another replica."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ccsync.scheduler.capacity import Capacity, CapacityFullError, JobBusyError
from ccsync.scheduler.definitions import JobSpec
from ccsync.services import Services, build_services
from ccsync.settings import Settings
from ccsync.storage.history.jobs import RunRecord
from ccsync.usage.timestamps import resolve_timezone
from fixtures.doubles import Doubles

pytestmark = pytest.mark.timeout(60)

UTC = resolve_timezone("UTC")


@pytest.fixture
async def services(
    tmp_path: Path, doubles: Doubles, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Services]:
    doubles.install(monkeypatch)
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    settings = Settings(data_dir=tmp_path / "data", local_agent=False, max_runs=1)
    async with build_services(settings, start_loops=False) as built:
        yield built


async def _job(services: Services, name: str) -> str:
    job = await services.scheduler.create_job(
        JobSpec(name=name, schedule="0 7 * * *", command=f"claude -p '{name}'")
    )
    return job.id


def test_slots_are_taken_and_given_back() -> None:
    capacity = Capacity(2)
    capacity.take("a")
    with pytest.raises(JobBusyError, match="running already"):
        capacity.take("a")
    capacity.take("b")
    with pytest.raises(CapacityFullError, match="2 runs are in progress"):
        capacity.take("c")
    capacity.release("a")
    capacity.take("c")
    assert capacity.running == {"b", "c"}
    with pytest.raises(ValueError, match="at least 1"):
        Capacity(0)


async def test_a_tick_beyond_the_cap_is_recorded_as_skipped(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLAUDE_DOUBLE_SLEEP", "1")
    first, second = await _job(services, "first"), await _job(services, "second")
    scheduler = services.scheduler
    running = asyncio.create_task(scheduler.execute(first))
    for _ in range(100):
        if scheduler.busy:
            break
        await asyncio.sleep(0.01)
    with pytest.raises(CapacityFullError):
        await scheduler.execute(second)
    second_job = await services.history.jobs.get_job(second)
    assert second_job is not None
    skipped = await scheduler.runner.fire(second_job, 1_000, UTC)
    assert skipped is not None and skipped.status == "skipped"
    assert "not run: 1 runs are in progress on this server" in skipped.output
    assert (await running).status == "succeeded"
    assert (await scheduler.execute(second)).status == "succeeded"  # the slot came back
    assert scheduler.busy == set()


async def test_a_job_running_on_another_replica_is_not_run_again(services: Services) -> None:
    job_id = await _job(services, "once")
    other = await services.history.jobs.start_run(
        RunRecord(
            job_id=job_id,
            job_kind="command",
            trigger="manual",
            instance="elsewhere:123:abcdef",
            started_ms=services.clock.now_ms(),
        )
    )
    assert other is not None
    with pytest.raises(JobBusyError, match=f"run {other.id} on elsewhere:123:abcdef"):
        await services.scheduler.execute(job_id)
    job = await services.history.jobs.get_job(job_id)
    assert job is not None
    skipped = await services.scheduler.runner.fire(job, 1_000, UTC)
    assert skipped is not None and skipped.output == "the previous run is still running"
    assert services.scheduler.busy == set()
