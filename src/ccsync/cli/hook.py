"""``ccsync hook install|uninstall|status``."""

from __future__ import annotations

import click

from ccsync.agent.config import load_config, store_config
from ccsync.agent.hook import ClaudeSettingsError, install, settings_path, status, uninstall

_project = click.option(
    "--project", is_flag=True, help="This project's .claude/settings.json instead of yours."
)


@click.group()
def hook() -> None:
    """Claude Code integration: a hook that pushes usage before each prompt, and the status line."""


@hook.command(name="install")
@_project
@click.option("--no-statusline", is_flag=True, help="Leave the status line alone.")
@click.option("--server", help="Remember this server for the hook and the status line.")
@click.option("--token", help="Remember this device token (kept in a 0600 file).")
@click.option("--device", help="Remember this device id.")
def install_command(
    project: bool, no_statusline: bool, server: str | None, token: str | None, device: str | None
) -> None:
    """Merge the hooks (and the status line) into Claude Code's settings.json."""
    config = load_config(server=server, token=token, device=device)
    if server or token or device:
        click.echo(f"Saved the agent's settings in {store_config(config)}.")
    path = settings_path(project)
    try:
        backup = install(path, config.state_dir, statusline=not no_statusline)
    except (ClaudeSettingsError, ValueError) as exc:  # ValueError: no command fits the path
        raise click.ClickException(str(exc)) from None
    if backup is None:
        click.echo(f"Already installed in {path}.")
    else:
        click.echo(
            f"Installed in {path}" + (f" (backup: {backup})" if backup != path else "") + "."
        )


@hook.command(name="uninstall")
@_project
def uninstall_command(project: bool) -> None:
    """Remove exactly what install added (and put back a status line it replaced)."""
    path = settings_path(project)
    try:
        backup = uninstall(path, load_config().state_dir)
    except ClaudeSettingsError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Nothing of ccsync in {path}." if backup is None else f"Removed from {path}.")


@hook.command(name="status")
@_project
def status_command(project: bool) -> None:
    """Whether the hooks and the status line are installed."""
    path = settings_path(project)
    try:
        found = status(path)
    except ClaudeSettingsError as exc:
        raise click.ClickException(str(exc)) from None
    for event, present in found.hooks.items():
        click.echo(f"{'ok ' if present else 'no '} {event} hook")
    refresh = (
        f" (refreshed every {found.refresh_interval:g} s while idle)"
        if found.statusline and found.refresh_interval is not None
        else ""
    )
    click.echo(f"{'ok ' if found.statusline else 'no '} status line{refresh}")
    click.echo(f"    ({path})")
    if not found.installed:
        raise SystemExit(1)
