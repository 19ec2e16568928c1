"""The subscription view: what the account's usage would have cost at API prices in the
current billing period, against what the plan costs.

The plan is a runtime setting (``plan``: ``pro``, ``max5x``, ``max20x`` or ``custom``,
its price per month, and the day of the month the billing period starts). The period runs
from that day in the configured time zone to the same day a month later (a day past the
month's end is its last day). The API-equivalent cost is the sum of the period's entries
of every device, priced as the reports price them; the multiple is that cost over the
plan's price, and the projection extends the period's average rate to its end.
"""

from __future__ import annotations

import calendar
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from ccsync.usage.timestamps import iso_millis, resolve_timezone

PlanName = Literal["pro", "max5x", "max20x", "custom"]
PLAN_PRICES: dict[str, float] = {"pro": 20.0, "max5x": 100.0, "max20x": 200.0}
"""US list prices per month (a plan billed otherwise is ``custom`` with its price)."""
SETTING_PLAN = "plan"


class Plan(msgspec.Struct, forbid_unknown_fields=True, rename="camel", omit_defaults=True):
    """``PUT /api/config {"plan": {...}}``: the subscription (``priceUSD`` for ``custom``)."""

    name: PlanName
    price_usd: Annotated[float, msgspec.Meta(gt=0, le=100_000)] | None = msgspec.field(
        default=None, name="priceUSD"
    )
    billing_day: Annotated[int, msgspec.Meta(ge=1, le=31)] = 1

    def __post_init__(self) -> None:
        if self.name == "custom" and self.price_usd is None:
            raise ValueError("a custom plan needs its priceUSD")

    @property
    def price(self) -> float:
        return self.price_usd if self.price_usd is not None else PLAN_PRICES[self.name]


class SubscriptionView(msgspec.Struct, rename="camel"):
    plan: str
    price_usd: float = msgspec.field(name="priceUSD")
    period_start: str
    period_end: str
    api_cost_usd: float = msgspec.field(name="apiCostUSD")
    """The period's usage of every device at API prices."""
    multiple: float
    """``apiCostUSD / priceUSD``: how many times the plan's price the usage was worth."""
    projected_cost_usd: float | None = msgspec.field(name="projectedCostUSD")
    """At the period's average rate, by its end (``None`` at its very start)."""
    unpriced_models: list[str]


def plan_of(stored: Any) -> Plan | None:
    """The stored plan, when one is set and checks out."""
    if stored is None:
        return None
    try:
        return msgspec.convert(stored, Plan)
    except (msgspec.ValidationError, ValueError):
        return None


def billing_period(now_ms: int, billing_day: int, zone: str) -> tuple[int, int]:
    """``[start, end)`` of the billing period ``now_ms`` falls in, as epoch milliseconds."""
    tz = resolve_timezone(zone)
    local = datetime.fromtimestamp(now_ms / 1000, tz)

    def on(year: int, month: int) -> datetime:
        day = min(billing_day, calendar.monthrange(year, month)[1])
        return datetime(year, month, day, tzinfo=tz)

    start = on(local.year, local.month)
    if start > local:
        year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
        start = on(year, month)
    year, month = (start.year, start.month + 1) if start.month < 12 else (start.year + 1, 1)
    end = on(year, month)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def subscription_view(
    plan: Plan,
    period: tuple[int, int],
    cost_usd: float,
    unpriced: list[str],
    now_ms: int,
) -> SubscriptionView:
    start, end = period
    elapsed = now_ms - start
    projected = None if elapsed <= 0 else cost_usd / elapsed * (end - start)
    return SubscriptionView(
        plan=plan.name,
        price_usd=plan.price,
        period_start=iso_millis(start),
        period_end=iso_millis(end),
        api_cost_usd=cost_usd,
        multiple=cost_usd / plan.price,
        projected_cost_usd=projected,
        unpriced_models=unpriced,
    )
