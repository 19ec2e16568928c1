"""Cron schedules: exact fire times (month ends, leap days, both DST changes in two zones),
strictly-after semantics, node-cron's 6-field form, validation, and properties checked
against an independent oracle of Debian cron's DST rules."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ccsync.scheduler.schedule import EXAMPLES, MAX_LENGTH, Schedule, ScheduleError

NY = "America/New_York"
BERLIN = "Europe/Berlin"
HOUR = 3_600_000


def ms(text: str) -> int:
    """Epoch milliseconds of an ISO instant such as ``2027-03-14T07:00:00Z``."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)


def iso(epoch_ms: int) -> str:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=epoch_ms)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{epoch_ms % 1000:03d}Z" if epoch_ms % 1000 else f"{text}Z"


def fires(expression: str, zone: str, start: str, count: int) -> list[str]:
    return [iso(m) for m in Schedule.parse(expression).upcoming(ms(start), ZoneInfo(zone), count)]


# -- the DST changes the table relies on ---------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "instant", "before", "after", "wall_before", "wall_after"),
    [
        # New York: 02:00 EST (-5) becomes 03:00 EDT (-4) at 07:00Z; 02:00 EDT becomes 01:00 EST at 06:00Z.
        (NY, "2027-03-14T07:00:00Z", -5, -4, "01:59:59", "03:00:00"),
        (NY, "2027-11-07T06:00:00Z", -4, -5, "01:59:59", "01:00:00"),
        # Berlin: 02:00 CET (+1) becomes 03:00 CEST (+2) at 01:00Z; 03:00 CEST becomes 02:00 CET at 01:00Z.
        (BERLIN, "2027-03-28T01:00:00Z", 1, 2, "01:59:59", "03:00:00"),
        (BERLIN, "2027-10-31T01:00:00Z", 2, 1, "02:59:59", "02:00:00"),
    ],
)
def test_dst_changes_in_2027(
    zone: str, instant: str, before: int, after: int, wall_before: str, wall_after: str
) -> None:
    at = datetime.fromisoformat(instant).astimezone(ZoneInfo(zone))
    just_before = (datetime.fromisoformat(instant) - timedelta(seconds=1)).astimezone(
        ZoneInfo(zone)
    )
    assert just_before.utcoffset() == timedelta(hours=before)
    assert at.utcoffset() == timedelta(hours=after)
    assert just_before.strftime("%H:%M:%S") == wall_before
    assert at.strftime("%H:%M:%S") == wall_after


# -- exact fire times ----------------------------------------------------------------------

TABLE = [
    # -- month ends ---------------------------------------------------------------------
    # The 31st from April: April, June, September and November have 30 days; May, July,
    # August, October and December have 31.
    pytest.param("0 12 31 * *", "UTC", "2027-04-01T00:00:00Z",
                 ["2027-05-31T12:00:00Z", "2027-07-31T12:00:00Z", "2027-08-31T12:00:00Z",
                  "2027-10-31T12:00:00Z", "2027-12-31T12:00:00Z"], id="31st-skips-30-day-months"),
    # The 30th, starting exactly at January's: February (29 days in 2028) has none.
    pytest.param("0 0 30 * *", "UTC", "2028-01-30T00:00:00Z",
                 ["2028-03-30T00:00:00Z", "2028-04-30T00:00:00Z"], id="30th-skips-february"),
    # L = the month's last day: 31, 28 (2027 is not a leap year), 31, 30.
    pytest.param("0 0 L * *", "UTC", "2027-01-15T00:00:00Z",
                 ["2027-01-31T00:00:00Z", "2027-02-28T00:00:00Z", "2027-03-31T00:00:00Z",
                  "2027-04-30T00:00:00Z"], id="last-day-of-month"),
    # February's last day: the 29th in 2028 (leap), the 28th in 2029.
    pytest.param("0 0 L 2 *", "UTC", "2027-03-01T00:00:00Z",
                 ["2028-02-29T00:00:00Z", "2029-02-28T00:00:00Z"], id="last-day-of-february"),
    # 23:00 on the last day in New York: Feb 28 23:00 EST (-5) = Mar 1 04:00Z; Mar 31 23:00
    # EDT (-4) = Apr 1 03:00Z. The UTC date is the next month's.
    pytest.param("0 23 L * *", NY, "2027-02-01T12:00:00Z",
                 ["2027-03-01T04:00:00Z", "2027-04-01T03:00:00Z"], id="last-day-in-a-zone"),
    # -- leap days ----------------------------------------------------------------------
    # Feb 29 exists in 2028, then 2032.
    pytest.param("0 12 29 2 *", "UTC", "2027-03-01T00:00:00Z", ["2028-02-29T12:00:00Z"],
                 id="leap-day-next"),
    pytest.param("0 12 29 2 *", "UTC", "2028-03-01T00:00:00Z", ["2032-02-29T12:00:00Z"],
                 id="leap-day-after-one"),
    # 2100 is divisible by 100 but not 400: no Feb 29 between 2096 and 2104.
    pytest.param("0 12 29 2 *", "UTC", "2096-03-01T00:00:00Z", ["2104-02-29T12:00:00Z"],
                 id="leap-day-skips-2100"),
    # -- year boundary ------------------------------------------------------------------
    # Midnight on Jan 1 in Berlin is 23:00Z on Dec 31 (CET, +1).
    pytest.param("0 0 1 1 *", BERLIN, "2027-06-01T00:00:00Z",
                 ["2027-12-31T23:00:00Z", "2028-12-31T23:00:00Z"], id="new-year-berlin"),
    # 23:59 on Dec 31 in New York is 04:59Z on Jan 1 (EST, -5).
    pytest.param("59 23 31 12 *", NY, "2027-06-01T00:00:00Z", ["2028-01-01T04:59:00Z"],
                 id="new-years-eve-new-york"),
    pytest.param("*/20 * * * *", "UTC", "2027-12-31T23:30:00Z",
                 ["2027-12-31T23:40:00Z", "2028-01-01T00:00:00Z", "2028-01-01T00:20:00Z"],
                 id="every-20-minutes-into-new-year"),
    # -- New York, spring forward: 2027-03-14 02:00 EST -> 03:00 EDT (07:00Z) --------------
    # 02:30 EST on the 13th = 07:30Z; on the 14th 02:30 does not exist: Debian runs the job
    # once right after the jump, 03:00 EDT = 07:00Z; on the 15th 02:30 EDT = 06:30Z.
    pytest.param("30 2 * * *", NY, "2027-03-12T12:00:00Z",
                 ["2027-03-13T07:30:00Z", "2027-03-14T07:00:00Z", "2027-03-15T06:30:00Z"],
                 id="ny-spring-fixed-time-in-gap"),
    # Two fire times in the gap still run once, at 03:00 EDT.
    pytest.param("0,30 2 * * *", NY, "2027-03-14T05:00:00Z",
                 ["2027-03-14T07:00:00Z", "2027-03-15T06:00:00Z"], id="ny-spring-two-times-in-gap"),
    # From 23:30 EST: 00:00 EST = 05:00Z, 01:00 EST = 06:00Z, (02:00 skipped), 03:00 EDT =
    # 07:00Z, 04:00 EDT = 08:00Z: one hour of real time between every fire.
    pytest.param("0 * * * *", NY, "2027-03-14T04:30:00Z",
                 ["2027-03-14T05:00:00Z", "2027-03-14T06:00:00Z", "2027-03-14T07:00:00Z",
                  "2027-03-14T08:00:00Z"], id="ny-spring-hourly"),
    # From 01:15 EST: 01:30 EST = 06:30Z, then 30 real minutes later 03:00 EDT = 07:00Z.
    pytest.param("0 */30 * * * *", NY, "2027-03-14T06:15:00Z",
                 ["2027-03-14T06:30:00Z", "2027-03-14T07:00:00Z", "2027-03-14T07:30:00Z"],
                 id="ny-spring-every-30-minutes-6-field"),
    # 6 fields follow real time with no Debian special case: 02:30 on the 14th never
    # happens, so that day has no run (13th: 07:30Z EST; 15th: 06:30Z EDT).
    pytest.param("0 30 2 * * *", NY, "2027-03-12T12:00:00Z",
                 ["2027-03-13T07:30:00Z", "2027-03-15T06:30:00Z"], id="ny-spring-6-field-skips-day"),
    # Starting exactly at Thursday's fire (07:00 EST = 12:00Z): Friday 07:00 EST = 12:00Z,
    # then over the DST weekend to Monday 07:00 EDT = 11:00Z, Tuesday 11:00Z.
    pytest.param("0 7 * * 1-5", NY, "2027-03-11T12:00:00Z",
                 ["2027-03-12T12:00:00Z", "2027-03-15T11:00:00Z", "2027-03-16T11:00:00Z"],
                 id="ny-spring-weekdays"),
    # -- New York, fall back: 2027-11-07 02:00 EDT -> 01:00 EST (06:00Z) -------------------
    # 01:30 happens twice on the 7th: at 05:30Z (EDT) and 06:30Z (EST); Debian runs the job
    # at the first only. The 6th: 01:30 EDT = 05:30Z; the 8th: 01:30 EST = 06:30Z.
    pytest.param("30 1 * * *", NY, "2027-11-05T12:00:00Z",
                 ["2027-11-06T05:30:00Z", "2027-11-07T05:30:00Z", "2027-11-08T06:30:00Z"],
                 id="ny-fall-fixed-time-in-overlap"),
    # Starting in the second pass (01:10 EST = 06:10Z), after the 01:30 EDT run: nothing more
    # that day; the next is the 8th at 01:30 EST = 06:30Z.
    pytest.param("30 1 * * *", NY, "2027-11-07T06:10:00Z", ["2027-11-08T06:30:00Z"],
                 id="ny-fall-start-in-second-pass"),
    # From 23:30 EDT: 00:00 EDT = 04:00Z, 01:00 EDT = 05:00Z, 01:00 EST = 06:00Z, 02:00 EST =
    # 07:00Z: hourly in real time, so 01:00 runs twice.
    pytest.param("0 * * * *", NY, "2027-11-07T03:30:00Z",
                 ["2027-11-07T04:00:00Z", "2027-11-07T05:00:00Z", "2027-11-07T06:00:00Z",
                  "2027-11-07T07:00:00Z"], id="ny-fall-hourly"),
    # The same hours written as a range are fixed times (the hour field has no '*'): 01:00
    # runs once (EDT, 05:00Z); then 02:00 EST = 07:00Z.
    pytest.param("0 0-23 * * *", NY, "2027-11-07T03:30:00Z",
                 ["2027-11-07T04:00:00Z", "2027-11-07T05:00:00Z", "2027-11-07T07:00:00Z"],
                 id="ny-fall-hour-range-is-fixed-time"),
    # From 01:15 EDT: every 30 real minutes, through both passes of 01:xx.
    pytest.param("0 */30 * * * *", NY, "2027-11-07T05:15:00Z",
                 ["2027-11-07T05:30:00Z", "2027-11-07T06:00:00Z", "2027-11-07T06:30:00Z",
                  "2027-11-07T07:00:00Z"], id="ny-fall-every-30-minutes-6-field"),
    # 6 fields, real time: 01:30 occurs twice on the 7th and runs twice (05:30Z, 06:30Z).
    pytest.param("0 30 1 * * *", NY, "2027-11-06T12:00:00Z",
                 ["2027-11-07T05:30:00Z", "2027-11-07T06:30:00Z", "2027-11-08T06:30:00Z"],
                 id="ny-fall-6-field-runs-twice"),
    # Friday 07:00 EDT = 11:00Z (the start), Monday 07:00 EST = 12:00Z.
    pytest.param("0 7 * * 1-5", NY, "2027-11-05T11:00:00Z",
                 ["2027-11-08T12:00:00Z", "2027-11-09T12:00:00Z"], id="ny-fall-weekdays"),
    # -- Berlin, spring forward: 2027-03-28 02:00 CET -> 03:00 CEST (01:00Z) ---------------
    # 02:30 CET on the 27th = 01:30Z; none on the 28th, so 03:00 CEST = 01:00Z; 02:30 CEST on
    # the 29th = 00:30Z.
    pytest.param("30 2 * * *", BERLIN, "2027-03-26T12:00:00Z",
                 ["2027-03-27T01:30:00Z", "2027-03-28T01:00:00Z", "2027-03-29T00:30:00Z"],
                 id="berlin-spring-fixed-time-in-gap"),
    # From 00:30 CET: 01:00 CET = 00:00Z, 03:00 CEST = 01:00Z, 04:00 CEST = 02:00Z.
    pytest.param("0 * * * *", BERLIN, "2027-03-27T23:30:00Z",
                 ["2027-03-28T00:00:00Z", "2027-03-28T01:00:00Z", "2027-03-28T02:00:00Z"],
                 id="berlin-spring-hourly"),
    # From 01:15 CET: 01:30 CET = 00:30Z, 03:00 CEST = 01:00Z, 03:30 CEST = 01:30Z.
    pytest.param("0 */30 * * * *", BERLIN, "2027-03-28T00:15:00Z",
                 ["2027-03-28T00:30:00Z", "2027-03-28T01:00:00Z", "2027-03-28T01:30:00Z"],
                 id="berlin-spring-every-30-minutes-6-field"),
    # Thursday 07:00 CET = 06:00Z (the start), Friday 06:00Z, Monday 07:00 CEST = 05:00Z.
    pytest.param("0 7 * * 1-5", BERLIN, "2027-03-25T06:00:00Z",
                 ["2027-03-26T06:00:00Z", "2027-03-29T05:00:00Z"], id="berlin-spring-weekdays"),
    # -- Berlin, fall back: 2027-10-31 03:00 CEST -> 02:00 CET (01:00Z) --------------------
    # 02:30 happens at 00:30Z (CEST) and 01:30Z (CET) on the 31st: the first only. The 30th:
    # 02:30 CEST = 00:30Z; Nov 1: 02:30 CET = 01:30Z.
    pytest.param("30 2 * * *", BERLIN, "2027-10-29T12:00:00Z",
                 ["2027-10-30T00:30:00Z", "2027-10-31T00:30:00Z", "2027-11-01T01:30:00Z"],
                 id="berlin-fall-fixed-time-in-overlap"),
    # From 01:30 CEST: 02:00 CEST = 00:00Z, 02:00 CET = 01:00Z, 03:00 CET = 02:00Z.
    pytest.param("0 * * * *", BERLIN, "2027-10-30T23:30:00Z",
                 ["2027-10-31T00:00:00Z", "2027-10-31T01:00:00Z", "2027-10-31T02:00:00Z"],
                 id="berlin-fall-hourly"),
    # From 02:15 CEST: 02:30 CEST = 00:30Z, 02:00 CET = 01:00Z, 02:30 CET = 01:30Z.
    pytest.param("0 */30 * * * *", BERLIN, "2027-10-31T00:15:00Z",
                 ["2027-10-31T00:30:00Z", "2027-10-31T01:00:00Z", "2027-10-31T01:30:00Z",
                  "2027-10-31T02:00:00Z"], id="berlin-fall-every-30-minutes-6-field"),
    # Thursday 07:00 CEST = 05:00Z (the start), Friday 05:00Z, Monday 07:00 CET = 06:00Z.
    pytest.param("0 7 * * 1-5", BERLIN, "2027-10-28T05:00:00Z",
                 ["2027-10-29T05:00:00Z", "2027-11-01T06:00:00Z"], id="berlin-fall-weekdays"),
    # -- Lord Howe: 30-minute changes (cronsim alone gets the real-time ones wrong) ---------
    # 2027-04-04 02:00 +11 -> 01:30 +10:30 (15:00Z). Midnight on the 4th is +11 = 13:00Z on
    # the 3rd; on the 5th +10:30 = 13:30Z on the 4th (cronsim alone skips to the 6th).
    pytest.param("0 0 0 * * *", "Australia/Lord_Howe", "2027-04-03T12:00:00Z",
                 ["2027-04-03T13:00:00Z", "2027-04-04T13:30:00Z", "2027-04-05T13:30:00Z"],
                 id="lord-howe-fall-midnight-6-field"),
    # From the change itself (01:30 +10:30): the next 00:00 is the 5th's, 13:30Z on the 4th
    # (cronsim alone gives 00:30).
    pytest.param("* 0 * * *", "Australia/Lord_Howe", "2027-04-03T15:00:00Z",
                 ["2027-04-04T13:30:00Z", "2027-04-04T13:31:00Z"], id="lord-howe-fall-minutes"),
    # From 00:30 +11: 01:00 +11 = 14:00Z; 02:00 +10:30 = 15:30Z (01:00 is not repeated).
    pytest.param("0 * * * *", "Australia/Lord_Howe", "2027-04-03T13:30:00Z",
                 ["2027-04-03T14:00:00Z", "2027-04-03T15:30:00Z", "2027-04-03T16:30:00Z"],
                 id="lord-howe-fall-hourly"),
    # 2027-10-03 02:00 +10:30 -> 02:30 +11 (15:30Z). 03:00 +11 = 16:00Z (cronsim alone: 16:30Z).
    pytest.param("* 3 * * *", "Australia/Lord_Howe", "2027-10-02T15:00:00Z",
                 ["2027-10-02T16:00:00Z", "2027-10-02T16:01:00Z"], id="lord-howe-spring-minutes"),
    # 02:15 falls in the half-hour gap: the fixed-time job runs at 02:30 +11 = 15:30Z; on the
    # 2nd 02:15 +10:30 = 15:45Z on the 1st; on the 4th 02:15 +11 = 15:15Z on the 3rd.
    pytest.param("15 2 * * *", "Australia/Lord_Howe", "2027-10-01T12:00:00Z",
                 ["2027-10-01T15:45:00Z", "2027-10-02T15:30:00Z", "2027-10-03T15:15:00Z"],
                 id="lord-howe-spring-fixed-time-in-gap"),
]  # fmt: skip


@pytest.mark.parametrize(("expression", "zone", "start", "expected"), TABLE)
def test_fire_times(expression: str, zone: str, start: str, expected: list[str]) -> None:
    assert fires(expression, zone, start, len(expected)) == expected
    first = Schedule.parse(expression).next_after(ms(start), ZoneInfo(zone))
    assert first == ms(expected[0])


# -- strictly after ------------------------------------------------------------------------


def test_a_start_at_a_fire_time_gives_the_next_one() -> None:
    daily = Schedule.parse("0 7 * * *")
    zone = ZoneInfo("UTC")
    assert daily.next_after(ms("2027-05-05T07:00:00Z"), zone) == ms("2027-05-06T07:00:00Z")
    assert daily.next_after(ms("2027-05-05T07:00:00Z") - 1, zone) == ms("2027-05-05T07:00:00Z")
    assert daily.next_after(ms("2027-05-05T07:00:00.001Z"), zone) == ms("2027-05-06T07:00:00Z")


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2027-05-05T10:00:00.000Z", "2027-05-05T10:00:02Z"),  # a fire time itself: the next
        ("2027-05-05T10:00:00.500Z", "2027-05-05T10:00:02Z"),
        ("2027-05-05T10:00:01.999Z", "2027-05-05T10:00:02Z"),
        ("2027-05-05T10:00:02.001Z", "2027-05-05T10:00:04Z"),
        ("2027-05-05T10:00:59.500Z", "2027-05-05T10:01:00Z"),
    ],
)
def test_milliseconds_are_strictly_after(start: str, expected: str) -> None:
    every_two = Schedule.parse("*/2 * * * * *")
    assert every_two.next_after(ms(start), ZoneInfo(NY)) == ms(expected)


def test_before_the_epoch_milliseconds_round_down() -> None:
    every_second = Schedule.parse("* * * * * *")
    assert every_second.next_after(-1500, UTC) == -1000
    assert every_second.next_after(-1, UTC) == 0
    assert every_second.next_after(0, UTC) == 1000


def test_upcoming_chains_next_after() -> None:
    schedule = Schedule.parse("*/15 * * * *")
    zone = ZoneInfo(BERLIN)
    start = ms("2027-10-31T00:50:00Z")
    upcoming = schedule.upcoming(start, zone, 6)
    assert len(upcoming) == 6
    cursor = start
    for fire in upcoming:
        assert schedule.next_after(cursor, zone) == fire
        cursor = fire
    assert schedule.upcoming(start, zone, 0) == []
    with pytest.raises(ValueError, match="count"):
        schedule.upcoming(start, zone, -1)


def test_a_rare_schedule_ends_within_the_horizon() -> None:
    # Feb 30 on a Monday never matches and is rejected; Feb 29 on a Monday (both day fields
    # restricted: Feb 29 OR a Monday in February) fires every year.
    schedule = Schedule.parse("0 0 29 2 1")
    assert schedule.next_after(ms("2027-03-01T00:00:00Z"), UTC) == ms("2028-02-07T00:00:00Z")
    # The 5th Monday of February: 2044-02-29 after 2016-02-29.
    rare = Schedule.parse("0 0 * 2 MON#5")
    assert rare.next_after(ms("2016-03-01T00:00:00Z"), UTC) == ms("2044-02-29T00:00:00Z")
    # Near the end of the calendar nothing is found, and no error escapes.
    assert rare.next_after(ms("9999-12-31T00:00:00Z"), UTC) is None
    rare_with_seconds = Schedule.parse("0 0 0 * 2 MON#5")
    assert rare_with_seconds.next_after(ms("9999-12-30T00:00:00Z"), ZoneInfo(BERLIN)) is None


# -- node-cron's 6-field form --------------------------------------------------------------


def test_every_two_seconds_fires_at_even_seconds() -> None:
    got = fires("*/2 * * * * *", "UTC", "2027-05-05T10:00:00.250Z", 5)
    assert got == [f"2027-05-05T10:00:{s:02d}Z" for s in (2, 4, 6, 8, 10)]
    assert Schedule.parse("*/2 * * * * *").has_seconds


def test_seconds_first_hourly() -> None:
    got = fires("0 0 * * * *", NY, "2027-05-05T10:00:00Z", 3)
    assert got == ["2027-05-05T11:00:00Z", "2027-05-05T12:00:00Z", "2027-05-05T13:00:00Z"]
    assert fires("30 0 * * * *", "UTC", "2027-05-05T10:00:00Z", 2) == [
        "2027-05-05T10:00:30Z",
        "2027-05-05T11:00:30Z",
    ]


def test_sunday_is_0_or_7_and_names_are_case_insensitive() -> None:
    start = "2027-04-01T00:00:00Z"
    sundays = ["2027-04-04T00:00:00Z", "2027-04-11T00:00:00Z"]
    for expression in ("0 0 * * 0", "0 0 * * 7", "0 0 * * sun", "0 0 * * SUN", "0 0 * * Sun"):
        assert fires(expression, "UTC", start, 2) == sundays
    assert fires("0 0 1 jan,Jul *", "UTC", start, 2) == [
        "2027-07-01T00:00:00Z",
        "2028-01-01T00:00:00Z",
    ]


# -- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        pytest.param("0 7 * *", "wrong number of fields (4)", id="four-fields"),
        pytest.param("0 0 7 * * 1-5 2027", "wrong number of fields (7)", id="seven-fields"),
        pytest.param("abc", "wrong number of fields (1)", id="word"),
        pytest.param("", "empty", id="empty"),
        pytest.param("  \t\n", "empty", id="blank"),
        pytest.param("61 * * * *", "bad minute in '61 * * * *'", id="minute-61"),
        pytest.param("0 24 * * *", "bad hour", id="hour-24"),
        pytest.param("0 0 0 * *", "bad day-of-month", id="day-0"),
        pytest.param("* * * 13 *", "bad month", id="month-13"),
        pytest.param("0 0 * * 8", "bad day-of-week", id="weekday-8"),
        pytest.param("60 * * * * *", "bad second", id="second-60"),
        pytest.param("*/0 * * * *", "bad minute", id="step-0"),
        pytest.param("0 0 * * 5-1", "bad day-of-week", id="reversed-range"),
        pytest.param("0 0 ? * *", "bad day-of-month", id="question-mark"),
        pytest.param("0 0 1W * *", "bad day-of-month", id="nearest-weekday-unsupported"),
        pytest.param("0 0 * * MON-SUN", "bad day-of-week", id="range-ending-sunday"),
        pytest.param("0 0 30 2 *", "never fires", id="february-30"),
        pytest.param("0 0 31 4,6,9,11 *", "never fires", id="31st-of-30-day-months"),
        pytest.param("* * */20 * 1L", "never fires", id="no-match-in-50-years"),
        pytest.param("0 7 * * " + ",".join(["1"] * 100), "too long", id="too-long"),
        pytest.param("0 \u2217 * * *", "non-ASCII", id="non-ascii-star"),
        pytest.param("\uff10 7 * * *", "non-ASCII", id="fullwidth-digit"),
        # Python uppercases the long s (U+017F) to 'S': without the ASCII check this would be Sunday.
        pytest.param("0 0 * * \u017fun", "non-ASCII", id="long-s"),
        pytest.param("0\u00a07 * * * *", "non-ASCII", id="no-break-space"),
        pytest.param("0 7\x1c* * *", "control character", id="control-character"),
    ],
)
def test_bad_expressions(expression: str, problem: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        Schedule.parse(expression)
    message = str(caught.value)
    assert problem in message
    assert "\n" not in message
    assert "'0 7 * * 1-5' (07:00 on weekdays)" in message
    assert "'*/30 * * * * *'" in message
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("value", [None, 7, b"0 7 * * *", ["0", "7", "*", "*", "*"]])
def test_a_schedule_must_be_text(value: object) -> None:
    with pytest.raises(ScheduleError, match="must be text"):
        Schedule.parse(value)


def test_a_long_expression_is_shown_shortened() -> None:
    with pytest.raises(ScheduleError) as caught:
        Schedule.parse("0 0 * * " + ",".join(["MON"] * 40) + "X")
    assert "..." in str(caught.value)
    assert len(str(caught.value)) < 300


@pytest.mark.parametrize(
    ("expression", "normalised", "has_seconds"),
    [
        ("0 7 * * 1-5", "0 7 * * 1-5", False),
        ("  0\t7   *  * 1-5 \n", "0 7 * * 1-5", False),
        ("*/30 * * * * *", "*/30 * * * * *", True),
        (" 0  0 * * * * ", "0 0 * * * *", True),
        ("0 9 * * mon", "0 9 * * mon", False),
        ("0 0 L * *", "0 0 L * *", False),
        ("0 0 LW * *", "0 0 LW * *", False),
        ("0 0 * * 5L", "0 0 * * 5L", False),
        ("0 0 * * 1#2", "0 0 * * 1#2", False),
        ("0 0 * jan-dec/3 *", "0 0 * jan-dec/3 *", False),
        ("0 0 * * 0-7", "0 0 * * 0-7", False),
        # 200 characters, the most accepted, counting the space stripped at the end.
        ("0 7 * * " + ",".join(["1"] * 96) + " ", "0 7 * * " + ",".join(["1"] * 96), False),
    ],
)
def test_good_expressions(expression: str, normalised: str, has_seconds: bool) -> None:
    schedule = Schedule.parse(expression)
    assert schedule.expression == normalised
    assert schedule.has_seconds is has_seconds
    assert Schedule.parse(schedule.expression) == schedule
    assert len(expression) <= MAX_LENGTH == 200


@pytest.mark.parametrize(
    ("expression", "fixed_time"),
    [
        ("30 2 * * *", True),
        ("0 9-17 * * 1-5", True),
        ("0 0-23 * * *", True),
        ("0,30 2 * * *", True),
        ("0 * * * *", False),
        ("*/15 9 * * *", False),
        ("0 */2 * * *", False),
        ("0 30 2 * * *", False),  # 6 fields: real time always
    ],
)
def test_fixed_time_is_decided_by_the_text(expression: str, fixed_time: bool) -> None:
    assert Schedule.parse(expression).fixed_time is fixed_time


def test_the_constructor_validates_too() -> None:
    assert Schedule("0 7 * * *").expression == "0 7 * * *"
    with pytest.raises(ScheduleError, match="not normalised"):
        Schedule("0  7 * * *")
    with pytest.raises(ScheduleError, match="bad minute"):
        Schedule("61 * * * *")
    with pytest.raises(dataclasses.FrozenInstanceError):
        Schedule("0 7 * * *").expression = "0 8 * * *"  # type: ignore[misc]


def test_examples_parse() -> None:
    assert EXAMPLES
    for example in EXAMPLES:
        expression, meaning = example[1:].split("' (", 1)
        assert meaning.endswith(")")
        Schedule.parse(expression)
    assert "'0 7 * * 1-5' (07:00 on weekdays)" in EXAMPLES


# -- properties against an oracle ------------------------------------------------------------

ZONES = [
    "UTC",
    NY,
    BERLIN,
    "Australia/Lord_Howe",  # 30-minute DST: 02:00 -> 02:30 and 02:00 -> 01:30
    "America/Santiago",  # changes at midnight
    "Asia/Kolkata",  # +05:30, no DST
]
_SCAN_STEP = 6 * 3600


def _changes(zone: ZoneInfo, year: int) -> list[datetime]:
    """The instants in ``year`` at which ``zone``'s UTC offset changes (to the second)."""

    def offset(epoch_s: int) -> timedelta | None:
        return datetime.fromtimestamp(epoch_s, zone).utcoffset()

    found = []
    moment = ms(f"{year}-01-01T00:00:00Z") // 1000
    end = ms(f"{year + 1}-01-01T00:00:00Z") // 1000
    while moment < end:
        step = moment + _SCAN_STEP
        if offset(moment) != offset(step):
            low, high = moment, step  # offset(low) != offset(high)
            while high - low > 1:
                middle = (low + high) // 2
                if offset(middle) == offset(low):
                    low = middle
                else:
                    high = middle
            found.append(datetime.fromtimestamp(high, UTC))
        moment = step
    return found


CHANGES = {name: _changes(ZoneInfo(name), 2027) for name in ZONES}


def _is_real(moment: datetime) -> bool:
    """Whether an aware wall-clock time exists (is not in a spring-forward gap)."""
    back = moment.astimezone(UTC).astimezone(moment.tzinfo)
    return back.replace(tzinfo=None) == moment.replace(tzinfo=None)


def _after_gap(naive: datetime, zone: ZoneInfo) -> datetime:
    """The first instant after the gap that swallows the wall-clock time ``naive``."""
    earliest = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)  # read with the later offset
    latest = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)  # read with the earlier offset
    later_offset = naive.replace(tzinfo=zone, fold=1).utcoffset()
    moment = earliest
    while moment.astimezone(zone).utcoffset() != later_offset:
        moment += timedelta(minutes=1)
    assert earliest < moment <= latest
    return moment


def _values(field: str, size: int) -> list[int]:
    if field == "*":
        return list(range(size))
    if field.startswith("*/"):
        return list(range(0, size, int(field[2:])))
    return [int(part) for part in field.split(",")]


def _oracle(seconds: str | None, minute: str, hour: str, zone: ZoneInfo, after_ms: int) -> int:
    """The next fire time by Debian's rules, enumerated from wall-clock candidates."""
    fixed_time = seconds is None and not minute.startswith("*") and not hour.startswith("*")
    start_day = datetime.fromtimestamp(after_ms // 1000, zone).date()
    moments: set[datetime] = set()
    for days in range(-1, 3):
        day = start_day + timedelta(days=days)
        for h in _values(hour, 24):
            for m in _values(minute, 60):
                for s in _values(seconds or "0", 60):
                    naive = datetime.combine(day, time(h, m, s))
                    if fixed_time:  # wall clock: the first occurrence, or right after a gap
                        first = naive.replace(tzinfo=zone, fold=0)
                        moments.add(first if _is_real(first) else _after_gap(naive, zone))
                    else:  # real time: every instant whose wall clock matches
                        for fold in (0, 1):
                            candidate = naive.replace(tzinfo=zone, fold=fold)
                            if _is_real(candidate):
                                moments.add(candidate.astimezone(UTC))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    fire_ms = sorted((moment - epoch) // timedelta(milliseconds=1) for moment in moments)
    return next(fire for fire in fire_ms if fire > after_ms)


def _list_field(values: list[int], size: int) -> st.SearchStrategy[str]:
    sets = st.sets(st.sampled_from([v for v in values if v < size]), min_size=1, max_size=3)
    return sets.map(lambda chosen: ",".join(str(v) for v in sorted(chosen)))


SECONDS = st.none() | st.just("*/20") | _list_field([0, 1, 30, 59], 60)
MINUTES = st.sampled_from(["*", "*/15", "*/20"]) | _list_field([0, 1, 15, 29, 30, 31, 45, 59], 60)
HOURS = st.just("*") | _list_field([0, 1, 2, 3, 12, 23], 24)


@st.composite
def starts(draw: st.DrawFn) -> tuple[str, int]:
    """A zone and an instant, often within two days of one of the zone's 2027 changes."""
    zone = draw(st.sampled_from(ZONES))
    anywhere = st.integers(ms("2026-01-01T00:00:00Z"), ms("2029-01-01T00:00:00Z"))
    changes = CHANGES[zone]
    if not changes or draw(st.booleans()):
        return zone, draw(anywhere)
    change = draw(st.sampled_from(changes))
    offset = draw(st.integers(-2 * 24 * HOUR, 2 * 24 * HOUR))
    return zone, ms(change.isoformat()) + offset


def test_the_oracle_sees_the_changes() -> None:
    assert [c.isoformat() for c in CHANGES[NY]] == [
        "2027-03-14T07:00:00+00:00",
        "2027-11-07T06:00:00+00:00",
    ]
    assert [c.isoformat() for c in CHANGES["Australia/Lord_Howe"]] == [
        "2027-04-03T15:00:00+00:00",
        "2027-10-02T15:30:00+00:00",
    ]
    assert CHANGES["Asia/Kolkata"] == []


@settings(max_examples=300, deadline=None)
@given(SECONDS, MINUTES, HOURS, starts())
def test_next_after_matches_the_oracle(
    seconds: str | None, minute: str, hour: str, start: tuple[str, int]
) -> None:
    zone_name, after_ms = start
    zone = ZoneInfo(zone_name)
    fields = (
        [minute, hour, "*", "*", "*"] if seconds is None else [seconds, minute, hour, "*", "*", "*"]
    )
    schedule = Schedule.parse(" ".join(fields))
    fire = schedule.next_after(after_ms, zone)
    assert fire is not None
    assert fire > after_ms
    assert fire % 1000 == 0
    assert fire == _oracle(seconds, minute, hour, zone, after_ms), iso(fire)
    # The wall clock shows a matching time, unless a fixed-time job was moved out of a gap.
    wall = datetime.fromtimestamp(fire // 1000, zone)
    matches = wall.minute in _values(minute, 60) and wall.hour in _values(hour, 24)
    if not matches:
        assert seconds is None and "*" not in minute + hour
        just_before = datetime.fromtimestamp(fire // 1000 - 60, zone)
        assert just_before.utcoffset() != wall.utcoffset(), wall
    upcoming = schedule.upcoming(after_ms, zone, 4)
    assert upcoming[0] == fire
    assert all(a < b for a, b in itertools.pairwise(upcoming))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789*,-/#LW MONJAsun\t?", max_size=30))
def test_any_text_parses_or_raises_schedule_error(text: str) -> None:
    try:
        schedule = Schedule.parse(text)
    except ScheduleError as exc:
        message = str(exc)
    else:
        message = None
    if message is not None:
        assert "\n" not in message
        return
    fire = schedule.next_after(ms("2027-05-05T00:00:00Z"), ZoneInfo(BERLIN))
    assert fire is None or fire > ms("2027-05-05T00:00:00Z")
