"""The status line leads with the binding limit (``/api/limits``, cached by the refresher),
and never shows a reading whose window has reset, whatever the clock says."""

from __future__ import annotations

from typing import Any

from ccsync.agent.statusline import limits_lead, render, shown_limits
from ccsync.usage.timestamps import iso_millis

NOW = 1_795_000_000.0  # 2026-11-18T11:06:40Z


def at(seconds_from_now: float) -> str:
    return iso_millis(int((NOW + seconds_from_now) * 1000))


def limit(
    name: str,
    *,
    official: float | None = None,
    official_resets: float | None = None,
    estimate: float | None = None,
    resets: float | None = None,
    pace: str | None = None,
    binding: bool = False,
) -> dict[str, Any]:
    return {
        "window": "seven_day_model" if name.startswith("seven_day_") else name,
        "name": name,
        "resetsAt": None if resets is None else at(resets),
        "official": None
        if official is None
        else {
            "usedPercentage": official,
            "source": "statusline",
            "deviceId": "laptop",
            "observedAt": at(-60),
            "ageSeconds": 60,
            "resetsAt": None if official_resets is None else at(official_resets),
        },
        "estimate": {"tokens": 1, "costUSD": 0, "percent": estimate, "basis": "b", "samples": 0},
        "pace": None if pace is None else {"status": pace, "usedPercent": 1, "elapsedPercent": 1},
        "binding": binding,
    }


LIMITS = {
    "account": "default",
    "limits": [
        limit("five_hour", official=42, official_resets=2 * 3600 + 780, resets=2 * 3600 + 780),
        limit(
            "seven_day",
            official=63,
            official_resets=3 * 86400,
            resets=3 * 86400,
            pace="ahead",
            binding=True,
        ),
        limit("seven_day_opus", estimate=20.4, resets=3 * 86400),
    ],
}
WINDOW = {"active": True, "tokens": 1_200_000, "end": at(2 * 3600 + 780), "today": {"costUSD": 3.4}}


def test_the_line_leads_with_the_binding_window_then_the_five_hour_one() -> None:
    line = render({"window": WINDOW, "limits": LIMITS}, {}, NOW)
    assert line == "7d 63% ▲ pace · 5h 42% · 1.2M tok · $3.40 today · resets 2h13m"


def test_this_sessions_own_reading_wins_and_can_change_which_binds() -> None:
    hook = {"rate_limits": {"five_hour": {"used_percentage": 88.4, "resets_at": NOW + 600}}}
    assert limits_lead(LIMITS, hook, NOW) == ["5h 88%"]


def test_a_reading_past_its_reset_is_never_shown_as_the_clock_moves() -> None:
    assert limits_lead(LIMITS, {}, NOW)[:2] == ["7d 63% ▲ pace", "5h 42%"]
    # The 5-hour window resets: its reading is gone, and no estimate stands in for it.
    later = NOW + 2 * 3600 + 781
    assert [name for name, *_ in shown_limits(LIMITS, {}, later)] == ["seven_day", "seven_day_opus"]
    assert limits_lead(LIMITS, {}, later) == ["7d 63% ▲ pace"]
    # The week resets too: nothing is left of what the server said then.
    assert limits_lead(LIMITS, {}, NOW + 3 * 86400 + 1) == []


def test_an_estimate_is_marked_and_stands_in_for_an_expired_reading() -> None:
    limits = {
        "limits": [
            limit("five_hour", official=90, official_resets=60, estimate=12.2, resets=3 * 3600),
            limit("seven_day", estimate=30.0),
        ]
    }
    assert limits_lead(limits, {}, NOW) == ["5h 90%"]
    assert limits_lead(limits, {}, NOW + 120) == ["7d ~30%", "5h ~12%"]


def test_without_limits_the_line_is_as_before() -> None:
    line = render({"window": {**WINDOW, "limit": {"percentUsed": 47.5}}}, {}, NOW)
    assert line.startswith("5h ~48% · 1.2M tok")
    assert limits_lead({"limits": "garbage"}, {}, NOW) == []
    assert limits_lead(None, {}, NOW) == []
