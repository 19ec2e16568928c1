"""Commands are split into words like a shell would, then never given to one."""

from __future__ import annotations

import pytest

from ccsync.scheduler.commands import CommandError, check_allowed, parse_command

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
    "text", ["claude -p hi", "claude --print hi", "claude auth status", "claude --version"]
)
def test_claude_runs_headless_or_not_at_all(text: str) -> None:
    check_allowed(parse_command(text), allow_commands=False)


def test_interactive_claude_is_refused_with_the_fix() -> None:
    with pytest.raises(CommandError, match="add -p"):
        check_allowed(parse_command("claude 'hello'"), allow_commands=True)


def test_ccusage_blocks_json_is_recognised() -> None:
    assert parse_command("ccusage blocks --json --offline").is_ccusage_blocks_json
    assert parse_command("ccusage blocks -j").is_ccusage_blocks_json
    assert not parse_command("ccusage blocks").is_ccusage_blocks_json
    assert not parse_command("ccusage daily --json").is_ccusage_blocks_json
