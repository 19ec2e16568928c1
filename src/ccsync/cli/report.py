"""``ccsync report {daily,weekly,monthly,session,blocks}``: ccusage's reports, across devices."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from typing import Any, TypeVar

import click

from ccsync.clock import SystemClock
from ccsync.gc_pause import paused
from ccsync.usage import BlocksOptions, ReportKind, ReportOptions, build_report
from ccsync.usage.discovery import NoDataDirsError
from ccsync.usage.loader import Scan, read_cost_states, scan_dirs
from ccsync.usage.pricing import CostMode
from ccsync.usage.reports import Order, Report, Weekday
from ccsync.usage.timestamps import UnknownTimezoneError, resolve_timezone

F = TypeVar("F", bound=Callable[..., Any])
_DAY = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})")


def _parse_day(ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    match = _DAY.fullmatch(value)
    try:
        if match is None:
            raise ValueError(value)
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        raise click.BadParameter(
            f"'{value}' is not a date: expected YYYY-MM-DD or YYYYMMDD."
        ) from None


def _check_timezone(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    try:
        resolve_timezone(value)
    except UnknownTimezoneError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


def _common_options(function: F) -> F:
    decorators = [
        click.option("--json", "-j", "as_json", is_flag=True, help="Print ccusage's JSON shape."),
        click.option(
            "--timezone",
            "-z",
            callback=_check_timezone,
            help="IANA zone for dates (default: the system's, honouring TZ).",
        ),
        click.option("--since", "-s", callback=_parse_day, help="First day, YYYYMMDD (inclusive)."),
        click.option("--until", "-u", callback=_parse_day, help="Last day, YYYYMMDD (inclusive)."),
        click.option(
            "--order",
            "-o",
            type=click.Choice([o.value for o in Order]),
            default="asc",
            show_default=True,
            help="Sort periods oldest or newest first.",
        ),
        click.option(
            "--mode",
            "-m",
            type=click.Choice([m.value for m in CostMode]),
            default="auto",
            show_default=True,
            help="auto: the line's costUSD if any, else from tokens; calculate: from tokens; "
            "display: costUSD only.",
        ),
        click.option("--breakdown", "-b", is_flag=True, help="Per-model rows in the table."),
        click.option(
            "--claude-dir",
            "claude_dirs",
            multiple=True,
            metavar="DIR",
            help="A Claude data directory (repeatable); replaces CLAUDE_CONFIG_DIR and the defaults.",
        ),
        click.option(
            "--server",
            envvar="CCSYNC_SERVER",
            default=None,
            metavar="URL",
            help="Ask a ccsync server (all its devices) instead of local files (CCSYNC_SERVER; "
            "--claude-dir wins).",
        ),
        click.option("--token", envvar="CCSYNC_TOKEN", help="Token for --server (CCSYNC_TOKEN)."),
        click.option("--device", help="With --server: one device only."),
        click.option("--account", help="With --server: the account (default: the only one)."),
    ]
    for decorator in reversed(decorators):
        function = decorator(function)
    return function


@click.group()
def report() -> None:
    """Usage reports identical to ccusage's (`ccusage claude <report> --json --offline`).

    Data comes from --claude-dir, else CLAUDE_CONFIG_DIR (comma-separated), else
    ~/.config/claude and ~/.claude. Several directories are one account's devices:
    their usage is merged and deduplicated.
    """


def _options(**kwargs: Any) -> ReportOptions:
    return ReportOptions(
        timezone=kwargs["timezone"],
        since=kwargs["since"],
        until=kwargs["until"],
        order=Order(kwargs["order"]),
        mode=CostMode(kwargs["mode"]),
    )


def _with_prices(options: ReportOptions) -> ReportOptions:
    """The options with the installation's price table (``ccsync prices update``)."""
    from ccsync.prices import installed_prices

    installed = installed_prices()
    if installed.problem:
        click.echo(f"warning: {installed.problem}; using the packaged prices", err=True)
    return replace(options, prices=installed.table)


def _build(
    kind: ReportKind, found: Scan, options: ReportOptions, blocks: BlocksOptions | None = None
) -> Report:
    """The report; where models had no price, with Claude Code's own cost of them (the
    ``cost-state`` lines of the transcripts that used them) beside ccusage's numbers."""
    now = SystemClock().now_ms()
    result = build_report(kind, found.entries, options, now, blocks)
    totals = result.get("totals")
    unpriced = set(totals.get("unpricedModels") or ()) if isinstance(totals, dict) else set()
    if unpriced:
        sources = {entry.source for entry in found.entries if entry.model in unpriced}
        recorded = read_cost_states(sorted(sources))
        if recorded:
            options = replace(options, recorded_costs=recorded)
            result = build_report(kind, found.entries, options, now, blocks)
    return result


def _scan(claude_dirs: tuple[str, ...], as_json: bool) -> Scan:
    # Tables end with what was skipped; JSON has no place for it, so lines go uncounted.
    count_lines = not as_json
    try:
        if sys.stderr.isatty():
            from ccsync.cli.progress import ScanProgressBar

            with ScanProgressBar() as bar:
                return scan_dirs(claude_dirs, bar, count_lines)
        return scan_dirs(claude_dirs, None, count_lines)
    except NoDataDirsError as exc:
        raise click.UsageError(str(exc)) from None


def _emit(kind: ReportKind, result: Report, found: Scan, as_json: bool, breakdown: bool) -> None:
    if as_json:
        click.echo(json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False))
        return
    from rich.console import Console

    from ccsync.cli.render import render, render_scan_summary

    console = Console()
    render(kind, result, console, breakdown=breakdown)
    render_scan_summary(found.stats, console)


def _emit_from_server(kind: ReportKind, kwargs: dict[str, Any], options: ReportOptions) -> None:
    from ccsync.cli.client import request

    params: dict[str, str] = {"order": options.order.value}
    if options.timezone:
        params["timezone"] = options.timezone
    for name in ("since", "until"):
        day = getattr(options, name)
        if day is not None:
            params[name] = day.strftime("%Y%m%d")
    if kwargs.get("start_of_week"):
        params["start_of_week"] = kwargs["start_of_week"]
    for name in ("device", "account"):
        if kwargs.get(name):
            params[name] = kwargs[name]
    result = request(
        "GET", kwargs["server"], f"/api/reports/{kind.value}", kwargs["token"], params=params
    )
    if kwargs["as_json"]:
        click.echo(json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False))
        return
    from rich.console import Console

    from ccsync.cli.render import render

    render(kind, result, Console(), breakdown=kwargs["breakdown"])


def _period_command(kind: ReportKind, help_text: str, weekly: bool = False) -> click.Command:
    def run(**kwargs: Any) -> None:
        options = _options(**kwargs)
        if weekly:
            options = replace(options, start_of_week=Weekday[kwargs["start_of_week"].upper()])
        if kwargs["server"] and not kwargs["claude_dirs"]:
            _emit_from_server(kind, kwargs, options)
            return
        with paused():
            found = _scan(kwargs["claude_dirs"], kwargs["as_json"])
            result = _build(kind, found, _with_prices(options))
            _emit(kind, result, found, kwargs["as_json"], kwargs["breakdown"])

    command = _common_options(run)
    if weekly:
        command = click.option(
            "--start-of-week",
            "-w",
            type=click.Choice([d.name.lower() for d in Weekday], case_sensitive=False),
            default="sunday",
            show_default=True,
            help="The day weeks start on.",
        )(command)
    return click.command(name=kind.value, help=help_text)(command)


report.add_command(_period_command(ReportKind.DAILY, "Usage per day."))
report.add_command(_period_command(ReportKind.WEEKLY, "Usage per week.", weekly=True))
report.add_command(_period_command(ReportKind.MONTHLY, "Usage per month."))
report.add_command(_period_command(ReportKind.SESSION, "Usage per session, most expensive first."))


def _token_limit(ctx: click.Context, param: click.Parameter, value: str | None) -> int | str | None:
    if value is None:
        return None
    if value in ("", "max"):
        return "max"
    if value.isdigit() and int(value) > 0:
        return int(value)
    raise click.BadParameter("expected a number of tokens or 'max'")


@report.command(name="blocks")
@_common_options
@click.option("--active", "-a", is_flag=True, help="Only the active block.")
@click.option("--recent", "-r", is_flag=True, help="Blocks of the last 3 days, and the active one.")
@click.option(
    "--token-limit",
    "-t",
    callback=_token_limit,
    metavar="N|max",
    help="Show the active block's projection against N tokens (max: the largest past block).",
)
@click.option(
    "--session-length",
    "-n",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    help="Block length in hours.",
)
def blocks_command(**kwargs: Any) -> None:
    """5-hour billing blocks, with burn rate and projection for the active one."""
    options = _options(**kwargs)
    if kwargs["server"] and not kwargs["claude_dirs"]:
        _emit_from_server(ReportKind.BLOCKS, kwargs, options)
        return
    blocks = BlocksOptions(
        timezone=options.timezone,
        since=options.since,
        until=options.until,
        order=options.order,
        active=kwargs["active"],
        recent=kwargs["recent"],
        token_limit=kwargs["token_limit"],
        session_hours=kwargs["session_length"],
    )
    with paused():
        found = _scan(kwargs["claude_dirs"], kwargs["as_json"])
        result = _build(ReportKind.BLOCKS, found, _with_prices(options), blocks)
        _emit(ReportKind.BLOCKS, result, found, kwargs["as_json"], kwargs["breakdown"])
