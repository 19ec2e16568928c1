"""Timestamps as ccusage reads and prints them.

ccusage accepts exactly ``YYYY-MM-DDTHH:MM:SS`` with an optional ``.mmm`` (three digits)
and ``Z`` or ``±HH:MM`` (hours 00-23, minutes 00-59); anything else drops the line. Times
are kept as integer milliseconds since the epoch; calendar keys are computed in the
report's time zone.

Every function here is total over Python ints: a transcript may hold year 0000 or 9999,
a usage-limit reset may be in year 292,278,994, a database row may hold anything. Dates
are days since 1970-01-01 (plain ints, not ``datetime.date``, which stops at year 9999),
converted with the proleptic Gregorian civil-from-days arithmetic ccusage also uses, and
printed as ccusage prints them: ``{year:04}`` (``10000-01-01``, ``-001-12-31``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_TIMESTAMP = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)", re.ASCII
)
_PARTS = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{3}))?(Z|[+-]\d\d:\d\d)")
MS_PER_SECOND = 1_000
MS_PER_MINUTE = 60_000
MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_EPOCH_ORDINAL = _EPOCH.toordinal()
_DAYS_PER_ERA = 146_097
"""Days in 400 Gregorian years: the calendar repeats after them."""
_DAYS_BEFORE_EPOCH = 719_468
"""Days from 0000-03-01 (the start of an era, counting from March) to 1970-01-01."""

LOCAL_MAX_MS = 253_402_207_200_000
"""9999-12-30T22:00:00.000Z: the last instant ccusage (its time zone library, jiff) puts in
a zone; a later one is dated in UTC whatever the zone (checked against ccusage 20.0.24)."""


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (any year)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * _DAYS_PER_ERA + day_of_era - _DAYS_BEFORE_EPOCH


def civil_from_days(days: int) -> tuple[int, int, int]:
    """``(year, month, day)`` of a count of days since 1970-01-01 (any int)."""
    days += _DAYS_BEFORE_EPOCH
    era = days // _DAYS_PER_ERA
    day_of_era = days - era * _DAYS_PER_ERA
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    month_index = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * month_index + 2) // 5 + 1
    month = month_index + 3 if month_index < 10 else month_index - 9
    return year_of_era + era * 400 + (month <= 2), month, day


def _days_in_month(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def parse_timestamp(value: str) -> int | None:
    """Epoch milliseconds of a transcript timestamp, or ``None`` when ccusage would reject it."""
    if _TIMESTAMP.fullmatch(value) is None:
        return None
    try:
        moment = datetime.fromisoformat(value)  # checks the ranges: month 13, Feb 30, 24:00
    except ValueError:
        return _parse_civil(value)  # year 0000, which ccusage takes and datetime cannot hold
    return (moment - _EPOCH) // _MS


def _parse_civil(value: str) -> int | None:
    """``parse_timestamp`` by arithmetic, for any year (the shape is already checked)."""
    parts = _PARTS.fullmatch(value)
    if parts is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in parts.groups()[:6])
    if not 1 <= month <= 12 or not 1 <= day <= _days_in_month(year, month):
        return None
    if hour > 23 or minute > 59 or second > 59:
        return None
    millis = int(parts[7] or 0)
    ms = ((days_from_civil(year, month, day) * 24 + hour) * 60 + minute) * MS_PER_MINUTE
    ms += second * MS_PER_SECOND + millis
    zone = parts[8]
    if zone != "Z":
        offset = (int(zone[1:3]) * 60 + int(zone[4:6])) * MS_PER_MINUTE
        ms += -offset if zone[0] == "+" else offset
    return ms


def format_day(days: int) -> str:
    """``YYYY-MM-DD`` of a count of days since 1970-01-01, as ccusage prints any year."""
    year, month, day = civil_from_days(days)
    return f"{year:04d}-{month:02d}-{day:02d}"


def format_month(days: int) -> str:
    """``YYYY-MM`` of the month a count of days since 1970-01-01 falls in."""
    year, month, _ = civil_from_days(days)
    return f"{year:04d}-{month:02d}"


def day_number(day: date) -> int:
    """Days since 1970-01-01 of a ``datetime.date``."""
    return day.toordinal() - _EPOCH_ORDINAL


def iso_millis(ms: int) -> str:
    """RFC 3339 in UTC with milliseconds, as ccusage prints it: ``2026-11-01T08:00:00.000Z``.

    Any int: ``10000-01-01T04:00:00.000Z`` after year 9999, ``-001-…`` before year 0.
    """
    days, rest = divmod(ms, MS_PER_DAY)
    year, month, day = civil_from_days(days)
    seconds, millis = divmod(rest, MS_PER_SECOND)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}Z"


class UnknownTimezoneError(ValueError):
    """The time zone name is not in the IANA database."""


@lru_cache(maxsize=64)
def resolve_timezone(name: str | None) -> tzinfo:
    """The zone for ``--timezone``: an IANA name, ``UTC``, or ``local``/``None`` for the system's."""
    if name is None or name == "local":
        import tzlocal  # deferred: only reports in the system zone need it

        return tzlocal.get_localzone()
    if name.upper() == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimezoneError(f"unknown time zone {name!r}") from exc


def local_day(ms: int, tz: tzinfo) -> int:
    """The calendar day ``ms`` falls on in ``tz``, as days since 1970-01-01.

    As ccusage dates it: in UTC after ``LOCAL_MAX_MS``; where the local date is outside
    ``datetime``'s years 1-9999, with the zone's offset at that edge (its first or last rule).
    """
    if ms > LOCAL_MAX_MS:
        return ms // MS_PER_DAY
    try:
        return datetime.fromtimestamp(ms // MS_PER_SECOND, tz).toordinal() - _EPOCH_ORDINAL
    except (OverflowError, ValueError, OSError):
        edge = datetime(1, 1, 2) if ms < 0 else datetime(9999, 12, 30)
        offset = tz.utcoffset(edge) or timedelta(0)
        return (ms + offset // _MS) // MS_PER_DAY


class DateKeys:
    """Local calendar days of instants in one zone, memoised per UTC minute.

    Since 1972 every zone's UTC offset is a whole number of minutes and changes only at
    whole minutes, so all instants inside one UTC minute share a local date.
    """

    __slots__ = ("_cache", "_keys", "_tz")

    def __init__(self, tz: tzinfo) -> None:
        self._tz = tz
        self._cache: dict[int, int] = {}
        self._keys: dict[int, str] = {}

    def day(self, ms: int) -> int:
        """Days since 1970-01-01 of the local date (``local_day``)."""
        if ms > LOCAL_MAX_MS:
            return ms // MS_PER_DAY
        bucket = ms // MS_PER_MINUTE
        found = self._cache.get(bucket)
        if found is None:
            found = self._cache[bucket] = local_day(bucket * MS_PER_MINUTE, self._tz)
        return found

    def key(self, ms: int) -> str:
        """``YYYY-MM-DD`` in the zone (``format_day``)."""
        return self.day_key(self.day(ms))

    def day_key(self, day: int) -> str:
        """``format_day``, memoised."""
        found = self._keys.get(day)
        if found is None:
            found = self._keys[day] = format_day(day)
        return found
