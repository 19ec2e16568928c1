"""Runs of jobs: a slot each, a record each, and the orphans of dead servers closed.

A run is a task the runner owns: a manual run's caller waits for it, but a caller that
goes away does not stop it; ``aclose`` (server shutdown) does (the process group is
stopped and the run recorded as cancelled).

- Capacity (``capacity``): at most ``max_runs`` runs at once in this process, one per job,
  and none while the history store shows the job running on another replica. A manual run
  beyond that is refused (``BusyError``); a tick beyond it is recorded as skipped, with
  the reason.
- Each run records, once its program runs, the program's process group, and hands the
  program its tag (``CCSYNC_RUN``). Runs left ``running`` by a server process that died are
  closed as ``lost`` and their process groups stopped (``orphans``, ``close_orphans``).
- A finished run is stored, the job's outcome set, old runs pruned, and
  ``cron_job_executed`` published (without the run's output or error text: every socket
  gets the event, and only admins read output). A tick run late (caught up after no
  server ran: ``ticks``) says so in its details (``catchUp``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Coroutine
from datetime import tzinfo
from typing import Any, Protocol

from ccsync.clock import Clock
from ccsync.scheduler import orphans
from ccsync.scheduler.capacity import DEFAULT_MAX_RUNS, BusyError, Capacity, JobBusyError
from ccsync.scheduler.execution import Executor, Outcome
from ccsync.scheduler.ticks import ON_TIME_MS
from ccsync.server import events
from ccsync.storage import StorageUnavailableError
from ccsync.storage.history.jobs import (
    JobRecord,
    JobStatus,
    JobStore,
    RunRecord,
    RunStatus,
    RunTrigger,
)
from ccsync.storage.live.base import EventBus, ValueStore
from ccsync.usage.timestamps import iso_millis

log = logging.getLogger("ccsync.scheduler")

CLAIM_TTL_SECONDS = 600.0
RUNNING: tuple[RunStatus, ...] = ("running",)
KEEP_RUNS = 500
"""Runs kept per job (older ones are deleted)."""
SHUTDOWN_SECONDS = 10.0


class RunObserver(Protocol):
    """Told about what the scheduler does (Prometheus counters)."""

    def run_finished(self, run: RunRecord) -> None: ...

    def tick_taken(self, won: bool) -> None: ...


class Runner:
    def __init__(
        self,
        jobs: JobStore,
        values: ValueStore,
        bus: EventBus,
        executor: Executor,
        clock: Clock,
        *,
        instance: str,
        max_runs: int = DEFAULT_MAX_RUNS,
    ) -> None:
        self.jobs = jobs
        self.values = values
        self.bus = bus
        self.executor = executor
        self.clock = clock
        self.instance = instance
        self.observer: RunObserver | None = None
        self.capacity = Capacity(max_runs)
        self._tasks: set[asyncio.Task[RunRecord | None]] = set()

    async def execute(self, job: JobRecord, zone: tzinfo) -> RunRecord:
        """Run ``job`` now and wait for its record; ``BusyError`` when it cannot start now."""
        await self._take_slot(job)
        task = self.spawn(self._perform(job, "manual", None, zone))
        run = await asyncio.shield(task)
        assert run is not None  # manual runs never collide
        return run

    async def fire(self, job: JobRecord, due_ms: int, zone: tzinfo) -> RunRecord | None:
        """Run the tick ``due_ms`` of ``job`` (this process took it), or record it skipped."""
        try:
            await self._take_slot(job)
        except JobBusyError:
            return await self._record_skip(job, due_ms, "the previous run is still running")
        except BusyError as exc:
            return await self._record_skip(job, due_ms, f"not run: {exc}")
        return await self._perform(job, "schedule", due_ms, zone)

    def spawn(self, work: Coroutine[Any, Any, RunRecord | None]) -> asyncio.Task[RunRecord | None]:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    async def aclose(self) -> None:
        """Stop every run of this process (each is recorded as cancelled)."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=SHUTDOWN_SECONDS)

    async def close_orphans(self) -> list[RunRecord]:
        """Close the runs orphaned by dead server processes as ``lost``, stopping their
        processes on this host (and any other processes of dead servers' runs here)."""
        now = self.clock.now_ms()
        jobs = {job.id: job for job in await self.jobs.list_jobs()}
        groups = await asyncio.to_thread(orphans.tagged_groups)
        closed = []
        for run in await self.jobs.runs(statuses=RUNNING, limit=1000):
            job = jobs.get(run.job_id)
            reason = orphans.orphaned_because(run, job, self.instance, now)
            if job is None or reason is None:
                continue
            with contextlib.suppress(StorageUnavailableError):
                if not await self.values.claim(f"cron:lost:{run.id}", CLAIM_TTL_SECONDS):
                    continue  # another replica is closing it
            if orphans.on_this_host(run.instance):
                reason += "; " + await _stop(groups, orphans.run_tag(run.instance, run.id))
            log.warning("cron.run_lost", extra={"job": job.id, "run": run.id, "reason": reason})
            closed.append(await self._finish(job, run, Outcome("lost", error=reason)))
        for tag in orphans.abandoned(groups or {}, self.instance, now):
            log.warning(
                "cron.orphan_stopped", extra={"run": tag, "result": await _stop(groups, tag)}
            )
        return closed

    # -- one run -------------------------------------------------------------------------
    async def _take_slot(self, job: JobRecord) -> None:
        """This process's slot for a run of ``job``, unless the job runs anywhere already."""
        self.capacity.take(job.id)
        try:
            elsewhere = await self.jobs.runs(job.id, statuses=RUNNING, limit=1)
        except BaseException:
            self.capacity.release(job.id)
            raise
        if elsewhere:
            self.capacity.release(job.id)
            other = elsewhere[0]
            raise JobBusyError(
                f"job {job.id} is running already (run {other.id} on {other.instance}, "
                f"since {iso_millis(other.started_ms)}): one run per job at a time"
            )

    async def _perform(
        self, job: JobRecord, trigger: RunTrigger, scheduled_ms: int | None, zone: tzinfo
    ) -> RunRecord | None:
        """One run of ``job``, in the slot taken for it (given back once it is recorded)."""
        try:
            started = await self.jobs.start_run(
                RunRecord(
                    job_id=job.id,
                    job_kind=job.kind,
                    trigger=trigger,
                    instance=self.instance,
                    started_ms=self.clock.now_ms(),
                    scheduled_ms=scheduled_ms,
                )
            )
            if started is None:
                return None  # another process recorded this tick first
            return await self._run_started(job, started, zone)
        finally:
            self.capacity.release(job.id)

    async def _run_started(self, job: JobRecord, started: RunRecord, zone: tzinfo) -> RunRecord:
        log.info(
            "cron.started", extra={"job": job.id, "run": started.id, "trigger": started.trigger}
        )

        async def record_process(process_group: int) -> None:
            nonlocal started
            started = dataclasses.replace(started, process_group=process_group)
            try:
                await self.jobs.set_run_process(started.id, process_group)
            except StorageUnavailableError as exc:  # the run goes on; only an orphan misses it
                log.warning("cron.process_unrecorded", extra={"run": started.id, "error": str(exc)})

        tag = orphans.run_tag(self.instance, started.id)
        try:
            outcome = await self.executor.run(job, zone, record_process, tag)
        except asyncio.CancelledError:
            outcome = Outcome("cancelled", error="the server stopped during the run")
            await asyncio.shield(self._finish(job, started, outcome))
            raise
        except StorageUnavailableError as exc:
            outcome = Outcome("failed", error=str(exc))
        except Exception as exc:  # a bug must not take the scheduler down with it
            log.exception("cron.run_crashed", extra={"job": job.id})
            outcome = Outcome("failed", error=f"internal error: {type(exc).__name__}")
        return await self._finish(job, started, outcome)

    async def _record_skip(self, job: JobRecord, due_ms: int, reason: str) -> RunRecord | None:
        now = self.clock.now_ms()
        started = await self.jobs.start_run(  # stored skipped: never seen as running
            RunRecord(
                job_id=job.id,
                job_kind=job.kind,
                trigger="schedule",
                instance=self.instance,
                started_ms=now,
                scheduled_ms=due_ms,
                ended_ms=now,
                status="skipped",
                output=reason,
            )
        )
        if started is None:
            return None
        return await self._finish(job, started, Outcome("skipped", output=reason))

    async def _finish(self, job: JobRecord, started: RunRecord, outcome: Outcome) -> RunRecord:
        now = self.clock.now_ms()
        details = outcome.details
        late = None if started.scheduled_ms is None else started.started_ms - started.scheduled_ms
        if late is not None and late > ON_TIME_MS:
            details = {**details, "catchUp": {"lateSeconds": late // 1000}}
        run = dataclasses.replace(
            started,
            ended_ms=now,
            status=outcome.status,
            exit_code=outcome.exit_code,
            output=outcome.output,
            error=outcome.error,
            details=details,
        )
        await self.jobs.finish_run(run)
        failed = run.status in ("failed", "timeout", "lost")
        status: JobStatus = "error" if failed else ("active" if job.enabled else "inactive")
        await self.jobs.set_job_outcome(job.id, status, run.error if failed else None, now)
        await self.jobs.prune_runs(job.id, KEEP_RUNS)
        log.info(
            "cron.finished",
            extra={"job": job.id, "run": run.id, "status": run.status, "exit_code": run.exit_code},
        )
        with contextlib.suppress(StorageUnavailableError):
            await events.publish(self.bus, events.cron_job_executed(run, job.name, now))
        if self.observer is not None:
            self.observer.run_finished(run)
        return run

    def _done(self, task: asyncio.Task[RunRecord | None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("cron.task_failed", extra={"error": f"{type(exc).__name__}: {exc}"})


async def _stop(groups: dict[str, list[orphans.TaggedGroup]] | None, tag: str) -> str:
    """Stop the processes of the run ``tag`` (taking them out of ``groups``); in words."""
    if groups is None:
        return "its processes were left alone (no /proc to find them on this system)"
    found = groups.pop(tag, [])
    if not found:
        return "its processes had ended"
    return await orphans.stop_groups([group.pgid for group in found])
