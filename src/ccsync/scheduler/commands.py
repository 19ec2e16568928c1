"""What a job runs: its command line as an argument vector, and whether it may run.

A job's ``command`` is one string (as the REST API takes it), split into words as a POSIX shell
splits them (``shlex``: quotes and backslashes group, nothing else is special) and then
executed directly. No shell ever sees it: ``;``, ``|``, ``$(…)``, ``>`` and globs are
ordinary characters of the argument they stand in.

Programs: ``claude`` and ``ccusage`` (bare names, found on the server's ``PATH``) always;
anything else only when the server runs with ``--allow-commands``.

``claude`` jobs are *confined* unless the server runs with ``--allow-commands``: their
words are parsed the way Claude Code's own parser reads them (``--flag value`` and
``--flag=value``, ``-p`` anywhere, the prompt anywhere; ``--print=VALUE`` is refused, as
claude refuses it) and may use only the flags of ``CLAUDE_ALLOWED_FLAGS``, or be exactly
one of ``CLAUDE_STANDALONE``. Every flag of the table was checked against the real
Claude Code 2.1.332 (``claude --help``, and ``-p`` runs against a stand-in API), and so
are the combinations it refuses (``stream-json`` without ``--verbose``,
``--include-partial-messages`` without ``stream-json``). Anything that can
run programs, load settings, plugins or MCP servers, widen file access, change
permissions or tools, or reach other sessions is refused with the flag's name, and so is
any flag this table does not know. The check runs when a job is created or changed, when
a command is validated, and again right before each run (a job stored by an older
version does not run a flag that is refused now).
"""

from __future__ import annotations

import itertools
import math
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

Program = Literal["claude", "ccusage", "other"]

MAX_COMMAND_CHARS = 8_192
LIFTED_BY = "the server's --allow-commands lifts this restriction"
EXAMPLE = "claude -p 'Reply with OK' --model haiku --output-format json"


class CommandError(ValueError):
    """A command that cannot run; the message says why and what would."""


def _one_of(*choices: str) -> Callable[[str], str | None]:
    def check(value: str) -> str | None:
        return None if value in choices else f"one of {', '.join(choices)}"

    return check


def _whole_number(value: str) -> str | None:
    return (
        None
        if value.isascii() and value.isdigit() and 1 <= int(value) <= 10_000
        else ("a whole number from 1 to 10000")
    )


def _amount(value: str) -> str | None:
    try:
        amount = float(value)
    except ValueError:
        amount = math.nan
    return None if math.isfinite(amount) and amount > 0 else "a positive number of dollars"


def _text(value: str) -> str | None:
    return None if value.strip() else "some text"


@dataclass(frozen=True, slots=True)
class ClaudeFlag:
    """A flag a confined ``claude`` job may give."""

    takes_value: bool
    why: str
    """Why it is safe (the documentation's table)."""
    check: Callable[[str], str | None] | None = None
    """The value's rule: ``None`` when fine, else what the value must be."""


_HEADLESS = ClaudeFlag(False, "headless: print the answer and exit (`--print=…` is refused)")
_STREAM_JSON = "stream-json"
_MODEL = ClaudeFlag(True, "which model answers", _text)

CLAUDE_ALLOWED_FLAGS: Final[Mapping[str, ClaudeFlag]] = {
    # headless mode: the only way a job runs claude (interactive sessions wait for a terminal)
    "-p": _HEADLESS,
    "--print": _HEADLESS,
    # which model answers, and which one when it is overloaded
    "--model": _MODEL,
    "--fallback-model": _MODEL,
    # the shape of what is printed: text, one JSON result, or JSON lines
    "--output-format": ClaudeFlag(
        True, "text, json or stream-json output", _one_of("text", "json", "stream-json")
    ),
    # more of the same output (stream-json needs it; json prints an array of every message)
    "--verbose": ClaudeFlag(False, "prints every message"),
    # token-by-token events in stream-json output (claude refuses it with any other format)
    "--include-partial-messages": ClaudeFlag(False, "partial messages in stream-json"),
    # limits: they only make a run stop sooner
    "--max-turns": ClaudeFlag(True, "stops after N agentic turns", _whole_number),
    "--max-budget-usd": ClaudeFlag(True, "stops at a spend in dollars", _amount),
    # text given to the model: words, never files or programs
    "--append-system-prompt": ClaudeFlag(True, "text added to the system prompt", _text),
    "--system-prompt": ClaudeFlag(True, "text that replaces the system prompt", _text),
    "--json-schema": ClaudeFlag(True, "a JSON schema the answer is validated against", _text),
    # doing less: no transcript written, no hooks/plugins/MCP/CLAUDE.md, no slash commands
    "--no-session-persistence": ClaudeFlag(False, "writes no session transcript"),
    # (--bare logs in with ANTHROPIC_API_KEY only: never with the subscription's login)
    "--bare": ClaudeFlag(False, "skips hooks, plugins, MCP servers and CLAUDE.md"),
    "--disable-slash-commands": ClaudeFlag(False, "turns skills and slash commands off"),
}
"""The flags of a confined ``claude`` job, each with whether it takes a value."""

CLAUDE_STANDALONE: Final = frozenset(
    {
        ("--version",),
        ("-v",),
        ("--help",),
        ("-h",),
        ("auth", "status"),
        ("auth", "status", "--json"),
        ("auth", "status", "--text"),
    }
)
"""Whole argument lists (after ``claude``) that print something and exit, read-only."""

CLAUDE_SUBCOMMANDS: Final[Mapping[str, str]] = {
    "agents": "it manages background agents",
    "attach": "it opens a background session",
    "auth": "it changes claude's login (only `claude auth status` may run)",
    "auto-mode": "it changes auto mode's configuration",
    "config": "it changes claude's settings",
    "doctor": "it checks and repairs the installation",
    "gateway": "it runs a gateway server",
    "import": "it imports another agent's configuration",
    "install": "it installs software",
    "kill": "it stops a background session",
    "logs": "it prints another session's output",
    "mcp": "it adds and runs MCP servers, which are programs",
    "migrate-installer": "it changes the installation",
    "plugin": "it installs plugins, whose hooks and servers are programs",
    "plugins": "it installs plugins, whose hooks and servers are programs",
    "purge": "it deletes a project's Claude Code data",
    "remote-control": "it lets another machine drive claude",
    "respawn": "it restarts background sessions",
    "rm": "it removes a background session and its worktree",
    "setup-token": "it makes a login token",
    "stop": "it stops a background session",
    "ultrareview": "it starts a cloud review",
    "update": "it installs software",
    "upgrade": "it installs software",
}
"""Words claude takes as a subcommand when they come first among the non-flag words, with
the reason jobs may not run them (2.1.332's commands, and older ones'). Refused as a
prompt too: 2.1.332 reads ``claude -p update`` as a prompt, but an older claude updated
itself."""

CLAUDE_NON_INTERACTIVE: Final = frozenset(CLAUDE_SUBCOMMANDS) | {"--version", "-v", "--help", "-h"}
"""First words that make claude run and exit without a prompt (with ``--allow-commands``)."""

CLAUDE_REFUSED_FLAGS: Final[Mapping[str, str]] = {
    "--dangerously-skip-permissions": "it lets claude run any tool without asking",
    "--allow-dangerously-skip-permissions": "it lets claude run any tool without asking",
    "--permission-mode": "it changes what claude may do without asking",
    "--permission-prompt-tool": "it hands permission decisions to an MCP tool",
    "--settings": "it loads settings, whose hooks run programs",
    "--setting-sources": "it chooses which settings (and hooks) load",
    "--mcp-config": "it starts MCP servers, which are programs",
    "--strict-mcp-config": "it chooses which MCP servers start",
    "--mcp-debug": "it configures MCP servers",
    "--plugin-dir": "it loads plugins, whose hooks and servers are programs",
    "--add-dir": "it widens the files claude may read and change",
    "--allowedTools": "it grants tools (Bash among them) without asking",
    "--allowed-tools": "it grants tools (Bash among them) without asking",
    "--disallowedTools": "it changes the tool permissions",
    "--disallowed-tools": "it changes the tool permissions",
    "--tools": "it changes the tools claude has",
    "--agents": "it defines agents with their own tools and permissions",
    "--agent": "it selects an agent with its own tools and permissions",
    "--ide": "it connects claude to an IDE",
    "--chrome": "it connects claude to a browser",
    "--continue": "it continues another session",
    "-c": "it continues another session",
    "--resume": "it resumes another session",
    "-r": "it resumes another session",
    "--fork-session": "it works on another session",
    "--session-id": "it names the session, which may be another one",
    "--from-pr": "it resumes a session from a pull request",
    "--teleport": "it resumes a remote session",
    "--remote": "it starts a remote session",
    "--system-prompt-file": "it reads a file",
    "--append-system-prompt-file": "it reads a file",
    "--debug": "it writes debug logs",
    "-d": "it writes debug logs",
    "--debug-file": "it writes a file",
    "--input-format": "jobs have no input stream",
    "--replay-user-messages": "jobs have no input stream",
    "--betas": "it changes the API requests",
    "--worktree": "it creates git worktrees",
    "-w": "it creates git worktrees",
    "--tmux": "it starts terminal sessions",
    "--init": "it runs setup hooks",
    "--init-only": "it runs setup hooks",
    "--maintenance": "it runs maintenance hooks",
    "--file": "it downloads files",
    "--bg": "it starts a background session that outlives the run",
    "--background": "it starts a background session that outlives the run",
    "--cloud": "it starts a cloud session",
    "--environment": "it starts a cloud session",
    "--desktop": "it opens the desktop app",
    "--remote-control": "it lets another machine drive claude",
    "--plugin-url": "it downloads and loads a plugin, whose hooks and servers are programs",
    "--permission-prompts": "it changes who answers permission prompts",
    "--brief": "it gives claude a tool",
    "--version": "it stands alone: claude --version",
    "-v": "it stands alone: claude -v",
    "--help": "it stands alone: claude --help",
    "-h": "it stands alone: claude -h",
}
"""Flags known to be refused, with the reason the error gives (an unknown flag is refused too)."""


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


def parse_command(text: str) -> Command:
    """Split ``text`` into words; ``CommandError`` when it has none or cannot be split."""
    if not text.strip():
        raise CommandError(f"the command is empty; e.g. {EXAMPLE}")
    if len(text) > MAX_COMMAND_CHARS:
        raise CommandError(f"the command is longer than {MAX_COMMAND_CHARS} characters")
    if "\x00" in text:
        raise CommandError("the command contains a NUL character")
    try:
        argv = tuple(shlex.split(text, comments=False, posix=True))
    except ValueError as exc:  # "No closing quotation", "No escaped character"
        raise CommandError(f"cannot split the command into words: {exc}") from None
    if not argv:
        raise CommandError(f"the command has no words; e.g. {EXAMPLE}")
    return Command(text=text, argv=argv)


def check_allowed(command: Command, allow_commands: bool) -> None:
    """``CommandError`` unless this server may run ``command``."""
    if command.program == "other" and not allow_commands:
        raise CommandError(
            f"{command.argv[0]!r} is not claude or ccusage: other programs run only when the "
            "server is started with --allow-commands"
        )
    if command.program != "claude":
        return
    args = command.argv[1:]
    if allow_commands:
        headless = any(a in ("-p", "--print") for a in args)
        if not headless and not (args and args[0] in CLAUDE_NON_INTERACTIVE):
            raise _not_headless()
        return
    if args in CLAUDE_STANDALONE:
        return
    check_claude_args(args)


def check_claude_args(args: tuple[str, ...]) -> None:
    """``CommandError`` unless ``args`` (after ``claude``) are a confined headless request."""
    if args and args[0] in CLAUDE_SUBCOMMANDS:
        raise _subcommand(args[0])
    headless = False
    operands: list[str] = []
    index = 0
    while index < len(args):
        word = args[index]
        index += 1
        if word == "--":  # every later word is a prompt word, whatever it looks like
            operands.extend(args[index:])
            break
        if not word.startswith("-") or word == "-":
            operands.append(word)
            continue
        name, has_value, value = word.partition("=") if word.startswith("--") else (word, "", "")
        flag = CLAUDE_ALLOWED_FLAGS.get(name)
        if flag is None:
            raise _refused(name)
        if not flag.takes_value:
            if has_value:
                raise CommandError(f"claude flag {name} takes no value: write {name}, not {word}")
            headless = headless or flag is _HEADLESS
            continue
        if not has_value:
            if index >= len(args):
                raise CommandError(f"claude flag {name} needs a value, e.g. {name} VALUE")
            value = args[index]
            index += 1
            if value.startswith("-") or value in CLAUDE_SUBCOMMANDS:
                raise CommandError(
                    f"the value of claude flag {name} looks like a flag or a subcommand "
                    f"({value!r}): write it as {name}={value}"
                )
        if flag.check is not None and (rule := flag.check(value)) is not None:
            raise CommandError(f"claude flag {name} takes {rule}, not {value!r}")
    if operands and operands[0] in CLAUDE_SUBCOMMANDS:
        if not headless:
            raise _subcommand(operands[0])
        raise CommandError(
            f"claude would take {operands[0]!r} as its {operands[0]} subcommand, not as a "
            f"prompt: jobs may not run it ({LIFTED_BY}); reword the prompt"
        )
    if not headless:
        raise _not_headless()
    _check_output_flags(args)
    if not operands or not operands[0].strip():
        raise CommandError(f"claude -p needs a prompt, e.g. {EXAMPLE}")
    if len(operands) > 1:
        words = ", ".join(repr(w) for w in operands)
        raise CommandError(
            f"claude takes one prompt, but the command has {len(operands)} words outside "
            f"flags ({words}): quote the prompt"
        )


def _check_output_flags(args: tuple[str, ...]) -> None:
    """The combinations claude itself refuses (exit 1 before any request)."""
    if "--" in args:  # the words after it are the prompt's
        args = args[: args.index("--")]
    formats = [
        word.partition("=")[2] if word.startswith("--output-format=") else value
        for word, value in itertools.pairwise((*args, ""))
        if word == "--output-format" or word.startswith("--output-format=")
    ]
    streamed = bool(formats) and formats[-1] == _STREAM_JSON
    if streamed and "--verbose" not in args:
        raise CommandError(
            "claude refuses --output-format stream-json without --verbose: add --verbose"
        )
    if "--include-partial-messages" in args and not streamed:
        raise CommandError(
            "claude refuses --include-partial-messages without --output-format stream-json"
        )


def _refused(name: str) -> CommandError:
    reason = CLAUDE_REFUSED_FLAGS.get(name, "it is not on the allow-list of claude jobs")
    allowed = ", ".join(sorted(CLAUDE_ALLOWED_FLAGS))
    return CommandError(
        f"claude flag {name} is refused: {reason}. Jobs may use {allowed} ({LIFTED_BY})"
    )


def _subcommand(name: str) -> CommandError:
    return CommandError(
        f"claude {name} is refused: {CLAUDE_SUBCOMMANDS[name]}. Jobs run claude headless "
        f"(-p and a prompt) ({LIFTED_BY})"
    )


def _not_headless() -> CommandError:
    return CommandError(f"claude jobs run headless: add -p (--print) and a prompt, e.g. {EXAMPLE}")
