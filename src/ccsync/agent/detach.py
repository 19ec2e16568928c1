"""Starting work that must outlive the command that starts it, without making anyone wait.

``spawn_detached`` double-forks: the program runs in its own session, adopted by init,
so the caller returns at once and leaves no child to reap. Standard library only: the
status line and the hook use it on every call.

``detach_once`` is ``ccsync agent --once --quiet`` as a Claude Code hook runs it. Claude
Code waits for a hook before it sends the prompt, so the hook only starts the push and
exits 0 without printing (plain stdout of a ``UserPromptSubmit`` hook would be added to
Claude's context; exit 2 would erase the prompt). The push logs to
``<state dir>/agent-hook.log`` and skips its run when another ``--once`` is pushing.
"""

from __future__ import annotations

import os
import sys

HOOK_LOG = "agent-hook.log"


def spawn_detached(argv: list[str], log: str | None = None) -> bool:
    """Run ``argv`` in the background, stdin empty, output to ``log`` (or nowhere)."""
    try:
        pid = os.fork()
    except OSError:
        return False
    if pid:
        os.waitpid(pid, 0)  # the middle process exits at once
        return True
    try:  # the middle process: a new session, then the real child, then leave
        os.setsid()
        if os.fork():
            os._exit(0)
        null = os.open(os.devnull, os.O_RDWR)
        out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600) if log else null
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.closerange(3, 1024)
        os.execv(argv[0], argv)
    finally:
        os._exit(127)  # only reached when exec failed


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
    except OSError:
        pass
    return 0
