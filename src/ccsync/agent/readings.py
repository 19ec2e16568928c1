"""Official limit readings found on the device, on their way to the server.

Two kinds, queued in the agent's state (``AgentState.readings``) and sent alike:

- A limit-hit line of a transcript (``ccsync.usage.limit_hits``) says its window was used
  up (100 %) at the line's time and resets at ``resetsAt``. The tailer queues each such
  reading with the lines it came with (``AgentState.advance``); source ``transcript``.
- Claude Code's copy of the account usage response in ``~/.claude.json``
  (``ccsync.usage.usage_response``) gives every window's percentage and reset as fetched at
  its ``fetchedAtMs`` (``ccsync.agent.usage_cache`` queues them once per fetch); source
  ``usage_cache``.

The agent sends them as ``POST /api/limits/{deviceId}`` (``wire.RateLimits``, one push per
source), the host agent hands them to ingest. What is sent of a batch is, per window, the
newest reading whose reset is still ahead: one whose reset has passed says nothing of the
window now, and one more than ``bounds.RESET_AHEAD_MS`` ahead the server refuses; both are
dropped unsent. So is a window with no reset (a usage response's window not started): the
server would keep it until its store forgets, long after the window may have started.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import msgspec

from ccsync.bounds import RESET_AHEAD_MS
from ccsync.usage.limit_hits import LimitHit
from ccsync.usage.usage_response import UsageSnapshot
from ccsync.wire import EpochSeconds, LimitSource, RateLimit, RateLimits

TRANSCRIPT = "transcript"
USAGE_CACHE = "usage_cache"
BATCH = 1_000


class StoredReading(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=True):
    """A reading as the state keeps it: ``wire.RateLimit``'s fields, and where it came
    from (left out for ``transcript``, so its rows are the ones agents always wrote)."""

    used_percentage: Annotated[float, msgspec.Meta(ge=0, le=1000)]
    resets_at: EpochSeconds | None = None
    observed_at: EpochSeconds | None = None
    source: LimitSource = TRANSCRIPT

    def limit(self) -> RateLimit:
        return RateLimit(self.used_percentage, self.resets_at, self.observed_at)


_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder(StoredReading).decode


def reading_row(hit: LimitHit) -> tuple[str, str] | None:
    """How the agent's state keeps a limit hit: (window, ``StoredReading`` JSON), or
    ``None`` when the line is no reading of a usage window's percentage."""
    percentage = hit.used_percentage
    if percentage is None or not hit.is_reading:
        return None
    stored = StoredReading(percentage, hit.resets_at, hit.observed_ms / 1000)
    return hit.window, _encode(stored).decode()


def cached_rows(snapshot: UsageSnapshot) -> list[tuple[str, str]]:
    """How the agent's state keeps the readings of a usage response Claude Code cached:
    (window, ``StoredReading`` JSON) for each window with a reset, observed when Claude
    Code fetched it."""
    observed = None if snapshot.fetched_at_ms is None else snapshot.fetched_at_ms / 1000
    return [
        (
            reading.window,
            _encode(
                StoredReading(
                    reading.used_percentage, reading.resets_at_ms / 1000, observed, USAGE_CACHE
                )
            ).decode(),
        )
        for reading in snapshot.readings
        if reading.resets_at_ms is not None
    ]


def limits_to_send(
    rows: Sequence[tuple[int, str, str]], now_ms: int, account: str | None = None
) -> list[RateLimits]:
    """The readings of ``rows`` worth sending, one push per source: per window the one
    observed last, among those whose reset is ahead of ``now_ms`` (and not too far)."""
    newest: dict[str, StoredReading] = {}
    for _, window, raw in rows:
        try:
            stored = _decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue
        if stored.resets_at is None or not now_ms < stored.resets_at * 1000 <= now_ms + (
            RESET_AHEAD_MS
        ):
            continue
        held = newest.get(window)
        if held is None or (stored.observed_at or 0) >= (held.observed_at or 0):
            newest[window] = stored
    by_source: dict[str, dict[str, RateLimit]] = {}
    for window, stored in newest.items():
        by_source.setdefault(stored.source, {})[window] = stored.limit()
    pushes = []
    for source, limits in sorted(by_source.items()):
        scoped = {name: limit for name, limit in limits.items() if name.startswith("seven_day_")}
        pushes.append(
            RateLimits(
                five_hour=limits.get("five_hour"),
                seven_day=limits.get("seven_day"),
                account=account,
                source=source,
                windows=scoped or None,
            )
        )
    return pushes


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
