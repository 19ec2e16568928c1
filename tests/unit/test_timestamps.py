from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

import pytest

from ccsync.usage.timestamps import (
    DateKeys,
    UnknownTimezoneError,
    iso_millis,
    parse_timestamp,
    resolve_timezone,
)


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("1970-01-01T00:00:00Z", 0),
        ("1970-01-01T00:00:00.001Z", 1),
        ("1970-01-01T09:00:00+09:00", 0),
        ("1969-12-31T19:00:00.000-05:00", 0),
        ("2024-02-29T23:59:59.999Z", 1_709_251_199_999),
    ],
)
def test_accepted_shapes(text: str, ms: int) -> None:
    assert parse_timestamp(text) == ms


@pytest.mark.parametrize(
    "text",
    [
        "2025-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-01-01T00:60:00Z",
        "2026-01-01 00:00:00Z",
        "2026-01-01T00:00:00.0Z",
        "2026-01-01T00:00:00.0000Z",
        "2026-01-01T00:00:00+0900",
        "2026-01-01T00:00:00",
        "0000-01-01T00:00:00Z",
        "2026-01-01t00:00:00Z",
        "\uff12\uff10\uff12\uff16-01-01T00:00:00Z"  # full-width digits,
        "",
    ],
)
def test_rejected_shapes(text: str) -> None:
    assert parse_timestamp(text) is None


def test_iso_millis_round_trips() -> None:
    for ms in (0, 1, 1_793_527_200_250, -1):
        assert parse_timestamp(iso_millis(ms)) == ms


def test_date_keys_follow_the_zone_across_dst() -> None:
    berlin = DateKeys(ZoneInfo("Europe/Berlin"))
    # 2026-10-25 01:30 UTC is 02:30 CET on the day the clocks go back; 22:30 UTC is 23:30 CET.
    assert berlin.key(parse_timestamp("2026-10-25T22:30:00Z") or 0) == "2026-10-25"
    assert berlin.key(parse_timestamp("2026-10-25T23:30:00Z") or 0) == "2026-10-26"
    kolkata = DateKeys(ZoneInfo("Asia/Kolkata"))
    assert kolkata.date(parse_timestamp("2026-11-01T18:29:00Z") or 0) == date(2026, 11, 1)
    assert kolkata.date(parse_timestamp("2026-11-01T18:30:00Z") or 0) == date(2026, 11, 2)


def test_timezones_resolve() -> None:
    assert resolve_timezone("UTC").utcoffset(None) is not None
    assert resolve_timezone("local") is not None
    with pytest.raises(UnknownTimezoneError):
        resolve_timezone("Mars/Olympus")
