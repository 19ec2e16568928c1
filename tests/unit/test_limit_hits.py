"""Limit-hit lines: read beside the token rules as official readings, never as entries."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccsync.agent.readings import legacy, limits_to_send, reading_row
from ccsync.usage.limit_hits import (
    LimitHit,
    is_window,
    might_hold_limit_hits,
    parse_limit_hit,
    scan_limit_hits,
)
from ccsync.usage.parse import FileContext, ParseStats, TranscriptReader, parse_buffer
from ccsync.wire import RateLimit, RateLimits
from fixtures.lines import assistant, dump, usage

GOLDEN = Path(__file__).parents[1] / "golden" / "claude-2.1.332" / "projects" / "-home-user-work"
REAL = GOLDEN / "78ffeb75-fa83-4667-8e13-6af7cbf818d7.jsonl"
CONTEXT = FileContext("/d/projects/p/s.jsonl", "p", "s", "p")
OBSERVED = 1_795_938_455_655  # 2026-11-29T07:47:35.655Z
RESETS = 1_795_942_055


def real_line() -> dict[str, Any]:
    """The 5-hour-limit line the real 2.1.332 wrote (decoded)."""
    for raw in REAL.read_text().splitlines():
        if '"quotaLimits"' in raw:
            line: dict[str, Any] = json.loads(raw)
            return line
    raise AssertionError("no limit-hit line in the capture")


def hit(line: dict[str, Any]) -> LimitHit | None:
    return parse_limit_hit(dump(line).encode())


def test_the_real_line() -> None:
    line = real_line()
    assert hit(line) == LimitHit("five_hour", RESETS, OBSERVED, "rejected")
    found = hit(line)
    assert found is not None and found.used_percentage == 100.0 and found.is_reading


def test_the_real_line_is_no_entry_as_ccusage_drops_it() -> None:
    stats = ParseStats()
    assert parse_buffer(dump(real_line()).encode(), CONTEXT, stats) == []
    assert stats.by_reason == {"null_field": 1}  # its usage's speed is null


def test_rate_limit_info_when_quota_limits_is_missing_or_unreadable() -> None:
    line = real_line()
    del line["quotaLimits"]
    assert hit(line) == LimitHit("five_hour", RESETS, OBSERVED, "rejected")
    line["quotaLimits"] = "garbage"
    assert hit(line) == LimitHit("five_hour", RESETS, OBSERVED, "rejected")
    line["quotaLimits"] = {
        "status": "rejected",
        "resetsAt": RESETS + 60,
        "rateLimitType": "seven_day",
    }
    assert hit(line) == LimitHit("seven_day", RESETS + 60, OBSERVED, "rejected")  # first


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"isApiErrorMessage": False}, "not an API error"),
        ({"isApiErrorMessage": None}, "not an API error"),
        ({"timestamp": "yesterday"}, "no time to order it by"),
        ({"timestamp": None}, "no time to order it by"),
    ],
)
def test_lines_that_are_no_reading(change: dict[str, Any], why: str) -> None:
    line = real_line()
    line.update(change)
    assert hit(line) is None, why


@pytest.mark.parametrize(
    "quota",
    [
        {"status": "rejected", "rateLimitType": "five_hour"},  # no reset
        {"status": "rejected", "resetsAt": "soon", "rateLimitType": "five_hour"},
        {"status": "rejected", "resetsAt": 0, "rateLimitType": "five_hour"},
        {"status": "rejected", "resetsAt": -5, "rateLimitType": "five_hour"},
        {"status": "rejected", "resetsAt": 1e300, "rateLimitType": "five_hour"},
        {"status": "rejected", "resetsAt": RESETS},  # no window
        {"status": "rejected", "resetsAt": RESETS, "rateLimitType": ""},
        {"resetsAt": RESETS, "rateLimitType": "five_hour"},  # no status
        None,
        [],
    ],
)
def test_unreadable_quota_information(quota: object) -> None:
    line = real_line()
    line["quotaLimits"] = quota
    line["apiErrorParams"] = {"rate_limit_info": quota}
    assert hit(line) is None


def test_what_counts_as_a_reading() -> None:
    for name in ("five_hour", "seven_day", "seven_day_opus", "seven_day_sonnet"):
        assert is_window(name) and LimitHit(name, RESETS, OBSERVED, "rejected").is_reading
    for name in ("overage", "five_hours", "seven_day_", "Seven_day", "seven_day_Opus"):
        assert not is_window(name)
    # An allowed status says nothing of the percentage.
    warning = LimitHit("five_hour", RESETS, OBSERVED, "allowed_warning")
    assert warning.used_percentage is None and not warning.is_reading
    assert reading_row(warning) is None


def test_the_pre_check_and_a_buffer_of_many_lines() -> None:
    other = dump(assistant(u=usage(10, 5)))
    plain = (other + "\n") * 50
    assert not might_hold_limit_hits(plain.encode()) and scan_limit_hits(plain.encode()) == []
    # Escaped inside a string (a tool result quoting a transcript) is no key.
    quoted = dump({"type": "user", "text": dump(real_line())})
    assert not might_hold_limit_hits(quoted.encode())
    second = real_line()
    second["quotaLimits"]["rateLimitType"] = "seven_day_opus"
    second["timestamp"] = "2026-11-29T07:50:00.000Z"
    text = "\n".join([other, dump(real_line()), other, dump(second), "{broken", other])
    assert scan_limit_hits(text.encode()) == [
        LimitHit("five_hour", RESETS, OBSERVED, "rejected"),
        LimitHit("seven_day_opus", RESETS, 1_795_938_600_000, "rejected"),
    ]


def test_the_reader_collects_them_beside_entries_in_any_chunks() -> None:
    lines = [dump(assistant(u=usage(10, 5))), dump(real_line()), dump(assistant(msg_id="m2"))]
    data = ("\n".join(lines) + "\n").encode()
    whole = TranscriptReader(CONTEXT, limit_hits=[])
    entries = whole.feed(data)
    assert len(entries) == 2 and whole.limit_hits == [hit(real_line())]
    for size in (1, 7, 100, 1000):
        hits: list[LimitHit] = []
        reader = TranscriptReader(CONTEXT, limit_hits=hits)
        found = []
        for start in range(0, len(data), size):
            found += reader.feed(data[start : start + size])
        found += reader.flush()
        assert [e.offset for e in found] == [e.offset for e in entries]
        assert hits == [hit(real_line())]
    # A reader not asked for them reads the same entries and collects nothing.
    assert TranscriptReader(CONTEXT).feed(data) == entries


def test_a_progress_line_is_no_entry_and_no_reading() -> None:
    """``progress`` (tool and hook progress; none in the 2.1.332 captures) carries no usage."""
    progress = {
        "type": "progress",
        "uuid": "u1",
        "parentUuid": "u0",
        "timestamp": "2026-11-29T07:47:35.655Z",
        "sessionId": "s",
        "data": {"type": "hook_progress", "hookEvent": "PreToolUse", "message": "running"},
    }
    raw = dump(progress).encode()
    stats = ParseStats()
    assert parse_buffer(raw, CONTEXT, stats) == [] and stats.by_reason == {}
    assert scan_limit_hits(raw) == []


@given(st.binary(max_size=300))
def test_any_bytes_give_readings_or_nothing(data: bytes) -> None:
    for extra in (b"", b'"quotaLimits"', b'"isApiErrorMessage":true "rate_limit_info"'):
        assert isinstance(scan_limit_hits(data + extra + data), list)


NOW_MS = OBSERVED + 60_000


def row(identifier: int, window: str, resets: float, observed_ms: int) -> tuple[int, str, str]:
    made = reading_row(LimitHit(window, resets, observed_ms, "rejected"))
    assert made is not None
    return identifier, *made


def test_what_an_agent_sends_of_the_readings_it_found() -> None:
    rows = [
        row(1, "five_hour", RESETS, OBSERVED),
        row(2, "five_hour", RESETS + 100, OBSERVED + 100),  # later: this one
        row(3, "five_hour", RESETS + 200, OBSERVED - 100),  # earlier, found later
        row(4, "seven_day", NOW_MS / 1000 - 1, OBSERVED),  # reset already: worthless
        row(5, "seven_day_opus", RESETS + 7 * 86_400, OBSERVED),
        row(6, "seven_day_sonnet", NOW_MS / 1000 + 9 * 86_400, OBSERVED),  # too far ahead
        (7, "five_hour", "not json"),
    ]
    [sent] = limits_to_send(rows, NOW_MS, "acct")
    assert sent == RateLimits(
        five_hour=RateLimit(100.0, RESETS + 100, (OBSERVED + 100) / 1000),
        account="acct",
        source="transcript",
        windows={"seven_day_opus": RateLimit(100.0, RESETS + 7 * 86_400, OBSERVED / 1000)},
    )
    assert legacy(sent) == RateLimits(five_hour=RateLimit(100.0, RESETS + 100), account="acct")
    assert limits_to_send(rows[3:4], NOW_MS) == []
    [only_scoped] = limits_to_send(rows[4:5], NOW_MS)
    assert legacy(only_scoped) is None
