"""Commands are split into words like a shell would, then never given to one."""

from __future__ import annotations

import pytest

from ccsync.scheduler.commands import (
    CLAUDE_ALLOWED_FLAGS,
    CLAUDE_REFUSED_FLAGS,
    CLAUDE_SUBCOMMANDS,
    CommandError,
    check_allowed,
    parse_command,
)

HOSTILE = """claude -p 'say "hi"; rm -rf ~ && echo $(whoami) `id` | tee /tmp/x > /dev/null &' --model haiku"""


def test_a_prompt_with_shell_syntax_is_one_literal_argument() -> None:
    command = parse_command(HOSTILE)
    assert command.argv == (
        "claude",
        "-p",
        'say "hi"; rm -rf ~ && echo $(whoami) `id` | tee /tmp/x > /dev/null &',
        "--model",
        "haiku",
    )
    assert command.program == "claude"


@pytest.mark.parametrize(
    ("text", "argv"),
    [
        ("ccusage blocks --json", ("ccusage", "blocks", "--json")),
        ('claude -p "a b"  c', ("claude", "-p", "a b", "c")),
        (r"claude -p a\ b", ("claude", "-p", "a b")),
        ("claude -p '#not a comment'", ("claude", "-p", "#not a comment")),
        ("echo *", ("echo", "*")),  # no globbing
        ("echo ~ $HOME", ("echo", "~", "$HOME")),  # no expansion
    ],
)
def test_words(text: str, argv: tuple[str, ...]) -> None:
    assert parse_command(text).argv == argv


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("claude -p 'unclosed", "No closing quotation"),
        ("claude\x00", "NUL"),
        ("x" * 9000, "longer than"),
    ],
)
def test_unusable_commands_say_why(text: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        parse_command(text)


@pytest.mark.parametrize(
    ("text", "program"),
    [
        ("claude -p hi", "claude"),
        ("ccusage daily", "ccusage"),
        ("/usr/bin/claude -p hi", "other"),  # only the bare names, found on PATH
        ("FOO=1 claude -p hi", "other"),  # no shell: an assignment is a program name
        ("python -c 1", "other"),
    ],
)
def test_programs(text: str, program: str) -> None:
    assert parse_command(text).program == program


def test_other_programs_need_allow_commands() -> None:
    command = parse_command("python -c 'print(1)'")
    with pytest.raises(CommandError, match="--allow-commands"):
        check_allowed(command, allow_commands=False)
    check_allowed(command, allow_commands=True)


@pytest.mark.parametrize(
    "text",
    [
        "claude -p hi",
        "claude --print hi",
        "claude hi -p",  # the prompt stands anywhere
        "claude --model haiku -p hi --output-format json",
        "claude -p --model=haiku --output-format=stream-json --verbose hi",
        "claude -p hi --fallback-model sonnet --max-turns 3 --max-budget-usd 0.5",
        "claude -p hi --append-system-prompt 'Be brief.' --system-prompt=terse",
        """claude -p hi --json-schema '{"type":"object"}' --output-format json""",
        "claude -p hi --include-partial-messages --output-format stream-json --verbose",
        "claude -p hi --output-format stream-json --output-format json",  # the last one counts
        "claude -p --output-format json -- '--output-format=stream-json'",
        "claude -p 'Reply with OK.' --model haiku --max-turns 1 --output-format stream-json --verbose",
        "claude -p hi --no-session-persistence --bare --disable-slash-commands",
        "claude -p -- '--settings is just words here'",
        "claude -p -",
        "claude -p hi --append-system-prompt=--not-a-flag",
        "claude auth status",
        "claude auth status --json",
        "claude --version",
        "claude -v",
        "claude --help",
    ],
)
def test_confined_claude_jobs_use_the_allow_list(text: str) -> None:
    check_allowed(parse_command(text), allow_commands=False)


def test_every_allowed_flag_is_documented_and_none_is_refused() -> None:
    assert all(flag.why for flag in CLAUDE_ALLOWED_FLAGS.values())
    assert not set(CLAUDE_ALLOWED_FLAGS) & set(CLAUDE_REFUSED_FLAGS)


@pytest.mark.parametrize("flag", sorted(CLAUDE_REFUSED_FLAGS))
def test_refused_flags_are_named_with_the_way_out(flag: str) -> None:
    forms = [f"claude -p hi {flag}", f"claude -p hi {flag} x"]
    if flag.startswith("--"):
        forms.append(f"claude {flag}=x -p hi")
    for text in forms:
        with pytest.raises(CommandError) as refused:
            check_allowed(parse_command(text), allow_commands=False)
        message = str(refused.value)
        assert f"claude flag {flag} is refused" in message and "--allow-commands" in message
        assert CLAUDE_REFUSED_FLAGS[flag] in message
    check_allowed(parse_command(f"claude -p hi {flag}"), allow_commands=True)


@pytest.mark.parametrize(
    "flag", ["--no-such-flag", "--dangerously-skip-permission", "-x", "-pv", "-p=hi", "--Model"]
)
def test_unknown_flags_are_refused(flag: str) -> None:
    with pytest.raises(CommandError, match=f"claude flag {flag} is refused: it is not on"):
        check_allowed(parse_command(f"claude -p hi {flag}"), allow_commands=False)


@pytest.mark.parametrize("subcommand", sorted(CLAUDE_SUBCOMMANDS))
def test_subcommands_are_refused_even_as_a_prompt(subcommand: str) -> None:
    for text in (f"claude {subcommand} x", f"claude --model haiku {subcommand}"):
        with pytest.raises(CommandError, match=f"claude {subcommand} is refused"):
            check_allowed(parse_command(text), allow_commands=False)
    with pytest.raises(CommandError, match=f"take {subcommand!r} as its {subcommand} subcommand"):
        check_allowed(parse_command(f"claude -p {subcommand}"), allow_commands=False)
    check_allowed(parse_command(f"claude -p 'about {subcommand}'"), allow_commands=False)
    check_allowed(parse_command(f"claude {subcommand} x"), allow_commands=True)


def test_the_attack_commands_are_refused() -> None:
    """Finding B3: the hostile review's commands, refused without --allow-commands and
    naming the flag."""
    hooks = """'{"hooks":{"SessionStart":[{"hooks":[{"type":"command","command":"touch p"}]}]}}'"""
    mcp = """'{"mcpServers":{"x":{"command":"sh","args":["-c","id > p"]}}}'"""
    for text, named in (
        ("claude -p x --dangerously-skip-permissions", "--dangerously-skip-permissions"),
        (f"claude -p x --settings {hooks}", "--settings"),
        (f"claude -p x --mcp-config {mcp}", "--mcp-config"),
        ("claude mcp add -s user evil -- sh -c 'touch p'", "claude mcp"),
        ("claude update", "claude update"),
    ):
        with pytest.raises(CommandError, match=named):
            check_allowed(parse_command(text), allow_commands=False)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("claude 'hello'", "add -p"),
        ("claude --model haiku", "add -p"),
        ("claude -p", "needs a prompt"),
        ("claude -p '  '", "needs a prompt"),
        ("claude --print=hi", "--print takes no value"),
        ("claude -p hi --verbose=yes", "--verbose takes no value"),
        ("claude -p hi --model", "--model needs a value"),
        ("claude -p hi --model --settings x", "looks like a flag"),
        ("claude -p hi --append-system-prompt mcp", "looks like a flag or a subcommand"),
        ("claude -p hi --output-format yaml", "one of text, json, stream-json"),
        ("claude -p hi --max-turns 0", "whole number"),
        ("claude -p hi --max-turns 1.5", "whole number"),
        ("claude -p hi --max-budget-usd -1", "looks like a flag"),
        ("claude -p hi --max-budget-usd=nan", "positive number"),
        ("claude -p hi --model ''", "some text"),
        ("claude -p one two", "one prompt"),
        ("claude -p one -- two", "one prompt"),
        ("claude -p hi --version", "stands alone"),
        ("claude auth login", "claude auth is refused"),
        ("claude auth status --verbose", "claude auth is refused"),
        # what claude itself refuses before it sends anything (2.1.332)
        ("claude -p hi --output-format stream-json", "stream-json without --verbose"),
        ("claude -p hi --output-format=json --output-format=stream-json", "without --verbose"),
        ("claude -p hi --include-partial-messages", "without --output-format stream-json"),
        (
            "claude -p hi --include-partial-messages --output-format json --verbose",
            "without --output-format stream-json",
        ),
        ("claude -p hi --bg", "background session"),
        ("claude -p hi --plugin-url=x", "downloads and loads a plugin"),
        ("claude purge /home", "deletes a project's Claude Code data"),
    ],
)
def test_confined_claude_mistakes_say_what_to_write(text: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        check_allowed(parse_command(text), allow_commands=False)


def test_interactive_claude_is_refused_with_the_fix() -> None:
    with pytest.raises(CommandError, match="add -p"):
        check_allowed(parse_command("claude 'hello'"), allow_commands=True)


def test_ccusage_blocks_json_is_recognised() -> None:
    assert parse_command("ccusage blocks --json --offline").is_ccusage_blocks_json
    assert parse_command("ccusage blocks -j").is_ccusage_blocks_json
    assert not parse_command("ccusage blocks").is_ccusage_blocks_json
    assert not parse_command("ccusage daily --json").is_ccusage_blocks_json
