"""The warm-up's decision: send only when it starts a window; cooldown and monthly cap hold."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from ccsync.scheduler.warmup import (
    WAIT_MARGIN_MS,
    WarmupPolicy,
    WindowStarted,
    WindowView,
    current_command,
    decide,
    month_start_ms,
    schedule_for,
    warmup_command,
    window_started,
    window_state,
)

H = 3_600_000
M = 60_000
NOW = int(datetime(2027, 1, 15, 7, 0, tzinfo=UTC).timestamp() * 1000)
POLICY = WarmupPolicy(cooldown_ms=60 * M, monthly_cap=50, max_wait_ms=30 * M)
IDLE = WindowView()


def test_sent_when_no_window_runs() -> None:
    decision = decide(NOW, IDLE, POLICY, last_sent_ms=None, sent_this_month=0)
    assert decision.action == "send"


def test_skipped_while_the_synced_window_runs() -> None:
    view = WindowView(synced_active=True, synced_end_ms=NOW + 3 * H, last_activity_ms=NOW - M)
    decision = decide(NOW, view, POLICY, last_sent_ms=None, sent_this_month=0)
    assert decision.action == "skip" and "already running" in decision.reason
    assert decision.window is not None and decision.window.basis == "synced"


def test_official_reset_ahead_means_running_even_without_synced_usage() -> None:
    view = WindowView(official_resets_at_ms=NOW + 2 * H)
    decision = decide(NOW, view, POLICY, last_sent_ms=None, sent_this_month=0)
    assert decision.action == "skip" and "(official)" in decision.reason


def test_official_reset_passed_ends_the_synced_block() -> None:
    """The synced block is floored to the hour and can outlast the official window; when
    nothing was used after the official reset, no window runs."""
    view = WindowView(
        synced_active=True,
        synced_end_ms=NOW + 20 * M,
        last_activity_ms=NOW - 2 * H,
        official_resets_at_ms=NOW - 5 * M,
    )
    assert not window_state(view, NOW).running
    assert decide(NOW, view, POLICY, last_sent_ms=None, sent_this_month=0).action == "send"
    # Used after the official reset: a new window runs.
    started = WindowView(
        synced_active=True,
        synced_end_ms=NOW + 4 * H,
        last_activity_ms=NOW - M,
        official_resets_at_ms=NOW - 5 * M,
    )
    assert window_state(started, NOW).running


def test_a_window_about_to_end_is_waited_for() -> None:
    view = WindowView(official_resets_at_ms=NOW + 10 * M)
    decision = decide(NOW, view, POLICY, last_sent_ms=None, sent_this_month=0)
    assert decision.action == "wait"
    assert decision.until_ms == NOW + 10 * M + WAIT_MARGIN_MS
    # Deciding again (no more waiting) after the wait: sent once the window is over.
    later = NOW + 10 * M + WAIT_MARGIN_MS
    again = decide(later, view, POLICY, last_sent_ms=None, sent_this_month=0, may_wait=False)
    assert again.action == "send"
    # Still running when decided again: skipped, not waited for twice.
    still = decide(NOW, view, POLICY, last_sent_ms=None, sent_this_month=0, may_wait=False)
    assert still.action == "skip"


def test_cooldown() -> None:
    recent = decide(NOW, IDLE, POLICY, last_sent_ms=NOW - 59 * M, sent_this_month=1)
    assert recent.action == "skip" and "cooldown" in recent.reason
    assert decide(NOW, IDLE, POLICY, last_sent_ms=NOW - 60 * M, sent_this_month=1).action == "send"


@pytest.mark.parametrize(("sent", "action"), [(49, "send"), (50, "skip"), (51, "skip")])
def test_monthly_cap(sent: int, action: str) -> None:
    decision = decide(NOW, IDLE, POLICY, last_sent_ms=None, sent_this_month=sent)
    assert decision.action == action
    if action == "skip":
        assert "monthly cap" in decision.reason


def test_policy_from_options() -> None:
    policy = WarmupPolicy.from_options(
        {"cooldownMinutes": 5, "monthlyCap": 3, "maxWaitMinutes": 0, "verifySeconds": 45}
    )
    assert policy == WarmupPolicy(cooldown_ms=5 * M, monthly_cap=3, max_wait_ms=0, verify_ms=45_000)
    assert WarmupPolicy.from_options({}) == WarmupPolicy()


@pytest.mark.parametrize(
    ("times", "resets", "expected"),
    [
        (["07:00", "12:00", "17:00", "22:00"], True, "0 2,7,12,17 * * *"),
        (["03:30"], True, "30 22 * * *"),  # crosses midnight backwards
        (["7:15", "12:15"], False, "15 7,12 * * *"),
        (["09:00", "09:00"], False, "0 9 * * *"),
    ],
)
def test_schedules_from_times(times: list[str], resets: bool, expected: str) -> None:
    assert schedule_for(times, resets=resets) == expected


@pytest.mark.parametrize(
    ("times", "message"),
    [
        ([], "at least one"),
        (["7"], "not a time"),
        (["24:00"], "not a time"),
        (["07:00", "12:30"], "share their minute"),
    ],
)
def test_bad_times(times: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        schedule_for(times, resets=True)


def test_month_start_in_the_zone() -> None:
    zone = ZoneInfo("America/New_York")
    # 2027-02-01 03:00 UTC is still January 31st in New York.
    moment = int(datetime(2027, 2, 1, 3, 0, tzinfo=UTC).timestamp() * 1000)
    assert month_start_ms(moment, zone) == int(
        datetime(2027, 1, 1, 5, 0, tzinfo=UTC).timestamp() * 1000
    )


def test_the_default_warmup_is_one_cheap_turn_streamed() -> None:
    """stream-json (which needs --verbose) carries the subscriber's rate_limit_event."""
    assert warmup_command() == (
        "claude -p 'Reply with OK.' --model haiku --max-turns 1 --output-format stream-json --verbose"
    )


def test_a_warmup_stored_by_an_older_version_streams_now() -> None:
    old = "claude -p 'Reply with OK.' --model haiku --max-turns 1 --output-format json"
    assert current_command(old, {}) == warmup_command()
    sonnet = "claude -p 'Say hi' --model sonnet --max-turns 1 --output-format json"
    assert current_command(sonnet, {"prompt": "Say hi", "model": "sonnet"}) == warmup_command(
        "Say hi", "sonnet"
    )
    # A command of the user's own is theirs, even when it looks close.
    for mine in (sonnet, old + " --verbose", "claude -p hi --output-format json"):
        assert current_command(mine, {}) == mine


# -- did the warm-up start a window? ---------------------------------------------------------

SENT = NOW
AFTER = SENT + 10_000


def test_a_new_official_reset_verifies_it() -> None:
    after = WindowView(official_resets_at_ms=SENT + 5 * H, official_observed_ms=AFTER)
    found = window_started(SENT, IDLE, after)
    assert found == WindowStarted(True, "official", resets_at_ms=SENT + 5 * H)
    assert found.to_json() == {
        "verified": True,
        "by": "official",
        "resetsAt": "2027-01-15T12:00:00.000Z",
    }


@pytest.mark.parametrize(
    ("known", "verified"),
    [
        (None, True),  # none before
        (SENT - M, True),  # it had passed
        (SENT + 2 * H, True),  # an earlier one
        (SENT + 5 * H, False),  # the same window
    ],
)
def test_the_reset_must_be_newer_than_the_one_known(known: int | None, verified: bool) -> None:
    before = WindowView(official_resets_at_ms=known, official_observed_ms=SENT - H)
    after = WindowView(official_resets_at_ms=SENT + 5 * H, official_observed_ms=AFTER)
    assert window_started(SENT, before, after).verified is verified


def test_a_reading_taken_before_the_prompt_says_nothing_of_it() -> None:
    """Another device's reading that arrives late: that window ran before the warm-up."""
    after = WindowView(official_resets_at_ms=SENT + 4 * H, official_observed_ms=SENT - 10 * M)
    found = window_started(SENT, IDLE, after)
    assert not found.verified
    assert (
        found.reason == "no official reading since the prompt went out; no synced usage line of it"
    )


def test_its_own_usage_line_verifies_it() -> None:
    after = WindowView(
        synced_active=True,
        synced_end_ms=SENT + 5 * H,
        last_activity_ms=SENT + 2_000,
        first_activity_ms=SENT + 2_000,
        block_start_ms=SENT,
    )
    found = window_started(SENT, IDLE, after)
    assert found == WindowStarted(True, "usage", block_start_ms=SENT, first_request_ms=SENT + 2_000)
    assert found.to_json() == {
        "verified": True,
        "by": "usage",
        "blockStart": "2027-01-15T07:00:00.000Z",
        "firstRequest": "2027-01-15T07:00:02.000Z",
    }
    # A line stamped a little before (another clock) still counts; a block begun earlier not.
    slightly = WindowView(synced_active=True, first_activity_ms=SENT - 30_000)
    assert window_started(SENT, IDLE, slightly).by == "usage"
    earlier = WindowView(synced_active=True, first_activity_ms=SENT - 40 * M)
    found = window_started(SENT, IDLE, earlier, waited_ms=20_000)
    assert not found.verified
    assert found.reason == (
        "no official reading since the prompt went out; "
        "the synced window began earlier (2027-01-15 06:20Z) (waited 20 s)"
    )


def test_an_unmoved_official_reset_is_not_a_new_window() -> None:
    before = WindowView(official_resets_at_ms=SENT + H, official_observed_ms=SENT - H)
    after = WindowView(official_resets_at_ms=SENT + H, official_observed_ms=AFTER)
    found = window_started(SENT, before, after)
    assert not found.verified
    assert found.reason is not None
    assert found.reason.startswith("the official reset stayed at 2027-01-15 08:00Z")


def test_a_prompt_the_limit_stopped_started_nothing() -> None:
    after = WindowView(official_resets_at_ms=SENT + H, official_observed_ms=AFTER)
    found = window_started(SENT, IDLE, after, limit_reached=True)
    assert found.to_json() == {
        "verified": False,
        "reason": "the 5-hour limit stopped the prompt (the window resets 2027-01-15 08:00Z)",
    }
