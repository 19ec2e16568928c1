"""The account's window as the API shows it (``/api/window``, pushes' answers, live keys, events).

``window_view`` turns the engine's ``usage.window.Window`` (the block over every device, its
burn rate, the official readings) and today's totals into ``WindowView``.
"""

from __future__ import annotations

import msgspec

from ccsync.usage.blocks import burn_rate, project
from ccsync.usage.timestamps import iso_millis
from ccsync.usage.window import OfficialLimit, Window, timeline


class OfficialView(msgspec.Struct, rename="camel"):
    """An official reading of a window, with where and when a device saw it."""

    used_percentage: float
    resets_at: str | None
    source: str
    device_id: str
    observed_at: str
    reported_at: str
    age_seconds: float

    @classmethod
    def of(cls, limit: OfficialLimit, now_ms: int) -> OfficialView:
        observed = limit.reported_ms if limit.observed_ms is None else limit.observed_ms
        return cls(
            used_percentage=limit.used_percentage,
            resets_at=None if limit.resets_at_ms is None else iso_millis(limit.resets_at_ms),
            source=limit.source,
            device_id=limit.device_id,
            observed_at=iso_millis(observed),
            reported_at=iso_millis(limit.reported_ms),
            age_seconds=max(0.0, (now_ms - observed) / 1000),
        )


class WindowTokenCounts(msgspec.Struct, rename="camel"):
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int


class BurnRateView(msgspec.Struct, rename="camel"):
    tokens_per_minute: float
    tokens_per_minute_for_indicator: float
    """Input plus output tokens per minute (what ccusage's indicator uses)."""
    cost_per_hour: float


class ProjectionView(msgspec.Struct, rename="camel"):
    total_tokens: int
    total_cost: float
    remaining_minutes: int


class LimitView(msgspec.Struct, rename="camel"):
    tokens: int
    source: str | None
    """``setting`` (``planTokenLimit``) or ``max-past-block``."""
    percent_used: float
    projected_percent: float


class DeviceShare(msgspec.Struct, rename="camel"):
    device_id: str
    tokens: int
    cost_usd: float = msgspec.field(name="costUSD")
    share: float
    source: str
    """``entries`` (its lines) or ``ccusage`` (its own ``blocks --json``)."""


class TodayView(msgspec.Struct, rename="camel"):
    """Since local midnight in the configured time zone."""

    since: str
    timezone: str
    tokens: int
    cost_usd: float = msgspec.field(name="costUSD")
    unpriced_models: list[str]


class WindowView(msgspec.Struct, rename="camel"):
    """The account's current 5-hour window over every device (``active``: one is open)."""

    account: str
    active: bool
    now: str
    official: dict[str, OfficialView]
    """Official readings by window (``fiveHour``, ``sevenDay``…), until their reset."""
    start: str | None
    end: str | None
    last_activity: str | None
    timeline: list[tuple[str, int]]
    """Tokens so far at the end of each 5-minute step with activity (for charts)."""
    reset_in_seconds: float | None
    tokens: int
    cost_usd: float = msgspec.field(name="costUSD")
    token_counts: WindowTokenCounts | None
    burn_rate: BurnRateView | None
    projection: ProjectionView | None
    models: list[str]
    unpriced_models: list[str]
    limit: LimitView | None
    devices: list[DeviceShare]
    today: TodayView
    entries: int | msgspec.UnsetType = msgspec.UNSET
    """Lines in the window (when one is open)."""


def window_view(window: Window, today: TodayView) -> WindowView:
    """``window`` as the API shows it, with ``today``'s totals."""
    now = window.now_ms
    block = window.block
    extra_tokens = sum(d.tokens for d in window.devices if d.source == "ccusage")
    extra_cost = sum(d.cost_usd for d in window.devices if d.source == "ccusage")
    official = {
        name: OfficialView.of(limit, now)
        for name, limit in window.official.items()
        if limit.shown(now)
    }
    total = sum(d.tokens for d in window.devices) or 0
    devices = [
        DeviceShare(
            device_id=d.device_id,
            tokens=d.tokens,
            cost_usd=d.cost_usd,
            share=d.tokens / total if total else 0.0,
            source=d.source,
        )
        for d in sorted(window.devices, key=lambda d: (-d.tokens, d.device_id))
    ]
    view = WindowView(
        account=window.account,
        active=block is not None,
        now=iso_millis(now),
        official=official,
        start=None,
        end=None,
        last_activity=None,
        timeline=[],
        reset_in_seconds=None,
        tokens=extra_tokens,
        cost_usd=extra_cost,
        token_counts=None,
        burn_rate=None,
        projection=None,
        models=[],
        unpriced_models=[],
        limit=None,
        devices=devices,
        today=today,
    )
    if block is not None:
        sums = block.sums()
        rate = burn_rate(block)
        projection = project(block, now)
        view.start = iso_millis(block.start_ms)
        view.end = iso_millis(block.end_ms)
        view.last_activity = None if block.last_ms is None else iso_millis(block.last_ms)
        view.reset_in_seconds = max(0.0, (block.end_ms - now) / 1000)
        view.tokens = sums.total_tokens + extra_tokens
        view.cost_usd = sums.cost + extra_cost
        view.token_counts = WindowTokenCounts(
            sums.input, sums.output, sums.cache_creation, sums.cache_read
        )
        view.entries = len(block.entries)
        view.timeline = timeline(block, now)
        view.models = [m for m in block.totals().models if m is not None]
        view.unpriced_models = sorted({i.unpriced for i in block.entries if i.unpriced})
        if rate is not None:
            view.burn_rate = BurnRateView(
                rate.tokens_per_minute, rate.tokens_per_minute_for_indicator, rate.cost_per_hour
            )
        if projection is not None:
            view.projection = ProjectionView(
                projection.total_tokens + extra_tokens,
                projection.total_cost,
                projection.remaining_minutes,
            )
    if window.token_limit is not None:
        projected = view.projection.total_tokens if view.projection else view.tokens
        view.limit = LimitView(
            tokens=window.token_limit,
            source=window.limit_source,
            percent_used=view.tokens / window.token_limit * 100,
            projected_percent=projected / window.token_limit * 100,
        )
    return view
