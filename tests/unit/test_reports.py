"""Report grouping, filters and shapes, as ccusage 20.0.24 makes them."""

from __future__ import annotations

import json
import math
from datetime import date

from ccsync.usage import ReportKind, ReportOptions, build_report
from ccsync.usage.reports import Order, Weekday, week_start
from factories import entry

ENTRIES = [
    entry(1, ts="2026-11-01T23:30:00", inp=1_000, session="a"),  # a Sunday; Monday in Berlin
    entry(2, ts="2026-11-02T10:00:00", inp=1_000, session="a"),
    entry(3, ts="2026-11-03T10:00:00", inp=5_000, session="b"),
    entry(4, ts="2026-11-03T11:00:00", session="z"),  # no tokens
    entry(5, ts="2026-12-01T00:30:00", inp=1_000, session="c", model="<synthetic>"),
]


def report(kind: ReportKind, **options: object) -> dict[str, object]:
    result = build_report(kind, ENTRIES, ReportOptions(**options), 0)  # type: ignore[arg-type]
    json.dumps(result)  # every report is plain JSON
    return result


def test_daily_rows_and_zones() -> None:
    utc = report(ReportKind.DAILY, timezone="UTC")["daily"]
    assert [r["date"] for r in utc] == ["2026-11-01", "2026-11-02", "2026-11-03", "2026-12-01"]  # type: ignore[index]
    berlin = report(ReportKind.DAILY, timezone="Europe/Berlin")["daily"]
    assert [(r["date"], r["totalTokens"]) for r in berlin] == [  # type: ignore[index]
        ("2026-11-02", 2000),
        ("2026-11-03", 5000),
        ("2026-12-01", 1000),
    ]


def test_since_until_are_inclusive_and_order_reverses() -> None:
    rows = report(
        ReportKind.DAILY,
        timezone="UTC",
        since=date(2026, 11, 2),
        until=date(2026, 11, 3),
        order=Order.DESC,
    )["daily"]
    assert [r["date"] for r in rows] == ["2026-11-03", "2026-11-02"]  # type: ignore[index]


def test_weeks_start_on_the_chosen_day() -> None:
    sunday = report(ReportKind.WEEKLY, timezone="UTC")["weekly"]
    assert [r["week"] for r in sunday] == ["2026-11-01", "2026-11-29"]  # type: ignore[index]
    monday = report(ReportKind.WEEKLY, timezone="UTC", start_of_week=Weekday.MONDAY)["weekly"]
    assert [r["week"] for r in monday] == ["2026-10-26", "2026-11-02", "2026-11-30"]  # type: ignore[index]
    assert week_start(date(2026, 11, 4), Weekday.WEDNESDAY) == date(2026, 11, 4)


def test_months() -> None:
    rows = report(ReportKind.MONTHLY, timezone="UTC")["monthly"]
    assert [(r["month"], r["totalTokens"]) for r in rows] == [("2026-11", 7000), ("2026-12", 1000)]  # type: ignore[index]


def test_sessions_drop_empty_ones_and_sort_by_cost() -> None:
    sessions = report(ReportKind.SESSION, timezone="UTC")["sessions"]
    assert [s["sessionId"] for s in sessions] == ["b", "a", "c"]  # type: ignore[index]
    a = sessions[1]  # type: ignore[index]
    assert (a["firstActivity"], a["lastActivity"]) == (
        "2026-11-01T23:30:00.000Z",
        "2026-11-02T10:00:00.000Z",
    )
    synthetic = sessions[2]  # type: ignore[index]
    assert (
        synthetic["modelsUsed"] == []
        and synthetic["modelBreakdowns"] == []
        and synthetic["totalTokens"] == 1000
    )


def test_session_filters_entries_by_their_local_day() -> None:
    sessions = report(
        ReportKind.SESSION, timezone="UTC", since=date(2026, 11, 2), until=date(2026, 11, 2)
    )["sessions"]
    assert [(s["sessionId"], s["totalTokens"], s["firstActivity"]) for s in sessions] == [  # type: ignore[index]
        ("a", 1000, "2026-11-02T10:00:00.000Z")
    ]


def test_zero_token_days_stay_as_rows() -> None:
    rows = build_report(
        ReportKind.DAILY,
        [entry(9, ts="2026-11-05T10:00:00")],
        ReportOptions(timezone="UTC"),
        0,
    )["daily"]
    assert [(r["date"], r["totalTokens"]) for r in rows] == [("2026-11-05", 0)]


def test_empty_report_costs_negative_zero_like_ccusage() -> None:
    result = build_report(ReportKind.MONTHLY, [], ReportOptions(timezone="UTC"), 0)
    assert result["monthly"] == []
    assert math.copysign(1.0, result["totals"]["totalCost"]) == -1.0
    assert build_report(ReportKind.BLOCKS, [], ReportOptions(timezone="UTC"), 0) == {"blocks": []}


def test_breakdowns_are_sorted_by_cost_and_list_models_once() -> None:
    entries = [
        entry(1, ts="2026-11-01T10:00:00", inp=1_000, model="claude-haiku-4-5-20251001"),
        entry(2, ts="2026-11-01T11:00:00", inp=1_000, model="claude-opus-4-1-20250805"),
        entry(3, ts="2026-11-01T12:00:00", inp=1_000, model="claude-haiku-4-5-20251001"),
    ]
    row = build_report(ReportKind.DAILY, entries, ReportOptions(timezone="UTC"), 0)["daily"][0]
    assert row["modelsUsed"] == ["claude-haiku-4-5-20251001", "claude-opus-4-1-20250805"]
    assert [b["modelName"] for b in row["modelBreakdowns"]] == [
        "claude-opus-4-1-20250805",
        "claude-haiku-4-5-20251001",
    ]
    assert row["totalCost"] == sum(b["cost"] for b in row["modelBreakdowns"])
