"""Events the server broadcasts: their names, the channel each belongs to, and builders.

Every event is a JSON object with a ``type``. It travels through the live store's one
pub/sub channel, so an event published on any replica reaches the WebSocket clients of
all replicas. Clients receive every event unless they ``subscribe`` to channels, then
only those channels' events.
"""

from __future__ import annotations

from typing import Any, Final

from ccsync.usage.timestamps import iso_millis

LIVE_DATA_UPDATE: Final = "live-data-update"
TOKEN_USAGE_UPDATE: Final = "token_usage_update"
DEVICE_CONNECTED: Final = "device_connected"
DEVICE_DISCONNECTED: Final = "device_disconnected"
SYNC_STATUS: Final = "sync_status"
SYNC_REQUEST: Final = "sync_request"
CRON_JOB_EXECUTED: Final = "cron_job_executed"
TOKEN_REVOKED: Final = "token_revoked"
"""Internal: every replica closes the sockets of a revoked token; never sent to clients."""
INTERNAL: Final = frozenset({TOKEN_REVOKED})

CHANNELS: Final[dict[str, str]] = {
    LIVE_DATA_UPDATE: "metrics",
    TOKEN_USAGE_UPDATE: "usage",
    DEVICE_CONNECTED: "devices",
    DEVICE_DISCONNECTED: "devices",
    SYNC_STATUS: "usage",
    SYNC_REQUEST: "agents",
    CRON_JOB_EXECUTED: "cron",
}
"""The channel of each event type; ``subscribe`` takes these names."""

KNOWN_CHANNELS: Final = frozenset(CHANNELS.values())


def channel_of(event: dict[str, Any]) -> str:
    return CHANNELS.get(str(event.get("type")), "other")


def live_data_update(key: str, data: Any, now_ms: int) -> dict[str, Any]:
    return {"type": LIVE_DATA_UPDATE, "key": key, "data": data, "timestamp": iso_millis(now_ms)}


def token_usage_update(
    device_id: str, account: str, accepted: int, window: dict[str, Any] | None, now_ms: int
) -> dict[str, Any]:
    return {
        "type": TOKEN_USAGE_UPDATE,
        "deviceId": device_id,
        "account": account,
        "accepted": accepted,
        "window": window,
        "timestamp": iso_millis(now_ms),
    }


def device_event(kind: str, device_id: str, now_ms: int) -> dict[str, Any]:
    return {"type": kind, "deviceId": device_id, "timestamp": iso_millis(now_ms)}


def sync_status(asked: int, now_ms: int) -> dict[str, Any]:
    return {"type": SYNC_STATUS, "requested": asked, "timestamp": iso_millis(now_ms)}


def sync_request(now_ms: int, device_id: str | None = None) -> dict[str, Any]:
    """Asks agents to push now (one device, or every agent when ``device_id`` is None)."""
    event: dict[str, Any] = {"type": SYNC_REQUEST, "timestamp": iso_millis(now_ms)}
    if device_id is not None:
        event["deviceId"] = device_id
    return event


CRON_PRIVATE: Final = frozenset({"output", "error", "details", "outputHidden"})
"""Run fields ``cron_job_executed`` leaves out: every socket (device tokens too) gets the
event, and only admins read what a program printed (``GET /api/cron/{id}/runs``)."""


def cron_job_executed(run: dict[str, Any], name: str, now_ms: int) -> dict[str, Any]:
    """A job ran: ``run`` is the run record's JSON, without its output, error or details."""
    summary = {key: value for key, value in run.items() if key not in CRON_PRIVATE}
    return {
        "type": CRON_JOB_EXECUTED,
        **summary,
        "name": name,
        "executedAt": run["startedAt"],
        "timestamp": iso_millis(now_ms),
    }


def token_revoked(token_id: str, now_ms: int) -> dict[str, Any]:
    return {"type": TOKEN_REVOKED, "tokenId": token_id, "timestamp": iso_millis(now_ms)}
