"""This platform's service definition, and what an installed one runs.

Every definition runs this interpreter's ``-m ccsync agent --state-dir <dir>`` (and the
``--claude-dir`` of a ``CLAUDE_CONFIG_DIR`` set when it was installed): the service reads
the same ``agent.json`` as the shell that installed it, whatever its environment. The
token stays in ``agent.json`` (0600), never in a definition or on a command line.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from xml.etree import ElementTree

from ccsync import platforms
from ccsync.agent.service import launchd, systemd, task_scheduler
from ccsync.agent.service.base import Definition, Probed


def agent_program(
    executable: str, state_dir: str, claude_dirs: Sequence[str] = (), platform: str = "linux"
) -> list[str]:
    """``<python> -m ccsync agent --state-dir DIR [--claude-dir D]...`` for a service."""
    argv = [executable, "-m", "ccsync", "agent", "--state-dir", state_dir]
    for directory in claude_dirs:
        argv += ["--claude-dir", directory]
    if platforms.normalize(platform) == platforms.WINDOWS:
        argv += ["--log-file", task_scheduler.windows_join(state_dir, task_scheduler.SERVICE_LOG)]
    return argv


def definition(
    platform: str | None = None,
    env: Mapping[str, str] | None = None,
    executable: str | None = None,
    state_dir: str | None = None,
    uid: int | None = None,
    exists: Callable[[str], bool] = os.path.exists,
) -> Definition:
    """The service definition for ``platform`` (default: this one), running ``executable``
    (default: this interpreter) with the agent state in ``state_dir``."""
    env = os.environ if env is None else env
    platform = platforms.normalize(platform or sys.platform)
    executable = executable or sys.executable
    state = state_dir or platforms.state_dir(env, platform)
    configured = env.get("CLAUDE_CONFIG_DIR") or ""
    claude_dirs = [d.strip() for d in configured.split(",") if d.strip()]
    home = platforms.home_dir(env, platform)
    program = agent_program(executable, state, claude_dirs, platform)
    if platform == platforms.WINDOWS:
        return task_scheduler.definition(program, state, env, exists)
    if platform == platforms.MACOS:
        return launchd.definition(program, home, _uid() if uid is None else uid)
    return systemd.definition(program, env, home)


def _uid() -> int:
    """This user's id (launchd's ``gui/<uid>`` domain; Windows has none)."""
    if sys.platform == "win32":
        uid = 0
    else:
        uid = os.getuid()
    return uid


def installed_program(platform: str, content: bytes) -> tuple[str, ...]:
    """What an installed definition runs, read back from its file (empty when unreadable)."""
    platform = platforms.normalize(platform)
    try:
        if platform == platforms.WINDOWS:
            return task_scheduler.program_of(content)
        if platform == platforms.MACOS:
            return launchd.program_of(content)
        return systemd.program_of(content)
    except (ValueError, ElementTree.ParseError, UnicodeDecodeError):
        return ()


def interpret(platform: str, answers: list[tuple[int, str]]) -> Probed:
    """What the platform's probes (``Definition.probes``, in order) said."""
    if platform == platforms.WINDOWS:
        return task_scheduler.interpret(answers)
    if platform == platforms.MACOS:
        return launchd.interpret(answers)
    return systemd.interpret(answers)


def state_dir_of(program: Sequence[str]) -> str | None:
    """The ``--state-dir`` a service's program names."""
    for index, word in enumerate(program[:-1]):
        if word == "--state-dir":
            return program[index + 1]
    return None
