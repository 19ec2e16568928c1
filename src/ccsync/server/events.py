"""Events the server broadcasts: one Struct per type, the channel each belongs to.

Every event is a JSON object whose ``type`` names it (the Structs' tag). It travels
through the live store's one pub/sub channel (``publish``), so an event published on any
replica reaches the WebSocket clients of all replicas. Clients receive every event unless
they ``subscribe`` to channels, then only those channels' events.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from ccsync.server.limit_views import LimitsView
from ccsync.server.window import WindowView
from ccsync.storage.history.jobs import JobKind, RunRecord, RunStatus, RunTrigger
from ccsync.storage.live.base import EventBus
from ccsync.usage.timestamps import iso_millis

LIVE_DATA_UPDATE: Final = "live-data-update"
TOKEN_USAGE_UPDATE: Final = "token_usage_update"
DEVICE_CONNECTED: Final = "device_connected"
DEVICE_DISCONNECTED: Final = "device_disconnected"
SYNC_STATUS: Final = "sync_status"
SYNC_REQUEST: Final = "sync_request"
CRON_JOB_EXECUTED: Final = "cron_job_executed"
LIMITS_UPDATE: Final = "limits_update"
ALERT_FIRED: Final = "alert_fired"
TOKEN_REVOKED: Final = "token_revoked"
"""Internal: every replica closes the sockets of a revoked token; never sent to clients."""
READINGS_KEPT: Final = "readings_kept"
"""Internal: a device's official readings were kept (the limits monitor looks again)."""
INTERNAL: Final = frozenset({TOKEN_REVOKED, READINGS_KEPT})

CHANNELS: Final[dict[str, str]] = {
    LIVE_DATA_UPDATE: "metrics",
    TOKEN_USAGE_UPDATE: "usage",
    DEVICE_CONNECTED: "devices",
    DEVICE_DISCONNECTED: "devices",
    SYNC_STATUS: "usage",
    SYNC_REQUEST: "agents",
    CRON_JOB_EXECUTED: "cron",
    LIMITS_UPDATE: "limits",
    ALERT_FIRED: "limits",
}
"""The channel of each event type; ``subscribe`` takes these names."""

KNOWN_CHANNELS: Final = frozenset(CHANNELS.values())


def channel_of(event: dict[str, Any]) -> str:
    return CHANNELS.get(str(event.get("type")), "other")


class Event(msgspec.Struct, tag_field="type", rename="camel", kw_only=True):
    """An event: ``type`` is its tag; ``timestamp`` when the server made it."""

    timestamp: str


class LiveDataUpdate(Event, tag=LIVE_DATA_UPDATE):
    """A client live key was stored (``data``) or removed (``data`` null)."""

    key: str
    data: Any


class TokenUsageUpdate(Event, tag=TOKEN_USAGE_UPDATE):
    """A device pushed: how many lines were new, and the account's window after it."""

    device_id: str
    account: str
    accepted: int
    window: WindowView | None


class DeviceConnected(Event, tag=DEVICE_CONNECTED):
    device_id: str


class DeviceDisconnected(Event, tag=DEVICE_DISCONNECTED):
    device_id: str


class SyncStatus(Event, tag=SYNC_STATUS):
    """How many online devices were asked to push (``PUT /api/usage/sync``)."""

    requested: int


class SyncRequest(Event, tag=SYNC_REQUEST, omit_defaults=True):
    """To agents: push now (one device's, or every agent when ``deviceId`` is absent)."""

    device_id: str | None = None


class TokenRevoked(Event, tag=TOKEN_REVOKED):
    token_id: str


class ReadingsKept(Event, tag=READINGS_KEPT):
    account: str


class LimitsUpdate(Event, tag=LIMITS_UPDATE):
    """The account's limits changed: a reading, an estimate, a reset or the binding window
    (``GET /api/limits``'s answer)."""

    limits: LimitsView


class AlertFired(Event, tag=ALERT_FIRED):
    """An alert rule fired (and was sent to the channels: ``delivered``)."""

    account: str
    window: str
    rule: str
    title: str
    body: str
    delivered: bool


class RunSummary(msgspec.Struct, rename="camel", kw_only=True):
    """A cron run without what its program printed (the fields anyone may read)."""

    id: int
    job_id: str
    kind: JobKind
    trigger: RunTrigger
    instance: str
    """The server process that ran it."""
    scheduled_for: str | None
    """The fire time it ran for (``null`` for manual runs)."""
    started_at: str
    ended_at: str | None
    duration_ms: int | None
    status: RunStatus
    success: bool
    exit_code: int | None
    process_group: int | None


class CronJobExecuted(RunSummary, tag_field="type", tag=CRON_JOB_EXECUTED):
    """A job ran. Every socket (device tokens too) gets it, so it carries no output: only
    admins read what a program printed (``GET /api/cron/{id}/runs``)."""

    name: str
    executed_at: str
    timestamp: str


def run_summary(run: RunRecord) -> RunSummary:
    return RunSummary(
        id=run.id,
        job_id=run.job_id,
        kind=run.job_kind,
        trigger=run.trigger,
        instance=run.instance,
        scheduled_for=None if run.scheduled_ms is None else iso_millis(run.scheduled_ms),
        started_at=iso_millis(run.started_ms),
        ended_at=None if run.ended_ms is None else iso_millis(run.ended_ms),
        duration_ms=run.duration_ms,
        status=run.status,
        success=run.status == "succeeded",
        exit_code=run.exit_code,
        process_group=run.process_group,
    )


def cron_job_executed(run: RunRecord, name: str, now_ms: int) -> CronJobExecuted:
    summary = run_summary(run)
    return CronJobExecuted(
        **msgspec.structs.asdict(summary),
        name=name,
        executed_at=summary.started_at,
        timestamp=iso_millis(now_ms),
    )


ServerEvent = (
    LiveDataUpdate
    | TokenUsageUpdate
    | DeviceConnected
    | DeviceDisconnected
    | SyncStatus
    | SyncRequest
    | TokenRevoked
    | CronJobExecuted
    | ReadingsKept
    | LimitsUpdate
    | AlertFired
)
"""Every event the server publishes (``msgspec.json.Decoder(ServerEvent)`` reads them)."""


def message(event: ServerEvent) -> dict[str, Any]:
    """``event`` as the JSON object the live store's channel carries."""
    built: dict[str, Any] = msgspec.to_builtins(event)
    return built


async def publish(bus: EventBus, event: ServerEvent) -> None:
    """Send ``event`` to every replica's sockets (through the live store's channel)."""
    await bus.publish(message(event))
