"""Cron schedules: parsing, validation and the next fire times, evaluated by ``cronsim``.

Two forms are accepted:

- 5 fields, ``minute hour day-of-month month day-of-week`` (classic cron), and
- 6 fields with seconds first, ``second minute hour day-of-month month day-of-week``
  (node-cron's form).

Fields take numbers, ``*``, ranges ``a-b``, lists ``a,b``, steps ``*/n`` and ``a-b/n``,
month and day names (``jan``, ``MON``; any case), day-of-week ``7`` for Sunday as well as
``0``, and cronsim's extensions: ``L`` (last day of the month) and ``LW`` (its last
weekday) in day-of-month, ``5L`` (the month's last Friday) and ``1#2`` (its second
Monday) in day-of-week. When both day fields are restricted a day matching either one
fires (``0 0 1 * MON``: the 1st and every Monday); when either starts with ``*`` both must
match. This is Debian cron's (and POSIX's) rule.

Times are wall-clock times in the job's zone. Fire times are whole seconds; ``next_after``
is strictly after its argument, so a job that fired at ``T`` is not due again at ``T``.

Daylight saving time follows Debian cron, as cronsim does. A 5-field expression whose
minute and hour fields both name specific values (neither starts with ``*``: ``30 2 * * *``,
``0 9-17 * * *``) is a fixed-time job and is evaluated on the wall clock:

- spring forward: a fire time inside the skipped hour runs once, right after the jump, at
  the first wall-clock minute that exists (``30 2 * * *`` in New York on 2027-03-14 runs at
  03:00 EDT); several fire times in the gap (``0,30 2 * * *``) still run once;
- fall back: a fire time inside the repeated hour runs once, at its first occurrence
  (``30 1 * * *`` in New York on 2027-11-07 runs at 01:30 EDT, not again at 01:30 EST).

Everything else follows real elapsed time, with no special case: wildcard-hour and
wildcard-minute 5-field schedules (``0 * * * *``, ``*/15 9 * * *``) and every 6-field
schedule fire at each instant whose wall-clock time matches. An hourly job fires at each
real hour (none for the skipped one, twice in the repeated one: 01:00 EDT and 01:00 EST);
``0 */30 * * * *`` fires every 30 real minutes. A 6-field fixed time (``0 30 2 * * *``) is
skipped on the day its time does not exist and runs twice on the day it occurs twice. The
test is textual, as in Debian cron: ``0 0-23 * * *`` is fixed-time (its 01:00 runs once on
a fall-back night) while the equivalent ``0 * * * *`` is not.

cronsim's own real-time stepping assumes UTC offsets change by whole hours; across the
30-minute changes of Australia/Lord_Howe it skips matching times (``* 0 * * *`` loses
00:00-00:29 the day after). So these schedules are evaluated one UTC-offset period at a
time, each with a fixed offset, which is exact for any zone; offset changes are found by
probing the zone once a day and are assumed to be at least a day apart, as in every zone.

A schedule is usable only if it fires: one that cannot (``0 0 30 2 *``) is rejected, and
``next_after`` returns ``None`` when nothing matches within cronsim's 50-year horizon.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from cronsim import CronSim, CronSimError

MAX_LENGTH = 200
"""The longest expression accepted (in characters, before whitespace is normalised)."""

EXAMPLES: tuple[str, ...] = (
    "'0 7 * * 1-5' (07:00 on weekdays)",
    "'*/15 * * * *' (every 15 minutes)",
    "'30 2 1 * *' (02:30 on the 1st of each month)",
    "'0 9 * * MON' (09:00 every Monday)",
    "'0 18 L * *' (18:00 on the last day of each month)",
    "'*/30 * * * * *' (every 30 seconds: 6 fields, seconds first)",
)
"""Example expressions with their meaning, for error messages and API documentation."""

_HINT = (
    "use 5 fields (minute hour day-of-month month day-of-week), "
    "e.g. '0 7 * * 1-5' (07:00 on weekdays), "
    "or 6 with seconds first, e.g. '*/30 * * * * *' (every 30 seconds)"
)
_SHOWN_MAX = 60
_SEPARATORS = " \t\r\n"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_PROBE_SECONDS = 86_400
"""Offset changes are looked for this often (a zone's changes are further apart)."""
_REFERENCE = datetime(2000, 1, 1, tzinfo=UTC)
"""Validation looks for a first fire time after this instant: cronsim searches 50 years
ahead, longer than the 28-year cycle after which 2000-2099's calendar repeats."""


class ScheduleError(ValueError):
    """A schedule that cannot be used; ``str()`` is one line that says what is wrong and
    gives an example, e.g. "bad minute in '61 * * * *': use 5 fields (minute hour
    day-of-month month day-of-week), e.g. '0 7 * * 1-5' (07:00 on weekdays), or 6 with
    seconds first, e.g. '*/30 * * * * *' (every 30 seconds)"."""


def _error(problem: str) -> ScheduleError:
    return ScheduleError(f"{problem}: {_HINT}")


def _shown(text: str) -> str:
    """The expression quoted for a message: one line (``repr`` escapes), bounded."""
    if len(text) > _SHOWN_MAX:
        text = text[: _SHOWN_MAX - 3] + "..."
    return repr(text)


def _normalise(expression: object) -> str:
    """Whitespace-normalised text of a plausible expression; the fields are not checked."""
    if not isinstance(expression, str):
        raise _error(f"a schedule must be text, not {type(expression).__name__}")
    if len(expression) > MAX_LENGTH:
        raise _error(f"schedule too long ({len(expression)} characters, at most {MAX_LENGTH})")
    text = expression.strip(_SEPARATORS)
    if not text:
        raise _error("empty schedule")
    for char in text:
        if not char.isascii():
            raise _error(f"non-ASCII character {char!r} in {_shown(text)}")
        if not (char.isprintable() or char == "\t"):
            raise _error(f"control character {char!r} in {_shown(text)}")
    fields = text.split()
    if len(fields) not in (5, 6):
        raise _error(f"wrong number of fields ({len(fields)}) in {_shown(text)}")
    return " ".join(fields)


def _check(expression: str) -> None:
    """Raise ``ScheduleError`` unless cronsim accepts ``expression`` and it ever fires."""
    shown = _shown(expression)
    try:
        first = CronSim(expression, _REFERENCE)
    except CronSimError as exc:
        message = str(exc)
        if message == "Bad day-of-month" and _day_of_month_alone_ok(expression):
            # All fields parsed; cronsim found no allowed month long enough.
            raise _error(f"{shown} never fires (no month it allows has that day)") from None
        # "Bad minute", "Bad day-of-week", ...; the field count was checked already.
        raise _error(f"{message[:1].lower()}{message[1:]} in {shown}") from None
    try:
        next(first)
    except StopIteration:
        raise _error(f"{shown} never fires (no matching time in 50 years)") from None


def _day_of_month_alone_ok(expression: str) -> bool:
    day = expression.split()[-3]
    try:
        CronSim(f"0 0 {day} * *", _REFERENCE)
    except CronSimError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class Schedule:
    """A valid cron expression; build one with ``Schedule.parse``."""

    expression: str
    """Normalised: stripped, fields separated by single spaces."""

    def __post_init__(self) -> None:
        if _normalise(self.expression) != self.expression:
            raise ScheduleError(
                f"schedule {_shown(self.expression)} is not normalised (use Schedule.parse)"
            )
        _check(self.expression)

    @property
    def has_seconds(self) -> bool:
        """The 6-field form (seconds first)."""
        return self.expression.count(" ") == 5

    @property
    def fixed_time(self) -> bool:
        """A 5-field expression with specific minutes and hours: Debian's DST rules apply."""
        parts = self.expression.split(" ")
        return len(parts) == 5 and not parts[0].startswith("*") and not parts[1].startswith("*")

    @classmethod
    def parse(cls, expression: object) -> Schedule:
        """Validate and normalise ``expression``; ``ScheduleError`` says why it is unusable."""
        return cls(_normalise(expression))

    def next_after(self, after_ms: int, zone: tzinfo) -> int | None:
        """The first fire time strictly after ``after_ms`` (epoch milliseconds), evaluated on
        ``zone``'s wall clock (a ``zoneinfo.ZoneInfo``), as epoch milliseconds; ``None``
        when nothing matches within 50 years."""
        after_s = after_ms // 1000  # fires are whole seconds: > after_ms iff > after_s
        try:
            datetime.fromtimestamp(after_s, tz=zone)
        except (OverflowError, OSError, ValueError) as exc:
            raise ValueError(f"after_ms out of range: {after_ms}") from exc
        try:
            if self.fixed_time:
                fire = self._next_on_wall_clock(after_s, zone)
            else:
                fire = self._next_in_real_time(after_s, zone)
        except StopIteration:  # nothing within cronsim's 50 years
            return None
        except (OverflowError, ValueError):  # the search ran past year 9999
            return None
        return fire * 1000

    def _next_on_wall_clock(self, after_s: int, zone: tzinfo) -> int:
        """cronsim's Debian mode: it walks the naive wall clock and moves gap times forward."""
        fires = CronSim(self.expression, datetime.fromtimestamp(after_s, tz=zone))
        while True:
            fire = (next(fires) - _EPOCH) // _SECOND
            # cronsim starts after `after_s`'s wall-clock time; from the second pass of a
            # repeated hour it returns the first pass's instant, which has already run.
            if fire > after_s:
                return fire

    def _next_in_real_time(self, after_s: int, zone: tzinfo) -> int:
        """One UTC-offset period at a time: within one, wall clock = UTC + a fixed offset."""
        cursor = after_s
        while True:
            offset = _offset(zone, cursor + 1)  # candidates are after the cursor
            start = datetime.fromtimestamp(cursor, tz=timezone(offset))
            fire = (next(CronSim(self.expression, start)) - _EPOCH) // _SECOND
            change = _first_change(zone, cursor + 1, fire, offset)
            if change is None:
                return fire
            cursor = change - 1  # nothing before the change; go on with the next offset

    def upcoming(self, after_ms: int, zone: tzinfo, count: int) -> list[int]:
        """The next ``count`` fire times after ``after_ms`` (fewer if the schedule ends)."""
        if count < 0:
            raise ValueError(f"count must not be negative: {count}")
        result: list[int] = []
        cursor = after_ms
        while len(result) < count:
            fire = self.next_after(cursor, zone)
            if fire is None:
                break
            result.append(fire)
            cursor = fire
        return result


def _offset(zone: tzinfo, epoch_s: int) -> timedelta:
    offset = datetime.fromtimestamp(epoch_s, tz=zone).utcoffset()
    if offset is None:
        raise TypeError(f"time zone {zone!r} gives no UTC offset")
    return offset


def _first_change(zone: tzinfo, low: int, high: int, offset: timedelta) -> int | None:
    """The first second in ``(low, high]`` whose UTC offset is not ``offset`` (the offset at
    ``low``), or ``None``; the zone is probed once a day, then bisected to the second."""
    probe = low
    while probe < high:
        ahead = min(probe + _PROBE_SECONDS, high)
        if _offset(zone, ahead) != offset:
            same, changed = probe, ahead
            while changed - same > 1:
                middle = (same + changed) // 2
                if _offset(zone, middle) == offset:
                    same = middle
                else:
                    changed = middle
            return changed
        probe = ahead
    return None
