"""``ccsync doctor``: is everything in place? One line per check: ok, or what to do.

The checks, by subject: data.py (the Claude data, the prices), agent.py (the agent's state
and service), server.py (the server, its stores and scheduler), tools.py (``claude``,
``ccusage``, the hook); check.py holds what one check says.
"""

from __future__ import annotations

from datetime import UTC, datetime

import click

from ccsync.agent.config import load_config
from ccsync.cli.doctor.agent import agent_checks, service_checks
from ccsync.cli.doctor.data import data_checks, price_checks
from ccsync.cli.doctor.server import server_checks
from ccsync.cli.doctor.tools import tools_and_hook


@click.command()
@click.option(
    "--server", envvar="CCSYNC_SERVER", help="The server (CCSYNC_SERVER, else agent.json)."
)
@click.option("--token", envvar="CCSYNC_TOKEN", help="Token (CCSYNC_TOKEN, else agent.json).")
@click.option("--claude-dir", "claude_dirs", multiple=True, metavar="DIR")
def doctor(server: str | None, token: str | None, claude_dirs: tuple[str, ...]) -> None:
    """Check the Claude data, the agent, the server, the tools and the hook."""
    config = load_config(server=server, token=token, claude_dirs=claude_dirs)
    data, found = data_checks(config.claude_dirs)
    checks = [
        *data,
        *price_checks(found, datetime.now(UTC).date()),
        *agent_checks(str(config.state_dir)),
        *server_checks(config.server, config.token),
        *tools_and_hook(),
        *service_checks(config),
    ]
    for check in checks:
        mark = (
            click.style("ok  ", fg="green")
            if check.ok
            else click.style("fix ", fg="red" if check.required else "yellow")
        )
        click.echo(
            f"{mark}{check.what}" + ("" if check.ok or not check.advice else f": {check.advice}")
        )
    if any(not c.ok and c.required for c in checks):
        raise SystemExit(1)
