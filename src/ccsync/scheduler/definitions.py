"""Job definitions: a requested change checked and turned into a stored job, and back to JSON.

Pure: the clock, the id and the server's policy (``allow_commands``) come in as values.
Every rule a job must satisfy is here, so the REST API, the CLI and the tests meet the
same errors: a bad schedule (with an example), an unknown time zone, a command that
cannot be split or may not run, a warm-up that is not a headless ``claude`` request.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from ccsync.scheduler.commands import CommandError, check_allowed, parse_command
from ccsync.scheduler.schedule import Schedule, ScheduleError
from ccsync.scheduler.warmup import (
    DEFAULT_MODEL,
    DEFAULT_PROMPT,
    current_command,
    schedule_for,
    warmup_command,
)
from ccsync.storage.history.jobs import JobKind, JobRecord, JobStatus
from ccsync.usage.timestamps import UnknownTimezoneError, resolve_timezone

WARMUP_OPTIONS = (
    "model",
    "prompt",
    "cooldownMinutes",
    "monthlyCap",
    "maxWaitMinutes",
    "verifySeconds",
    "account",
)
COMMON_OPTIONS = ("timeoutSeconds", "catchUpMinutes")


class JobError(ValueError):
    """A job definition that cannot be stored; the message says what to change (and
    ``fields``, more for the answer: ``valid`` for a schedule checked alone)."""

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.fields = fields


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A requested job, or a change to one: ``None`` leaves a field as it is (or default)."""

    name: str | None = None
    schedule: str | None = None
    command: str | None = None
    enabled: bool | None = None
    timezone: str | None = None
    kind: JobKind | None = None
    reset_at: list[str] | None = None
    """Warm-up: the times (HH:MM) windows should reset; the schedule starts them 5 h before."""
    start_at: list[str] | None = None
    """Warm-up: the times (HH:MM) windows should start."""
    options: dict[str, Any] = dataclasses.field(default_factory=dict)
    """Given options (``model``, ``prompt``, ``cooldownMinutes``, ``monthlyCap``,
    ``maxWaitMinutes``, ``verifySeconds``, ``account``; ``timeoutSeconds``,
    ``catchUpMinutes``); merged over the stored ones."""


def build_job(
    spec: JobSpec,
    *,
    job_id: str,
    now_ms: int,
    allow_commands: bool,
    existing: JobRecord | None = None,
) -> JobRecord:
    """The job ``spec`` describes (over ``existing`` for an update); ``JobError`` if invalid."""
    kind: JobKind = spec.kind or (existing.kind if existing else "command")
    options = {**(existing.options if existing else {}), **spec.options}
    if kind != "warmup":
        for key in WARMUP_OPTIONS:
            if key in spec.options:
                raise JobError(f"{key!r} is a warm-up option; this job's kind is {kind!r}")
    schedule = spec.schedule
    if spec.reset_at is not None or spec.start_at is not None:
        if kind != "warmup":
            raise JobError("resetAt/startAt describe warm-ups: give kind 'warmup'")
        if spec.schedule is not None or (spec.reset_at is not None and spec.start_at is not None):
            raise JobError("give one of schedule, resetAt and startAt")
        times = spec.reset_at if spec.reset_at is not None else spec.start_at
        assert times is not None
        try:
            schedule = schedule_for(times, resets=spec.reset_at is not None)
        except ValueError as exc:
            raise JobError(str(exc)) from None
        options.pop("resetAt", None)
        options.pop("startAt", None)
        options["resetAt" if spec.reset_at is not None else "startAt"] = list(times)
    elif spec.schedule is not None:
        options.pop("resetAt", None)
        options.pop("startAt", None)
    schedule = schedule if schedule is not None else (existing.schedule if existing else None)
    if schedule is None:
        raise JobError("a job needs a schedule, e.g. '0 7 * * 1-5' (07:00 on weekdays)")
    try:
        schedule = Schedule.parse(schedule).expression
    except ScheduleError as exc:
        raise JobError(str(exc)) from None

    command = spec.command if spec.command is not None else (existing.command if existing else None)
    if kind == "warmup" and spec.command is None and command is not None:
        command = current_command(command, options)
    if kind == "warmup" and (command is None or _warmup_defaults_changed(spec, existing)):
        command = warmup_command(
            str(options.get("prompt", DEFAULT_PROMPT)), str(options.get("model", DEFAULT_MODEL))
        )
    if command is None:
        raise JobError("a job needs a command, e.g. claude -p 'Reply with OK' --model haiku")
    try:
        parsed = parse_command(command)
        check_allowed(parsed, allow_commands)
    except CommandError as exc:
        raise JobError(str(exc)) from None
    if kind == "warmup" and parsed.program != "claude":
        raise JobError("a warm-up runs claude (e.g. claude -p 'Reply with OK.' --model haiku)")

    timezone = spec.timezone if spec.timezone is not None else (existing and existing.timezone)
    if timezone:
        try:
            resolve_timezone(timezone)
        except UnknownTimezoneError as exc:
            raise JobError(str(exc)) from None
    name = spec.name if spec.name is not None else (existing.name if existing else None)
    if not name or not name.strip():
        raise JobError("a job needs a name")
    enabled = spec.enabled
    if enabled is None:
        # Nothing that spends usage runs unless asked to.
        enabled = existing.enabled if existing else parsed.program != "claude"
    status: JobStatus = "active" if enabled else "inactive"
    if existing is not None and existing.status == "error" and enabled and spec.enabled is None:
        status = "error"
    return JobRecord(
        id=job_id,
        name=name.strip(),
        schedule=schedule,
        command=command,
        kind=kind,
        enabled=enabled,
        timezone=timezone or None,
        options=options,
        status=status,
        error_message=existing.error_message if existing and status == "error" else None,
        last_run_ms=existing.last_run_ms if existing else None,
        created_ms=existing.created_ms if existing else now_ms,
        updated_ms=now_ms,
    )


def _warmup_defaults_changed(spec: JobSpec, existing: JobRecord | None) -> bool:
    """A warm-up's command follows its ``prompt``/``model`` unless a command is given."""
    if spec.command is not None:
        return False
    if existing is None:
        return True
    return "prompt" in spec.options or "model" in spec.options


def next_run_ms(job: JobRecord, after_ms: int, zone: tzinfo) -> int | None:
    """When an enabled job fires next (``None`` when disabled or never)."""
    if not job.enabled:
        return None
    try:
        return Schedule.parse(job.schedule).next_after(after_ms, zone)
    except ScheduleError:
        return None
