"""Window warm-up: start the account's 5-hour window when the user wants it to run.

A 5-hour window starts with the first request after the previous one ended and resets
five hours later. Someone who wants fresh windows at 07:00, 12:00 and 17:00 needs a
request at 02:00, 07:00 and 12:00 — a warm-up: the smallest prompt on the cheapest model.

A warm-up is sent only when it starts a window. At each fire time the decision is made
from what the server knows of the account:

- the official reset time (``rate_limits.five_hour.resets_at``, forwarded by a device's
  status line) when it lies ahead: the window runs until then;
- otherwise the window computed from every device's synced usage: it runs when the
  current block is active and its last request came after the official reset (if any).

A window that ends soon (``max_wait``) is waited for, and the warm-up sent right after
it; one that runs longer means no warm-up this time. A cooldown between warm-ups and a
monthly cap (Anthropic's guideline is about 50 sessions a month) bound what warm-ups can
spend even when the usage data is late. Everything here is pure: the clock is a value.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any, Literal

WINDOW_MS = 5 * 3_600_000
DEFAULT_PROMPT = "Reply with OK."
DEFAULT_MODEL = "haiku"
DEFAULT_MONTHLY_CAP = 50
DEFAULT_COOLDOWN_MINUTES = 60
DEFAULT_MAX_WAIT_MINUTES = 30
WAIT_MARGIN_MS = 5_000
"""Sent this long after the window it waited for ends (clocks differ by a little)."""

_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)", re.ASCII)


def warmup_command(prompt: str = DEFAULT_PROMPT, model: str = DEFAULT_MODEL) -> str:
    """The minimal headless request: one short turn on a cheap model, streamed as JSON lines
    (``stream-json`` needs ``--verbose``): the last line is the result, and for a subscriber
    a ``rate_limit_event`` line carries Anthropic's own reading of the 5-hour and weekly
    windows, which the run hands to the server as an official one."""
    argv = ["claude", "-p", prompt, "--model", model, "--max-turns", "1"]
    return shlex.join([*argv, "--output-format", "stream-json", "--verbose"])


def schedule_for(times: list[str], *, resets: bool) -> str:
    """A daily cron schedule that starts windows at ``times`` ("HH:MM"), or so that they
    reset at ``times`` (``resets``: five hours earlier on the wall clock).

    The times must share their minute (a cron expression is minutes times hours); ``ValueError``
    otherwise, or for a time that is not ``HH:MM``.
    """
    if not times:
        raise ValueError("give at least one time, e.g. ['07:00', '12:00', '17:00']")
    parsed: list[tuple[int, int]] = []
    for value in times:
        match = _TIME.fullmatch(value.strip()) if isinstance(value, str) else None
        if match is None:
            raise ValueError(f"{value!r} is not a time of day like '07:00'")
        hour, minute = int(match[1]), int(match[2])
        parsed.append(((hour - 5) % 24 if resets else hour, minute))
    minutes = {minute for _, minute in parsed}
    if len(minutes) > 1:
        raise ValueError(
            "the times must share their minute (e.g. 07:00, 12:00, 17:00); "
            "for anything else give a cron schedule"
        )
    hours = ",".join(str(hour) for hour in sorted({hour for hour, _ in parsed}))
    return f"{minutes.pop()} {hours} * * *"


@dataclass(frozen=True, slots=True)
class WarmupPolicy:
    cooldown_ms: int = DEFAULT_COOLDOWN_MINUTES * 60_000
    monthly_cap: int = DEFAULT_MONTHLY_CAP
    max_wait_ms: int = DEFAULT_MAX_WAIT_MINUTES * 60_000

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> WarmupPolicy:
        return cls(
            cooldown_ms=int(options.get("cooldownMinutes", DEFAULT_COOLDOWN_MINUTES)) * 60_000,
            monthly_cap=int(options.get("monthlyCap", DEFAULT_MONTHLY_CAP)),
            max_wait_ms=int(options.get("maxWaitMinutes", DEFAULT_MAX_WAIT_MINUTES)) * 60_000,
        )


@dataclass(frozen=True, slots=True)
class WindowView:
    """What the server knows of the account's window at one moment."""

    synced_active: bool = False
    """The block over all devices' synced usage is active."""
    synced_end_ms: int | None = None
    last_activity_ms: int | None = None
    """The newest synced request of that block."""
    official_resets_at_ms: int | None = None
    """``rate_limits.five_hour.resets_at`` as a device last reported it."""


@dataclass(frozen=True, slots=True)
class WindowState:
    running: bool
    ends_ms: int | None
    basis: Literal["official", "synced", "none"]


def window_state(view: WindowView, now_ms: int) -> WindowState:
    official = view.official_resets_at_ms
    if official is not None and official > now_ms:
        return WindowState(True, official, "official")
    if view.synced_active and view.synced_end_ms is not None and view.synced_end_ms > now_ms:
        began_after_reset = (
            official is None or view.last_activity_ms is None or view.last_activity_ms > official
        )
        if began_after_reset:
            return WindowState(True, view.synced_end_ms, "synced")
    return WindowState(False, None, "official" if official is not None else "synced")


@dataclass(frozen=True, slots=True)
class Decision:
    action: Literal["send", "skip", "wait"]
    reason: str
    until_ms: int | None = None
    """For ``wait``: when to decide again."""
    window: WindowState | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "reason": self.reason,
            "until": self.until_ms,
            "windowRunning": None if self.window is None else self.window.running,
            "windowEnds": None if self.window is None else self.window.ends_ms,
            "basis": None if self.window is None else self.window.basis,
        }


def decide(
    now_ms: int,
    view: WindowView,
    policy: WarmupPolicy,
    *,
    last_sent_ms: int | None,
    sent_this_month: int,
    may_wait: bool = True,
) -> Decision:
    """Whether a warm-up goes out now (``send``), not at all (``skip``), or after the
    running window ends (``wait`` until ``until_ms``, then decide again)."""
    state = window_state(view, now_ms)
    if state.running:
        assert state.ends_ms is not None
        left = state.ends_ms - now_ms
        if may_wait and left <= policy.max_wait_ms:
            return Decision(
                "wait",
                f"the window ends in {_minutes(left)} ({state.basis}); sending right after",
                state.ends_ms + WAIT_MARGIN_MS,
                state,
            )
        return Decision(
            "skip",
            f"a window is already running for another {_minutes(left)} ({state.basis})",
            window=state,
        )
    if last_sent_ms is not None and now_ms - last_sent_ms < policy.cooldown_ms:
        return Decision(
            "skip",
            f"cooldown: the last warm-up went out {_minutes(now_ms - last_sent_ms)} ago "
            f"(cooldown {_minutes(policy.cooldown_ms)})",
            window=state,
        )
    if sent_this_month >= policy.monthly_cap:
        return Decision(
            "skip",
            f"monthly cap reached: {sent_this_month} of {policy.monthly_cap} warm-ups this month",
            window=state,
        )
    return Decision("send", f"no window is running ({state.basis})", window=state)


def month_start_ms(now_ms: int, zone: tzinfo) -> int:
    """The first instant of the calendar month ``now_ms`` falls in, in ``zone``."""
    local = datetime.fromtimestamp(now_ms / 1000, zone)
    start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return int(start.timestamp() * 1000)


def _minutes(ms: int) -> str:
    minutes = max(0, round(ms / 60_000))
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"
