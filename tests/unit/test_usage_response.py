"""The usage response (``GET /api/oauth/usage``) and its copy in ``~/.claude.json``: every
shape in ``tests/fixtures/usage_response/`` (see its README for where each comes from)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccsync.usage.usage_response import (
    CacheRead,
    UsageReading,
    UsageSnapshot,
    family_window,
    parse_cache,
    parse_usage_response,
    read_cached_usage,
)
from ccsync.wire import decode_limits

SHAPES = Path(__file__).parents[1] / "fixtures" / "usage_response"
GARBAGE = SHAPES / "garbage"
_SCOPED = re.compile(r"^seven_day(_[a-z0-9]+){1,4}$")
"""``wire.ScopedWindow``: where the server takes a model family's window."""


def body(name: str) -> bytes:
    return (SHAPES / name).read_bytes()


def parsed(name: str) -> UsageSnapshot:
    found = parse_usage_response(body(name))
    assert found is not None
    return found


def test_the_2026_body_reads_limits_first_and_the_flat_buckets_for_the_rest() -> None:
    found = parsed("limits-2026-07.json")
    assert found.readings == (
        UsageReading("five_hour", 53.0, 1_783_471_799_940, is_active=True),
        UsageReading("seven_day", 8.0, 1_783_922_400_000),
        UsageReading("seven_day_fable", 6.0, 1_783_922_400_000),
        UsageReading("seven_day_sonnet", 3.0, 1_781_730_000_160),  # only a flat bucket
    )
    assert found.skipped == 0 and found.fetched_at_ms is None and found.account is None


def test_limits_win_over_the_flat_bucket_of_the_same_window() -> None:
    data = json.loads(body("limits-2026-07.json"))
    data["five_hour"]["utilization"] = 50.0
    data["five_hour"]["resets_at"] = "2026-07-08T00:00:00+00:00"
    five = parse_usage_response(data)
    assert five is not None
    assert five.reading("five_hour") == UsageReading("five_hour", 53.0, 1_783_471_799_940, True)
    del data["limits"]
    flat = parse_usage_response(data)
    assert flat is not None
    assert flat.reading("five_hour") == UsageReading("five_hour", 50.0, 1_783_468_800_000)
    assert flat.reading("seven_day_fable") is None


def test_the_legacy_flat_body() -> None:
    found = parsed("legacy-flat.json")
    assert found.readings == (
        UsageReading("five_hour", 41.0, 1_763_650_800_123),
        UsageReading("seven_day", 12.0, 1_763_964_000_000),
        UsageReading("seven_day_opus", 5.0, 1_763_964_000_160),
    )
    assert found.skipped == 0  # null buckets and extra_usage are no windows, not skips


def test_a_window_not_started_is_a_reading_of_zero_without_a_reset() -> None:
    found = parsed("not-started-flat.json")
    assert found.readings == (
        UsageReading("five_hour", 0.0, None),
        UsageReading("seven_day", 27.0, 1_771_002_000_087),
        UsageReading("seven_day_sonnet", 0.0, None),
    )


def test_code_named_null_keys_are_ignored() -> None:
    found = parsed("code-named-nulls.json")
    assert found.readings == (
        UsageReading("five_hour", 0.0, None),  # session: 0 % and no reset (not started)
        UsageReading("seven_day", 90.0, 1_785_168_000_081),
        UsageReading("seven_day_fable", 100.0, 1_785_168_000_081, is_active=True),
    )
    assert found.skipped == 0


def test_weekly_scoped_windows_by_model_family() -> None:
    found = parsed("weekly-scoped.json")
    assert found.readings == (
        UsageReading("five_hour", 17.0, 1_784_559_599_512),
        UsageReading("seven_day", 44.0, 1_784_872_800_081),
        UsageReading("seven_day_fable", 81.0, 1_784_872_800_081, is_active=True),  # the higher
        UsageReading("seven_day_opus", 63.0, 1_784_872_800_081),
        UsageReading("seven_day_sonnet", 12.0, 1_784_872_800_081),  # from the flat buckets
    )
    assert found.skipped == 2  # scoped to a surface only; a kind ccsync does not know
    assert [r.window for r in found.readings if r.is_active] == ["seven_day_fable"]


def test_the_binding_flag_survives_a_higher_duplicate() -> None:
    limits = [
        {"kind": "weekly_scoped", "percent": 40, "resets_at": None, "is_active": True,
         "scope": {"model": {"display_name": "Opus"}, "surface": None}},
        {"kind": "weekly_scoped", "percent": 60, "resets_at": None, "is_active": False,
         "scope": {"model": {"display_name": "opus"}, "surface": None}},
    ]  # fmt: skip
    found = parse_usage_response({"limits": limits})
    assert found is not None
    assert found.readings == (UsageReading("seven_day_opus", 60.0, None, is_active=True),)


@pytest.mark.parametrize(
    ("name", "window"),
    [
        ("Fable", "seven_day_fable"),
        ("Opus", "seven_day_opus"),
        ("Sonnet only", "seven_day_sonnet_only"),
        ("Claude Opus 4.5", "seven_day_claude_opus_4_5"),
        ("  Fäble ", "seven_day_fable"),
        ("OPUS-5", "seven_day_opus_5"),
        ("🦊", None),
        ("", None),
        ("one two three four five", None),
        ("x" * 49, None),
        (None, None),
        (5, None),
    ],
)
def test_family_names(name: object, window: str | None) -> None:
    assert family_window(name) == window


@given(st.text(max_size=300))
def test_every_family_name_is_a_window_the_wire_takes(name: str) -> None:
    window = family_window(name)
    assert window is None or _SCOPED.match(window)


@pytest.mark.parametrize(
    ("resets_at", "ms"),
    [
        ("2026-07-08T00:49:59.940321+00:00", 1_783_471_799_940),
        ("2026-07-08T00:49:59Z", 1_783_471_799_000),
        ("2026-07-08T02:49:59.999999+02:00", 1_783_471_799_999),
        ("2026-07-08T00:49:59.1+00:00", 1_783_471_799_100),
        (None, None),
    ],
)
def test_reset_times(resets_at: str | None, ms: int | None) -> None:
    found = parse_usage_response({"five_hour": {"utilization": 1, "resets_at": resets_at}})
    assert found is not None and found.readings == (UsageReading("five_hour", 1.0, ms),)


@pytest.mark.parametrize(
    "resets_at",
    ["2026-07-08T00:49:59", "2026-07-08", "next monday", 1_783_471_799, "", "0001-01-01T00:00Z"],
)
def test_a_reset_that_is_no_time_with_an_offset_skips_the_window(resets_at: object) -> None:
    found = parse_usage_response({"five_hour": {"utilization": 1, "resets_at": resets_at}})
    assert found == UsageSnapshot(skipped=1)


def test_odd_entries_are_each_skipped_and_counted() -> None:
    assert parsed("garbage/odd-entries.json") == UsageSnapshot(skipped=13)
    found = parsed("garbage/limits-object.json")  # limits not a list: the flat buckets
    assert found.readings == (UsageReading("five_hour", 9.0, 1_783_471_799_940),)
    assert found.skipped == 1


@pytest.mark.parametrize("given_body", [b"", b"[]", b'"x"', b"{", b"\xff", "[1]", None, 3, []])
def test_what_is_no_json_object_is_no_response(given_body: object) -> None:
    assert parse_usage_response(given_body) is None


def test_a_claude_json_with_the_cache_among_other_keys() -> None:
    found = read_cached_usage(body("claude.json"))
    assert found.problem is None and found.snapshot is not None
    assert found.snapshot.fetched_at_ms == 1_785_143_551_250  # 2026-07-27T09:12:31.250Z
    assert found.snapshot.account == "5d2f6c1e-8a3b-4f70-9c2d-1e6b8a4f3c90"
    assert found.snapshot.readings == parsed("code-named-nulls.json").readings
    assert read_cached_usage(body("claude.json").decode()) == found  # text too


def test_a_claude_json_without_the_cache_carries_no_figures() -> None:
    assert read_cached_usage(body("claude-bootstrap.json")) == CacheRead()
    assert read_cached_usage(b'{"cachedUsageUtilization": null}') == CacheRead()


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("truncated.claude.json", "not a JSON object"),
        ("empty.claude.json", "not a JSON object"),
        ("top-level-array.claude.json", "not a JSON object"),
        ("fetched-at-text.claude.json", "fetchedAtMs"),
        ("fetched-at-negative.claude.json", "fetchedAtMs"),
        ("fetched-at-missing.claude.json", "fetchedAtMs"),
        ("utilization-array.claude.json", "utilization is not an object"),
        ("cache-text.claude.json", "cachedUsageUtilization is not an object"),
        ("not-utf8.claude.json", "cachedUsageUtilization is not JSON"),
    ],
)
def test_a_malformed_claude_json_says_why(name: str, problem: str) -> None:
    found = read_cached_usage((GARBAGE / name).read_bytes())
    assert found.snapshot is None and found.problem is not None and problem in found.problem


@pytest.mark.parametrize(
    "fetched", [0, -5, True, 1e400, 253_402_300_800_000, "1785143551250", None, [1]]
)
def test_fetched_at_must_be_a_time_in_milliseconds(fetched: object) -> None:
    found = parse_cache({"fetchedAtMs": fetched, "utilization": {}})
    assert found.snapshot is None and found.problem is not None


def test_an_account_that_is_no_text_is_not_taken() -> None:
    found = parse_cache({"fetchedAtMs": 1.5e12, "accountUuid": 7, "utilization": {}})
    assert found == CacheRead(UsageSnapshot(fetched_at_ms=1_500_000_000_000))


def test_a_large_claude_json_is_read_for_its_one_key() -> None:
    """Megabytes of other state around the cache (``projects`` grows with every folder)."""
    cache = json.loads(body("claude.json"))["cachedUsageUtilization"]
    projects = {
        f"/home/user/project-{n}": {"allowedTools": ["Bash"] * 20, "history": ["x" * 200] * 10}
        for n in range(2_000)
    }
    document = json.dumps({"projects": projects, "cachedUsageUtilization": cache}).encode()
    assert len(document) > 4_000_000
    started = time.perf_counter()
    found = read_cached_usage(document)
    elapsed = time.perf_counter() - started
    assert found.snapshot is not None and len(found.snapshot.readings) == 3
    assert elapsed < 1.0  # generous: about 10 ms here


def test_the_readings_fit_the_wire() -> None:
    """Every window read is one ``RateLimits`` takes (``windows`` for the scoped ones)."""
    for path in SHAPES.glob("*.json"):
        found = parse_usage_response(path.read_bytes())
        for reading in found.readings if found is not None else ():
            limit = {"used_percentage": reading.used_percentage}
            if reading.window in ("five_hour", "seven_day"):
                sent = decode_limits(json.dumps({reading.window: limit}))
            else:
                sent = decode_limits(json.dumps({"windows": {reading.window: limit}}))
            assert sent.readings()[0][0] == reading.window
            assert 0 <= reading.used_percentage <= 100


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(
        st.sampled_from(
            ["five_hour", "seven_day", "seven_day_opus", "limits", "kind", "percent",
             "utilization", "resets_at", "scope", "model", "display_name", "surface",
             "is_active", "session", "weekly_scoped", "fetchedAtMs", "utilization"]
        ) | st.text(max_size=8),
        children,
        max_size=6,
    ),
    max_leaves=30,
)  # fmt: skip


@st.composite
def usage_like(draw: st.DrawFn) -> dict[str, Any]:
    """Response-shaped objects with any values in the places the parser reads."""
    entry = st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["session", "weekly_all", "weekly_scoped", "other"])
            | json_values,
            "percent": st.floats(allow_nan=True) | st.integers() | json_values,
            "resets_at": st.sampled_from([None, "2026-07-08T00:49:59.940321+00:00"]) | json_values,
            "is_active": json_values,
            "scope": st.fixed_dictionaries(
                {"model": st.fixed_dictionaries({"display_name": st.text() | json_values})}
            )
            | json_values,
        }
    )
    bucket = st.fixed_dictionaries({"utilization": json_values, "resets_at": json_values})
    return draw(
        st.fixed_dictionaries(
            {"limits": st.lists(entry | json_values, max_size=5) | json_values},
            optional=dict.fromkeys(("five_hour", "seven_day"), bucket | json_values),
        )
    )


def _well_formed(found: UsageSnapshot | None) -> None:
    assert found is not None
    for reading in found.readings:
        assert reading.window in ("five_hour", "seven_day") or _SCOPED.match(reading.window)
        assert 0 <= reading.used_percentage <= 1000
        assert reading.resets_at_ms is None or reading.resets_at_ms > 0
    assert len({reading.window for reading in found.readings}) == len(found.readings)


@given(usage_like())
def test_any_response_shaped_object_gives_readings_and_skips(data: dict[str, Any]) -> None:
    _well_formed(parse_usage_response(data))
    text = json.dumps(data, allow_nan=False) if _finite(data) else None
    if text is not None:
        _well_formed(parse_usage_response(text))
        cached = read_cached_usage(
            json.dumps({"a": 1, "cachedUsageUtilization": {"fetchedAtMs": 1, "utilization": data}})
        )
        assert cached.problem is None and cached.snapshot is not None


@given(st.binary(max_size=400))
def test_any_bytes_never_raise(data: bytes) -> None:
    assert isinstance(read_cached_usage(data), CacheRead)
    assert parse_usage_response(data) is None or isinstance(
        parse_usage_response(data), UsageSnapshot
    )
    wrapped = b'{"cachedUsageUtilization": {"fetchedAtMs": 1, "utilization": ' + data + b"}}"
    assert isinstance(read_cached_usage(wrapped), CacheRead)


@given(json_values)
def test_any_cache_value_never_raises(value: object) -> None:
    assert isinstance(parse_cache(value), CacheRead)
    assert isinstance(parse_cache({"fetchedAtMs": 5, "utilization": value}), CacheRead)


def _finite(value: object) -> bool:
    if isinstance(value, float):
        return value == value and abs(value) != float("inf")
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True
