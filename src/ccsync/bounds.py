"""Which instants the server takes: one rule for every door, relative to its own clock.

An instant is acceptable from 2023-01-01T00:00:00Z (before Claude Code existed nothing
can be real) to a margin ahead of the server's clock: a day for usage lines and ccusage
blocks (clock skew, time zones done wrong), a little over a week for the reset times
Claude Code announces (its weekly limit). Everything else is refused with a reason the
push's acknowledgement carries. Pure: "now" is a parameter.
"""

from __future__ import annotations

from ccsync.usage.timestamps import MS_PER_DAY, iso_millis

EARLIEST_MS = 1_672_531_200_000
"""2023-01-01T00:00:00.000Z."""
AHEAD_MS = MS_PER_DAY
"""How far ahead of the server's clock a usage line or a block may be."""
RESET_AHEAD_MS = 8 * MS_PER_DAY
"""How far ahead a usage-limit reset may be (the weekly limit resets within 7 days)."""


def latest_ms(now_ms: int, ahead_ms: int = AHEAD_MS) -> int:
    """The latest acceptable instant at ``now_ms``."""
    return now_ms + ahead_ms


def acceptable(ms: int, now_ms: int, ahead_ms: int = AHEAD_MS) -> bool:
    return EARLIEST_MS <= ms <= now_ms + ahead_ms


def time_problem(ms: int, now_ms: int, ahead_ms: int = AHEAD_MS) -> str | None:
    """Why ``ms`` is not acceptable at ``now_ms`` (``None`` when it is)."""
    if ms < EARLIEST_MS:
        return f"{iso_millis(ms)} is before 2023"
    if ms > now_ms + ahead_ms:
        return f"{iso_millis(ms)} is more than {_span(ahead_ms)} ahead of the server's clock"
    return None


def _span(ms: int) -> str:
    days = ms / MS_PER_DAY
    if days == 1:
        return "a day"
    return f"{days:g} days" if days >= 1 else f"{ms / 3_600_000:g} hours"
