"""The account window over priced entries of several devices (pure, fixed clock)."""

from __future__ import annotations

from typing import Any

import msgspec

from ccsync.server.window import TodayView, window_view
from ccsync.usage.reports import PricedEntry
from ccsync.usage.window import Window, current_window
from factories import at, entry

MINUTE = 60_000


def priced(ts: int, tokens: int, n: int, device: str) -> PricedEntry:
    return PricedEntry(entry(n, ts=ts, inp=tokens), 0.5, None, device=device)


def shown(window: Window) -> dict[str, Any]:
    """The window as the API shows it (``server.window``)."""
    today = TodayView(since="", timezone="UTC", tokens=0, cost_usd=0.0, unpriced_models=[])
    sent: dict[str, Any] = msgspec.json.decode(msgspec.json.encode(window_view(window, today)))
    return sent


def test_the_timeline_is_cumulative_per_five_minutes() -> None:
    start = at("2027-01-05T09:00:00")
    lines = [
        priced(start + 17 * MINUTE, 100, 1, "laptop"),  # block starts at 09:00 (hour floor)
        priced(start + 18 * MINUTE, 50, 2, "desk"),  # same 5-minute step: 09:15-09:20
        priced(start + 61 * MINUTE, 25, 3, "laptop"),
    ]
    window = shown(current_window("acc", lines, start + 90 * MINUTE))
    assert window["active"] and window["start"] == "2027-01-05T09:00:00.000Z"
    assert window["timeline"] == [
        ["2027-01-05T09:20:00.000Z", 150],
        ["2027-01-05T10:05:00.000Z", 175],
    ]
    assert window["tokens"] == 175 and window["lastActivity"] == "2027-01-05T10:01:00.000Z"
    assert {d["deviceId"]: d["tokens"] for d in window["devices"]} == {"laptop": 125, "desk": 50}


def test_no_window_no_timeline() -> None:
    window = shown(current_window("acc", [], at("2027-01-05T09:00:00")))
    assert not window["active"] and window["timeline"] == [] and window["lastActivity"] is None
