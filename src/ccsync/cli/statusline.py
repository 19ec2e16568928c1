"""``ccsync statusline`` through click (``--help``); Claude Code's calls take the fast path."""

from __future__ import annotations

import sys

import click


@click.command()
def statusline() -> None:
    """Read Claude Code's status-line JSON on stdin; print the account's 5-hour window.

    Put it in ~/.claude/settings.json (`ccsync hook install` does):
    "statusLine": {"type": "command", "command": "ccsync statusline"}. It never waits for
    the network: it prints from a cache that a background process refreshes.
    """
    from ccsync.agent.statusline import main

    sys.exit(main())
