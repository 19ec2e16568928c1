"""The scheduler's REST API (the seed's ``/api/cron``, also served under ``/api/cron/jobs``).

Reading jobs and runs needs any token; creating, changing, running and deleting them
needs the admin token. What a run's program printed (``output``, ``error``, Claude's
answer, the job's ``errorMessage``) is shown to admins only: other readers get the same
records with those fields null. Bad schedules, zones and commands (a refused ``claude``
flag among them, named) are 400s whose message says what to change, with an example. A
run that cannot start now is 409 (the job runs already) or 429 (this server runs its most
runs at once, ``Retry-After``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from ccsync.api import deps
from ccsync.api.deps import Admin, Reader
from ccsync.api.errors import ApiError
from ccsync.scheduler.capacity import CapacityFullError, JobBusyError
from ccsync.scheduler.definitions import JobError, JobSpec, run_to_json
from ccsync.scheduler.schedule import EXAMPLES
from ccsync.scheduler.service import JobNotFoundError, Scheduler
from ccsync.usage.timestamps import iso_millis

RETRY_AFTER = {"Retry-After": "5"}
JobId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Time = Annotated[str, Field(min_length=4, max_length=5, pattern=r"^\d{1,2}:\d{2}$")]
Text = Annotated[str, Field(max_length=200)]


class JobBody(BaseModel):
    """A job, or the fields of one to change. Warm-up fields apply to ``kind: "warmup"``."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    schedule: Text | None = None
    """5-field cron, or 6 fields with seconds first (node-cron)."""
    command: Annotated[str, Field(min_length=1, max_length=8192)] | None = None
    """Split into words like a shell would, then run without one."""
    enabled: bool | None = None
    timezone: Annotated[str, Field(max_length=64)] | None = None
    kind: Literal["command", "warmup"] | None = None
    resetAt: Annotated[list[Time], Field(min_length=1, max_length=24)] | None = None  # noqa: N815
    startAt: Annotated[list[Time], Field(min_length=1, max_length=24)] | None = None  # noqa: N815
    model: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    prompt: Annotated[str, Field(min_length=1, max_length=2000)] | None = None
    cooldownMinutes: Annotated[int, Field(ge=0, le=7 * 24 * 60)] | None = None  # noqa: N815
    monthlyCap: Annotated[int, Field(ge=0, le=1000)] | None = None  # noqa: N815
    maxWaitMinutes: Annotated[int, Field(ge=0, le=300)] | None = None  # noqa: N815
    account: Annotated[str, Field(min_length=1, max_length=256)] | None = None
    timeoutSeconds: Annotated[int, Field(ge=1, le=3600)] | None = None  # noqa: N815

    def to_spec(self) -> JobSpec:
        options = {
            key: value
            for key in (
                "model",
                "prompt",
                "cooldownMinutes",
                "monthlyCap",
                "maxWaitMinutes",
                "account",
                "timeoutSeconds",
            )
            if (value := getattr(self, key)) is not None
        }
        return JobSpec(
            name=self.name,
            schedule=self.schedule,
            command=self.command,
            enabled=self.enabled,
            timezone=self.timezone,
            kind=self.kind,
            reset_at=self.resetAt,
            start_at=self.startAt,
            options=options,
        )


class ScheduleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schedule: Annotated[str, Field(max_length=1000)]
    timezone: Annotated[str, Field(max_length=64)] | None = None
    command: Annotated[str, Field(min_length=1, max_length=8192)] | None = None
    """Checked too when given: whether this server may run it."""


def _scheduler(request: Request) -> Scheduler:
    return deps.services(request).scheduler


def _bad(exc: JobError) -> ApiError:
    return ApiError(400, str(exc), examples=list(EXAMPLES))


def _missing(job_id: str) -> ApiError:
    return ApiError(404, f"no cron job {job_id!r}")


async def list_jobs(request: Request, who: Reader) -> dict[str, Any]:
    return {"jobs": await _scheduler(request).list_jobs(with_output=who.is_admin)}


async def create_job(request: Request, who: Admin, body: JobBody) -> dict[str, Any]:
    try:
        job = await _scheduler(request).create_job(body.to_spec())
    except JobError as exc:
        raise _bad(exc) from None
    return {"success": True, "job": job}


async def get_job(request: Request, who: Reader, job_id: JobId) -> dict[str, Any]:
    try:
        return {"job": await _scheduler(request).get_job(job_id, with_output=who.is_admin)}
    except JobNotFoundError:
        raise _missing(job_id) from None


async def update_job(request: Request, who: Admin, job_id: JobId, body: JobBody) -> dict[str, Any]:
    try:
        return {
            "success": True,
            "job": await _scheduler(request).update_job(job_id, body.to_spec()),
        }
    except JobNotFoundError:
        raise _missing(job_id) from None
    except JobError as exc:
        raise _bad(exc) from None


async def delete_job(request: Request, who: Admin, job_id: JobId) -> dict[str, Any]:
    try:
        await _scheduler(request).delete_job(job_id)
    except JobNotFoundError:
        raise _missing(job_id) from None
    return {"success": True, "id": job_id}


async def enable_job(request: Request, who: Admin, job_id: JobId) -> dict[str, Any]:
    return await _set_enabled(request, job_id, True)


async def disable_job(request: Request, who: Admin, job_id: JobId) -> dict[str, Any]:
    return await _set_enabled(request, job_id, False)


async def _set_enabled(request: Request, job_id: str, enabled: bool) -> dict[str, Any]:
    try:
        return {"success": True, "job": await _scheduler(request).set_enabled(job_id, enabled)}
    except JobNotFoundError:
        raise _missing(job_id) from None
    except JobError as exc:  # e.g. a command this server may no longer run
        raise _bad(exc) from None


async def execute_job(request: Request, who: Admin, job_id: JobId) -> dict[str, Any]:
    try:
        run = await _scheduler(request).execute(job_id)
    except JobNotFoundError:
        raise _missing(job_id) from None
    except JobBusyError as exc:
        raise ApiError(409, str(exc)) from None
    except CapacityFullError as exc:
        raise ApiError(429, f"{exc}; try again when one ends", headers=RETRY_AFTER) from None
    record = run_to_json(run)
    return {
        "success": run.status == "succeeded",
        "status": run.status,
        "output": run.output,
        "error": run.error,
        "executedAt": iso_millis(run.started_ms),
        "run": record,
    }


async def job_runs(
    request: Request,
    who: Reader,
    job_id: JobId,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    try:
        runs = await _scheduler(request).runs(job_id, limit, with_output=who.is_admin)
        return {"runs": runs}
    except JobNotFoundError:
        raise _missing(job_id) from None


async def validate_schedule(request: Request, who: Reader, body: ScheduleBody) -> dict[str, Any]:
    try:
        return await _scheduler(request).validate(
            body.schedule, body.timezone, command=body.command
        )
    except JobError as exc:
        raise ApiError(400, str(exc), valid=False, examples=list(EXAMPLES)) from None


def _routes(prefix: str, *, in_schema: bool) -> APIRouter:
    """Every cron route under ``prefix``; the alias prefix is left out of the OpenAPI schema."""
    router = APIRouter(tags=["cron"], include_in_schema=in_schema)
    add = router.add_api_route
    add(f"{prefix}", list_jobs, methods=["GET"], summary="Every job")
    add(f"{prefix}", create_job, methods=["POST"], status_code=201, summary="Create a job")
    add(
        f"{prefix}/validate-schedule",
        validate_schedule,
        methods=["POST"],
        summary="Check a schedule; its next fire times",
    )
    add(f"{prefix}/{{job_id}}", get_job, methods=["GET"], summary="One job")
    add(f"{prefix}/{{job_id}}", update_job, methods=["PUT"], summary="Change a job")
    add(f"{prefix}/{{job_id}}", delete_job, methods=["DELETE"], summary="Delete a job and its runs")
    add(f"{prefix}/{{job_id}}/enable", enable_job, methods=["POST"], summary="Enable a job")
    add(f"{prefix}/{{job_id}}/disable", disable_job, methods=["POST"], summary="Disable a job")
    add(
        f"{prefix}/{{job_id}}/execute",
        execute_job,
        methods=["POST"],
        summary="Run a job now and wait for it",
    )
    add(
        f"{prefix}/{{job_id}}/runs", job_runs, methods=["GET"], summary="A job's runs, newest first"
    )
    return router


# ``/api/cron/jobs…`` first: otherwise ``GET /api/cron/jobs`` would match ``/api/cron/{job_id}``.
aliases = _routes("/api/cron/jobs", in_schema=False)
router = _routes("/api/cron", in_schema=True)
