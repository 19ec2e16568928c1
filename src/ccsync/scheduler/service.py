"""The scheduler: job definitions, the loop that fires them, and the record of each run.

Every server process runs the loop. It reads the jobs from the history store (so a job
created on one replica is seen by all within a second), sleeps until the next fire time,
and for each job that is due takes the tick: first a claim in the live store
(``cron:<job>:<fire ms>``, Redis ``SET NX`` with expiry), then the run record, unique per
job and fire time in the database. Whoever loses either race leaves the tick alone, so N
processes on one Redis and one database run each tick once. Ticks the loop passed while
busy or asleep are coalesced into the latest one. A tick missed while no server ran is
made up only within the job's catch-up grace (``catchUpMinutes``: warm-ups 30 minutes,
other jobs 0, as cron), once, and a job with a grace never runs a tick later than that
(``ticks``).

Runs belong to the ``runner``: capped in number (at most ``max_runs`` at once in this
process, one per job across replicas), recorded, and closed as lost when the server
process that ran them died (checked when the loop starts and every minute after).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from datetime import tzinfo

from ccsync.clock import Clock
from ccsync.scheduler import orphans
from ccsync.scheduler.capacity import DEFAULT_MAX_RUNS
from ccsync.scheduler.commands import CommandError, check_allowed, parse_command
from ccsync.scheduler.definitions import JobError, JobSpec, build_job, next_run_ms
from ccsync.scheduler.execution import Executor
from ccsync.scheduler.runner import CLAIM_TTL_SECONDS, Runner, RunObserver
from ccsync.scheduler.schedule import Schedule, ScheduleError
from ccsync.scheduler.ticks import catch_up_ms, due_tick
from ccsync.scheduler.views import JobView, RunView, ScheduleCheck, job_view, run_view
from ccsync.server.live_keys import cron_claim
from ccsync.server.runtime_config import DEFAULT_TIMEZONE, RuntimeSettings
from ccsync.server.status import ExactlyOnce, NextFire, SchedulerState
from ccsync.storage import StorageUnavailableError
from ccsync.storage.history.jobs import JobRecord, JobStore, RunRecord
from ccsync.storage.history.settings import SettingsStore
from ccsync.storage.live.base import EventBus, ValueStore
from ccsync.usage.timestamps import UnknownTimezoneError, iso_millis, resolve_timezone

log = logging.getLogger("ccsync.scheduler")

POLL_SECONDS = 1.0
"""How often the loop looks for changed jobs when no fire time comes sooner."""
RETRY_SECONDS = 5.0


class JobNotFoundError(LookupError):
    """No job has this id (the message says which)."""

    def __init__(self, job_id: str) -> None:
        super().__init__(f"no cron job {job_id!r}")
        self.job_id = job_id


def instance_id() -> str:
    """This process among the replicas: host, pid and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class Scheduler:
    def __init__(
        self,
        *,
        jobs: JobStore,
        settings: SettingsStore,
        values: ValueStore,
        bus: EventBus,
        executor: Executor,
        clock: Clock,
        allow_commands: bool,
        instance: str | None = None,
        observer: RunObserver | None = None,
        max_runs: int = DEFAULT_MAX_RUNS,
    ) -> None:
        self.runtime = RuntimeSettings(settings)
        self.jobs = jobs
        self.values = values
        self.executor = executor
        self.clock = clock
        self.allow_commands = allow_commands
        self.instance = instance or instance_id()
        self.runner = Runner(
            jobs, values, bus, executor, clock, instance=self.instance, max_runs=max_runs
        )
        self.observer = observer
        self._changed = asyncio.Event()
        self._cursors: dict[str, int] = {}
        self._last_tick_ms: int | None = None
        self._next_fire: tuple[int, str] | None = None
        self._claims = {"won": 0, "lost": 0}

    @property
    def observer(self) -> RunObserver | None:
        return self.runner.observer

    @observer.setter
    def observer(self, value: RunObserver | None) -> None:
        self.runner.observer = value

    # -- definitions ---------------------------------------------------------------------
    async def list_jobs(self, *, with_output: bool = True) -> list[JobView]:
        """Every job; ``with_output=False``: without the last run's error text."""
        default = await self._default_zone()
        return [
            self._describe(job, default, with_output=with_output)
            for job in await self.jobs.list_jobs()
        ]

    async def get_job(self, job_id: str, *, with_output: bool = True) -> JobView:
        job = await self._job(job_id)
        return self._describe(job, await self._default_zone(), with_output=with_output)

    async def create_job(self, spec: JobSpec) -> JobView:
        job = build_job(
            spec,
            job_id=secrets.token_hex(8),
            now_ms=self.clock.now_ms(),
            allow_commands=self.allow_commands,
        )
        await self.jobs.create_job(job)
        self._changed.set()
        log.info("cron.created", extra={"job": job.id, "kind": job.kind, "enabled": job.enabled})
        return self._describe(job, await self._default_zone())

    async def update_job(self, job_id: str, spec: JobSpec) -> JobView:
        existing = await self._job(job_id)
        job = build_job(
            spec,
            job_id=job_id,
            now_ms=self.clock.now_ms(),
            allow_commands=self.allow_commands,
            existing=existing,
        )
        if not await self.jobs.update_job(job):
            raise JobNotFoundError(job_id)
        self._changed.set()
        return self._describe(job, await self._default_zone())

    async def set_enabled(self, job_id: str, enabled: bool) -> JobView:
        return await self.update_job(job_id, JobSpec(enabled=enabled))

    async def delete_job(self, job_id: str) -> None:
        if not await self.jobs.delete_job(job_id):
            raise JobNotFoundError(job_id)
        self._changed.set()

    async def validate(
        self, expression: str, timezone: str | None, count: int = 5, command: str | None = None
    ) -> ScheduleCheck:
        """The schedule normalised and its next fire times; ``JobError`` when unusable (the
        schedule, the zone, or ``command`` when given: one this server may not run)."""
        zone_name = timezone or await self._default_zone()
        try:
            schedule = Schedule.parse(expression)
            zone = resolve_timezone(zone_name)
            if command is not None:
                check_allowed(parse_command(command), self.allow_commands)
        except (ScheduleError, UnknownTimezoneError, CommandError) as exc:
            raise JobError(str(exc), valid=False) from None
        upcoming = schedule.upcoming(self.clock.now_ms(), zone, count)
        return ScheduleCheck(
            valid=True,
            schedule=schedule.expression,
            timezone=zone_name,
            next_runs=[iso_millis(ms) for ms in upcoming],
        )

    async def runs(
        self, job_id: str, limit: int = 50, *, with_output: bool = True
    ) -> list[RunView]:
        """A job's runs, newest first; ``with_output=False``: without what the program said."""
        await self._job(job_id)
        return [
            run_view(run, with_output=with_output)
            for run in await self.jobs.runs(job_id, limit=limit)
        ]

    # -- running -------------------------------------------------------------------------
    async def execute(self, job_id: str) -> RunRecord:
        """Run the job now (whether enabled or not) and wait for its record; ``BusyError``
        while it runs (here or on another replica) or this process runs its most runs."""
        job = await self._job(job_id)
        return await self.runner.execute(job, await self._zone_of(job))

    async def run(self) -> None:
        """Close orphaned runs, then fire due jobs until cancelled (and close orphans again
        every ``orphans.SWEEP_SECONDS``)."""
        next_sweep = 0
        while True:
            try:
                if self.clock.now_ms() >= next_sweep:
                    swept = await self._close_orphans()
                    delay = orphans.SWEEP_SECONDS if swept else RETRY_SECONDS
                    next_sweep = self.clock.now_ms() + int(delay * 1000)
                wake = await self._tick()
            except StorageUnavailableError as exc:
                log.warning("cron.tick_failed", extra={"error": str(exc)})
                wake = self.clock.now_ms() + int(RETRY_SECONDS * 1000)
            await self._sleep_until(wake)

    async def _close_orphans(self) -> bool:
        """One orphan sweep; whether it went through (else it is tried again soon)."""
        try:
            await self.runner.close_orphans()
        except StorageUnavailableError as exc:
            log.warning("cron.orphan_sweep_failed", extra={"error": str(exc)})
            return False
        except Exception:  # a bug in the sweep must not stop the scheduler
            log.exception("cron.orphan_sweep_failed")
            return False
        return True

    @property
    def busy(self) -> set[str]:
        """Jobs with a run in progress in this process."""
        return self.runner.capacity.running

    async def aclose(self) -> None:
        """Stop every run of this process (each is recorded as cancelled)."""
        await self.runner.aclose()

    async def status(self) -> SchedulerState:
        jobs = await self.jobs.list_jobs()
        next_fire = self._next_fire
        names = {job.id: job.name for job in jobs}
        return SchedulerState(
            available=True,
            instance=self.instance,
            jobs=len(jobs),
            enabled_jobs=sum(job.enabled for job in jobs),
            running=sorted(self.busy),
            max_runs=self.runner.capacity.limit,
            next_fire=None
            if next_fire is None
            else NextFire(iso_millis(next_fire[0]), next_fire[1], names.get(next_fire[1])),
            last_tick=None if self._last_tick_ms is None else iso_millis(self._last_tick_ms),
            allow_commands=self.allow_commands,
            exactly_once=ExactlyOnce(
                mode="claims" if self.values.backend == "redis" else "single-node",
                claims_won=self._claims["won"],
                claims_lost=self._claims["lost"],
            ),
        )

    # -- the loop ------------------------------------------------------------------------
    async def _tick(self) -> int:
        now = self.clock.now_ms()
        jobs = await self.jobs.list_jobs()
        default = await self._default_zone()
        wake = now + int(POLL_SECONDS * 1000)
        next_fire: tuple[int, str] | None = None
        for job in jobs:
            if not job.enabled:
                self._cursors.pop(job.id, None)
                continue
            try:
                schedule = Schedule.parse(job.schedule)
                zone = resolve_timezone(job.timezone or default)
            except (ScheduleError, UnknownTimezoneError):
                continue
            since = self._cursors.get(job.id)
            if since is None and self._last_tick_ms is not None:
                since = max(job.updated_ms, self._last_tick_ms)  # new since the last look
            self._cursors[job.id] = now
            tick = due_tick(
                schedule,
                zone,
                now,
                since_ms=since,  # None: the first look since this process started
                grace_ms=catch_up_ms(job.kind, job.options),
                changed_ms=job.updated_ms,
                ran_ms=job.last_run_ms,
            )
            if tick is not None and tick.missed:
                log.warning(
                    "cron.tick_missed",
                    extra={
                        "job": job.id,
                        "scheduled": iso_millis(tick.fire_ms),
                        "late_seconds": tick.late_ms // 1000,
                    },
                )
            elif tick is not None:
                if tick.caught_up:
                    log.info(
                        "cron.catch_up",
                        extra={"job": job.id, "scheduled": iso_millis(tick.fire_ms)},
                    )
                self.runner.spawn(self._fire(job, tick.fire_ms, zone))
            upcoming = schedule.next_after(now, zone)
            if upcoming is not None:
                wake = min(wake, upcoming)
                if next_fire is None or upcoming < next_fire[0]:
                    next_fire = (upcoming, job.id)
        known = {job.id for job in jobs}
        self._cursors = {job_id: ms for job_id, ms in self._cursors.items() if job_id in known}
        self._last_tick_ms = now
        self._next_fire = next_fire
        return wake

    async def _sleep_until(self, wake_ms: int) -> None:
        delay = max(0.0, (wake_ms - self.clock.now_ms()) / 1000)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay):
                await self._changed.wait()
        self._changed.clear()

    async def _fire(self, job: JobRecord, due_ms: int, zone: tzinfo) -> RunRecord | None:
        try:
            won = await self.values.claim(cron_claim(job.id, due_ms), CLAIM_TTL_SECONDS)
        except StorageUnavailableError as exc:
            # The database still lets one process record the tick.
            log.warning("cron.claim_unavailable", extra={"job": job.id, "error": str(exc)})
            won = True
        self._claims["won" if won else "lost"] += 1
        if self.observer is not None:
            self.observer.tick_taken(won)
        if not won:
            return None
        return await self.runner.fire(job, due_ms, zone)

    # -- helpers -------------------------------------------------------------------------
    async def _job(self, job_id: str) -> JobRecord:
        job = await self.jobs.get_job(job_id)
        if job is None:
            raise JobNotFoundError(job_id)
        return job

    async def _default_zone(self) -> str:
        return await self.runtime.timezone()

    async def _zone_of(self, job: JobRecord) -> tzinfo:
        try:
            return resolve_timezone(job.timezone or await self._default_zone())
        except UnknownTimezoneError:
            return resolve_timezone(DEFAULT_TIMEZONE)

    def _describe(self, job: JobRecord, default_zone: str, *, with_output: bool = True) -> JobView:
        zone_name = job.timezone or default_zone
        try:
            zone = resolve_timezone(zone_name)
        except UnknownTimezoneError:
            zone_name, zone = DEFAULT_TIMEZONE, resolve_timezone(DEFAULT_TIMEZONE)
        upcoming = next_run_ms(job, self.clock.now_ms(), zone)
        return job_view(job, zone_name=zone_name, next_ms=upcoming, with_output=with_output)
