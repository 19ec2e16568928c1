"""Reports as terminal tables (rich), laid out like ccusage's."""

from __future__ import annotations

import re
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from ccsync.usage import ReportKind
from ccsync.usage.parse import ParseStats
from ccsync.usage.reports import Report

_DATE_SUFFIX = re.compile(r"-\d{8}$")
COMPACT_BELOW = 100
"""Terminals narrower than this get the compact table (no cache columns), as in ccusage."""
_NUMBER_COLUMNS = ("Input", "Output", "Cache Create", "Cache Read", "Total Tokens", "Cost (USD)")
_COMPACT_COLUMNS = ("Input", "Output", "Cost (USD)")
_PERIOD_COLUMN = {
    ReportKind.DAILY: ("date", "Date"),
    ReportKind.WEEKLY: ("week", "Week"),
    ReportKind.MONTHLY: ("month", "Month"),
}
_TITLES = {
    ReportKind.DAILY: "Claude Code token usage report - daily",
    ReportKind.WEEKLY: "Claude Code token usage report - weekly",
    ReportKind.MONTHLY: "Claude Code token usage report - monthly",
    ReportKind.SESSION: "Claude Code token usage report - by session",
    ReportKind.BLOCKS: "Claude Code token usage report - 5-hour blocks",
}


def short_model(name: str) -> str:
    """``claude-sonnet-4-20250514`` → ``sonnet-4``."""
    return _DATE_SUFFIX.sub("", name.removeprefix("claude-"))


def _tokens(value: int) -> str:
    return f"{value:,}"


def _cost(value: float) -> str:
    return f"${value:,.2f}"


def _models(names: list[str]) -> str:
    return "\n".join(f"- {short_model(n)}" for n in names)


def render(kind: ReportKind, report: Report, console: Console, breakdown: bool = False) -> None:
    """Print ``report`` as a table (with per-model rows when ``breakdown``)."""
    if kind is ReportKind.BLOCKS:
        _render_blocks(report, console)
        return
    rows: list[dict[str, Any]] = report["sessions" if kind is ReportKind.SESSION else kind.value]
    if not rows:
        console.print("No Claude usage data found.")
        return
    columns = _COMPACT_COLUMNS if console.width < COMPACT_BELOW else _NUMBER_COLUMNS
    table = Table(title=_TITLES[kind], box=box.ROUNDED, header_style="bold cyan")
    lead_titles = (
        ["Session", "Project", "Last Activity"]
        if kind is ReportKind.SESSION
        else [_PERIOD_COLUMN[kind][1]]
    )
    for title in lead_titles:
        table.add_column(title, no_wrap=title != "Project")
    table.add_column("Models", no_wrap=True)
    for title in columns:
        table.add_column(title, justify="right", no_wrap=True)
    for row in rows:
        if kind is ReportKind.SESSION:
            lead = [row["sessionId"][:8], row["projectPath"], row["lastActivity"][:10]]
        else:
            lead = [row[_PERIOD_COLUMN[kind][0]]]
        table.add_row(*lead, _models(row["modelsUsed"]), *_numbers(row, row["totalCost"], columns))
        if breakdown:
            for item in row["modelBreakdowns"]:
                table.add_row(
                    *[""] * len(lead),
                    f"└─ {short_model(item['modelName'])}",
                    *_numbers(item, item["cost"], columns),
                    style="dim",
                )
    totals = report["totals"]
    table.add_section()
    table.add_row(
        "Total",
        *[""] * len(lead_titles),
        *_numbers(totals, totals["totalCost"], columns),
        style="bold yellow",
    )
    console.print(table)
    unpriced = totals.get("unpricedModels")
    if unpriced:
        console.print(
            f"[yellow]No price known for {', '.join(unpriced)}: their tokens count, the costs "
            "above leave them out (ccsync prices update may know them).[/]"
        )
    recorded = totals.get("claudeCodeCostUSD")
    if recorded:
        spent = ", ".join(f"{model} ${cost:,.4f}" for model, cost in sorted(recorded.items()))
        console.print(f"[yellow]Claude Code itself recorded: {spent} (not in the costs above).[/]")


def _numbers(row: dict[str, Any], cost: float, columns: tuple[str, ...]) -> list[str]:
    total = row.get("totalTokens")
    if total is None:
        total = (
            row["inputTokens"]
            + row["outputTokens"]
            + row["cacheCreationTokens"]
            + row["cacheReadTokens"]
        )
    values = {
        "Input": _tokens(row["inputTokens"]),
        "Output": _tokens(row["outputTokens"]),
        "Cache Create": _tokens(row["cacheCreationTokens"]),
        "Cache Read": _tokens(row["cacheReadTokens"]),
        "Total Tokens": _tokens(total),
        "Cost (USD)": _cost(cost),
    }
    return [values[column] for column in columns]


def _render_blocks(report: Report, console: Console) -> None:
    blocks: list[dict[str, Any]] = report["blocks"]
    if not blocks:
        console.print("No Claude usage data found.")
        return
    table = Table(title=_TITLES[ReportKind.BLOCKS], box=box.ROUNDED, header_style="bold cyan")
    for title, justify in (
        ("Block Start", "left"),
        ("Duration/Status", "left"),
        ("Models", "left"),
        ("Tokens", "right"),
        ("Cost (USD)", "right"),
    ):
        table.add_column(title, justify=justify)  # type: ignore[arg-type]
    for block in blocks:
        start = block["startTime"][:16].replace("T", " ")
        if block["isGap"]:
            table.add_row(start, "(gap)", "", "", "", style="dim")
            continue
        if block["isActive"]:
            projection = block.get("projection") or {}
            left = projection.get("remainingMinutes")
            status = "ACTIVE" + (f" ({left // 60}h {left % 60}m left)" if left is not None else "")
            style = "bold green"
        else:
            status = "5h"
            style = ""
        table.add_row(
            start,
            status,
            _models(block["models"]),
            _tokens(block["totalTokens"]),
            _cost(block["costUSD"]),
            style=style,
        )
    console.print(table)


def render_scan_summary(stats: ParseStats, console: Console) -> None:
    """One dim line: files and lines read, and what was skipped and why."""
    if not stats.files:
        return
    text = f"{stats.files:,} files, {stats.lines:,} lines, {stats.entries:,} usage entries"
    if stats.by_reason:
        reasons = ", ".join(
            f"{count:,} {reason.replace('_', ' ')}"
            for reason, count in sorted(stats.by_reason.items())
        )
        text += f"; skipped lines with usage: {reasons}"
    console.print(text, style="dim")
