"""The scheduler's persistent part: cron jobs and the record of every run.

Jobs survive restarts; a job's next fire time is not stored (the scheduler computes it
from the schedule and the clock). Runs are appended when they start and completed when
they end. A scheduled run is unique per job and fire time (``scheduled_ms``), so two
server processes that both try to start the same tick store one run: the second
``start_run`` answers ``None``. Manual runs have no fire time and never collide.

Backends: ``sql_jobs.SqlJobStore``; every backend passes ``tests/contract/test_job_store.py``.
"""

from __future__ import annotations

import abc
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any, Literal

JobKind = Literal["command", "warmup"]
JobStatus = Literal["active", "inactive", "error"]
RunTrigger = Literal["schedule", "manual"]
RunStatus = Literal["running", "succeeded", "failed", "timeout", "skipped", "cancelled", "lost"]

JOB_KINDS: tuple[JobKind, ...] = ("command", "warmup")
RUN_STATUSES: tuple[RunStatus, ...] = (
    "running",
    "succeeded",
    "failed",
    "timeout",
    "skipped",
    "cancelled",
    "lost",
)
"""``lost``: the server process that ran it died mid-run; another one closed it (and stopped
its process group when it was on the same host)."""


@dataclass(frozen=True, slots=True)
class JobRecord:
    id: str
    name: str
    schedule: str
    """A cron expression (5 fields, or 6 with seconds first)."""
    command: str
    """The command line, split into words like a shell would (never run by one)."""
    kind: JobKind = "command"
    enabled: bool = False
    timezone: str | None = None
    """IANA zone the schedule is read in; ``None``: the server's configured zone."""
    options: dict[str, Any] = field(default_factory=dict, hash=False)
    """Kind-specific settings (JSON), e.g. the warm-up's model and limits."""
    status: JobStatus = "inactive"
    error_message: str | None = None
    last_run_ms: int | None = None
    created_ms: int = 0
    updated_ms: int = 0


@dataclass(frozen=True, slots=True)
class RunRecord:
    job_id: str
    job_kind: JobKind
    trigger: RunTrigger
    instance: str
    """The server process that ran it."""
    started_ms: int
    scheduled_ms: int | None = None
    """The fire time it ran for (``None`` for manual runs)."""
    id: int = 0
    """Assigned by ``start_run``."""
    ended_ms: int | None = None
    status: RunStatus = "running"
    exit_code: int | None = None
    output: str = ""
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict, hash=False)
    """What the run learned (JSON): Claude's result, a warm-up decision, ingest counts."""
    process_group: int | None = None
    """The program's process group id on the instance's host, once it started."""

    @property
    def duration_ms(self) -> int | None:
        return None if self.ended_ms is None else self.ended_ms - self.started_ms


class JobStore(abc.ABC):
    # -- jobs ----------------------------------------------------------------------------
    @abc.abstractmethod
    async def create_job(self, job: JobRecord) -> None:
        """Store a new job (its ``id`` must be new)."""

    @abc.abstractmethod
    async def get_job(self, job_id: str) -> JobRecord | None: ...

    @abc.abstractmethod
    async def list_jobs(self) -> list[JobRecord]:
        """Every job, oldest first."""

    @abc.abstractmethod
    async def update_job(self, job: JobRecord) -> bool:
        """Replace the stored job with the same id; whether there was one."""

    @abc.abstractmethod
    async def delete_job(self, job_id: str) -> bool:
        """Remove the job and its runs; whether it existed."""

    @abc.abstractmethod
    async def set_job_outcome(
        self, job_id: str, status: JobStatus, error_message: str | None, last_run_ms: int
    ) -> None:
        """Record how the latest run went (and nothing else: a concurrent edit is kept)."""

    # -- runs ----------------------------------------------------------------------------
    @abc.abstractmethod
    async def start_run(self, run: RunRecord) -> RunRecord | None:
        """Append a run; the stored run with its ``id``. ``None`` when a run of the same
        job and fire time exists already (another process took the tick)."""

    @abc.abstractmethod
    async def set_run_process(self, run_id: int, process_group: int) -> None:
        """Record the process group a started run's program runs in (and nothing else)."""

    @abc.abstractmethod
    async def finish_run(self, run: RunRecord) -> None:
        """Store the outcome of a started run (by ``id``)."""

    @abc.abstractmethod
    async def runs(
        self,
        job_id: str | None = None,
        *,
        job_kind: str | None = None,
        since_ms: int | None = None,
        statuses: Collection[RunStatus] | None = None,
        limit: int = 50,
    ) -> list[RunRecord]:
        """Runs, newest first, filtered by job, job kind, start time and status."""

    @abc.abstractmethod
    async def prune_runs(self, job_id: str, keep: int) -> int:
        """Delete all but the newest ``keep`` runs of the job; how many were deleted."""
