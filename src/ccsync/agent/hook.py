"""``ccsync hook install|uninstall|status``: Claude Code's settings.json, edited with care.

Install merges in a ``UserPromptSubmit`` and a ``SessionStart`` hook that run
``ccsync agent --once --quiet`` (it returns at once and pushes in the background, prints
nothing and exits 0, so a prompt is never held up or blocked), and makes ``ccsync
statusline`` the status line, re-run every ``REFRESH_SECONDS`` while the session is idle
(``refreshInterval``, seconds, Claude Code ≥ 2.1.97: the countdown and the device count
stay fresh). Every other setting is kept; the file is backed up first and replaced
atomically; installing twice changes nothing; uninstall removes exactly what install added
and puts back a status line it replaced.

The command is this Python interpreter by absolute path with ``-m ccsync`` (no shell
features: no ``&&``, no variables), quoted for the shell Claude Code runs it with: ``sh -c``
on Linux and macOS (``shlex``), Git Bash or ``cmd.exe`` on Windows (double quotes as
``subprocess.list2cmdline`` writes them, which both read alike; see ``windows_command``).
An install from another interpreter moves ccsync's hooks to it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ccsync import platforms

HOOK_ARGS = "agent --once --quiet"
STATUSLINE_ARGS = "statusline"
HOOK_TIMEOUT = 15
REFRESH_SECONDS = 30
"""``statusLine.refreshInterval``: Claude Code runs the status line again this often (in
seconds, at least 1) even when nothing happens in the session."""
EVENTS: dict[str, str | None] = {"UserPromptSubmit": None, "SessionStart": "startup|resume"}
MEMORY_FILE = "hook-install.json"
"""In the agent's state dir: the status line that install replaced, per settings file."""


class ClaudeSettingsError(ValueError):
    """The settings file exists but is not a JSON object: it is left alone."""


@dataclass(frozen=True, slots=True)
class HookStatus:
    path: Path
    hooks: dict[str, bool]
    statusline: bool
    refresh_interval: float | None = None
    """Our status line's ``refreshInterval`` (seconds), if it has one."""

    @property
    def installed(self) -> bool:
        return all(self.hooks.values()) and self.statusline


def settings_path(
    project: bool = False, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Path:
    """``.claude/settings.json`` of the project, or the user's (``$CLAUDE_CONFIG_DIR`` or ``~/.claude``)."""
    env = os.environ if env is None else env
    if project:
        return (cwd or Path.cwd()) / ".claude" / "settings.json"
    configured = env.get("CLAUDE_CONFIG_DIR", "")
    if configured.strip() and "," not in configured:
        return Path(configured.strip()).expanduser() / "settings.json"
    return Path(platforms.home_dir(env)) / ".claude" / "settings.json"


def ccsync_argv(executable: str | None = None) -> list[str]:
    """How to start this ccsync: this interpreter by absolute path, ``-m ccsync``."""
    executable = executable if executable is not None else sys.executable
    if not executable:  # an embedding interpreter that cannot tell: the installed script
        script = shutil.which("ccsync")
        return [os.path.realpath(script)] if script else ["ccsync"]
    return [executable, "-m", "ccsync"]


def ccsync_command(executable: str | None = None, platform: str | None = None) -> str:
    """``ccsync_argv`` as one command line for the shell Claude Code runs hooks with."""
    return command_line(ccsync_argv(executable), platform)


def command_line(argv: Sequence[str], platform: str | None = None) -> str:
    """``argv`` quoted for Claude Code's shell on ``platform`` (default: this one)."""
    if platforms.normalize(platform or sys.platform) == platforms.WINDOWS:
        return windows_command(argv)
    return shlex.join(argv)


_WINDOWS_PLAIN = re.compile(r"[A-Za-z0-9_+=:,./-]+")
_WINDOWS_REFUSED = re.compile(r'["%$`!\r\n\t]|\\\\|\\$')
"""What no quoting makes mean the same to Git Bash and ``cmd.exe`` (and Windows'
argument parser): quotes, variables (``%X%``, ``$X``), ``!``, control characters, two
backslashes in a row (Git Bash halves them inside quotes) and a trailing backslash."""


def windows_command(argv: Sequence[str]) -> str:
    """``argv`` for Windows, as ``subprocess.list2cmdline`` quotes it, the program always in
    double quotes: Git Bash (Claude Code's shell there) would drop the backslashes of an
    unquoted ``C:\\Users\\...``; inside double quotes Git Bash, ``cmd.exe`` and the C
    runtime all keep them. ``ValueError`` for a word none of them would read back as written
    (see ``_WINDOWS_REFUSED``)."""
    words = []
    for index, word in enumerate(argv):
        if not word or _WINDOWS_REFUSED.search(word):
            raise ValueError(
                f"{word!r} cannot be written in a Claude Code command on Windows "
                "(install ccsync under a path without quotes, %, $, !, or double backslashes)"
            )
        words.append(word if index and _WINDOWS_PLAIN.fullmatch(word) else f'"{word}"')
    return " ".join(words)


def _ours(handler: object, args: str) -> bool:
    return (
        isinstance(handler, dict)
        and isinstance(handler.get("command"), str)
        and "ccsync" in handler["command"]
        and handler["command"].rstrip().endswith(args)
    )


def _load(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text() or "{}")
    except ValueError as exc:
        raise ClaudeSettingsError(
            f"{path} is not valid JSON ({exc}); fix it first, ccsync leaves it alone"
        ) from None
    if not isinstance(data, dict):
        raise ClaudeSettingsError(f"{path} does not hold a JSON object; ccsync leaves it alone")
    return data


def _save(path: Path, settings: dict[str, Any]) -> Path | None:
    """Back the old file up (if any) and write the new one atomically; the backup's path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    backup = None
    if path.exists():
        backup = path.with_name(f"{path.name}.ccsync-backup-{time.strftime('%Y%m%d-%H%M%S')}")
        shutil.copy2(path, backup)
    tmp = path.with_name(f".{path.name}.ccsync.tmp")
    tmp.write_text(json.dumps(settings, indent=2) + "\n")
    os.replace(tmp, path)
    return backup


def status(path: Path) -> HookStatus:
    settings = _load(path)
    found = settings.get("hooks")
    hooks: dict[str, Any] = found if isinstance(found, dict) else {}
    present = {
        event: any(
            _ours(handler, HOOK_ARGS)
            for group in (hooks.get(event) or [])
            if isinstance(group, dict)
            for handler in group.get("hooks") or []
        )
        for event in EVENTS
    }
    line = settings.get("statusLine")
    ours = _ours(line, STATUSLINE_ARGS)
    interval = line.get("refreshInterval") if ours and isinstance(line, dict) else None
    return HookStatus(
        path,
        present,
        ours,
        interval if isinstance(interval, int | float) and not isinstance(interval, bool) else None,
    )


def install(
    path: Path, state_dir: Path, command: str | None = None, statusline: bool = True
) -> Path | None:
    """Add the hooks (and the status line); the backup made, or None when nothing changed."""
    command = command or ccsync_command()
    settings = _load(path)
    before = json.dumps(settings, sort_keys=True)
    hooks = settings.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise ClaudeSettingsError(f"{path}: 'hooks' is not an object; ccsync leaves it alone")
    for event, matcher in EVENTS.items():
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise ClaudeSettingsError(
                f"{path}: hooks.{event} is not a list; ccsync leaves it alone"
            )
        ours = [
            h
            for g in groups
            if isinstance(g, dict) and isinstance(g.get("hooks"), list)
            for h in g["hooks"]
            if _ours(h, HOOK_ARGS)
        ]
        for handler in ours:  # installed from another interpreter, or quoted otherwise
            handler["command"] = f"{command} {HOOK_ARGS}"
        if ours:
            continue
        group: dict[str, Any] = {
            "hooks": [
                {"type": "command", "command": f"{command} {HOOK_ARGS}", "timeout": HOOK_TIMEOUT}
            ]
        }
        if matcher:
            group = {"matcher": matcher, **group}
        groups.append(group)
    line = settings.get("statusLine")
    if statusline and not _ours(line, STATUSLINE_ARGS):
        _remember(state_dir, path, line)
        settings["statusLine"] = {
            "type": "command",
            "command": f"{command} {STATUSLINE_ARGS}",
            "padding": 0,
            "refreshInterval": REFRESH_SECONDS,
        }
    elif statusline and isinstance(line, dict):
        line["command"] = f"{command} {STATUSLINE_ARGS}"
        if "refreshInterval" not in line:
            line["refreshInterval"] = REFRESH_SECONDS  # installed by an earlier ccsync
    if json.dumps(settings, sort_keys=True) == before:
        return None
    return _save(path, settings) or path


def uninstall(path: Path, state_dir: Path) -> Path | None:
    """Remove what install added; the backup made, or None when nothing changed."""
    settings = _load(path)
    before = json.dumps(settings, sort_keys=True)
    hooks = settings.get("hooks")
    if isinstance(hooks, dict):
        for event in EVENTS:
            groups = hooks.get(event)
            if not isinstance(groups, list):
                continue
            kept_groups = []
            for group in groups:
                if isinstance(group, dict) and isinstance(group.get("hooks"), list):
                    handlers = [h for h in group["hooks"] if not _ours(h, HOOK_ARGS)]
                    if not handlers and group["hooks"]:
                        continue  # the group held only ours
                    group = {**group, "hooks": handlers}
                kept_groups.append(group)
            if kept_groups:
                hooks[event] = kept_groups
            else:
                del hooks[event]
        if not hooks:
            del settings["hooks"]
    if _ours(settings.get("statusLine"), STATUSLINE_ARGS):
        previous = _recall(state_dir, path)
        if previous is None:
            del settings["statusLine"]
        else:
            settings["statusLine"] = previous
    if json.dumps(settings, sort_keys=True) == before:
        return None
    return _save(path, settings) or path


def _memory(state_dir: Path) -> dict[str, Any]:
    try:
        data = json.loads((state_dir / MEMORY_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _remember(state_dir: Path, path: Path, previous: object) -> None:
    memory = _memory(state_dir)
    memory[str(path.resolve())] = previous
    from ccsync.private import private_dir

    private_dir(state_dir)
    (state_dir / MEMORY_FILE).write_text(json.dumps(memory, indent=2))


def _recall(state_dir: Path, path: Path) -> Any:
    return _memory(state_dir).get(str(path.resolve()))
