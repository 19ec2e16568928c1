"""Starting work that must outlive the command that starts it, without making anyone wait.

``spawn_detached`` starts a program through ``subprocess`` with nothing tying it to its
starter: on Linux and macOS in a session of its own (``start_new_session``: no
controlling terminal, its own process group), on Windows with ``DETACHED_PROCESS |
CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW`` (no console, no window, Ctrl+C in the
starter's console does not reach it), by ``pythonw.exe`` where there is one, and out of
the starter's job object when the job allows it (``CREATE_BREAKAWAY_FROM_JOB``: a job
closed with its starter would end it). stdin is empty, output goes to a log file or
nowhere, no handle or descriptor is inherited. ``popen_options`` computes all of that per
platform, as a pure function. Standard library only: the status line and the hook use it
on every call (``subprocess`` is imported only when something is started).

``detach_once`` is ``ccsync agent --once --quiet`` as a Claude Code hook runs it. Claude
Code waits for a hook before it sends the prompt, so the hook only starts the push and
exits 0 without printing (plain stdout of a ``UserPromptSubmit`` hook would be added to
Claude's context; exit 2 would erase the prompt). The push logs to
``<state dir>/agent-hook.log`` and skips its run when another ``--once`` is pushing.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing costs the status line 3 ms
if TYPE_CHECKING:
    from collections.abc import Callable
    from subprocess import Popen
    from typing import Any

HOOK_LOG = "agent-hook.log"

# Process creation flags (WinBase.h); the subprocess module has them on Windows only.
DETACHED_PROCESS = 0x00000008
CREATE_NEW_PROCESS_GROUP = 0x00000200
CREATE_BREAKAWAY_FROM_JOB = 0x01000000
CREATE_NO_WINDOW = 0x08000000
DETACHED_FLAGS = DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW

_started: list[Popen[bytes]] = []
"""Programs started and not known to have ended: never waited for, only reaped."""


def popen_options(
    argv: list[str], platform: str | None = None, exists: Callable[[str], bool] = os.path.exists
) -> tuple[list[str], dict[str, Any]]:
    """The argument vector and ``subprocess.Popen`` options that start ``argv`` detached on
    ``platform`` (default: this one). stdin, stdout and stderr are the caller's to add.

    On Windows a Python interpreter (``python.exe``) is swapped for the ``pythonw.exe`` beside
    it, when there is one: a console program would get a console window of its own."""
    from ccsync import platforms

    if platforms.normalize(platform or sys.platform) != platforms.WINDOWS:
        return list(argv), {"start_new_session": True, "close_fds": True}
    program = argv[0]
    head, name = _split_windows(program)
    if name.lower() == "python.exe":
        windowless = head + "pythonw.exe"
        if exists(windowless):
            program = windowless
    flags = DETACHED_FLAGS | CREATE_BREAKAWAY_FROM_JOB
    return [program, *argv[1:]], {"creationflags": flags, "close_fds": True}


def _split_windows(path: str) -> tuple[str, str]:
    cut = max(path.rfind("\\"), path.rfind("/")) + 1
    return path[:cut], path[cut:]


def spawn_detached(argv: list[str], log: str | None = None) -> bool:
    """Run ``argv`` in the background, stdin empty, output appended to ``log`` (or
    nowhere); whether it started."""
    import subprocess

    _started[:] = [process for process in _started if process.poll() is None]
    argv, options = popen_options(argv)
    fd = None
    try:
        if log:
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        out = subprocess.DEVNULL if fd is None else fd
        try:
            process = _popen(argv, out, options)
        except OSError:
            flags = options.get("creationflags", 0)
            if not flags & CREATE_BREAKAWAY_FROM_JOB:
                raise
            # The starter's job does not allow breaking away: stay in it, detached otherwise.
            options["creationflags"] = flags & ~CREATE_BREAKAWAY_FROM_JOB
            process = _popen(argv, out, options)
    except OSError:
        return False
    finally:
        if fd is not None:
            os.close(fd)
    _started.append(process)
    return True


def _popen(argv: list[str], out: int, options: dict[str, Any]) -> Popen[bytes]:
    import subprocess

    class Detached(subprocess.Popen[bytes]):
        def __del__(self) -> None:
            """Never waited for, by design: no "still running" warning when the starter
            ends first (one that lives on reaps it: ``_started``)."""

    return Detached(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out, **options)


def detach_once(argv: list[str]) -> int:
    """Start ``ccsync <argv without --quiet> --skip-if-busy`` in the background; always 0."""
    from ccsync.agent.config import load_config
    from ccsync.private import private_dir

    try:
        config = load_config()
        private_dir(config.state_dir)
        command = [
            sys.executable,
            "-m",
            "ccsync",
            *[a for a in argv if a != "--quiet"],
            "--skip-if-busy",
        ]
        spawn_detached(command, str(config.state_dir / HOOK_LOG))
    except (OSError, ValueError):
        pass
    return 0
