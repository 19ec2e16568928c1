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
    from collections.abc import Callable

    from ccsync.agent.runner import Agent
    from ccsync.agent.service import Definition, Outcome
    from ccsync.cli.progress import ScanProgressBar

ONCE_LOCK = "agent-once.lock"


@click.group(invoke_without_command=True)
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
@click.option(
    "--log-file",
    type=click.Path(path_type=Path, dir_okay=False),
    hidden=True,
    help="Append what it prints to this file (the Windows service has no console).",
)
@click.pass_context
def agent(
    ctx: click.Context,
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
    log_file: Path | None,
) -> None:
    """Follow this device's Claude Code transcripts and push new usage to a ccsync server.

    The first run imports the whole history (with a progress bar); afterwards only what
    was appended is read. Unsent lines wait in a durable outbox, so a restart, a server
    that is down or a lost network loses nothing. `ccsync agent install-service` runs it
    as a service (systemd, launchd, Task Scheduler).
    """
    if ctx.invoked_subcommand is not None:
        return
    from ccsync.logs import configure_logging

    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        sys.stderr = open(log_file, "a", buffering=1, encoding="utf-8")  # noqa: SIM115

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
    if sys.stderr is None or not sys.stderr.isatty():  # no console at all: pythonw.exe
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


@agent.command(name="install-service")
@click.option("--server", help="Remember this server for the service (in agent.json).")
@click.option("--token", help="Remember this device token (agent.json, mode 0600).")
@click.option("--device", help="Remember this device id.")
def install_service(server: str | None, token: str | None, device: str | None) -> None:
    """Run the agent as a service: a systemd user unit (Linux), a launchd agent (macOS) or
    a Task Scheduler task (Windows), started at login and restarted when it stops.

    Installing again changes nothing; `uninstall-service` removes it. Server and token are
    kept in agent.json (0600), never in the service definition."""
    from ccsync.agent.config import store_config
    from ccsync.agent.service import definition, install

    config = load_config(server=server, token=token, device=device)
    if server or token or device:
        click.echo(f"Saved the agent's settings in {store_config(config)}.")
    _report(install(_definition(config.state_dir, definition)))


@agent.command(name="uninstall-service")
def uninstall_service() -> None:
    """Stop the agent's service and remove its definition (agent.json stays: the hook
    uses it too)."""
    from ccsync.agent.service import definition, uninstall

    _report(uninstall(_definition(load_config().state_dir, definition)))


@agent.command(name="service-status")
def service_status() -> None:
    """Whether the agent's service is installed and running, and what it runs."""
    from ccsync.agent.service import definition, read_status

    spec = _definition(load_config().state_dir, definition)
    found = read_status(spec)
    if not found.installed and not found.registered:
        click.echo(f"not installed ({spec.path}): `ccsync agent install-service`")
        raise SystemExit(3)
    click.echo(f"installed: {spec.path}" if found.installed else f"registered: {found.detail}")
    if found.installed and not found.current:
        click.echo("  (not what install-service writes now: run it again to update it)")
    if found.program:
        click.echo(f"runs: {' '.join(found.program)}")
    click.echo(f"{'running' if found.running else 'not running'}: {found.detail}")
    if not found.running:
        click.echo(f"start it: {spec.start_hint}")
        raise SystemExit(1)


def _definition(state_dir: Path, build: Callable[..., Definition]) -> Definition:
    try:
        return build(state_dir=str(state_dir))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def _report(outcome: Outcome) -> None:
    for line in outcome.lines:
        click.echo(line)
    if not outcome.ok:
        raise SystemExit(1)
