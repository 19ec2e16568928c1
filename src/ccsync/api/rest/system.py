"""Health, status and Prometheus metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ccsync.api import deps
from ccsync.api.deps import Reader
from ccsync.api.typed import TypedRoute
from ccsync.process import resolve_program, run_process
from ccsync.scheduler.commands import Program
from ccsync.scheduler.service import Scheduler
from ccsync.server.status import HealthView, StatusView, ToolsState

router = APIRouter(tags=["system"], route_class=TypedRoute)

TOOL_CACHE_SECONDS = 60.0
TOOL_TIMEOUT_SECONDS = 5.0
TOOL_KILL_GRACE_SECONDS = 1.0


@router.get("/health", summary="Liveness: 200 when every backend answers, else 503 naming it")
async def health(request: Request) -> HealthView:
    return await deps.services(request).status.health()


async def _tool(name: Program, env: Mapping[str, str]) -> dict[str, Any]:
    """``name --version`` in ``env`` (the server's minus its secrets), through the runner:
    a probe that hangs is stopped, with whatever it started."""
    path = resolve_program(name, env)
    if path is None:
        return {"found": False, "path": None, "version": None}
    result = await run_process(
        [path, "--version"],
        timeout=TOOL_TIMEOUT_SECONDS,
        env=env,
        keep_bytes=4096,
        kill_grace=TOOL_KILL_GRACE_SECONDS,
    )
    said = result.stdout.strip().splitlines()
    version = said[0][:100] if said and not result.timed_out else None
    return {"found": True, "path": path, "version": version}


async def _tools_state(request: Request, scheduler: Scheduler) -> dict[str, Any]:
    """``claude`` and ``ccusage`` on the server's PATH: cached a minute per app (each look
    costs a process or three)."""
    now = time.monotonic()
    cached: tuple[float, dict[str, Any]] | None = getattr(request.app.state, "tools", None)
    if cached is None or now - cached[0] > TOOL_CACHE_SECONDS:
        executor = scheduler.executor
        claude, ccusage = await asyncio.gather(
            _tool("claude", executor.environment("claude")),
            _tool("ccusage", executor.environment("ccusage")),
        )
        if claude["found"]:
            auth = await scheduler.executor.claude_auth()
            claude["auth"] = None if auth is None else auth.to_json()
        cached = (now, {"claude": claude, "ccusage": ccusage})
        request.app.state.tools = cached
    return cached[1]


@router.get("/api/status", summary="Version, uptime, backends, sockets, devices, tools")
async def status(request: Request, who: Reader) -> StatusView:
    services = deps.services(request)
    hub = deps.hub(request)
    tools = msgspec.convert(await _tools_state(request, services.scheduler), ToolsState)
    return await services.status.report(
        sockets=len(hub),
        agents_here=hub.agents(),
        scheduler=services.scheduler,
        tools=tools,
        tasks=services.supervisor.states(),
    )


PROMETHEUS_TEXT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The Prometheus text format",
        "content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/metrics", summary="Prometheus metrics", response_class=Response, responses=PROMETHEUS_TEXT
)
async def prometheus(request: Request, who: Reader) -> Response:
    return Response(
        generate_latest(deps.telemetry(request).registry), media_type=CONTENT_TYPE_LATEST
    )
