"""Which fire time of a job is due when the scheduler's loop looks, and whether it is late.

The loop keeps a cursor per job: the instant it last looked. The fire times between the
cursor and now are due, and the newest of them runs (older ones are coalesced). A job
seen for the first time since the process started has no cursor:

- with no catch-up grace (``catchUpMinutes`` 0, other jobs' default), as cron: nothing
  before now is made up;
- with a grace (warm-ups: 30 minutes), the loop looks back that far — a tick missed while
  no server ran (the machine slept, the server restarted) still runs, once — but not to
  before the job last changed or ran (a tick it ran already, or one from before it was
  enabled, is not made up; another replica's run of the tick holds the tick anyway, by
  its claim and its unique run record).

A tick reached later than the grace (a loop whose machine slept through it) is *missed*
and does not run; with no grace every tick the cursor passed still runs late, as before.
Pure: the clock, the cursor and the job's times are values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from ccsync.scheduler.schedule import Schedule

DEFAULT_WARMUP_CATCH_UP_MINUTES = 30
ON_TIME_MS = 60_000
"""A tick that runs within this of its fire time is on time; later, it is caught up."""
MAX_CATCH_UP = 10_000
"""Fire times walked at most between the cursor and now."""


def catch_up_ms(kind: str, options: dict[str, Any]) -> int:
    """How late a missed tick of a job may still run (``catchUpMinutes``; warm-ups 30
    minutes by default, other jobs 0: nothing is made up after a start)."""
    default = DEFAULT_WARMUP_CATCH_UP_MINUTES if kind == "warmup" else 0
    return max(0, int(options.get("catchUpMinutes", default))) * 60_000


@dataclass(frozen=True, slots=True)
class Tick:
    """A fire time the loop reached, and how late."""

    fire_ms: int
    late_ms: int
    missed: bool = False
    """Reached beyond the grace: not run."""

    @property
    def caught_up(self) -> bool:
        """Run late: made up after the loop could not run it on time."""
        return not self.missed and self.late_ms > ON_TIME_MS


def latest_due(schedule: Schedule, since_ms: int, now_ms: int, zone: tzinfo) -> int | None:
    """The newest fire time in ``(since_ms, now_ms]`` (older missed ones are coalesced)."""
    due = None
    cursor = since_ms
    for _ in range(MAX_CATCH_UP):
        upcoming = schedule.next_after(cursor, zone)
        if upcoming is None or upcoming > now_ms:
            break
        due = cursor = upcoming
    return due


def due_tick(
    schedule: Schedule,
    zone: tzinfo,
    now_ms: int,
    *,
    since_ms: int | None,
    grace_ms: int,
    changed_ms: int = 0,
    ran_ms: int | None = None,
) -> Tick | None:
    """The tick of a job due at ``now_ms``, or ``None``.

    ``since_ms`` is the loop's cursor for the job (``None``: the first look since the
    process started); ``grace_ms`` the job's catch-up grace (``catch_up_ms``);
    ``changed_ms`` and ``ran_ms`` when the job last changed and last ran (a first look
    goes back no further)."""
    if since_ms is None:
        if grace_ms <= 0:
            return None
        since_ms = max(now_ms - grace_ms, changed_ms, ran_ms or 0)
    fire = latest_due(schedule, since_ms, now_ms, zone)
    if fire is None:
        return None
    late = now_ms - fire
    return Tick(fire, late, missed=grace_ms > 0 and late > grace_ms)
