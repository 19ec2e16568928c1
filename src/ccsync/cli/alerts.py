"""``ccsync alerts``: where alerts go (Apprise URLs) and when (rules), a test message, and
the alerts fired so far.

A rule on the command line is ``WINDOW:WHEN``; ``WINDOW`` is ``five_hour``, ``seven_day``,
``seven_day_opus``…, ``seven_day_model`` (every model-scoped week) or ``*``; ``WHEN`` is a
percentage (``80``), ``projected`` (100 % before the reset at the current rate),
``reset`` (a window alerted about has reset) or ``unused<50`` (``unused<50@12h``: under
50 % used 12 hours before the reset; 24 hours without ``@``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import click

from ccsync.cli.client import request, server_options

_UNUSED = re.compile(r"unused<(\d+(?:\.\d+)?)(?:@(\d+)([mhd]))?")
_MINUTES = {"m": 1, "h": 60, "d": 1440}


def parse_rule(text: str) -> dict[str, Any]:
    """``five_hour:80`` → ``{"window": "five_hour", "atPercent": 80}`` (see the module)."""
    window, sep, when = text.partition(":")
    if not sep or not window or not when:
        raise click.BadParameter(f"{text!r}: write WINDOW:WHEN, e.g. five_hour:80")
    rule: dict[str, Any] = {"window": window}
    if when in ("projected", "reset"):
        rule[when] = True
    elif (unused := _UNUSED.fullmatch(when)) is not None:
        rule["unusedBelow"] = float(unused.group(1))
        if unused.group(2):
            rule["beforeResetMinutes"] = int(unused.group(2)) * _MINUTES[unused.group(3)]
    else:
        try:
            rule["atPercent"] = float(when)
        except ValueError:
            raise click.BadParameter(
                f"{text!r}: WHEN is a percentage, projected, reset or unused<N[@12h]"
            ) from None
    return rule


def describe(rule: dict[str, Any]) -> str:
    window = rule.get("window", "*")
    if "atPercent" in rule:
        return f"{window}: at {rule['atPercent']:g} %"
    if rule.get("projected"):
        return f"{window}: projected to run out before the reset"
    if rule.get("reset"):
        return f"{window}: reset (after an alert)"
    minutes = rule.get("beforeResetMinutes", 1440)
    return f"{window}: under {rule['unusedBelow']:g} % used {minutes // 60} h before the reset"


def _show(config: dict[str, Any]) -> None:
    channels = config.get("channels") or []
    click.echo("channels:" + ("" if channels else " none (nothing is sent)"))
    for channel in channels:
        click.echo(f"  {channel}")
    click.echo("rules" + (" (the defaults):" if config.get("defaults") else ":"))
    for rule in config.get("rules") or []:
        click.echo(f"  {describe(rule)}")


@click.group()
def alerts() -> None:
    """Alerts before a limit runs out, sent through Apprise URLs (json://, ntfy://, slack://…)."""


@alerts.command()
@server_options
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
def show(server: str, token: str | None, as_json: bool) -> None:
    """The channels (secrets masked) and the rules in force."""
    config = request("GET", server, "/api/alerts", token)
    if as_json:
        click.echo(json.dumps(config, indent=2))
    else:
        _show(config)


@alerts.command(name="set")
@server_options
@click.option("--channel", "channels", multiple=True, help="An Apprise URL (repeatable).")
@click.option("--rule", "rules", multiple=True, help="WINDOW:WHEN (repeatable); none: defaults.")
def set_alerts(
    server: str, token: str | None, channels: tuple[str, ...], rules: tuple[str, ...]
) -> None:
    """Replace the channels and rules (``--rule`` not given: the default rules)."""
    body = {"channels": list(channels), "rules": [parse_rule(r) for r in rules] or None}
    _show(request("PUT", server, "/api/alerts", token, json=body))


@alerts.command()
@server_options
def test(server: str, token: str | None) -> None:
    """Send a test message to every channel (exit 1 if one did not take it)."""
    result = request("POST", server, "/api/alerts/test", token)
    if not result.get("success"):
        raise click.ClickException(f"not delivered: {result.get('error')}")
    click.echo(f"sent to {result.get('channels')} channel(s)")


@alerts.command()
@server_options
@click.option("--account", help="Only this account's alerts.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
def history(server: str, token: str | None, account: str | None, limit: int, as_json: bool) -> None:
    """The alerts fired, newest first."""
    params: dict[str, Any] = {"limit": limit}
    if account:
        params["account"] = account
    fired = request("GET", server, "/api/alerts/history", token, params=params)
    if as_json:
        click.echo(json.dumps(fired, indent=2))
        return
    if not fired:
        click.echo("no alerts yet")
    for alert in fired:
        mark = "" if alert["status"] == "sent" else f"  [{alert['status']}: {alert.get('error')}]"
        click.echo(f"{alert['firedAt'][:16]}Z  {alert['title']}{mark}")
