"""What a job runs: its command line as an argument vector, and whether it may run.

A job's ``command`` is a string (the seed's API), split into words the way a POSIX shell
splits them (``shlex``: quotes and backslashes group, nothing else is special) and then
executed directly. No shell ever sees it: ``;``, ``|``, ``$(…)``, ``>`` and globs are
ordinary characters of the argument they stand in.

Programs: ``claude`` and ``ccusage`` (bare names, found on the server's ``PATH``) always;
anything else only when the server runs with ``--allow-commands``.
"""

from __future__ import annotations

import itertools
import shlex
from dataclasses import dataclass
from typing import Literal

Program = Literal["claude", "ccusage", "other"]

MAX_COMMAND_CHARS = 8_192
CLAUDE_HEADLESS_FLAGS = frozenset({"-p", "--print"})
CLAUDE_NON_INTERACTIVE = frozenset(
    {"auth", "doctor", "mcp", "update", "--version", "-v", "--help", "-h"}
)
"""First arguments that make ``claude`` run and exit without a prompt."""


class CommandError(ValueError):
    """A command that cannot run; the message says why and what would."""


@dataclass(frozen=True, slots=True)
class Command:
    text: str
    argv: tuple[str, ...]

    @property
    def program(self) -> Program:
        name = self.argv[0]
        if name == "claude":
            return "claude"
        if name == "ccusage":
            return "ccusage"
        return "other"

    @property
    def is_ccusage_blocks_json(self) -> bool:
        """``ccusage blocks --json …``: its output is ingested as the server host's usage."""
        args = self.argv[1:]
        return self.program == "ccusage" and "blocks" in args and ("--json" in args or "-j" in args)

    @property
    def wants_claude_json(self) -> bool:
        args = self.argv
        return self.program == "claude" and (
            "--output-format=json" in args
            or any(a == "--output-format" and b == "json" for a, b in itertools.pairwise(args))
        )


def parse_command(text: str) -> Command:
    """Split ``text`` into words; ``CommandError`` when it has none or cannot be split."""
    if not text.strip():
        raise CommandError("the command is empty; e.g. claude -p 'Reply with OK' --model haiku")
    if len(text) > MAX_COMMAND_CHARS:
        raise CommandError(f"the command is longer than {MAX_COMMAND_CHARS} characters")
    if "\x00" in text:
        raise CommandError("the command contains a NUL character")
    try:
        argv = tuple(shlex.split(text, comments=False, posix=True))
    except ValueError as exc:  # "No closing quotation", "No escaped character"
        raise CommandError(f"cannot split the command into words: {exc}") from None
    if not argv:
        raise CommandError("the command has no words; e.g. claude -p 'Reply with OK'")
    return Command(text=text, argv=argv)


def check_allowed(command: Command, allow_commands: bool) -> None:
    """``CommandError`` unless this server may run ``command``."""
    if command.program == "other" and not allow_commands:
        raise CommandError(
            f"{command.argv[0]!r} is not claude or ccusage: other programs run only when the "
            "server is started with --allow-commands"
        )
    if command.program == "claude":
        args = command.argv[1:]
        headless = any(a in CLAUDE_HEADLESS_FLAGS or a.startswith("--print=") for a in args)
        if not headless and not (args and args[0] in CLAUDE_NON_INTERACTIVE):
            raise CommandError(
                "claude jobs run headless: add -p (--print) and a prompt, e.g. "
                "claude -p 'Reply with OK' --model haiku --output-format json"
            )
