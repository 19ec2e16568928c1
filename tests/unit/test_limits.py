"""The limits engine (``usage.limits``): windows, headline readings, estimates, learning,
pace, projection and the binding limit, with a fixed clock and numbers checked by hand."""

from __future__ import annotations

import math
import random

import pytest

from ccsync.usage.limit_estimates import LEARN_HORIZON_MS, entries_since
from ccsync.usage.limits import (
    WINDOW_MS,
    Estimate,
    Limit,
    Reading,
    estimate_limits,
    family_of,
    pace,
    project,
    recent_families,
    window_kind,
    window_ms,
)
from ccsync.usage.reports import PricedEntry
from factories import at, entry
from unit.test_blocks import MINUTE

HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEEK = 7 * DAY
START = at("2027-01-05T10:00:00")  # a whole hour: a block starting in it starts here
OPUS = "claude-opus-4-5-20251101"
SONNET = "claude-sonnet-5-5"

_serial = iter(range(1, 1_000_000))


def used(ts: int, tokens: int, device: str = "laptop", model: str = SONNET) -> PricedEntry:
    """An entry of ``tokens`` input tokens costing a cent per thousand."""
    return PricedEntry(
        entry(next(_serial), ts=ts, inp=tokens, model=model), tokens / 100_000, None, device=device
    )


def reading(
    window: str,
    percent: float,
    observed: int,
    resets: int | None,
    device: str = "laptop",
    source: str = "statusline",
) -> Reading:
    return Reading(window, percent, resets, source, device, observed)


def limits_at(
    entries: list[PricedEntry], readings: list[Reading], now: int, **options: object
) -> dict[str, Limit]:
    found = estimate_limits(entries, readings, now, **options)  # type: ignore[arg-type]
    return {limit.window: limit for limit in found}


# Names


def test_window_kinds() -> None:
    assert window_kind("five_hour") == ("five_hour", None)
    assert window_kind("seven_day") == ("seven_day", None)
    assert window_kind("seven_day_opus") == ("seven_day_model", "opus")
    assert window_kind("seven_day_oauth_apps") == ("seven_day_model", "oauth_apps")
    assert window_kind("overage") == ("overage", None)
    assert window_kind("seven_day_") == ("seven_day_", None)


def test_window_lengths() -> None:
    assert WINDOW_MS == {"five_hour": 5 * HOUR, "seven_day": WEEK}
    assert window_ms("seven_day_opus") == WEEK
    assert window_ms("overage") is None


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("claude-opus-4-5-20251101", "opus"),
        ("claude-sonnet-5-5", "sonnet"),
        ("claude-haiku-5-5", "haiku"),
        ("claude-fable-5-1", "fable"),
        ("claude-mythos-5", "mythos"),
        ("claude-3-5-sonnet-20241022", "sonnet"),
        ("Claude-Opus-4-1", "opus"),
        ("anthropic.claude-3-5-sonnet-20241022-v2:0", "sonnet"),
        ("claude-opus-4-1@20250805", "opus"),
        ("claude-2.1", None),
        ("<synthetic>", None),
        ("acme-llm-1", None),
        ("", None),
        (None, None),
    ],
)
def test_model_families(model: str | None, family: str | None) -> None:
    assert family_of(model) == family


# Readings: validity and the headline


def test_a_reading_with_a_reset_is_valid_until_the_reset() -> None:
    r = reading("five_hour", 40, START, START + 3 * HOUR)
    assert r.valid(START) and r.valid(START + 3 * HOUR - 1)
    assert not r.valid(START + 3 * HOUR)


def test_a_reading_without_a_reset_is_valid_for_one_window_length() -> None:
    five = reading("five_hour", 40, START, None)
    assert five.valid(START + 5 * HOUR - 1) and not five.valid(START + 5 * HOUR)
    week = reading("seven_day_opus", 40, START, None)
    assert week.valid(START + WEEK - 1) and not week.valid(START + WEEK)
    assert reading("seven_day", 40, START + HOUR, None).valid(START)  # from the future: shown
    assert not reading("overage", 40, START, None).valid(START)


def test_the_headline_expires_at_the_reset_as_the_clock_moves() -> None:
    reset = START + 4 * HOUR
    readings = [reading("five_hour", 40, START + HOUR, reset)]
    before = limits_at([], readings, reset - 1)["five_hour"]
    assert before.official == readings[0] and before.used_percent == 40
    assert before.resets_at_ms == reset
    after = limits_at([], readings, reset)["five_hour"]
    assert after.official is None and after.used_percent is None


def test_a_newer_reading_replaces_an_older_one_whatever_the_order() -> None:
    older = reading("seven_day", 70, START, START + DAY)
    newer = reading("seven_day", 12, START + HOUR, START + 6 * DAY)  # a new week began
    for readings in ([older, newer], [newer, older]):
        shown = limits_at([], readings, START + 2 * HOUR)["seven_day"]
        assert shown.official == newer and shown.resets_at_ms == START + 6 * DAY


def test_two_devices_disagreeing_the_newer_wins() -> None:
    desk = reading("five_hour", 55, START + 30 * MINUTE, START + 5 * HOUR, device="desk")
    laptop = reading("five_hour", 50, START + 31 * MINUTE, START + 5 * HOUR, device="laptop")
    for readings in ([desk, laptop], [laptop, desk]):
        assert limits_at([], readings, START + HOUR)["five_hour"].official == laptop


def test_equal_observation_times_are_decided_the_same_in_any_order() -> None:
    a = reading("five_hour", 50, START, START + 5 * HOUR, device="a")
    b = reading("five_hour", 51, START, START + 5 * HOUR, device="b")
    assert limits_at([], [a, b], START)["five_hour"].official == b
    assert limits_at([], [b, a], START)["five_hour"].official == b


def test_a_newer_reading_past_its_reset_leaves_the_valid_one_shown() -> None:
    valid = reading("seven_day", 30, START, START + 3 * DAY)
    stale = reading("seven_day", 99, START + HOUR, START + HOUR + 1)
    assert limits_at([], [valid, stale], START + 2 * HOUR)["seven_day"].official == valid


# Which windows


def test_windows_always_five_hour_and_seven_day_then_scoped_by_name() -> None:
    now = START + HOUR
    readings = [
        reading("seven_day_sonnet", 10, START, START + DAY),
        reading("seven_day_haiku", 10, START, START - 1),  # past its reset: no window
        reading("overage", 50, START, START + DAY),  # no usage window: ignored
    ]
    found = estimate_limits([], readings, now, families=["Opus", "bad name!", "fable"])
    assert [limit.window for limit in found] == [
        "five_hour",
        "seven_day",
        "seven_day_fable",
        "seven_day_opus",
        "seven_day_sonnet",
    ]
    assert [limit.kind for limit in found] == ["five_hour", "seven_day"] + ["seven_day_model"] * 3
    assert [limit.model for limit in found] == [None, None, "fable", "opus", "sonnet"]
    assert [limit.window for limit in estimate_limits([], [], now)] == ["five_hour", "seven_day"]


def test_recent_families_are_the_last_seven_days_models() -> None:
    now = START + WEEK
    entries = [
        used(START - 1, 5, model="claude-haiku-4-5"),  # more than 7 days ago
        used(START + DAY, 5, model=OPUS),
        used(START + 2 * DAY, 5, model="<synthetic>"),
        used(START + 3 * DAY, 5, model=SONNET),
    ]
    assert recent_families(entries, now) == ["opus", "sonnet"]


# Spans and tokens


def test_five_hour_is_the_active_block() -> None:
    entries = [used(START + 20 * MINUTE, 100), used(START + 2 * HOUR, 50, device="desk")]
    five = limits_at(entries, [], START + 3 * HOUR)["five_hour"]
    assert (five.estimate.start_ms, five.estimate.end_ms) == (START, START + 5 * HOUR)
    assert five.estimate.span == "block" and five.estimate.tokens == 150
    assert five.estimate.cost_usd == pytest.approx(0.0015)
    assert five.resets_at_ms == START + 5 * HOUR


def test_five_hour_without_a_block_is_idle_or_the_official_window() -> None:
    entries = [used(START, 100)]
    idle = limits_at(entries, [], START + 6 * HOUR)["five_hour"]
    assert idle.estimate.span == "idle" and idle.estimate.tokens == 0
    assert idle.resets_at_ms is None and idle.pace is None and idle.projection is None
    official = reading("five_hour", 3, START + 6 * HOUR, START + 9 * HOUR)
    shown = limits_at(entries, [official], START + 6 * HOUR)["five_hour"]
    assert shown.estimate.span == "official"
    assert (shown.estimate.start_ms, shown.estimate.end_ms) == (START + 4 * HOUR, START + 9 * HOUR)


def test_seven_day_spans_official_carried_rolling() -> None:
    now = START + 10 * DAY
    entries = [used(START + 2 * DAY, 1_000), used(START + 5 * DAY, 200), used(now - HOUR, 30)]
    rolling = limits_at(entries, [], now)["seven_day"]
    assert rolling.estimate.span == "rolling" and rolling.resets_at_ms is None
    assert (rolling.estimate.start_ms, rolling.estimate.end_ms) == (now - WEEK, now)
    assert rolling.estimate.tokens == 230 and rolling.pace is None
    official = reading("seven_day", 20, now - HOUR, START + 12 * DAY)
    anchored = limits_at(entries, [official], now)["seven_day"]
    assert anchored.estimate.span == "official"
    assert (anchored.estimate.start_ms, anchored.estimate.end_ms) == (
        START + 5 * DAY,
        START + 12 * DAY,
    )
    assert anchored.estimate.tokens == 230
    past = reading("seven_day", 90, START + 3 * DAY, START + 4 * DAY)  # reset 6 days ago
    carried = limits_at(entries, [past], now)["seven_day"]
    assert carried.official is None and carried.estimate.span == "carried"
    assert carried.resets_at_ms == START + 11 * DAY
    assert carried.estimate.start_ms == START + 4 * DAY and carried.estimate.tokens == 230


def test_a_scoped_window_counts_its_family_and_borrows_the_weekly_reset() -> None:
    now = START + 2 * DAY
    entries = [
        used(START, 1_000, model=OPUS),
        used(START + HOUR, 300),
        used(START + DAY, 7, model=OPUS),
    ]
    weekly = reading("seven_day", 10, START + DAY, START + 5 * DAY)
    opus = limits_at(entries, [weekly], now, families=["opus"])["seven_day_opus"]
    assert opus.estimate.tokens == 1_007 and opus.estimate.span == "carried"
    assert opus.resets_at_ms == START + 5 * DAY and opus.official is None
    assert limits_at(entries, [weekly], now)["seven_day"].estimate.tokens == 1_307


def test_the_seven_day_tokens_are_the_sum_of_each_devices() -> None:
    now = START + 3 * DAY
    entries = [
        used(START + i * HOUR, 100 + i, device=("desk", "laptop", "phone")[i % 3])
        for i in range(60)
    ]
    readings = [reading("seven_day", 40, START + DAY, START + 4 * DAY)]
    whole = limits_at(entries, readings, now)["seven_day"].estimate
    parts = [
        limits_at([e for e in entries if e.device == d], readings, now)["seven_day"].estimate
        for d in ("desk", "laptop", "phone")
    ]
    assert whole.tokens == sum(p.tokens for p in parts) == sum(100 + i for i in range(60))
    assert whole.cost_usd == pytest.approx(sum(p.cost_usd for p in parts))


def test_entries_out_of_order_count_the_same() -> None:
    entries = [used(START + i * MINUTE, 10 * i) for i in range(30)]
    shuffled = entries[:]
    random.Random(4).shuffle(shuffled)
    now = START + HOUR
    assert estimate_limits(shuffled, [], now) == estimate_limits(entries, [], now)


# Learning the percentage


def test_learned_from_one_reading() -> None:
    entries = [used(START + 10 * MINUTE, 2_000), used(START + 2 * HOUR, 500)]
    r = reading("five_hour", 20, START + HOUR, START + 5 * HOUR)
    five = limits_at(entries, [r], START + 3 * HOUR)["five_hour"].estimate
    # 2,000 tokens were 20 % when it was read: 100 tokens a percent; 2,500 now are 25 %.
    assert five.tokens_per_percent == 100 and five.percent == 25
    assert five.basis == "learned from 1 official reading" and five.samples == 1
    assert five.spread is None


def test_learned_from_the_median_of_the_newest_instances() -> None:
    now = START + 20 * DAY
    entries, readings = [], []
    for week, (tokens, percent) in enumerate([(9_000, 10), (1_000, 10), (1_200, 10), (2_000, 10)]):
        begin = START + week * WEEK - 2 * DAY
        entries.append(used(begin + HOUR, tokens))
        readings.append(reading("seven_day", percent, begin + DAY, begin + WEEK))
    # The third week's instance again: a lower percentage of it is no second sample.
    readings.append(reading("seven_day", 6, START + 2 * WEEK, START + 3 * WEEK - 2 * DAY))
    week = limits_at(entries, readings, now)["seven_day"].estimate
    assert week.samples == 4 and week.basis == "learned from 4 official readings"
    assert week.tokens_per_percent == pytest.approx((120 + 200) / 2)
    assert week.spread == pytest.approx((900 - 100) / 160)


def test_only_the_newest_samples_count() -> None:
    entries, readings = [], []
    for day in range(8):  # one 5-hour window a day, 100 tokens a percent, then 200
        begin = START + day * DAY
        entries.append(used(begin, 1_000))
        readings.append(reading("five_hour", 10 if day < 3 else 5, begin + HOUR, begin + 5 * HOUR))
    five = limits_at(entries, readings, START + 8 * DAY)["five_hour"].estimate
    assert five.samples == 5 and five.tokens_per_percent == 200 and five.spread == 0


def test_learning_skips_low_old_and_incomplete_readings() -> None:
    now = START + 40 * DAY
    entries = [used(START + 2 * HOUR, 1_000), used(now - 3 * DAY, 1_000)]
    readings = [
        reading("seven_day", 4.9, now - DAY, now + DAY),  # under the floor
        reading("seven_day", 50, START + 3 * HOUR, START + 5 * DAY),  # older than 4 weeks
        reading("seven_day", math.nan, now - DAY, now + 2 * DAY),
    ]
    assert now - (START + 3 * HOUR) > LEARN_HORIZON_MS
    week = limits_at(entries, readings, now)["seven_day"].estimate
    assert week.percent is None and week.samples == 0
    assert week.basis == "no official reading to learn from yet"
    fine = reading("seven_day", 10, now - DAY, now + 2 * DAY)
    learned = limits_at(entries, [fine], now)["seven_day"].estimate
    assert learned.tokens_per_percent == 100
    cut = limits_at(entries, [fine], now, history_start_ms=now - 4 * DAY)["seven_day"].estimate
    assert cut.samples == 0


def test_readings_without_a_reset_learn_from_their_block_or_their_week() -> None:
    entries = [used(START + 10 * MINUTE, 300), used(START + 40 * MINUTE, 300)]
    five = reading("five_hour", 30, START + 30 * MINUTE, None)
    week = reading("seven_day", 3 * 2, START + 30 * MINUTE, None)
    found = limits_at(entries, [five, week], START + HOUR)
    assert found["five_hour"].estimate.tokens_per_percent == 10
    assert found["seven_day"].estimate.tokens_per_percent == 50
    outside = reading("five_hour", 30, START - 2 * HOUR, None)  # in no block: no sample
    assert limits_at(entries, [outside], START + HOUR)["five_hour"].estimate.samples == 0


def test_past_readings_still_teach() -> None:
    entries = [used(START, 4_000), used(START + DAY, 600)]
    past = reading("five_hour", 40, START + HOUR, START + 5 * HOUR)
    five = limits_at(entries, [past], START + DAY + HOUR)["five_hour"]
    assert five.official is None and five.estimate.percent == 6 and five.used_percent == 6


def test_the_plan_limit_when_nothing_is_learned() -> None:
    entries = [used(START, 2_500)]
    five = limits_at(entries, [], START + HOUR, plan_limits={"five_hour": 10_000})["five_hour"]
    assert five.estimate.percent == 25 and five.estimate.basis == "plan limit (setting)"
    assert five.estimate.samples == 0
    learned = reading("five_hour", 50, START + HOUR, START + 5 * HOUR)
    both = limits_at(entries, [learned], START + HOUR, plan_limits={"five_hour": 10_000})
    assert both["five_hour"].estimate.basis == "learned from 1 official reading"
    bad = limits_at(entries, [], START + HOUR, plan_limits={"five_hour": 0})["five_hour"]
    assert bad.estimate.percent is None


def test_entries_since_covers_the_oldest_window_learned_from() -> None:
    assert entries_since(START) == START - LEARN_HORIZON_MS - WEEK


# Pace and projection, by hand


def test_pace_and_projection_from_the_official_reading() -> None:
    entries = [used(START + 10 * MINUTE, 1_000)]
    r = reading("five_hour", 60, START + 150 * MINUTE, START + 5 * HOUR)
    five = limits_at(entries, [r], START + 150 * MINUTE)["five_hour"]
    # Half the window gone, 60 % used: 1.2 times the even pace; 10 points over: ahead.
    assert five.pace is not None and five.projection is not None
    assert (five.pace.used_percent, five.pace.elapsed_percent) == (60, 50)
    assert five.pace.ratio == pytest.approx(1.2) and five.pace.status == "ahead"
    # 60 % in 2.5 h is 24 % an hour: 120 % at the reset, 100 % after 100 / 24 h = 4 h 10 min.
    assert five.projection.percent_at_reset == pytest.approx(120)
    assert five.projection.exhausted_at_ms == START + 250 * MINUTE


def test_the_projection_adds_the_growth_since_the_reading() -> None:
    entries = [used(START, 2_000), used(START + 2 * HOUR, 1_000)]
    r = reading("five_hour", 20, START + HOUR, START + 5 * HOUR)  # 100 tokens a percent
    five = limits_at(entries, [r], START + 4 * HOUR)["five_hour"]
    assert five.used_percent == 20  # the headline stays the official number
    assert five.projection is not None and five.pace is not None
    assert five.projection.percent_now == 30 and five.pace.used_percent == 30
    # 30 % in 4 h: 37.5 % at the reset, never 100 %; 80 % of the time for 30 %: behind.
    assert five.projection.percent_at_reset == pytest.approx(37.5)
    assert five.projection.exhausted_at_ms is None and five.pace.status == "behind"


def test_the_growth_counts_inside_the_window_only() -> None:
    entries = [used(START + DAY, 1_000), used(START + 4 * DAY, 500)]
    early = reading("seven_day", 20, START, START + 10 * DAY)  # read before its week began
    plan = {"seven_day": 10_000}  # 100 tokens a percent
    week = limits_at(entries, [early], START + 5 * DAY, plan_limits=plan)["seven_day"]
    assert week.projection is not None and week.projection.percent_now == 25


def test_pace_bands() -> None:
    assert pace(12, 10).status == "on_track"  # within 5 points
    assert pace(16, 10).status == "ahead"
    assert pace(4, 10).status == "behind"
    assert pace(88, 80).status == "on_track"  # within 10 % of 80
    assert pace(89, 80).status == "ahead"
    assert pace(3, 0).ratio is None and pace(3, 0).status == "on_track"
    assert pace(0, 0).ratio is None


def test_projection_edges() -> None:
    assert project(50, START, START + HOUR, START).percent_at_reset is None  # nothing elapsed
    assert project(100, START, START + HOUR, START - 1).exhausted_at_ms == START - 1
    done = project(120, START, START + HOUR, START + 30 * MINUTE)
    assert done.exhausted_at_ms == START + 25 * MINUTE  # already reached: when it was
    assert project(0, START, START + HOUR, START + 30 * MINUTE).exhausted_at_ms is None
    assert project(40, START, START + HOUR, START + HOUR).percent_at_reset == 40


def test_a_week_that_ends_under_its_limit_is_never_exhausted() -> None:
    entries = [used(START + HOUR, 5_000)]
    r = reading("seven_day", 55, START + 4 * DAY, START + WEEK)
    week = limits_at(entries, [r], START + 4 * DAY)["seven_day"]
    assert week.projection is not None and week.pace is not None
    # 55 % in 4 of 7 days (57.1 %, a band of 5.7 points): on track, 96.25 % at the reset.
    assert week.projection.percent_at_reset == pytest.approx(55 * 7 / 4)
    assert week.projection.exhausted_at_ms is None and week.pace.status == "on_track"


# Binding


def test_the_highest_used_percent_binds() -> None:
    now = START + HOUR
    readings = [
        reading("five_hour", 30, now, START + 5 * HOUR),
        reading("seven_day", 80, now, START + 3 * DAY),
        reading("seven_day_opus", 50, now, START + 3 * DAY),
    ]
    found = estimate_limits([], readings, now)
    assert [limit.window for limit in found if limit.binding] == ["seven_day"]


def test_a_tie_binds_the_one_resetting_later() -> None:
    now = START + HOUR
    readings = [
        reading("five_hour", 50, now, START + 5 * HOUR),
        reading("seven_day", 50, now, START + 3 * DAY),
        reading("seven_day_opus", 50, now, START + 2 * DAY),
    ]
    found = estimate_limits([], readings, now)
    assert [limit.window for limit in found if limit.binding] == ["seven_day"]


def test_without_percentages_five_hour_binds() -> None:
    found = estimate_limits([used(START, 10)], [], START + HOUR, families=["opus"])
    assert [limit.binding for limit in found] == [True, False, False]


def test_an_estimate_binds_when_it_is_the_highest() -> None:
    entries = [used(START, 9_000)]
    plan = {"five_hour": 10_000, "seven_day": 100_000}
    found = limits_at(entries, [], START + HOUR, plan_limits=plan)
    assert found["five_hour"].binding and not found["seven_day"].binding


# Odd data never raises


def test_odd_data() -> None:
    now = START
    readings = [
        reading("five_hour", 0, now + DAY, None),  # in the future of now
        reading("seven_day", -5, now, now + DAY),
        reading("seven_day_opus", math.inf, now, now + 9 * DAY),
        reading("seven_day_sonnet", math.nan, now - WEEK, None),
        reading("", 10, now, now + 1),
    ]
    entries = [used(now + HOUR, 10), used(now - 40 * DAY, 0)]
    found = limits_at(entries, readings, now, plan_limits={"seven_day": -3, "x": 1})
    assert found["seven_day"].used_percent == 0
    assert found["seven_day_opus"].used_percent == 0
    assert found["five_hour"].official is not None
    assert all(limit.used_percent is None or limit.used_percent >= 0 for limit in found.values())
    assert sum(limit.binding for limit in found.values()) == 1
    assert estimate_limits([], [], 0)[0].estimate == Estimate(
        0, 0.0, None, "no official reading to learn from yet", 0, 0, span="idle"
    )
