"""5-hour blocks as ccusage 20.0.24 makes them (probed on it, an active block too), with a
fixed clock."""

from __future__ import annotations

import pytest

from ccsync.clock import FixedClock
from ccsync.usage import BlocksOptions, ReportKind, ReportOptions, build_report
from ccsync.usage.blocks import round_half_away
from ccsync.usage.entry import UsageEntry
from ccsync.usage.reports import Order
from factories import at, entry

MINUTE = 60_000


def blocks(entries: list[UsageEntry], now: int, **options: object) -> list[dict[str, object]]:
    report = build_report(
        ReportKind.BLOCKS,
        entries,
        ReportOptions(timezone="UTC"),
        now,
        BlocksOptions(timezone="UTC", **options),
    )  # type: ignore[arg-type]
    result: list[dict[str, object]] = report["blocks"]
    return result


def test_active_block_burn_rate_projection_and_limit() -> None:
    clock = FixedClock(at("2026-11-20T12:07:00"))
    now = clock.now_ms()
    entries = [
        entry(1, ts=at("2026-11-19T09:00:00"), inp=450_000),
        entry(2, ts=now - 100 * MINUTE, inp=1_000, out=2_000, cr=30_000),
        entry(3, ts=now - 40 * MINUTE, inp=3_000, out=4_000, cr=60_000),
    ]
    found = blocks(entries, now, token_limit="max")
    assert [b["isGap"] for b in found] == [False, True, False]
    active = found[-1]
    assert active["isActive"] is True
    assert active["startTime"] == "2026-11-20T10:00:00.000Z"
    assert active["burnRate"] == pytest.approx(
        {
            "tokensPerMinute": 1666.6667,
            "tokensPerMinuteForIndicator": 166.6667,
            "costPerHour": 0.129,
        },
        rel=1e-4,
    )
    assert active["projection"] == {
        "totalTokens": 388_333,
        "totalCost": 0.5,
        "remainingMinutes": 173,
    }
    status = active["tokenLimitStatus"]
    assert isinstance(status, dict)
    assert (
        status["limit"] == 450_000
        and status["projectedUsage"] == 388_333
        and status["status"] == "warning"
    )
    assert status["percentUsed"] == pytest.approx(86.296, rel=1e-4)
    past = found[0]
    assert past["isActive"] is False and past["burnRate"] is None and past["projection"] is None


def test_the_same_entries_later_have_no_active_block() -> None:
    now = at("2026-11-20T12:07:00")
    entries = [
        entry(2, ts=now - 100 * MINUTE, inp=1_000, out=2_000),
        entry(3, ts=now - 40 * MINUTE, inp=3_000, out=4_000),
    ]
    later = now + 6 * 60 * MINUTE
    assert all(b["isActive"] is False for b in blocks(entries, later))
    assert blocks(entries, later, active=True) == []


def test_block_boundaries_and_gaps() -> None:
    start = at("2026-11-20T08:00:00")
    entries = [
        entry(1, ts=start + 15 * MINUTE, inp=1, out=1),  # block starts at 08:00 (the hour)
        entry(2, ts=start + 5 * 60 * MINUTE, inp=1, out=1),  # exactly start + 5 h: same block
        entry(3, ts=start + 5 * 60 * MINUTE + 1, inp=1, out=1),  # just after: new block at 13:00
        entry(4, ts=start + 20 * 60 * MINUTE, inp=1, out=1),  # over 5 h of silence: a gap first
    ]
    found = blocks(entries, start + 48 * 60 * MINUTE)
    assert [(b["id"], b["entries"]) for b in found] == [
        ("2026-11-20T08:00:00.000Z", 2),
        ("2026-11-20T13:00:00.000Z", 1),
        ("gap-2026-11-20T18:00:00.001Z", 0),
        ("2026-11-21T04:00:00.000Z", 1),
    ]
    gap = found[2]
    assert (
        gap["isGap"] is True
        and gap["actualEndTime"] is None
        and gap["endTime"] == "2026-11-21T04:00:00.000Z"
    )


def test_recent_and_order_and_session_length() -> None:
    now = at("2026-11-20T12:00:00")
    entries = [
        entry(1, ts=now - 10 * 24 * 60 * MINUTE, inp=1, out=1),
        entry(2, ts=now - 60 * MINUTE, inp=1, out=1),
    ]
    assert len(blocks(entries, now, recent=True)) == 1
    starts = [b["startTime"] for b in blocks(entries, now, order=Order.DESC)]
    assert len(starts) == 3 and starts == sorted(starts, reverse=True)
    assert blocks(entries, now, session_hours=1.5)[-1]["endTime"] == "2026-11-20T12:30:00.000Z"


def test_rounding_is_half_away_from_zero() -> None:
    assert [round_half_away(x) for x in (0.5, 1.5, 2.5, -2.5, 2.4)] == [1, 2, 3, -3, 2]
