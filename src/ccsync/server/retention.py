"""History retention: what is older than ``retentionDays`` (a runtime setting) is deleted.

Unset, everything is kept (reports then equal ccusage's over the whole history). Set, the
server prunes at once and then hourly: usage lines by timestamp, ccusage blocks by end,
finished cron runs by start (``EntryStore.prune``), telemetry points and retention sweeps by
time (``TelemetryStore.prune``). Every replica may prune; deleting
what is already gone changes nothing.
"""

from __future__ import annotations

import asyncio
import logging

from ccsync.clock import Clock
from ccsync.server.runtime_config import RuntimeSettings
from ccsync.storage import StorageUnavailableError
from ccsync.storage.history.entries import EntryStore, PruneResult
from ccsync.storage.history.limits import LimitStore
from ccsync.storage.history.settings import SettingsStore
from ccsync.storage.history.telemetry import TelemetryStore
from ccsync.usage.timestamps import MS_PER_DAY

log = logging.getLogger("ccsync.server.retention")

PRUNE_EVERY_SECONDS = 3600.0
READINGS_KEPT_MS = 40 * MS_PER_DAY
"""Official readings are kept this long (limits learn from the last 5 weeks of them)."""


async def prune_expired(
    entries: EntryStore, telemetry: TelemetryStore, settings: SettingsStore, clock: Clock
) -> PruneResult | None:
    """Prune by the current setting; ``None`` when everything is kept."""
    days = await RuntimeSettings(settings).retention_days()
    if days is None:
        return None
    before = clock.now_ms() - days * MS_PER_DAY
    result = await entries.prune(before)
    await telemetry.prune(before)
    if result.entries or result.blocks or result.runs:
        log.info(
            "retention.pruned",
            extra={
                "days": days,
                "entries": result.entries,
                "blocks": result.blocks,
                "runs": result.runs,
                "redecided": result.redecided,
            },
        )
    return result


async def prune_forever(
    entries: EntryStore,
    telemetry: TelemetryStore,
    settings: SettingsStore,
    limits: LimitStore,
    clock: Clock,
) -> None:
    """Prune now and then every hour, for as long as the server runs."""
    while True:
        try:
            await prune_expired(entries, telemetry, settings, clock)
            # Official readings serve the limits' learning and nothing else: a fixed horizon.
            await limits.prune_readings(clock.now_ms() - READINGS_KEPT_MS)
        except StorageUnavailableError as exc:
            log.warning("retention.failed", extra={"error": str(exc)})
        await asyncio.sleep(PRUNE_EVERY_SECONDS)
