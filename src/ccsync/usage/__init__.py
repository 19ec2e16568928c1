"""The usage engine: transcripts in, ccusage-identical reports out.

    scan (loader) ─► entries ─► deduplicate ─► price ─► daily / weekly / monthly / session / blocks

Everything but ``loader`` and ``discovery`` is pure: plain data in, plain data out.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from ccsync.usage.blocks import BlocksOptions, blocks_report
from ccsync.usage.dedup import deduplicate
from ccsync.usage.entry import UsageEntry, time_order
from ccsync.usage.reports import (
    Report,
    ReportOptions,
    daily_report,
    monthly_report,
    price_entries,
    session_report,
    weekly_report,
)

__all__ = [
    "BlocksOptions",
    "ReportKind",
    "ReportOptions",
    "UsageEntry",
    "build_report",
    "deduplicate",
]


class ReportKind(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    SESSION = "session"
    BLOCKS = "blocks"


_PERIOD_REPORTS = {
    ReportKind.DAILY: daily_report,
    ReportKind.WEEKLY: weekly_report,
    ReportKind.MONTHLY: monthly_report,
    ReportKind.SESSION: session_report,
}


def build_report(
    kind: ReportKind,
    entries: Iterable[UsageEntry],
    options: ReportOptions,
    now_ms: int,
    blocks: BlocksOptions | None = None,
    *,
    deduplicated: bool = False,
) -> Report:
    """A report over ``entries`` (deduplicated here unless ``deduplicated`` says it's done).

    ``now_ms`` decides which block is active; it is only read by ``blocks``.
    """
    kept = sorted(entries, key=time_order) if deduplicated else deduplicate(entries)
    priced = price_entries(kept, options)
    if kind is ReportKind.BLOCKS:
        if blocks is None:
            blocks = BlocksOptions(
                timezone=options.timezone,
                since=options.since,
                until=options.until,
                order=options.order,
            )
        return blocks_report(priced, blocks, now_ms)
    return _PERIOD_REPORTS[kind](priced, options)
