"""The scheduler's REST API: ``/api/cron``, also served under ``/api/cron/jobs``.

Reading jobs and runs needs any token; creating, changing, running and deleting them
needs the admin token. What a run's program printed (``output``, ``error``, Claude's
answer, the job's ``errorMessage``) is shown to admins only: other readers get the same
records with those fields null. Bad schedules, zones and commands (a refused ``claude``
flag among them, named) are 400s whose message says what to change, with an example. A
run that cannot start now is 409 (the job runs already) or 429 (this server runs its most
runs at once, ``Retry-After``). The errors are mapped once, in ``api.errors``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from ccsync.api import deps
from ccsync.api.deps import Admin, Reader
from ccsync.api.typed import TypedRoute, json_body
from ccsync.scheduler.service import Scheduler
from ccsync.scheduler.views import (
    Execution,
    JobBody,
    JobDeleted,
    JobList,
    JobSaved,
    OneJob,
    RunList,
    ScheduleBody,
    ScheduleCheck,
    execution,
)

JobId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Job = Annotated[JobBody, json_body(JobBody)]


def _scheduler(request: Request) -> Scheduler:
    return deps.services(request).scheduler


async def list_jobs(request: Request, who: Reader) -> JobList:
    return JobList(jobs=await _scheduler(request).list_jobs(with_output=who.is_admin))


async def create_job(request: Request, who: Admin, body: Job) -> JobSaved:
    return JobSaved(success=True, job=await _scheduler(request).create_job(body.to_spec()))


async def get_job(request: Request, who: Reader, job_id: JobId) -> OneJob:
    return OneJob(job=await _scheduler(request).get_job(job_id, with_output=who.is_admin))


async def update_job(request: Request, who: Admin, job_id: JobId, body: Job) -> JobSaved:
    return JobSaved(success=True, job=await _scheduler(request).update_job(job_id, body.to_spec()))


async def delete_job(request: Request, who: Admin, job_id: JobId) -> JobDeleted:
    await _scheduler(request).delete_job(job_id)
    return JobDeleted(success=True, id=job_id)


async def enable_job(request: Request, who: Admin, job_id: JobId) -> JobSaved:
    return JobSaved(success=True, job=await _scheduler(request).set_enabled(job_id, True))


async def disable_job(request: Request, who: Admin, job_id: JobId) -> JobSaved:
    return JobSaved(success=True, job=await _scheduler(request).set_enabled(job_id, False))


async def execute_job(request: Request, who: Admin, job_id: JobId) -> Execution:
    return execution(await _scheduler(request).execute(job_id))


async def job_runs(
    request: Request,
    who: Reader,
    job_id: JobId,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> RunList:
    return RunList(runs=await _scheduler(request).runs(job_id, limit, with_output=who.is_admin))


async def validate_schedule(
    request: Request, who: Reader, body: Annotated[ScheduleBody, json_body(ScheduleBody)]
) -> ScheduleCheck:
    return await _scheduler(request).validate(body.schedule, body.timezone, command=body.command)


def _routes(prefix: str, *, in_schema: bool) -> APIRouter:
    """Every cron route under ``prefix``; the alias prefix is left out of the OpenAPI schema."""
    router = APIRouter(tags=["cron"], include_in_schema=in_schema, route_class=TypedRoute)
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
