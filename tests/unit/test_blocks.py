"""5-hour blocks: ccusage 20.0.24's live probe (research/ccusage.md §5) with a fixed clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccsync.clock import FixedClock
from ccsync.usage import BlocksOptions, ReportKind, ReportOptions, build_report
from ccsync.usage.blocks import round_half_away
from ccsync.usage.entry import UsageEntry
from ccsync.usage.reports import Order

MINUTE = 60_000


def at(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def entry(
    ts: int, inp: int, out: int, cr: int = 0, n: int = 0, model: str = "claude-sonnet-4-20250514"
) -> UsageEntry:
    return UsageEntry(
        ts,
        inp,
        out,
        0,
        0,
        cr,
        model,
        False,
        False,
        f"m{n}",
        f"r{n}",
        "s",
        None,
        False,
        None,
        "p",
        "s",
        "p",
        "/p/s.jsonl",
        n,
    )


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
        entry(at("2026-11-19T09:00:00"), 450_000, 0, n=1),
        entry(now - 100 * MINUTE, 1_000, 2_000, 30_000, n=2),
        entry(now - 40 * MINUTE, 3_000, 4_000, 60_000, n=3),
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
        entry(now - 100 * MINUTE, 1_000, 2_000, n=2),
        entry(now - 40 * MINUTE, 3_000, 4_000, n=3),
    ]
    later = now + 6 * 60 * MINUTE
    assert all(b["isActive"] is False for b in blocks(entries, later))
    assert blocks(entries, later, active=True) == []


def test_block_boundaries_and_gaps() -> None:
    start = at("2026-11-20T08:00:00")
    entries = [
        entry(start + 15 * MINUTE, 1, 1, n=1),  # block starts at 08:00 (the hour)
        entry(start + 5 * 60 * MINUTE, 1, 1, n=2),  # exactly start + 5 h: same block
        entry(start + 5 * 60 * MINUTE + 1, 1, 1, n=3),  # just after: a new block at 13:00
        entry(start + 20 * 60 * MINUTE, 1, 1, n=4),  # more than 5 h of silence: a gap first
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
    entries = [entry(now - 10 * 24 * 60 * MINUTE, 1, 1, n=1), entry(now - 60 * MINUTE, 1, 1, n=2)]
    assert len(blocks(entries, now, recent=True)) == 1
    starts = [b["startTime"] for b in blocks(entries, now, order=Order.DESC)]
    assert len(starts) == 3 and starts == sorted(starts, reverse=True)
    assert blocks(entries, now, session_hours=1.5)[-1]["endTime"] == "2026-11-20T12:30:00.000Z"


def test_rounding_is_half_away_from_zero() -> None:
    assert [round_half_away(x) for x in (0.5, 1.5, 2.5, -2.5, 2.4)] == [1, 2, 3, -3, 2]
