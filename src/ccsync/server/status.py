"""The server's health and status (``/health``, ``/api/status``): backends, devices, scheduler.

``health`` pings both stores (3 s each); a store that does not answer makes it an
``UnavailableError`` (503) whose body still says everything ``HealthView`` says. ``report``
adds what the transport knows (its sockets), the scheduler's state and the tools found on
the server's ``PATH``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Literal, Protocol

import msgspec
from msgspec import UNSET, UnsetType

from ccsync import __version__
from ccsync.clock import Clock
from ccsync.server.devices import Devices
from ccsync.server.errors import UnavailableError
from ccsync.server.supervisor import TaskStatus
from ccsync.storage import StorageUnavailableError
from ccsync.storage.history.base import HistoryStore
from ccsync.storage.live.base import ValueStore
from ccsync.usage.timestamps import iso_millis

PING_SECONDS = 3.0


class HealthView(msgspec.Struct):
    status: str
    """``OK``; else the answer is a 503 (``ERROR``) with an ``error`` naming the backends."""
    timestamp: str
    uptime: float
    """Seconds."""
    version: str
    checks: dict[str, str]
    """``live`` and ``history``: ``ok``, or what went wrong."""


class Usage(msgspec.Struct):
    used: int
    max: int


class LiveBackend(msgspec.Struct, rename="camel"):
    backend: str
    state: str
    keys: int | UnsetType = UNSET
    client_keys: Usage | UnsetType = UNSET
    client_bytes: Usage | UnsetType = UNSET


class HistoryBackend(msgspec.Struct):
    backend: str
    state: str
    entries: int | UnsetType = UNSET
    devices: int | UnsetType = UNSET


class HostAgentView(msgspec.Struct, rename="camel"):
    device_id: str


class NextFire(msgspec.Struct, rename="camel"):
    at: str
    job_id: str
    name: str | None


class ExactlyOnce(msgspec.Struct, rename="camel"):
    mode: Literal["claims", "single-node"]
    claims_won: int
    claims_lost: int


class SchedulerState(msgspec.Struct, rename="camel"):
    """The scheduler of this process; only ``available`` (false) and ``error`` when the
    history store is down."""

    available: bool
    error: str | UnsetType = UNSET
    instance: str | UnsetType = UNSET
    jobs: int | UnsetType = UNSET
    enabled_jobs: int | UnsetType = UNSET
    running: list[str] | UnsetType = UNSET
    """Jobs with a run in progress here."""
    max_runs: int | UnsetType = UNSET
    next_fire: NextFire | UnsetType | None = UNSET
    last_tick: str | UnsetType | None = UNSET
    allow_commands: bool | UnsetType = UNSET
    exactly_once: ExactlyOnce | UnsetType = UNSET


class AuthView(msgspec.Struct, rename="camel"):
    """``claude auth status``: whether the CLI can make requests, and how."""

    logged_in: bool
    auth_method: str | None
    api_provider: str | None
    subscription_type: str | None


class ToolState(msgspec.Struct):
    found: bool
    path: str | None
    version: str | None
    auth: AuthView | UnsetType | None = UNSET
    """``claude`` only, when found."""


class ToolsState(msgspec.Struct):
    claude: ToolState
    ccusage: ToolState


class StatusView(msgspec.Struct, rename="camel"):
    version: str
    started_at: str
    uptime: float
    mode: Literal["local", "token"]
    live: LiveBackend
    history: HistoryBackend
    sockets: int
    agents_connected_here: list[str]
    devices_online: list[str]
    host_agent: HostAgentView | None
    scheduler: SchedulerState
    tools: ToolsState
    tasks: list[TaskView]
    """The background loops: running or waiting to restart, how often they failed, why."""


class TaskView(msgspec.Struct, rename="camel"):
    """One background loop (``server.supervisor``)."""

    name: str
    state: str
    since: str
    restarts: int
    last_error: str | None
    last_crash_at: str | None


def task_views(states: Iterable[TaskStatus]) -> list[TaskView]:
    return [
        TaskView(
            name=task.name,
            state=task.state,
            since=iso_millis(task.since_ms),
            restarts=task.restarts,
            last_error=task.last_error,
            last_crash_at=None if task.last_crash_ms is None else iso_millis(task.last_crash_ms),
        )
        for task in states
    ]


class SchedulerStatus(Protocol):
    async def status(self) -> SchedulerState: ...


class SystemStatus:
    """Health and ``/api/status``: it describes the stores themselves (backend, whether
    each answers, how full), so it holds the live values and the whole history store."""

    def __init__(
        self,
        values: ValueStore,
        history: HistoryStore,
        devices: Devices,
        clock: Clock,
        *,
        started_ms: int,
        local_mode: bool,
        host_device: str | None,
    ) -> None:
        self.values = values
        self.history = history
        self.devices = devices
        self.clock = clock
        self.started_ms = started_ms
        self.local_mode = local_mode
        self.host_device = host_device

    async def checks(self) -> dict[str, str]:
        """``live`` and ``history``: ``ok``, or why not."""
        checks = {}
        for name, store in (("live", self.values), ("history", self.history)):
            try:
                await asyncio.wait_for(store.ping(), timeout=PING_SECONDS)
                checks[name] = "ok"
            except (StorageUnavailableError, TimeoutError) as exc:
                checks[name] = str(exc) or "timed out"
        return checks

    async def health(self) -> HealthView:
        """``HealthView`` when every backend answers; else ``UnavailableError`` with it."""
        now = self.clock.now_ms()
        checks = await self.checks()
        view = HealthView(
            status="OK",
            timestamp=iso_millis(now),
            uptime=self._uptime(now),
            version=__version__,
            checks=checks,
        )
        failing = [name for name, state in checks.items() if state != "ok"]
        if failing:
            view.status = "ERROR"
            raise UnavailableError(
                f"{', '.join(failing)} unavailable", **msgspec.structs.asdict(view)
            )
        return view

    async def report(
        self,
        *,
        sockets: int,
        agents_here: list[str],
        scheduler: SchedulerStatus,
        tools: ToolsState,
        tasks: Iterable[TaskStatus] = (),
    ) -> StatusView:
        """Everything ``/api/status`` shows; ``sockets`` and ``agents_here`` are this
        process's (the transport's)."""
        now = self.clock.now_ms()
        checks = await self.checks()
        live_ok, history_ok = checks["live"] == "ok", checks["history"] == "ok"
        live = LiveBackend(backend=self.values.backend, state=checks["live"])
        if live_ok:
            stats = await self.values.stats()
            caps = self.values.caps
            live.keys = stats.keys
            live.client_keys = Usage(stats.client_keys, caps.keys)
            live.client_bytes = Usage(stats.client_bytes, caps.total_bytes)
        history = HistoryBackend(backend=self.history.capabilities.backend, state=checks["history"])
        if history_ok:
            history.entries = await self.history.entries.entry_count()
            history.devices = len(await self.history.devices.list_devices())
        return StatusView(
            version=__version__,
            started_at=iso_millis(self.started_ms),
            uptime=self._uptime(now),
            mode="local" if self.local_mode else "token",
            live=live,
            history=history,
            sockets=sockets,
            agents_connected_here=agents_here,
            devices_online=await self.devices.online() if live_ok and history_ok else [],
            host_agent=None if self.host_device is None else HostAgentView(self.host_device),
            scheduler=await scheduler.status()
            if history_ok
            else SchedulerState(available=False, error="the history store is unavailable"),
            tools=tools,
            tasks=task_views(tasks),
        )

    def _uptime(self, now_ms: int) -> float:
        return (now_ms - self.started_ms) / 1000
