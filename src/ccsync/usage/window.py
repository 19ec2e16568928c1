"""The account's live 5-hour window: the active block over every device, and its outlook.

The window is the block (``blocks.identify_blocks``) that "now" falls in, computed over
the account's deduplicated entries from all devices. Around it: how fast it burns, where
it ends up at this rate, how much of a limit that is, each device's share, and the
official percentages Claude Code reported when a device saw them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ccsync.usage.blocks import Block, identify_blocks
from ccsync.usage.reports import PricedEntry
from ccsync.usage.timestamps import MS_PER_HOUR, iso_millis

LOOKBACK_MS = 7 * 24 * MS_PER_HOUR
"""How far back entries are read to find where the current chain of blocks started."""


@dataclass(frozen=True, slots=True)
class DeviceUsage:
    """One device's part of the window (from its lines, or from its own ccusage block)."""

    device_id: str
    tokens: int
    cost_usd: float
    source: str = "entries"
    """``entries`` (computed here) or ``ccusage`` (the device's own ``blocks --json``)."""
    end_ms: int | None = None
    """Where the device's own block ends (``ccusage`` devices)."""


@dataclass(frozen=True, slots=True)
class OfficialLimit:
    """An official reading of a window: a percentage Claude Code showed in its status line
    (``rate_limits.*``), or a limit it hit (a transcript's ``quotaLimits``: 100 %)."""

    used_percentage: float
    resets_at_ms: int | None
    device_id: str
    reported_ms: int
    source: str = "statusline"
    """Where the device read it: ``statusline``, ``transcript``…"""
    observed_ms: int | None = None
    """When the device saw it (``None``: when the server received it)."""

    def shown(self, now_ms: int) -> bool:
        """Whether the reading still says something: its window has not reset since."""
        return self.resets_at_ms is None or self.resets_at_ms > now_ms


@dataclass(slots=True)
class Window:
    account: str
    now_ms: int
    block: Block | None
    devices: list[DeviceUsage] = field(default_factory=list)
    token_limit: int | None = None
    limit_source: str | None = None
    official: dict[str, OfficialLimit] = field(default_factory=dict)


TIMELINE_STEP_MS = 5 * 60_000


def timeline(block: Block, now_ms: int) -> list[tuple[str, int]]:
    """The block's tokens so far at the end of each 5-minute step with activity (or at
    ``now_ms`` within the current step): ``[[iso time, cumulative tokens], …]``, at most
    60 points, for charts."""
    points: list[tuple[str, int]] = []
    total = 0
    for item in block.entries:
        total += item.entry.total_tokens
        step_end = (
            block.start_ms
            + ((item.entry.timestamp_ms - block.start_ms) // TIMELINE_STEP_MS + 1)
            * TIMELINE_STEP_MS
        )
        stamp = iso_millis(min(step_end, block.end_ms, max(now_ms, item.entry.timestamp_ms)))
        if points and points[-1][0] == stamp:
            points[-1] = (stamp, total)
        else:
            points.append((stamp, total))
    return points


def current_window(
    account: str,
    priced: Sequence[PricedEntry],
    now_ms: int,
    *,
    token_limit: int | None = None,
    ccusage_blocks: Sequence[DeviceUsage] = (),
    official: dict[str, OfficialLimit] | None = None,
) -> Window:
    """The window at ``now_ms`` over ``priced`` entries (each with its ``device``).

    Without ``token_limit``, the limit is the largest past block (ccusage's ``-t max``).
    ``ccusage_blocks`` are the active blocks of devices that push ccusage's blocks instead
    of lines; their tokens add to the window (unless the device's lines are in it).
    """
    blocks = identify_blocks(priced, now_ms)
    active = next((b for b in reversed(blocks) if b.is_active), None)
    limit_source = "setting" if token_limit is not None else None
    if token_limit is None:
        past = [b.sums().total_tokens for b in blocks if not b.is_gap and not b.is_active]
        if past:
            token_limit, limit_source = max(past), "max-past-block"
    devices: dict[str, list[float]] = {}
    if active is not None:
        for item in active.entries:
            tokens_cost = devices.setdefault(item.device, [0, 0.0])
            tokens_cost[0] += item.entry.total_tokens
            tokens_cost[1] += item.cost
    usage = [DeviceUsage(device, int(tc[0]), tc[1]) for device, tc in devices.items()]
    # A device whose own lines are in the window is counted from them, not its ccusage summary.
    usage += [block for block in ccusage_blocks if block.device_id not in devices]
    return Window(account, now_ms, active, usage, token_limit, limit_source, dict(official or {}))
