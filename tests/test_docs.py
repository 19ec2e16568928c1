"""The README documents what the code offers (Datasette's ``test_docs`` is the model): every
environment variable the server reads, every flag of ``ccsync serve``, every command."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest

from ccsync.cli import cli

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SETTINGS = (ROOT / "src" / "ccsync" / "settings.py").read_text()


def _environment() -> list[str]:
    return sorted(set(re.findall(r'env(?:\.get\(|\[)"([A-Z][A-Z0-9_]+)"', SETTINGS)))


@pytest.mark.parametrize("variable", _environment())
def test_every_server_variable_is_documented(variable: str) -> None:
    assert re.search(rf"\b{variable}\b", README), variable


def _commands(group: click.Group, prefix: str = "ccsync") -> list[str]:
    context = click.Context(group)
    found = []
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        path = f"{prefix} {name}"
        found.append(path)
        if isinstance(command, click.Group):
            found += _commands(command, path)
    return found


def test_the_environment_list_is_read_from_the_code() -> None:
    assert {"PORT", "DATABASE_URL", "CCSYNC_ALLOWED_HOSTS"} <= set(_environment())


@pytest.mark.parametrize("command", _commands(cli))
def test_every_command_is_documented(command: str) -> None:
    words = command.split()
    leaf = words[-1]
    # A group's subcommands may be listed together: `ccsync hook install\|uninstall\|status`.
    pattern = re.escape(" ".join(words[:-1])) + r"[^`\n]*\b" + re.escape(leaf) + r"\b"
    assert re.search(pattern, README), command


def test_every_serve_flag_is_documented() -> None:
    serve = cli.get_command(click.Context(cli), "serve")
    assert serve is not None
    flags = [
        opt for param in serve.params for opt in getattr(param, "opts", []) if opt.startswith("--")
    ]
    missing = [flag for flag in flags if f"`{flag}" not in README and flag != "--help"]
    assert missing == []
