"""Properties of the limits engine (``usage.limits``) that must hold for any data."""

from __future__ import annotations

import math
import random

from hypothesis import given
from hypothesis import strategies as st

from ccsync.usage.limits import Limit, Reading, estimate_limits
from ccsync.usage.reports import PricedEntry
from strategies import LIMIT_DEVICES, LIMITS_NOW, limit_readings, priced_entries

NOW = st.integers(LIMITS_NOW - 3_600_000, LIMITS_NOW + 8 * 86_400_000)
"""Clocks around the data: readings expire and windows roll as it moves."""
PLANS = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {"five_hour": st.integers(-5, 10**7), "seven_day": st.integers(0, 10**8)}
    ),
)
FAMILIES = ["opus", "sonnet"]


def weekly(limits: list[Limit]) -> dict[str, Limit]:
    return {limit.window: limit for limit in limits if limit.kind != "five_hour"}


@given(priced_entries, limit_readings, NOW, PLANS)
def test_a_weekly_estimate_is_the_sum_of_each_devices(
    entries: list[PricedEntry], readings: list[Reading], now: int, plans: dict[str, int] | None
) -> None:
    whole = weekly(estimate_limits(entries, readings, now, plan_limits=plans, families=FAMILIES))
    parts = [
        weekly(
            estimate_limits(
                [e for e in entries if e.device == device],
                readings,
                now,
                plan_limits=plans,
                families=FAMILIES,
            )
        )
        for device in LIMIT_DEVICES
    ]
    for name, limit in whole.items():
        shares = [part[name].estimate for part in parts]
        assert limit.estimate.tokens == sum(share.tokens for share in shares)
        assert math.isclose(
            limit.estimate.cost_usd, math.fsum(s.cost_usd for s in shares), abs_tol=1e-9
        )
        assert all(
            (s.start_ms, s.end_ms) == (limit.estimate.start_ms, limit.estimate.end_ms)
            for s in shares
        )


@given(priced_entries, limit_readings, NOW, PLANS, st.lists(st.sampled_from(["opus", "x"])))
def test_exactly_one_limit_binds_and_it_is_the_highest(
    entries: list[PricedEntry],
    readings: list[Reading],
    now: int,
    plans: dict[str, int] | None,
    families: list[str],
) -> None:
    limits = estimate_limits(entries, readings, now, plan_limits=plans, families=families)
    binding = [limit for limit in limits if limit.binding]
    assert len(binding) == 1
    percents = [limit.used_percent for limit in limits if limit.used_percent is not None]
    if percents:
        assert binding[0].used_percent == max(percents)
    else:
        assert binding[0].window == "five_hour"
    assert [limit.window for limit in limits][:2] == ["five_hour", "seven_day"]


@given(priced_entries, limit_readings, NOW)
def test_a_reading_past_its_reset_is_never_shown(
    entries: list[PricedEntry], readings: list[Reading], now: int
) -> None:
    for limit in estimate_limits(entries, readings, now):
        official = limit.official
        if official is None:
            assert not any(r.window == limit.window and r.valid(now) for r in readings)
            continue
        assert official in readings and official.window == limit.window
        assert official.valid(now)
        assert official.resets_at_ms is None or official.resets_at_ms > now
        newer = [
            r
            for r in readings
            if r.window == limit.window and r.valid(now) and r.observed_ms > official.observed_ms
        ]
        assert not newer  # and it is the newest that is still valid


@given(priced_entries, limit_readings, NOW, st.randoms(use_true_random=False))
def test_the_order_of_readings_and_devices_does_not_matter(
    entries: list[PricedEntry], readings: list[Reading], now: int, rnd: random.Random
) -> None:
    expected = estimate_limits(entries, readings, now, families=FAMILIES)
    shuffled = readings[:]
    rnd.shuffle(shuffled)
    arrived = entries[:]
    rnd.shuffle(arrived)
    assert estimate_limits(arrived, shuffled, now, families=FAMILIES) == expected


@given(priced_entries, limit_readings, NOW, PLANS)
def test_percentages_are_never_negative(
    entries: list[PricedEntry], readings: list[Reading], now: int, plans: dict[str, int] | None
) -> None:
    for limit in estimate_limits(entries, readings, now, plan_limits=plans):
        for value in (limit.used_percent, limit.estimate.percent):
            assert value is None or value >= 0
        if limit.pace is not None:
            assert limit.pace.used_percent >= 0 and 0 <= limit.pace.elapsed_percent <= 100
