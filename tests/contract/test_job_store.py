"""The job store contract, on SQLite and PostgreSQL: jobs and runs persist and collide right."""

from __future__ import annotations

import asyncio
import dataclasses

from ccsync.storage.history.jobs import JobRecord, JobStore, RunRecord

from .conftest import Target


def job(job_id: str = "j1", **changes: object) -> JobRecord:
    base = JobRecord(
        id=job_id,
        name="morning",
        schedule="0 7 * * 1-5",
        command="claude -p 'say \"hi\"; $(rm -rf /)'",
        kind="warmup",
        enabled=True,
        timezone="Europe/Berlin",
        options={"model": "haiku", "resetAt": ["07:00", "12:00"]},
        status="active",
        created_ms=1_000,
        updated_ms=1_000,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def run(job_id: str = "j1", scheduled: int | None = 5_000, **changes: object) -> RunRecord:
    base = RunRecord(
        job_id=job_id,
        job_kind="warmup",
        trigger="schedule" if scheduled is not None else "manual",
        instance="host-1",
        started_ms=scheduled or 9_000,
        scheduled_ms=scheduled,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


async def test_jobs_round_trip_exactly(jobs: JobStore) -> None:
    created = job()
    await jobs.create_job(created)
    await jobs.create_job(job("j0", created_ms=2_000, enabled=False, timezone=None, options={}))
    assert await jobs.get_job("j1") == created
    assert [j.id for j in await jobs.list_jobs()] == ["j1", "j0"]  # oldest first
    assert await jobs.get_job("nope") is None


async def test_update_replaces_but_keeps_creation(jobs: JobStore) -> None:
    await jobs.create_job(job())
    changed = job(name="evening", schedule="*/2 * * * * *", enabled=False, created_ms=99)
    assert await jobs.update_job(changed)
    stored = await jobs.get_job("j1")
    assert stored == dataclasses.replace(changed, created_ms=1_000)
    assert not await jobs.update_job(job("missing"))


async def test_outcome_leaves_the_definition_alone(jobs: JobStore) -> None:
    await jobs.create_job(job())
    await jobs.update_job(job(name="renamed"))
    await jobs.set_job_outcome("j1", "error", "claude is not logged in", 7_000)
    stored = await jobs.get_job("j1")
    assert stored is not None
    assert (stored.name, stored.status, stored.error_message, stored.last_run_ms) == (
        "renamed",
        "error",
        "claude is not logged in",
        7_000,
    )


async def test_runs_are_recorded_and_completed(jobs: JobStore) -> None:
    await jobs.create_job(job())
    started = await jobs.start_run(run())
    assert started is not None and started.id > 0 and started.status == "running"
    done = dataclasses.replace(
        started,
        ended_ms=6_500,
        status="succeeded",
        exit_code=0,
        output="ü" * 10,
        details={"claude": {"isError": False, "costUSD": 0.01}},
    )
    await jobs.finish_run(done)
    assert await jobs.runs("j1") == [done]
    assert done.duration_ms == 1_500


async def test_a_run_keeps_its_process_group_and_can_be_lost(
    jobs: JobStore,
) -> None:
    await jobs.create_job(job())
    started = await jobs.start_run(run())
    other = await jobs.start_run(run(scheduled=6_000))
    assert started is not None and other is not None
    await jobs.set_run_process(started.id, 4_194_303)  # the largest Linux pid
    [_, stored] = await jobs.runs("j1")
    assert stored == dataclasses.replace(started, process_group=4_194_303)
    assert (await jobs.runs("j1"))[0].process_group is None  # only that run
    lost = dataclasses.replace(stored, ended_ms=8_000, status="lost", error="its server died")
    await jobs.finish_run(lost)
    assert await jobs.runs("j1", statuses=["lost"]) == [lost]
    assert await jobs.runs("j1", statuses=["running"]) == [other]


async def test_one_run_per_tick(jobs: JobStore) -> None:
    await jobs.create_job(job())
    assert await jobs.start_run(run(instance="a")) is not None
    assert await jobs.start_run(run(instance="b")) is None  # the same tick, taken
    assert await jobs.start_run(run(scheduled=7_000)) is not None
    # Manual runs have no tick: any number of them.
    assert await jobs.start_run(run(scheduled=None)) is not None
    assert await jobs.start_run(run(scheduled=None)) is not None
    assert len(await jobs.runs("j1")) == 4


async def test_concurrent_starts_of_one_tick_store_one_run(target: Target) -> None:
    """Two stores on one database (two server processes) race for the same ticks."""
    first, second = await target.open(), await target.open()
    try:
        await first.jobs.create_job(job())
        ticks = [1_000 * n for n in range(1, 21)]
        results = await asyncio.gather(
            *(
                store.jobs.start_run(run(scheduled=tick, instance=name))
                for tick in ticks
                for store, name in ((first, "a"), (second, "b"))
            )
        )
        assert sum(result is not None for result in results) == len(ticks)
        stored = await first.jobs.runs("j1", limit=100)
        assert sorted(r.scheduled_ms or 0 for r in stored) == ticks
    finally:
        await first.aclose()
        await second.aclose()


async def test_runs_filter_newest_first(jobs: JobStore) -> None:
    await jobs.create_job(job())
    await jobs.create_job(job("j2", kind="command"))
    for n, status in enumerate(["succeeded", "skipped", "failed", "skipped"]):
        started = await jobs.start_run(run(scheduled=1_000 * (n + 1), started_ms=1_000 * (n + 1)))
        assert started is not None
        await jobs.finish_run(dataclasses.replace(started, status=status))  # type: ignore[arg-type]
    await jobs.start_run(run("j2", job_kind="command", scheduled=2_500, started_ms=2_500))

    everything = await jobs.runs()
    assert [r.started_ms for r in everything] == [4_000, 3_000, 2_500, 2_000, 1_000]
    assert [r.started_ms for r in await jobs.runs("j1", limit=2)] == [4_000, 3_000]
    sent = await jobs.runs(job_kind="warmup", statuses=("succeeded", "failed"), since_ms=1_000)
    assert [r.started_ms for r in sent] == [3_000, 1_000]
    assert [r.job_id for r in await jobs.runs(job_kind="command")] == ["j2"]


async def test_prune_keeps_the_newest(jobs: JobStore) -> None:
    await jobs.create_job(job())
    await jobs.create_job(job("j2"))
    for n in range(10):
        await jobs.start_run(run(scheduled=n))
    await jobs.start_run(run("j2"))
    assert await jobs.prune_runs("j1", keep=3) == 7
    assert [r.scheduled_ms for r in await jobs.runs("j1")] == [9, 8, 7]
    assert len(await jobs.runs("j2")) == 1


async def test_deleting_a_job_deletes_its_runs(jobs: JobStore) -> None:
    await jobs.create_job(job())
    await jobs.create_job(job("j2"))
    await jobs.start_run(run())
    await jobs.start_run(run("j2"))
    assert await jobs.delete_job("j1")
    assert not await jobs.delete_job("j1")
    assert await jobs.get_job("j1") is None
    assert await jobs.runs("j1") == []
    assert len(await jobs.runs()) == 1


async def test_jobs_and_runs_survive_reopening(target: Target) -> None:
    store = await target.open()
    try:
        await store.jobs.create_job(job())
        started = await store.jobs.start_run(run())
        assert started is not None
        await store.jobs.finish_run(dataclasses.replace(started, status="succeeded", ended_ms=6))
    finally:
        await store.aclose()
    again = await target.open()
    try:
        assert await again.jobs.get_job("j1") == job()
        assert [r.status for r in await again.jobs.runs("j1")] == ["succeeded"]
    finally:
        await again.aclose()
