"""macOS: the agent as a launchd agent (pure).

``~/Library/LaunchAgents/com.ccsync.agent.plist`` (``plistlib``), then ``launchctl
bootstrap gui/<uid>``; started at login, kept alive, logging to
``~/Library/Logs/ccsync-agent.log``. Its keys are ``launchd_agent``'s, as in
``deploy/launchd/com.ccsync.agent.plist``.
"""

from __future__ import annotations

import plistlib
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ccsync import platforms
from ccsync.agent.service.base import Definition, Probed, command

LABEL = "com.ccsync.agent"
LAUNCHD_PATH = "/opt/homebrew/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"


def launchd_agent(program: Sequence[str], log: str | None) -> dict[str, Any]:
    """The launchd agent's keys: ``program`` started at login, kept alive, in the
    background; its output appended to ``log`` (when given)."""
    agent: dict[str, Any] = {
        "Label": LABEL,
        "ProgramArguments": list(program),
        "EnvironmentVariables": {"PATH": LAUNCHD_PATH},
        "RunAtLoad": True,
        "KeepAlive": True,
        "ThrottleInterval": 10,
        "ProcessType": "Background",
        "LowPriorityIO": True,
        "Nice": 10,
        "Umask": 0o077,
    }
    if log is not None:
        agent["StandardOutPath"] = log
        agent["StandardErrorPath"] = log
    return agent


def definition(program: Sequence[str], home: str, uid: int) -> Definition:
    """The launchd agent that runs ``program`` in the ``gui/<uid>`` domain."""
    target = f"gui/{uid}/{LABEL}"
    path = Path(home) / "Library" / "LaunchAgents" / f"{LABEL}.plist"
    log = str(Path(home) / "Library" / "Logs" / "ccsync-agent.log")
    return Definition(
        platforms.MACOS,
        path,
        plistlib.dumps(launchd_agent(program, log)),
        tuple(program),
        register=(
            command("launchctl", "bootout", target, may_fail=True),
            command("launchctl", "enable", target),
            command("launchctl", "bootstrap", f"gui/{uid}", str(path)),
        ),
        unregister=(command("launchctl", "bootout", target, may_fail=True),),
        probes=(("launchctl", "print", target),),
        start_hint=f"launchctl kickstart -k {target}",
        notes=(f"log: {log}",),
    )


def program_of(content: bytes) -> tuple[str, ...]:
    """What an installed agent runs: its ``ProgramArguments`` (empty when it has none)."""
    found = plistlib.loads(content).get("ProgramArguments")
    return tuple(str(w) for w in found) if isinstance(found, list) else ()


def interpret(answers: list[tuple[int, str]]) -> Probed:
    """What ``launchctl print`` said."""
    code, out = answers[0]
    if code != 0:
        return False, False, "not loaded"
    match = re.search(r"^\s*state = (\S+)", out, re.MULTILINE)
    pid = re.search(r"^\s*pid = (\d+)", out, re.MULTILINE)
    state = match.group(1) if match else "?"
    detail = f"loaded, {state}" + (f" (pid {pid.group(1)})" if pid else "")
    return True, state == "running", detail
