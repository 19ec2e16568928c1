"""Health, status and Prometheus metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ccsync import __version__
from ccsync.api import deps
from ccsync.api.deps import Reader
from ccsync.process import resolve_program, run_process
from ccsync.scheduler.commands import Program
from ccsync.scheduler.service import Scheduler
from ccsync.server.live_values import online_devices
from ccsync.server.supervisor import Supervisor
from ccsync.storage import StorageUnavailableError
from ccsync.usage.timestamps import iso_millis

router = APIRouter(tags=["system"])

TOOL_CACHE_SECONDS = 60.0
TOOL_TIMEOUT_SECONDS = 5.0
TOOL_KILL_GRACE_SECONDS = 1.0


async def _checks(request: Request) -> dict[str, str]:
    services = deps.services(request)
    checks = {}
    for name, store in (("live", services.live), ("history", services.history)):
        try:
            await asyncio.wait_for(store.ping(), timeout=3)
            checks[name] = "ok"
        except (StorageUnavailableError, TimeoutError) as exc:
            checks[name] = str(exc) or "timed out"
    return checks


@router.get("/health", summary="Liveness: 200 when every backend answers, else 503 naming it")
async def health(request: Request) -> JSONResponse:
    services = deps.services(request)
    now = services.clock.now_ms()
    checks = await _checks(request)
    failing = [name for name, state in checks.items() if state != "ok"]
    body: dict[str, Any] = {
        "status": "OK" if not failing else "ERROR",
        "timestamp": iso_millis(now),
        "uptime": (now - services.started_ms) / 1000,
        "version": __version__,
        "checks": checks,
    }
    if failing:
        body["error"] = f"{', '.join(failing)} unavailable"
    return JSONResponse(body, status_code=503 if failing else 200)


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


async def _scheduler_state(scheduler: Scheduler, history_ok: bool) -> dict[str, Any]:
    if not history_ok:
        return {"available": False, "error": "the history store is unavailable"}
    return await scheduler.status()


@router.get("/api/status", summary="Version, uptime, backends, sockets, devices, tools")
async def status(request: Request, who: Reader) -> dict[str, Any]:
    services = deps.services(request)
    hub = deps.hub(request)
    now = services.clock.now_ms()
    checks = await _checks(request)
    both = checks["live"] == checks["history"] == "ok"
    online = await online_devices(services.history, services.live) if both else []
    live: dict[str, Any] = {"backend": services.live.backend, "state": checks["live"]}
    if checks["live"] == "ok":
        stats = await services.live.stats()
        caps = services.live.caps
        live |= {
            "keys": stats.keys,
            "clientKeys": {"used": stats.client_keys, "max": caps.keys},
            "clientBytes": {"used": stats.client_bytes, "max": caps.total_bytes},
        }
    history: dict[str, Any] = {
        "backend": services.history.capabilities.backend,
        "state": checks["history"],
    }
    if checks["history"] == "ok":
        history["entries"] = await services.history.entry_count()
        history["devices"] = len(await services.history.list_devices())
    return {
        "version": __version__,
        "startedAt": iso_millis(services.started_ms),
        "uptime": (now - services.started_ms) / 1000,
        "mode": "local" if services.settings.local_mode else "token",
        "live": live,
        "history": history,
        "sockets": len(hub),
        "agentsConnectedHere": hub.agents(),
        "devicesOnline": online,
        "hostAgent": None
        if services.host_agent is None
        else {"deviceId": services.host_agent.device_id},
        "scheduler": await _scheduler_state(services.scheduler, checks["history"] == "ok"),
        "tools": await _tools_state(request, services.scheduler),
        "tasks": _tasks(services.supervisor),
    }


def _tasks(supervisor: Supervisor) -> list[dict[str, Any]]:
    """The background loops: running or waiting to restart, how often they failed, why."""
    return [
        {
            "name": task.name,
            "state": task.state,
            "since": iso_millis(task.since_ms),
            "restarts": task.restarts,
            "lastError": task.last_error,
            "lastCrashAt": None if task.last_crash_ms is None else iso_millis(task.last_crash_ms),
        }
        for task in supervisor.states()
    ]


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def prometheus(request: Request, who: Reader) -> Response:
    return Response(
        generate_latest(deps.telemetry(request).registry), media_type=CONTENT_TYPE_LATEST
    )
