"""``ccsync limits [--json] [--watch]``: what is left of every window, across every device."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime
from typing import Any

import click
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ccsync.agent.statusline import official_percent, window_label
from ccsync.cli.client import request, server_options

PACE = {"ahead": "▲ ahead", "on_track": "on track", "behind": "▼ behind"}


def _in(value: str | None, now: float) -> str:
    """``2h13m``, ``3d4h`` until ``value`` (ISO 8601), or ``-``."""
    if not value:
        return "-"
    seconds = max(0, int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() - now))
    days, rest = divmod(seconds, 86400)
    hours, minutes = rest // 3600, rest % 3600 // 60
    if days:
        return f"{days}d{hours}h"
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


def used(item: dict[str, Any]) -> str:
    """``63%`` (official) or ``~47%`` (an estimate), or ``?``."""
    official = item.get("official")
    if official:
        return f"{official_percent(official['usedPercentage'])}%"
    percent = item.get("estimate", {}).get("percent")
    return "?" if percent is None else f"~{round(percent)}%"


def headline(limits: dict[str, Any], now: float | None = None) -> str | None:
    """The binding window in one line: ``7d 63% ▲ pace · resets 3d4h`` (``None``: none)."""
    now = time.time() if now is None else now
    binding = next((i for i in limits.get("limits", []) if i.get("binding")), None)
    if binding is None or used(binding) == "?":
        return None
    line = f"{window_label(binding['name'])} {used(binding)}"
    if (binding.get("pace") or {}).get("status") == "ahead":
        line += " ▲ pace"
    if binding.get("resetsAt"):
        line += f" · resets {_in(binding['resetsAt'], now)}"
    exhausted = (binding.get("projection") or {}).get("exhaustedAt")
    if exhausted:
        line += f" · runs out in {_in(exhausted, now)} at this rate"
    return line


def render(limits: dict[str, Any], now: float | None = None) -> Group:
    now = time.time() if now is None else now
    table = Table(title=f"Limits of {limits.get('account', '?')}", title_justify="left")
    for column in ("window", "used", "from", "resets in", "pace", "at reset", "runs out in"):
        table.add_column(column, justify="right" if column in ("used", "at reset") else "left")
    for item in limits.get("limits", []):
        official = item.get("official")
        estimate = item.get("estimate", {})
        source = (
            f"{official['source']} on {official['deviceId']}"
            if official
            else f"estimate: {estimate.get('basis', '')}"
        )
        projection = item.get("projection") or {}
        at_reset = projection.get("percentAtReset")
        name = window_label(item["name"]) + (" ◆" if item.get("binding") else "")
        table.add_row(
            name,
            used(item),
            source,
            _in(item.get("resetsAt"), now),
            PACE.get((item.get("pace") or {}).get("status", ""), "-"),
            "-" if at_reset is None else f"{round(at_reset)}%",
            _in(projection.get("exhaustedAt"), now) if projection.get("exhaustedAt") else "-",
        )
    lines = Text()
    lead = headline(limits, now)
    lines.append(lead or "No limit known yet (no official reading, nothing learned)", style="bold")
    return Group(lines, table, Text("◆ binding · ~ estimate from transcripts", style="dim"))


@click.group(invoke_without_command=True)
@server_options
@click.option("--account", help="The account (default: the only one).")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
@click.option("--watch", is_flag=True, help="Keep it on screen, refreshed every 5 seconds.")
@click.pass_context
def limits(
    ctx: click.Context,
    server: str,
    token: str | None,
    account: str | None,
    as_json: bool,
    watch: bool,
) -> None:
    """What is left of every window (5-hour, 7-day, 7-day per model) across every device.

    ``ccsync limits poller …`` sets up the opt-in poller of the account's usage endpoint.
    """
    if ctx.invoked_subcommand is not None:
        return
    params = {"account": account} if account else {}

    def fetch() -> dict[str, Any]:
        found: dict[str, Any] = request("GET", server, "/api/limits", token, params=params)
        return found

    if as_json:
        click.echo(json.dumps(fetch(), indent=2))
        return
    console = Console()
    if not watch:
        console.print(render(fetch()))
        return
    view = render(fetch())
    with Live(view, console=console, refresh_per_second=1) as live:
        try:
            while True:
                time.sleep(5)
                try:
                    view = render(fetch())
                    live.update(view)
                except click.ClickException as exc:  # a blip: keep the last view, say so
                    live.update(Group(view, Text(f"(not refreshed: {exc.message})", style="red")))
        except KeyboardInterrupt:
            pass


@limits.group()
def poller() -> None:
    """The opt-in poller of the account's usage endpoint (a token you give; one poll per
    5 minutes across replicas, backing off on 429)."""


@poller.command(name="set")
@server_options
@click.option("--account", help="The account (default: the only one).")
def poller_set(server: str, token: str | None, account: str | None) -> None:
    """Read the account's OAuth access token from standard input and give it to the server
    (kept sealed; never shown again). It needs the ``user:profile`` scope."""
    secret = sys.stdin.read(8192).strip()
    if not secret:
        raise click.UsageError(
            "pipe the token on standard input, e.g. ... | ccsync limits poller set"
        )
    body: dict[str, Any] = {"token": secret}
    if account:
        body["account"] = account
    _show_poller(request("PUT", server, "/api/limits/poller", token, json=body))


@poller.command(name="status")
@server_options
def poller_status(server: str, token: str | None) -> None:
    """Which accounts are polled, and how it went."""
    _show_poller(request("GET", server, "/api/limits/poller", token))


@poller.command(name="remove")
@server_options
@click.option("--account", help="The account (default: the only one with a token).")
def poller_remove(server: str, token: str | None, account: str | None) -> None:
    """Forget an account's token: polling stops."""
    params = {"account": account} if account else {}
    _show_poller(request("DELETE", server, "/api/limits/poller", token, params=params))


def _show_poller(view: dict[str, Any]) -> None:
    accounts = view.get("accounts") or []
    if not accounts:
        click.echo("no account is polled (ccsync limits poller set)")
    for item in accounts:
        state = item.get("lastError") or (
            f"last read {item['lastSuccessAt']}" if item.get("lastSuccessAt") else "not read yet"
        )
        click.echo(f"{item['account']}: {state}; next {item.get('nextPollAt') or 'soon'}")
