"""An account's limits over every device: the official readings kept in the history, the
transcripts' estimates, pace and projection (``usage.limits``), as ``GET /api/limits``,
``limits_update``, alerts and the status line see them.

Readings arrive through ingest (``IngestService.report_limits``: the status line, limit-hit
lines, ``~/.claude.json``'s usage cache, warm-ups, the usage poller); each is kept as sent
(``LimitStore``), so two devices disagreeing are both on record and the newest wins when
they are read.
"""

from __future__ import annotations

from collections.abc import Sequence

from ccsync.clock import Clock
from ccsync.server.limit_views import LimitsView, limits_view
from ccsync.server.reporting import Reporter
from ccsync.server.runtime_config import RuntimeSettings, timezone_of
from ccsync.server.subscription import (
    SETTING_PLAN,
    SubscriptionView,
    billing_period,
    plan_of,
    subscription_view,
)
from ccsync.storage.history.limits import LimitStore, ReadingRecord
from ccsync.storage.history.settings import SettingsStore
from ccsync.usage.limits import Limit, Reading, entries_since, estimate_limits, recent_families

READINGS_HORIZON_MS = 36 * 24 * 3_600_000
"""Readings this old at most are read: learning looks back 4 weeks, a window 7 days more."""


def reading_of(record: ReadingRecord) -> Reading:
    return Reading(
        window=record.window,
        used_percentage=record.used_percentage,
        resets_at_ms=record.resets_at_ms,
        source=record.source,
        device_id=record.device_id,
        observed_ms=record.observed_ms,
    )


class Limits:
    """The limits of one account at the clock's now."""

    def __init__(
        self, *, readings: LimitStore, settings: SettingsStore, reporter: Reporter, clock: Clock
    ) -> None:
        self.store = readings
        self.reporter = reporter
        self.clock = clock
        self.runtime = RuntimeSettings(settings)

    async def account_limits(self, requested: str | None) -> LimitsView:
        """The limits of the account asked for (else the only one: ``resolve_account``),
        with the subscription view when a plan is set."""
        account = await self.reporter.resolve_account(requested)
        now = self.clock.now_ms()
        found = await self.limits(account, now)
        return limits_view(account, found, now, await self.subscription(account, now))

    async def subscription(self, account: str, now_ms: int) -> SubscriptionView | None:
        stored = await self.runtime.stored()
        plan = plan_of(stored.get(SETTING_PLAN))
        if plan is None:
            return None
        period = billing_period(now_ms, plan.billing_day, timezone_of(stored))
        priced = await self.reporter.priced_entries(account, period[0])
        inside = [p for p in priced if p.entry.timestamp_ms < period[1]]
        unpriced = sorted({p.unpriced for p in inside if p.unpriced is not None})
        return subscription_view(plan, period, sum(p.cost for p in inside), unpriced, now_ms)

    async def limits(self, account: str, now_ms: int | None = None) -> list[Limit]:
        now = self.clock.now_ms() if now_ms is None else now_ms
        priced = await self.reporter.priced_entries(account, entries_since(now))
        readings = await self.readings(account, now)
        token_limit = await self.runtime.token_limit()
        return estimate_limits(
            priced,
            readings,
            now,
            plan_limits=None if token_limit is None else {"five_hour": token_limit},
            families=recent_families(priced, now),
        )

    async def readings(self, account: str, now_ms: int) -> Sequence[Reading]:
        stored = await self.store.readings(account, now_ms - READINGS_HORIZON_MS)
        return [reading_of(record) for record in stored]
