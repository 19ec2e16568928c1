"""Timestamps as ccusage reads and prints them.

ccusage accepts exactly ``YYYY-MM-DDTHH:MM:SS`` with an optional ``.mmm`` (three digits)
and ``Z`` or ``±HH:MM``; anything else drops the line. Times are kept as integer
milliseconds since the epoch; calendar keys are computed in the report's time zone.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{3})?(?:Z|[+-]\d\d:\d\d)", re.ASCII)
MS_PER_MINUTE = 60_000
MS_PER_HOUR = 3_600_000
MS_PER_DAY = 86_400_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def parse_timestamp(value: str) -> int | None:
    """Epoch milliseconds of a transcript timestamp, or ``None`` when ccusage would reject it."""
    if _TIMESTAMP.fullmatch(value) is None:
        return None
    try:
        moment = datetime.fromisoformat(value)  # checks the ranges: month 13, Feb 30, 24:00
    except ValueError:
        return None
    return (moment - _EPOCH) // _MS


def iso_millis(ms: int) -> str:
    """RFC 3339 in UTC with milliseconds, as ccusage prints it: ``2026-11-01T08:00:00.000Z``."""
    dt = _EPOCH + timedelta(milliseconds=ms)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


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


class DateKeys:
    """Local calendar dates of instants in one zone, memoised per UTC minute.

    Since 1972 every zone's UTC offset is a whole number of minutes and changes only at
    whole minutes, so all instants inside one UTC minute share a local date.
    """

    __slots__ = ("_cache", "_tz")

    def __init__(self, tz: tzinfo) -> None:
        self._tz = tz
        self._cache: dict[int, date] = {}

    def date(self, ms: int) -> date:
        bucket = ms // MS_PER_MINUTE
        found = self._cache.get(bucket)
        if found is None:
            found = datetime.fromtimestamp(bucket * 60, self._tz).date()
            self._cache[bucket] = found
        return found

    def key(self, ms: int) -> str:
        """``YYYY-MM-DD`` in the zone."""
        return self.date(ms).isoformat()
