"""Linux: the agent as a systemd user unit (pure).

``~/.config/systemd/user/ccsync-agent.service`` (``$XDG_CONFIG_HOME`` when set), then
``systemctl --user daemon-reload``, ``enable`` and ``restart``; restarted whenever it stops.
The unit's text is ``SYSTEMD_UNIT``, the same as ``deploy/systemd/ccsync-agent.service``
(tests/deploy checks that they agree).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path

from ccsync import platforms
from ccsync.agent.service.base import NAME, Definition, Probed, command

UNIT = f"{NAME}.service"

SYSTEMD_UNIT = """\
[Unit]
Description=ccsync agent (pushes this device's Claude Code usage)
# Never give up restarting: the agent waits out servers and networks that are down.
StartLimitIntervalSec=0

[Service]
Type=exec
ExecStart={exec_start}
EnvironmentFile=-%h/.config/ccsync/agent.env
Restart=always
RestartSec=10
# A background task: below interactive work for CPU and disk.
Nice=10
IOSchedulingClass=idle
UMask=0077

# Sandboxing that works in every user manager (seccomp, no namespaces).
NoNewPrivileges=yes
LockPersonality=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
RestrictNamespaces=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallErrorNumber=EPERM
# Where the kernel allows unprivileged user namespaces (most distributions), the file
# system can be narrowed too: the agent only reads the Claude data directories and
# writes its state (outbox, offsets) and Claude Code's settings (hook, status line).
#ProtectSystem=strict
#ProtectHome=read-only
#ReadWritePaths=%h/.local/state/ccsync %h/.cache/ccsync %h/.claude
#PrivateTmp=yes

[Install]
WantedBy=default.target
"""
"""The agent's systemd user unit, ``{exec_start}`` to fill in (``systemd_unit``)."""

SYSTEMD_HEADER = """\
# ccsync agent as a systemd user service, written by `ccsync agent install-service`
# (`ccsync agent uninstall-service` removes it). Server, token and device: agent.json in
# ExecStart's --state-dir (`ccsync agent install-service --server URL --token T` sets them).
# Logs: journalctl --user -u ccsync-agent

"""

_SYSTEMD_PLAIN = re.compile(r"[A-Za-z0-9/_.,:+=@-]+")


def systemd_quote(word: str, program: bool = False) -> str:
    """One word of an ``ExecStart=`` line: quoted as systemd reads it, ``%`` doubled (a
    specifier otherwise) and, in arguments, ``$`` too (a variable otherwise; the program's
    path is not expanded)."""
    if not _SYSTEMD_PLAIN.fullmatch(word):
        word = '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    word = word.replace("%", "%%")
    return word if program else word.replace("$", "$$")


def systemd_exec(argv: Sequence[str]) -> str:
    """An ``ExecStart=`` value that runs ``argv``."""
    return " ".join(systemd_quote(word, program=not index) for index, word in enumerate(argv))


def systemd_unsplit(value: str) -> list[str]:
    """The words of an ``ExecStart=`` value that ``systemd_exec`` wrote."""
    words = [word.replace("%%", "%") for word in shlex.split(value)]
    return words[:1] + [word.replace("$$", "$") for word in words[1:]]


def systemd_unit(exec_start: str, header: str = SYSTEMD_HEADER) -> str:
    return header + SYSTEMD_UNIT.format(exec_start=exec_start)


def definition(program: Sequence[str], env: Mapping[str, str], home: str) -> Definition:
    """The user unit that runs ``program``, in the user's systemd configuration folder."""
    config = env.get("XDG_CONFIG_HOME") or str(Path(home) / ".config")
    path = Path(config) / "systemd" / "user" / UNIT
    return Definition(
        platforms.LINUX,
        path,
        systemd_unit(systemd_exec(program)).encode(),
        tuple(program),
        register=(
            command("systemctl", "--user", "daemon-reload"),
            command("systemctl", "--user", "enable", UNIT),
            command("systemctl", "--user", "restart", UNIT),
        ),
        unregister=(command("systemctl", "--user", "disable", "--now", UNIT, may_fail=True),),
        probes=(
            ("systemctl", "--user", "is-enabled", UNIT),
            ("systemctl", "--user", "is-active", UNIT),
        ),
        start_hint=f"systemctl --user restart {UNIT}",
        notes=(
            f"logs: journalctl --user -u {NAME}",
            'to keep it running while you are logged out: loginctl enable-linger "$USER"',
        ),
    )


def program_of(content: bytes) -> tuple[str, ...]:
    """What an installed unit runs: its ``ExecStart=`` (empty when it has none)."""
    for line in content.decode().splitlines():
        if line.startswith("ExecStart="):
            return tuple(systemd_unsplit(line.removeprefix("ExecStart=")))
    return ()


def interpret(answers: list[tuple[int, str]]) -> Probed:
    """What ``systemctl --user is-enabled`` and ``is-active`` said."""
    (enabled_code, enabled), (_, active) = answers
    registered = enabled_code == 0 and enabled.split()[:1] in (["enabled"], ["enabled-runtime"])
    state = active.split()[0] if active.split() else "?"
    failed = next((out for out in (active, enabled) if "bus" in out.lower()), None)
    if failed is not None:  # no user manager to ask (a container, WSL without systemd)
        return False, None, f"no systemd user manager ({failed.splitlines()[0]})"
    return registered, state == "active", f"{enabled.split()[0] if enabled else '?'}, {state}"
