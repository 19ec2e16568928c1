"""Limits as the API shows them (``GET /api/limits``, ``limits_update``, the CLI).

``limits_view`` turns the engine's ``usage.limits.Limit`` list into ``LimitsView``: per
window its kind (``five_hour``, ``seven_day``, ``seven_day_model`` with its ``model``),
the reset, the headline official reading (``null`` when no valid one exists), the
estimate from every device's transcripts with how its percentage was found, the pace, the
projection, and which window binds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import msgspec

from ccsync.server.subscription import SubscriptionView
from ccsync.usage.limits import Limit
from ccsync.usage.timestamps import iso_millis


class OfficialReadingView(msgspec.Struct, rename="camel"):
    """The newest valid official reading of a window, from any device."""

    used_percentage: float
    source: str
    """``statusline``, ``transcript``, ``warmup``, ``usage_cache`` or ``usage_api``."""
    device_id: str
    observed_at: str
    age_seconds: float
    resets_at: str | None


class EstimateView(msgspec.Struct, rename="camel"):
    """The window as every device's transcripts see it."""

    tokens: int
    """All four kinds, counted as the reports count them."""
    cost_usd: float = msgspec.field(name="costUSD")
    percent: float | None
    """Tokens at the learned tokens-per-percent (``None``: nothing to learn from yet)."""
    basis: str
    """How the percentage was found (``learned from 3 official readings``…)."""
    samples: int
    """Official readings the ratio was learned from (0: not learned)."""
    tokens_per_percent: float | None
    spread: float | None
    """How much the samples disagree: (max - min) / median of their ratios."""
    span: str
    """``block``, ``official``, ``carried``, ``rolling`` or ``idle``."""
    start: str
    end: str


class PaceView(msgspec.Struct, rename="camel"):
    used_percent: float
    elapsed_percent: float
    ratio: float | None
    status: str
    """``ahead`` (the limit comes before the reset), ``on_track`` or ``behind``."""


class ProjectionView(msgspec.Struct, rename="camel", omit_defaults=True):
    percent_at_reset: float | None
    exhausted_at: str | None = None
    """When 100 % is reached at the current rate, if before the reset."""


class LimitView(msgspec.Struct, rename="camel", omit_defaults=True):
    window: str
    """``five_hour``, ``seven_day`` or ``seven_day_model``."""
    name: str
    """The window's own name (``five_hour``, ``seven_day``, ``seven_day_opus``…)."""
    resets_at: str | None
    official: OfficialReadingView | None
    estimate: EstimateView
    pace: PaceView | None
    projection: ProjectionView | None
    binding: bool
    used_percent: float | None
    """The official percentage where there is one, else the estimate's."""
    model: str | None = None
    """The model family of a ``seven_day_model`` window (``opus``)."""


class LimitsView(msgspec.Struct, rename="camel"):
    account: str
    now: str
    limits: list[LimitView]
    subscription: SubscriptionView | None = None
    """With a plan set (``PUT /api/config {"plan": …}``): the billing period at API prices."""


def limit_view(limit: Limit, now_ms: int) -> LimitView:
    official = limit.official
    estimate = limit.estimate
    projection = limit.projection
    return LimitView(
        window=limit.kind,
        name=limit.window,
        model=limit.model,
        resets_at=None if limit.resets_at_ms is None else iso_millis(limit.resets_at_ms),
        official=None
        if official is None
        else OfficialReadingView(
            used_percentage=official.percent,
            source=official.source,
            device_id=official.device_id,
            observed_at=iso_millis(official.observed_ms),
            age_seconds=max(0.0, (now_ms - official.observed_ms) / 1000),
            resets_at=None if official.resets_at_ms is None else iso_millis(official.resets_at_ms),
        ),
        estimate=EstimateView(
            tokens=estimate.tokens,
            cost_usd=estimate.cost_usd,
            percent=estimate.percent,
            basis=estimate.basis,
            samples=estimate.samples,
            tokens_per_percent=estimate.tokens_per_percent,
            spread=estimate.spread,
            span=estimate.span,
            start=iso_millis(estimate.start_ms),
            end=iso_millis(estimate.end_ms),
        ),
        pace=None
        if limit.pace is None
        else PaceView(
            used_percent=limit.pace.used_percent,
            elapsed_percent=limit.pace.elapsed_percent,
            ratio=limit.pace.ratio,
            status=limit.pace.status,
        ),
        projection=None
        if projection is None
        else ProjectionView(
            percent_at_reset=projection.percent_at_reset,
            exhausted_at=None
            if projection.exhausted_at_ms is None
            else iso_millis(projection.exhausted_at_ms),
        ),
        binding=limit.binding,
        used_percent=limit.used_percent,
    )


def limits_view(
    account: str,
    limits: Sequence[Limit],
    now_ms: int,
    subscription: SubscriptionView | None = None,
) -> LimitsView:
    return LimitsView(
        account=account,
        now=iso_millis(now_ms),
        limits=[limit_view(x, now_ms) for x in limits],
        subscription=subscription,
    )


def fingerprint(view: LimitsView) -> str:
    """What a ``limits_update`` is sent for: the readings, estimates (to 0.1 %), resets and
    the binding window — not what moves with the clock alone (ages, elapsed time)."""
    parts = []
    for item in view.limits:
        official = item.official
        parts.append(
            (
                item.name,
                item.resets_at,
                item.binding,
                None if official is None else (official.observed_at, official.used_percentage),
                item.estimate.tokens,
                None if item.estimate.percent is None else round(item.estimate.percent, 1),
            )
        )
    return hashlib.blake2b(msgspec.json.encode(parts), digest_size=12).hexdigest()
