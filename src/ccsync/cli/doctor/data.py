"""The Claude data on this device, and the price table that prices it."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from ccsync.cli.doctor.check import Check

if TYPE_CHECKING:
    from ccsync.usage.loader import Scan


def data_checks(claude_dirs: tuple[str, ...]) -> tuple[list[Check], Scan | None]:
    """Where the Claude data is and what it holds; the scan, for the price checks."""
    from ccsync.usage.discovery import NoDataDirsError, find_transcripts, resolve_data_dirs
    from ccsync.usage.loader import scan

    try:
        roots = resolve_data_dirs(claude_dirs)
    except NoDataDirsError as exc:
        return [Check(False, "Claude data directories", str(exc))], None
    if not roots:
        return [
            Check(
                False,
                "Claude data directories",
                "none found: use Claude Code once, or set CLAUDE_CONFIG_DIR / --claude-dir",
            )
        ], None
    files = find_transcripts(roots)
    found = scan(roots, count_lines=True)
    stats = found.stats
    checks = [
        Check(True, f"Claude data: {', '.join(map(str, roots))}"),
        Check(
            True,
            f"{len(files):,} transcripts, {stats.lines:,} lines, {stats.entries:,} usage entries",
        ),
    ]
    if stats.malformed or stats.invalid:
        checks.append(
            Check(
                True,
                f"{stats.malformed + stats.invalid:,} lines with usage skipped ({dict(sorted(stats.by_reason.items()))})",
            )
        )
    return checks, found


def price_checks(found: Scan | None, today: date) -> list[Check]:
    """Which price table is in use, how old it is, and the models it cannot price."""
    from ccsync.prices import installed_prices
    from ccsync.usage.entry import SYNTHETIC_MODEL
    from ccsync.usage.loader import read_cost_states

    installed = installed_prices()
    table = installed.table
    checks = []
    if installed.problem:
        checks.append(
            Check(
                False,
                "your price table",
                f"{installed.problem}; the packaged one is used (`ccsync prices update` "
                "writes a new one)",
                required=False,
            )
        )
    where = "packaged" if installed.origin == "packaged" else f"yours, {installed.path}"
    if installed.older:
        where += f" (newer than yours, {installed.path})"
    try:
        age = f", {(today - date.fromisoformat(table.built)).days} days old"
    except ValueError:
        age = ""
    checks.append(
        Check(True, f"prices: {where}, built {table.built or '?'}{age}, {len(table)} models")
    )
    checks.append(Check(True, f"prices from {table.source}"))
    if found is None:
        return checks
    counts: dict[str, int] = {}
    sources: set[str] = set()
    for entry in found.entries:
        model = entry.model
        if model is None or model == SYNTHETIC_MODEL or entry.total_tokens == 0:
            continue
        if table.find(model) is None:
            counts[model] = counts.get(model, 0) + 1
            sources.add(entry.source)
    if not counts:
        checks.append(Check(True, "every model in your transcripts has a price"))
        return checks
    recorded: dict[str, float] = {}
    for models in read_cost_states(sorted(sources)).values():
        for model, cost in models.items():
            if model in counts:
                recorded[model] = recorded.get(model, 0.0) + cost
    described = ", ".join(
        f"{model} ({count:,} entries"
        + (f", Claude Code recorded ${recorded[model]:,.4f}" if model in recorded else "")
        + ")"
        for model, count in sorted(counts.items())
    )
    checks.append(
        Check(
            False,
            f"no price for {described}",
            "their cost counts as $0 in reports; `ccsync prices update` may know them",
            required=False,
        )
    )
    return checks
