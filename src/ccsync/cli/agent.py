"""``ccsync agent``: follow this device's transcripts and push new usage to a server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ccsync.agent.config import AgentConfig, load_config
from ccsync.agent.lock import try_lock
from ccsync.private import private_dir

if TYPE_CHECKING:
    from ccsync.agent.runner import Agent
    from ccsync.cli.progress import ScanProgressBar

ONCE_LOCK = "agent-once.lock"


@click.command()
@click.option(
    "--server",
    help="The ccsync server (CCSYNC_SERVER, else agent.json, else http://127.0.0.1:3000).",
)
@click.option("--token", help="This device's token (CCSYNC_TOKEN); not needed in local mode.")
@click.option("--device", help="This device's id (CCSYNC_DEVICE; default the host name).")
@click.option("--name", help="A friendlier name for this device, shown by the server.")
@click.option(
    "--claude-dir",
    "claude_dirs",
    multiple=True,
    metavar="DIR",
    help="Claude data directories (repeatable).",
)
@click.option("--once", is_flag=True, help="Push what is new, then exit (for hooks and cron).")
@click.option(
    "--quiet",
    is_flag=True,
    help="Print nothing; with --once, return at once and push in the background.",
)
@click.option(
    "--source",
    type=click.Choice(["claude", "ccusage"]),
    default="claude",
    show_default=True,
    help="claude: tail the transcripts; ccusage: push `ccusage blocks --json` when it changes.",
)
@click.option(
    "--ccusage",
    "ccusage_command",
    default="ccusage",
    show_default=True,
    help="The ccusage program (--source ccusage).",
)
@click.option(
    "--state-dir",
    type=click.Path(path_type=Path),
    help="Offsets, outbox, caches (CCSYNC_STATE_DIR).",
)
@click.option("--batch", type=click.IntRange(1, 20_000), default=2_000, hidden=True)
@click.option("--skip-if-busy", is_flag=True, hidden=True)
def agent(
    server: str | None,
    token: str | None,
    device: str | None,
    name: str | None,
    claude_dirs: tuple[str, ...],
    once: bool,
    quiet: bool,
    source: str,
    ccusage_command: str,
    state_dir: Path | None,
    batch: int,
    skip_if_busy: bool,
) -> None:
    """Follow this device's Claude Code transcripts and push new usage to a ccsync server.

    The first run imports the whole history (with a progress bar); afterwards only what
    was appended is read. Unsent lines wait in a durable outbox, so a restart, a server
    that is down or a lost network loses nothing.
    """
    from ccsync.logs import configure_logging

    config = load_config(
        server=server, token=token, device=device, state_dir=state_dir, claude_dirs=claude_dirs
    )
    if quiet:
        logging.disable(logging.CRITICAL)
    else:
        configure_logging("info")
    private_dir(config.state_dir)
    if once and skip_if_busy and not try_lock(config.state_dir / ONCE_LOCK):
        return  # another --once is pushing right now
    code = asyncio.run(_main(config, name, once, quiet, source, ccusage_command, batch))
    sys.exit(0 if quiet else code)


async def _main(
    config: AgentConfig,
    name: str | None,
    once: bool,
    quiet: bool,
    source: str,
    ccusage_command: str,
    batch: int,
) -> int:
    from ccsync.agent.runner import Agent
    from ccsync.usage.discovery import NoDataDirsError, claude_account, resolve_data_dirs

    try:
        roots = resolve_data_dirs(config.claude_dirs)
    except NoDataDirsError as exc:
        if not quiet:
            click.echo(f"ccsync agent: {exc}", err=True)
        return 2
    account = claude_account() or "default"
    runner = Agent(config, roots, account, batch=batch, name=name, http_timeout=10 if once else 30)
    try:
        if source == "ccusage":
            return await _ccusage(runner, ccusage_command, once, quiet)
        progress = None if quiet else _progress()
        if once:
            with progress or contextlib.nullcontext():
                result = await runner.sync_once(progress)
            if not quiet:
                click.echo(
                    f"read {result.read.entries} new entries from {result.read.files} files; "
                    f"sent {result.sent}; {result.left} waiting"
                    + _count("; {} official limit reading{} sent", result.limits)
                    + _count("; {} limit reading{} waiting", result.limits_left)
                    + (f" ({result.error})" if result.error else ""),
                    err=True,
                )
                for reason in result.resynced:
                    click.echo(f"read everything again: {reason}", err=True)
            return 0 if result.left == 0 and result.limits_left == 0 else 1
        if not quiet:
            click.echo(
                f"ccsync agent: {config.device} → {config.server} "
                f"({', '.join(map(str, roots)) or 'no Claude data yet'})",
                err=True,
            )
        with progress or contextlib.nullcontext():
            await runner.read(progress)  # the first import (the whole history, the first time)
        await runner.run()
        return 0
    finally:
        await runner.aclose()


def _count(text: str, count: int) -> str:
    """``text`` with ``count`` and a plural ending, or nothing for none."""
    return text.format(count, "" if count == 1 else "s") if count else ""


def _progress() -> ScanProgressBar | None:
    if not sys.stderr.isatty():
        return None
    from ccsync.cli.progress import ScanProgressBar

    return ScanProgressBar("Importing Claude Code history")


async def _ccusage(runner: Agent, command: str, once: bool, quiet: bool) -> int:
    from ccsync.agent.ccusage_source import CcusageError, push_blocks
    from ccsync.agent.transport import DeliveryError

    argv = [*shlex.split(command), "blocks", "--json"]
    while True:
        try:
            pushed = await push_blocks(runner.state, runner.http, argv)
            if not quiet and pushed.changed:
                click.echo(f"pushed {pushed.blocks} blocks", err=True)
            failed = False
        except (CcusageError, DeliveryError) as exc:
            if not quiet:
                click.echo(f"ccsync agent: {exc}", err=True)
            failed = True
        if once:
            return 1 if failed else 0
        await asyncio.sleep(60)
