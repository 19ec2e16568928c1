"""The billing period and the subscription view."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from ccsync.server.subscription import Plan, billing_period, plan_of, subscription_view
from ccsync.usage.timestamps import iso_millis


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


@pytest.mark.parametrize(
    ("now", "day", "zone", "start", "end"),
    [
        (
            "2026-11-29T12:00:00+00:00",
            1,
            "UTC",
            "2026-11-01T00:00:00+00:00",
            "2026-12-01T00:00:00+00:00",
        ),
        (
            "2026-11-29T12:00:00+00:00",
            30,
            "UTC",
            "2026-10-30T00:00:00+00:00",
            "2026-11-30T00:00:00+00:00",
        ),
        # A day past a month's end is its last day: February's period starts on the 28th.
        (
            "2027-03-01T12:00:00+00:00",
            31,
            "UTC",
            "2027-02-28T00:00:00+00:00",
            "2027-03-31T00:00:00+00:00",
        ),
        (
            "2026-12-31T23:30:00+00:00",
            1,
            "Europe/Berlin",
            "2027-01-01T00:00:00+01:00",
            "2027-02-01T00:00:00+01:00",
        ),
        (
            "2027-01-15T00:00:00+00:00",
            20,
            "UTC",
            "2026-12-20T00:00:00+00:00",
            "2027-01-20T00:00:00+00:00",
        ),
    ],
)
def test_billing_period(now: str, day: int, zone: str, start: str, end: str) -> None:
    assert billing_period(ms(now), day, zone) == (ms(start), ms(end))


def test_plans_and_the_view() -> None:
    assert Plan("max5x").price == 100 and Plan("pro").price == 20
    assert Plan("custom", price_usd=35).price == 35
    with pytest.raises(ValueError, match="priceUSD"):
        Plan("custom")
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"name": "enterprise"}, Plan)
    assert plan_of({"name": "max20x", "billingDay": 15}) == Plan("max20x", billing_day=15)
    assert plan_of({"name": "nope"}) is None and plan_of(None) is None
    start, end = ms("2026-11-01T00:00:00+00:00"), ms("2026-12-01T00:00:00+00:00")
    now = start + (end - start) // 3
    view = subscription_view(Plan("max5x"), (start, end), 250.0, ["claude-x"], now)
    assert view.multiple == 2.5 and view.period_start == iso_millis(start)
    assert view.projected_cost_usd == pytest.approx(750.0, rel=1e-6)
    assert subscription_view(Plan("pro"), (start, end), 0.0, [], start).projected_cost_usd is None
    assert datetime.fromisoformat(view.period_end.replace("Z", "+00:00")) == datetime(
        2026, 12, 1, tzinfo=UTC
    )
