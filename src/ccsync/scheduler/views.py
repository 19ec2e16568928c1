"""The scheduler's API shapes: jobs and runs as clients see them, and the bodies they send.

A run's public fields are ``events.RunSummary`` (what ``cron_job_executed`` carries);
``RunView`` adds what its program printed, which only admins read: for other readers
``output`` and ``error`` are null, ``outputHidden`` is true and Claude's answer is left out
of ``details``. A job's ``errorMessage`` (a run's error text) is null for them likewise.
A warm-up that went out says whether it started a window (``windowStarted``, typed).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from ccsync.scheduler.definitions import JobSpec
from ccsync.scheduler.warmup import current_command
from ccsync.server.events import RunSummary, run_summary
from ccsync.storage.history.jobs import JobKind, JobRecord, JobStatus, RunRecord, RunStatus
from ccsync.usage.timestamps import iso_millis

Time = Annotated[str, Meta(min_length=4, max_length=5, pattern=r"^\d{1,2}:\d{2}$")]
Times = Annotated[list[Time], Meta(min_length=1, max_length=24)]
Zone = Annotated[str, Meta(max_length=64)]
Command = Annotated[str, Meta(min_length=1, max_length=8192)]
OPTION_FIELDS = (
    "model",
    "prompt",
    "cooldown_minutes",
    "monthly_cap",
    "max_wait_minutes",
    "verify_seconds",
    "account",
    "timeout_seconds",
    "catch_up_minutes",
)


class JobBody(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """A job, or the fields of one to change. Warm-up fields apply to ``kind: "warmup"``."""

    name: Annotated[str, Meta(min_length=1, max_length=200)] | None = None
    schedule: Annotated[str, Meta(max_length=200)] | None = None
    """5-field cron, or 6 fields with seconds first (node-cron)."""
    command: Command | None = None
    """Split into words like a shell would, then run without one."""
    enabled: bool | None = None
    timezone: Zone | None = None
    kind: Literal["command", "warmup"] | None = None
    reset_at: Times | None = None
    """Warm-up: the times (HH:MM) windows should reset; the schedule starts them 5 h before."""
    start_at: Times | None = None
    """Warm-up: the times (HH:MM) windows should start."""
    model: Annotated[str, Meta(min_length=1, max_length=100)] | None = None
    prompt: Annotated[str, Meta(min_length=1, max_length=2000)] | None = None
    cooldown_minutes: Annotated[int, Meta(ge=0, le=7 * 24 * 60)] | None = None
    monthly_cap: Annotated[int, Meta(ge=0, le=1000)] | None = None
    max_wait_minutes: Annotated[int, Meta(ge=0, le=300)] | None = None
    verify_seconds: Annotated[int, Meta(ge=0, le=600)] | None = None
    """Warm-up: how long a sent one waits for its own usage line (default 20)."""
    account: Annotated[str, Meta(min_length=1, max_length=256)] | None = None
    timeout_seconds: Annotated[int, Meta(ge=1, le=3600)] | None = None
    catch_up_minutes: Annotated[int, Meta(ge=0, le=24 * 60)] | None = None
    """How late a tick missed while no server ran may still run (warm-ups 30, others 0)."""

    def to_spec(self) -> JobSpec:
        names = msgspec.structs.fields(self)
        options = {
            field.encode_name: value
            for field in names
            if field.name in OPTION_FIELDS and (value := getattr(self, field.name)) is not None
        }
        return JobSpec(
            name=self.name,
            schedule=self.schedule,
            command=self.command,
            enabled=self.enabled,
            timezone=self.timezone,
            kind=self.kind,
            reset_at=self.reset_at,
            start_at=self.start_at,
            options=options,
        )


class ScheduleBody(msgspec.Struct, forbid_unknown_fields=True):
    schedule: Annotated[str, Meta(max_length=1000)]
    timezone: Zone | None = None
    command: Command | None = None
    """Checked too when given: whether this server may run it."""


class JobView(msgspec.Struct, rename="camel"):
    """A job as the API shows it (``timezone``: the zone in effect)."""

    id: str
    name: str
    kind: JobKind
    schedule: str
    command: str
    enabled: bool
    timezone: str
    timezone_from_server: bool
    """The job has no zone of its own: the server's (``/api/config``) applies."""
    status: JobStatus
    last_run: str | None
    next_run: str | None
    error_message: str | None
    options: dict[str, Any]
    created_at: str
    updated_at: str


class WindowStartedView(msgspec.Struct, rename="camel", omit_defaults=True):
    """Whether a warm-up that went out started a window (``warmup.window_started``)."""

    verified: bool
    by: Literal["official", "usage"] | None = None
    """What showed it: a new official reset, or the warm-up's own synced usage line."""
    resets_at: str | None = None
    """``official``: the new window's reset."""
    block_start: str | None = None
    """``usage``: the start of the synced block its line began."""
    first_request: str | None = None
    reason: str | None = None
    """Not verified: why (what was seen instead, or that the limit stopped the prompt)."""


class RunView(RunSummary):
    """A run as the API shows it (see the module doc for what non-admins read)."""

    output: str | None
    error: str | None
    output_hidden: bool
    details: dict[str, Any]
    """What the run learned: Claude's result, a warm-up decision, ingest counts…"""
    window_started: WindowStartedView | None
    """A warm-up that went out: whether it started a window (else null)."""


class JobList(msgspec.Struct):
    jobs: list[JobView]


class OneJob(msgspec.Struct):
    job: JobView


class JobSaved(msgspec.Struct):
    success: bool
    job: JobView


class JobDeleted(msgspec.Struct):
    success: bool
    id: str


class RunList(msgspec.Struct):
    runs: list[RunView]
    """Newest first."""


class Execution(msgspec.Struct, rename="camel"):
    """A run started by hand, once it ended."""

    success: bool
    status: RunStatus
    output: str
    error: str | None
    executed_at: str
    run: RunView


class ScheduleCheck(msgspec.Struct, rename="camel"):
    valid: bool
    schedule: str
    """Normalised."""
    timezone: str
    next_runs: list[str]


def job_view(
    job: JobRecord, *, zone_name: str, next_ms: int | None, with_output: bool = True
) -> JobView:
    """``job`` with the zone in effect and its next fire time (``with_output=False``:
    ``errorMessage`` null)."""
    return JobView(
        id=job.id,
        name=job.name,
        kind=job.kind,
        schedule=job.schedule,
        command=current_command(job.command, job.options) if job.kind == "warmup" else job.command,
        enabled=job.enabled,
        timezone=zone_name,
        timezone_from_server=job.timezone is None,
        status=job.status,
        last_run=None if job.last_run_ms is None else iso_millis(job.last_run_ms),
        next_run=None if next_ms is None else iso_millis(next_ms),
        error_message=job.error_message if with_output else None,
        options=job.options,
        created_at=iso_millis(job.created_ms),
        updated_at=iso_millis(job.updated_ms),
    )


def run_view(run: RunRecord, *, with_output: bool = True) -> RunView:
    """``run`` as the API shows it (``with_output=False``: without what it printed)."""
    details = run.details
    if not with_output and isinstance(details.get("claude"), dict):
        details = {**details, "claude": {**details["claude"], "result": None}}
    return RunView(
        **msgspec.structs.asdict(run_summary(run)),
        output=run.output if with_output else None,
        error=run.error if with_output else None,
        output_hidden=not with_output,
        details=details,
        window_started=_window_started(run.details.get("windowStarted")),
    )


def _window_started(stored: Any) -> WindowStartedView | None:
    """A run's ``windowStarted`` as stored (a stored value that does not check out: none)."""
    if stored is None:
        return None
    try:
        return msgspec.convert(stored, WindowStartedView)
    except msgspec.ValidationError:
        return None


def execution(run: RunRecord) -> Execution:
    """A run started by hand, as ``execute`` answers it."""
    return Execution(
        success=run.status == "succeeded",
        status=run.status,
        output=run.output,
        error=run.error,
        executed_at=iso_millis(run.started_ms),
        run=run_view(run),
    )
