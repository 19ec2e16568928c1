"""The ``ccsync`` command line: thin commands that parse arguments and call the library.

Subcommands live in their own modules and are imported only when they run, so a quick
command (``ccsync statusline``) does not pay for the imports of a slow one.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import NoReturn, TextIO

import click

from ccsync import __version__

# name -> (module, attribute, one-line help)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "agent": ("ccsync.cli.agent", "agent", "Push this device's usage to a server."),
    "cron": ("ccsync.cli.cron", "cron", "Scheduled jobs: list, add, rm, run, history."),
    "device": ("ccsync.cli.device", "device", "Device tokens: add, list, revoke."),
    "doctor": ("ccsync.cli.doctor", "doctor", "Check data, server, tools and hooks."),
    "alerts": (
        "ccsync.cli.alerts",
        "alerts",
        "Alerts before a limit runs out: show, set, test, history.",
    ),
    "hook": (
        "ccsync.cli.hook",
        "hook",
        "Claude Code hooks and status line: install, uninstall, status.",
    ),
    "limits": ("ccsync.cli.limits", "limits", "What is left of every window, across devices."),
    "otel-env": (
        "ccsync.cli.otel_env",
        "otel_env",
        "The environment that makes Claude Code report to a server.",
    ),
    "prices": ("ccsync.cli.prices", "prices", "The price table: update it from LiteLLM."),
    "report": ("ccsync.cli.report", "report", "Usage reports identical to ccusage's."),
    "serve": ("ccsync.cli.serve", "serve", "Run the server (REST + WebSocket)."),
    "status": ("ccsync.cli.status", "status", "The account's 5-hour window and devices."),
    "statusline": (
        "ccsync.cli.statusline",
        "statusline",
        "One line for Claude Code's status line.",
    ),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute, _ = target
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, _, help_) in sorted(_COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ccsync")
def cli() -> None:
    """ccsync: Claude Code token usage, synced across every machine."""


def main(args: list[str] | None = None) -> None:
    """The console script.

    It ends the process without the interpreter's teardown: after a report, freeing a
    few hundred thousand objects one by one takes longer than writing the report.
    Output is flushed and logging shut down first; nothing else is pending by then.
    """
    argv = sys.argv[1:] if args is None else args
    code = 0
    streams = [sys.stdout, sys.stderr]
    try:
        cli.main(args=argv, prog_name="ccsync", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except click.Abort:
        click.echo("Aborted!", err=True)
        code = 1
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:
        # The reader went away (``ccsync report daily | head``): not an error.
        streams = [sys.stderr]
        code = 0
    _fast_exit(code, streams)


def _fast_exit(code: int, streams: list[TextIO]) -> NoReturn:
    for stream in streams:
        try:
            stream.flush()
        except BrokenPipeError:
            pass  # the reader left early; what it read was complete
        except (OSError, ValueError):
            code = code or 1
    logging.shutdown()
    os._exit(code)
