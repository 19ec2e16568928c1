from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccsync.usage.timestamps import (
    DateKeys,
    UnknownTimezoneError,
    civil_from_days,
    day_number,
    days_from_civil,
    format_day,
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
        # ccusage 20.0.24 takes year 0000 (datetime cannot hold it) and any year after 9999
        ("0000-01-01T00:00:00Z", -62_167_219_200_000),
        ("0000-02-29T00:00:00.000Z", -62_167_219_200_000 + (31 + 28) * 86_400_000),
        ("0000-01-01T00:00:00.000+23:59", -62_167_219_200_000 - 86_340_000),
        ("9999-12-31T23:59:59.999-23:59", 253_402_387_139_999),
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
        "0100-02-29T00:00:00Z",
        "0000-02-30T00:00:00Z",
        "2026-11-01T10:00:00+12:60",  # datetime reads +13:00; ccusage drops the line
        "2026-11-01T10:00:00+24:00",
        "2026-11-01T24:00:00Z",
        "2026-11-01T10:00:60Z",
        "2026-01-01t00:00:00Z",
        "\uff12\uff10\uff12\uff16-01-01T00:00:00Z",  # full-width digits
        "",
    ],
)
def test_rejected_shapes(text: str) -> None:
    assert parse_timestamp(text) is None


def test_iso_millis_round_trips() -> None:
    for ms in (0, 1, 1_793_527_200_250, -1, -62_167_219_200_000, 253_402_300_799_999):
        assert parse_timestamp(iso_millis(ms)) == ms


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
        # the block after a 9999-12-31T23:30 line: ccusage 20.0.24 prints exactly this
        (253_402_300_800_000 + 4 * 3_600_000, "10000-01-01T04:00:00.000Z"),
        (9_223_372_036_854_775_000, "292278994-08-17T07:12:55.000Z"),  # ccusage, too
        (-62_135_596_800_000, "0001-01-01T00:00:00.000Z"),  # strftime printed "1-01-01"
        (-62_167_219_200_001, "-001-12-31T23:59:59.999Z"),
    ],
)
def test_iso_millis_prints_any_instant_as_ccusage(ms: int, text: str) -> None:
    assert iso_millis(ms) == text


@given(st.integers())
def test_iso_millis_is_total(ms: int) -> None:
    # Four places for the year, the sign taking one of them (Rust's ``{:04}``, as ccusage).
    assert re.fullmatch(r"(\d{4,}|-\d{3,})-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", iso_millis(ms))


@given(st.integers(min_value=-(10**18), max_value=10**18))
def test_civil_days_round_trip(days: int) -> None:
    assert days_from_civil(*civil_from_days(days)) == days


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59)))
def test_iso_millis_agrees_with_datetime_where_it_can(moment: datetime) -> None:
    ms = (moment.replace(tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
        milliseconds=1
    )
    assert iso_millis(ms) == moment.isoformat(timespec="milliseconds") + "Z"
    assert format_day(ms // 86_400_000) == moment.date().isoformat()


def test_date_keys_follow_the_zone_across_dst() -> None:
    berlin = DateKeys(ZoneInfo("Europe/Berlin"))
    # 2026-10-25 01:30 UTC is 02:30 CET on the day the clocks go back; 22:30 UTC is 23:30 CET.
    assert berlin.key(parse_timestamp("2026-10-25T22:30:00Z") or 0) == "2026-10-25"
    assert berlin.key(parse_timestamp("2026-10-25T23:30:00Z") or 0) == "2026-10-26"
    kolkata = DateKeys(ZoneInfo("Asia/Kolkata"))
    assert kolkata.day(parse_timestamp("2026-11-01T18:29:00Z") or 0) == day_number(
        date(2026, 11, 1)
    )
    assert kolkata.key(parse_timestamp("2026-11-01T18:30:00Z") or 0) == "2026-11-02"


@pytest.mark.parametrize(
    ("zone", "text", "key"),
    [
        # ccusage dates in UTC after 9999-12-30T22:00:00.000Z, whatever the zone
        ("Pacific/Kiritimati", "9999-12-30T22:00:00.000Z", "9999-12-31"),
        ("Pacific/Kiritimati", "9999-12-30T22:00:00.001Z", "9999-12-30"),
        ("Pacific/Kiritimati", "9999-12-31T23:30:00.000Z", "9999-12-31"),
        ("UTC", "9999-12-31T23:59:59.999-23:59", "10000-01-01"),
        # before year 1 in the zone: its first offset (Los Angeles: LMT, -07:52:58)
        ("America/Los_Angeles", "0001-01-01T02:00:00.000Z", "0000-12-31"),
        ("America/Los_Angeles", "0000-01-01T02:00:00.000Z", "-001-12-31"),
        ("Asia/Kolkata", "9999-12-30T18:00:00.000Z", "9999-12-30"),
    ],
)
def test_date_keys_of_far_instants_are_ccusages(zone: str, text: str, key: str) -> None:
    ms = parse_timestamp(text)
    assert ms is not None
    assert DateKeys(resolve_timezone(zone)).key(ms) == key


def test_timezones_resolve() -> None:
    assert resolve_timezone("UTC").utcoffset(None) is not None
    assert resolve_timezone("local") is not None
    with pytest.raises(UnknownTimezoneError):
        resolve_timezone("Mars/Olympus")
