"""The job store on SQLite or PostgreSQL, in the history store's database."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from typing import Any

from sqlalchemy import delete, select, update

from ccsync.storage.history import schema as t
from ccsync.storage.history.database import SqlDatabase
from ccsync.storage.history.jobs import JobRecord, JobStatus, JobStore, RunRecord, RunStatus


class SqlJobStore(JobStore):
    def __init__(self, db: SqlDatabase) -> None:
        self._db = db

    # -- jobs ----------------------------------------------------------------------------
    async def create_job(self, job: JobRecord) -> None:
        async with self._db.write() as conn:
            await conn.execute(t.cron_jobs.insert().values(**t.row_of(job, t.cron_jobs)))

    async def get_job(self, job_id: str) -> JobRecord | None:
        async with self._db.read() as conn:
            row = (
                await conn.execute(select(t.cron_jobs).where(t.cron_jobs.c.id == job_id))
            ).first()
        return None if row is None else t.record_of(JobRecord, t.cron_jobs, row)

    async def list_jobs(self) -> list[JobRecord]:
        stmt = select(t.cron_jobs).order_by(t.cron_jobs.c.created_ms, t.cron_jobs.c.id)
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [t.record_of(JobRecord, t.cron_jobs, row) for row in rows]

    async def update_job(self, job: JobRecord) -> bool:
        values = t.row_of(job, t.cron_jobs)
        del values["id"], values["created_ms"]
        stmt = update(t.cron_jobs).where(t.cron_jobs.c.id == job.id).values(**values)
        async with self._db.write() as conn:
            result = await conn.execute(stmt)
        return result.rowcount == 1

    async def delete_job(self, job_id: str) -> bool:
        async with self._db.write() as conn:
            await conn.execute(delete(t.cron_runs).where(t.cron_runs.c.job_id == job_id))
            result = await conn.execute(delete(t.cron_jobs).where(t.cron_jobs.c.id == job_id))
        return result.rowcount == 1

    async def set_job_outcome(
        self, job_id: str, status: JobStatus, error_message: str | None, last_run_ms: int
    ) -> None:
        stmt = (
            update(t.cron_jobs)
            .where(t.cron_jobs.c.id == job_id)
            .values(status=status, error_message=error_message, last_run_ms=last_run_ms)
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)

    # -- runs ----------------------------------------------------------------------------
    async def start_run(self, run: RunRecord) -> RunRecord | None:
        stmt = (
            self._db.insert(t.cron_runs)
            .values(**_run_values(run))
            .on_conflict_do_nothing(
                index_elements=[t.cron_runs.c.job_id, t.cron_runs.c.scheduled_ms]
            )
            .returning(t.cron_runs.c.id)
        )
        async with self._db.write() as conn:
            run_id = (await conn.execute(stmt)).scalar()
        return None if run_id is None else dataclasses.replace(run, id=run_id)

    async def set_run_process(self, run_id: int, process_group: int) -> None:
        stmt = (
            update(t.cron_runs)
            .where(t.cron_runs.c.id == run_id)
            .values(process_group=process_group)
        )
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def finish_run(self, run: RunRecord) -> None:
        stmt = update(t.cron_runs).where(t.cron_runs.c.id == run.id).values(**_run_values(run))
        async with self._db.write() as conn:
            await conn.execute(stmt)

    async def runs(
        self,
        job_id: str | None = None,
        *,
        job_kind: str | None = None,
        since_ms: int | None = None,
        statuses: Collection[RunStatus] | None = None,
        limit: int = 50,
    ) -> list[RunRecord]:
        c = t.cron_runs.c
        stmt = select(t.cron_runs).order_by(c.started_ms.desc(), c.id.desc()).limit(limit)
        if job_id is not None:
            stmt = stmt.where(c.job_id == job_id)
        if job_kind is not None:
            stmt = stmt.where(c.job_kind == job_kind)
        if since_ms is not None:
            stmt = stmt.where(c.started_ms >= since_ms)
        if statuses is not None:
            stmt = stmt.where(c.status.in_(list(statuses)))
        async with self._db.read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [t.record_of(RunRecord, t.cron_runs, row) for row in rows]

    async def prune_runs(self, job_id: str, keep: int) -> int:
        c = t.cron_runs.c
        newest = (
            select(c.id).where(c.job_id == job_id).order_by(c.id.desc()).limit(max(keep, 0))
        ).scalar_subquery()
        stmt = delete(t.cron_runs).where(c.job_id == job_id, c.id.not_in(newest))
        async with self._db.write() as conn:
            result = await conn.execute(stmt)
        return result.rowcount


def _run_values(run: RunRecord) -> dict[str, Any]:
    """The columns of a run, without its ``id`` (the database assigns it)."""
    values = t.row_of(run, t.cron_runs)
    del values["id"]
    return values
