"""Official limit readings found in transcripts, on their way to the server.

A limit-hit line (``ccsync.usage.limit_hits``) says its window was used up (100 %) at the
line's time and resets at ``resetsAt``. The tailer queues each such reading in the agent's
state with the lines it came with (``AgentState.advance``); the agent sends them as
``POST /api/limits/{deviceId}`` (``wire.RateLimits``, source ``transcript``), the host agent
hands them to ingest. What is sent of a batch is, per window, the newest reading whose
reset is still ahead: one whose reset has passed says nothing of the window now, and one
more than ``bounds.RESET_AHEAD_MS`` ahead the server refuses; both are dropped unsent.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from ccsync.bounds import RESET_AHEAD_MS
from ccsync.usage.limit_hits import LimitHit
from ccsync.wire import RateLimit, RateLimits

SOURCE = "transcript"
BATCH = 1_000

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(RateLimit).decode


def reading_row(hit: LimitHit) -> tuple[str, str] | None:
    """How the agent's state keeps a limit hit: (window, ``RateLimit`` JSON), or ``None``
    when the line is no reading of a usage window's percentage."""
    percentage = hit.used_percentage
    if percentage is None or not hit.is_reading:
        return None
    limit = RateLimit(
        used_percentage=percentage, resets_at=hit.resets_at, observed_at=hit.observed_ms / 1000
    )
    return hit.window, _encode(limit).decode()


def limits_to_send(
    rows: Sequence[tuple[int, str, str]], now_ms: int, account: str | None = None
) -> RateLimits | None:
    """The readings of ``rows`` worth sending, as one push: per window the one observed
    last, among those whose reset is ahead of ``now_ms`` (and not too far); ``None`` when
    none is."""
    newest: dict[str, RateLimit] = {}
    for _, window, raw in rows:
        try:
            limit = _decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue
        if limit.resets_at is None or not now_ms < limit.resets_at * 1000 <= now_ms + (
            RESET_AHEAD_MS
        ):
            continue
        held = newest.get(window)
        if held is None or (limit.observed_at or 0) >= (held.observed_at or 0):
            newest[window] = limit
    if not newest:
        return None
    scoped = {name: limit for name, limit in newest.items() if name.startswith("seven_day_")}
    return RateLimits(
        five_hour=newest.get("five_hour"),
        seven_day=newest.get("seven_day"),
        account=account,
        source=SOURCE,
        windows=scoped or None,
    )


def legacy(limits: RateLimits) -> RateLimits | None:
    """``limits`` as servers before readings said their source take them: the five-hour and
    seven-day windows, without ``source`` and ``observed_at`` (``None`` if nothing is left)."""

    def bare(limit: RateLimit | None) -> RateLimit | None:
        return None if limit is None else RateLimit(limit.used_percentage, limit.resets_at)

    if limits.five_hour is None and limits.seven_day is None:
        return None
    return RateLimits(
        five_hour=bare(limits.five_hour), seven_day=bare(limits.seven_day), account=limits.account
    )
