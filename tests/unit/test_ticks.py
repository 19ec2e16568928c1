"""Which tick is due when the loop looks: on time, coalesced, caught up within the grace."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ccsync.scheduler.schedule import Schedule
from ccsync.scheduler.ticks import Tick, catch_up_ms, due_tick, latest_due

M = 60_000
H = 60 * M
SIX = int(datetime(2027, 3, 10, 6, 0, tzinfo=UTC).timestamp() * 1000)
DAILY = Schedule.parse("0 6 * * *")
GRACE = 30 * M


def test_the_grace_per_kind() -> None:
    assert catch_up_ms("warmup", {}) == 30 * M
    assert catch_up_ms("command", {}) == 0
    assert catch_up_ms("warmup", {"catchUpMinutes": 0}) == 0
    assert catch_up_ms("command", {"catchUpMinutes": 15}) == 15 * M


def test_the_latest_of_the_passed_ticks() -> None:
    every_ten = Schedule.parse("*/10 * * * *")
    assert latest_due(every_ten, SIX - 35 * M, SIX, UTC) == SIX  # 05:30, 05:40… coalesced
    assert latest_due(every_ten, SIX, SIX + 9 * M, UTC) is None


def test_on_time_from_the_cursor() -> None:
    tick = due_tick(DAILY, UTC, SIX + 400, since_ms=SIX - 600, grace_ms=GRACE)
    assert tick == Tick(SIX, 400) and not tick.caught_up


@pytest.mark.parametrize(
    ("late", "expected"),
    [
        (10 * M, Tick(SIX, 10 * M)),
        (2 * H, None),  # a look back goes as far as the grace only
    ],
)
def test_the_first_look_goes_back_by_the_grace(late: int, expected: Tick | None) -> None:
    tick = due_tick(DAILY, UTC, SIX + late, since_ms=None, grace_ms=GRACE, changed_ms=SIX - H)
    assert tick == expected
    if tick is not None:
        assert tick.caught_up


def test_without_a_grace_the_first_look_makes_nothing_up() -> None:
    assert due_tick(DAILY, UTC, SIX + 10 * M, since_ms=None, grace_ms=0) is None


def test_the_first_look_stops_at_the_last_change_and_the_last_run() -> None:
    now = SIX + 10 * M
    enabled_after = due_tick(DAILY, UTC, now, since_ms=None, grace_ms=GRACE, changed_ms=SIX + M)
    assert enabled_after is None  # the job was changed (enabled) after the tick
    ran_after = due_tick(
        DAILY, UTC, now, since_ms=None, grace_ms=GRACE, changed_ms=SIX - H, ran_ms=SIX + 30_000
    )
    assert ran_after is None  # it ran since: that tick, or by hand
    ran_before = due_tick(
        DAILY, UTC, now, since_ms=None, grace_ms=GRACE, changed_ms=SIX - H, ran_ms=SIX - 24 * H
    )
    assert ran_before == Tick(SIX, 10 * M)


def test_a_loop_that_slept_beyond_the_grace_missed_the_tick() -> None:
    tick = due_tick(DAILY, UTC, SIX + 40 * M, since_ms=SIX - M, grace_ms=GRACE)
    assert tick == Tick(SIX, 40 * M, missed=True) and not tick.caught_up
    within = due_tick(DAILY, UTC, SIX + 20 * M, since_ms=SIX - M, grace_ms=GRACE)
    assert within == Tick(SIX, 20 * M) and within.caught_up


def test_without_a_grace_a_loop_that_slept_still_runs_the_tick() -> None:
    """As before: ticks the cursor passed run, coalesced, however late."""
    tick = due_tick(DAILY, UTC, SIX + 5 * H, since_ms=SIX - M, grace_ms=0)
    assert tick == Tick(SIX, 5 * H) and not tick.missed
