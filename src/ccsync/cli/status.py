"""``ccsync status [--watch]``: the account's 5-hour window and its devices, in the terminal."""

from __future__ import annotations

import time
from typing import Any

import click
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from ccsync.agent.statusline import official_percent
from ccsync.cli.client import request, server_options
from ccsync.cli.limits import headline


def _clock(value: str | None) -> str:
    return value[11:16] + "Z" if value else "-"


def _partial(part: dict[str, Any]) -> str:
    """What a cost leaves out: the models no price table knows."""
    unpriced = part.get("unpricedModels") or []
    return f" + unpriced {', '.join(unpriced)}" if unpriced else ""


def render(
    window: dict[str, Any], usage: dict[str, Any], limits: dict[str, Any] | None = None
) -> Group:
    """The binding limit, the window as a few lines, then the devices as a table."""
    lines = Text()
    lead = None if limits is None else headline(limits)
    if lead:
        lines.append(f"{lead}\n", style="bold")
    if window.get("active"):
        lines.append(
            f"5-hour window {_clock(window['start'])} to {_clock(window['end'])}", style="bold"
        )
        minutes = int((window.get("resetInSeconds") or 0) // 60)
        lines.append(f"   resets in {minutes // 60}h{minutes % 60:02d}m\n")
        lines.append(f"{window['tokens']:,} tokens   ${window['costUSD']:,.2f}{_partial(window)}")
        rate = window.get("burnRate")
        if rate:
            lines.append(
                f"   burning {rate['tokensPerMinute']:,.0f} tok/min, ${rate['costPerHour']:,.2f}/h"
            )
        projection = window.get("projection")
        if projection:
            lines.append(
                f"\nat this rate: {projection['totalTokens']:,} tokens, ${projection['totalCost']:,.2f} by the reset"
            )
    else:
        lines.append("No active 5-hour window", style="bold")
    limit = window.get("limit")
    if limit:
        lines.append(
            f"\nlimit {limit['tokens']:,} tokens ({limit['source']}): {limit['percentUsed']:.0f}% used"
        )
    for name, official in (window.get("official") or {}).items():
        age = int(official.get("ageSeconds") or 0)
        lines.append(
            f"\nofficial {name}: {official_percent(official['usedPercentage'])}% "
            f"(from {official['source']}"
            + (f" on {official['deviceId']}" if official.get("deviceId") else "")
            + f", {age // 60} min ago)"
        )
    today = window.get("today") or {}
    lines.append(
        f"\ntoday: {today.get('tokens', 0):,} tokens, ${today.get('costUSD', 0):,.2f}"
        f"{_partial(today)}"
    )
    table = Table(title="Devices", title_justify="left")
    for column in ("device", "online", "window tokens", "share", "today", "last push"):
        table.add_column(
            column, justify="right" if column in ("window tokens", "share", "today") else "left"
        )
    shares = {d["deviceId"]: d for d in window.get("devices", [])}
    for device in usage.get("devices", []):
        share = shares.get(device["deviceId"], {})
        table.add_row(
            device["name"]
            if device.get("name") == device["deviceId"]
            else f"{device['name']} ({device['deviceId']})",
            "yes" if device.get("online") else "no",
            f"{share.get('tokens', 0):,}",
            f"{share.get('share', 0) * 100:.0f}%",
            f"${device.get('today', {}).get('costUSD', 0):,.2f}",
            device.get("lastPush") or "never",
        )
    return Group(lines, table)


@click.command()
@server_options
@click.option("--account", help="The account (default: the only one).")
@click.option("--watch", is_flag=True, help="Keep it on screen, refreshed every 2 seconds.")
def status(server: str, token: str | None, account: str | None, watch: bool) -> None:
    """The binding limit and the account's 5-hour window across every device."""
    params = {"account": account} if account else {}

    def fetch() -> Group:
        window = request("GET", server, "/api/window", token, params=params)
        usage = request("GET", server, "/api/usage", token, params=params)
        limits = request("GET", server, "/api/limits", token, params=params)
        return render(window, usage, limits)

    console = Console()
    if not watch:
        console.print(fetch())
        return
    with Live(fetch(), console=console, refresh_per_second=1) as live:
        try:
            while True:
                time.sleep(2)
                live.update(fetch())
        except KeyboardInterrupt:
            pass
