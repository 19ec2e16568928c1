"""Health, status and Prometheus metrics."""

from __future__ import annotations

import asyncio
import shutil
import time
from typing import Any

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ccsync.api import deps
from ccsync.api.deps import Reader
from ccsync.api.typed import TypedRoute
from ccsync.scheduler.service import Scheduler
from ccsync.server.status import HealthView, StatusView, ToolsState

router = APIRouter(tags=["system"], route_class=TypedRoute)

TOOL_CACHE_SECONDS = 60.0


@router.get("/health", summary="Liveness: 200 when every backend answers, else 503 naming it")
async def health(request: Request) -> HealthView:
    return await deps.services(request).status.health()


async def _tool(name: str) -> dict[str, Any]:
    path = shutil.which(name)
    if path is None:
        return {"found": False, "path": None, "version": None}
    try:
        process = await asyncio.create_subprocess_exec(
            path, "--version", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
        )
        out, _ = await asyncio.wait_for(process.communicate(), timeout=5)
        version = out.decode(errors="replace").strip().splitlines()[0][:100] if out else None
    except (OSError, TimeoutError, IndexError):
        version = None
    return {"found": True, "path": path, "version": version}


async def _tools_state(request: Request, scheduler: Scheduler) -> dict[str, Any]:
    """``claude`` and ``ccusage`` on the server's PATH: cached a minute per app (each look
    costs a process or three)."""
    now = time.monotonic()
    cached: tuple[float, dict[str, Any]] | None = getattr(request.app.state, "tools", None)
    if cached is None or now - cached[0] > TOOL_CACHE_SECONDS:
        claude, ccusage = await asyncio.gather(_tool("claude"), _tool("ccusage"))
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
        sockets=len(hub), agents_here=hub.agents(), scheduler=services.scheduler, tools=tools
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
