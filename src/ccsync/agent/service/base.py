"""What a service definition is made of, on every platform: the file, what it runs, and
the tool commands that register, unregister and ask about it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

NAME = "ccsync-agent"
"""The service's name (systemd's unit and Windows' task are named after it)."""


@dataclass(frozen=True, slots=True)
class Command:
    argv: tuple[str, ...]
    may_fail: bool = False
    """Its failure is expected at times (stopping what may not be running)."""


def command(*argv: str, may_fail: bool = False) -> Command:
    return Command(tuple(argv), may_fail)


@dataclass(frozen=True, slots=True)
class Definition:
    """A service definition for one platform: the file to write and the tool commands."""

    platform: str
    path: Path
    """Where the definition is written."""
    content: bytes
    program: tuple[str, ...]
    """What the service runs."""
    register: tuple[Command, ...]
    """Run after writing a new or changed definition (to load and start it)."""
    unregister: tuple[Command, ...]
    """Run before removing the definition (to stop and unload it)."""
    probes: tuple[tuple[str, ...], ...]
    """Ask the platform whether it is registered and running (``read_status``)."""
    start_hint: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    installed: bool
    """The definition file is there."""
    current: bool
    """It is the one ``install-service`` would write now."""
    registered: bool | None
    """Known to the platform's service manager (``None``: its tool could not tell)."""
    running: bool | None
    detail: str
    path: Path
    program: tuple[str, ...] = ()
    """What the installed definition runs (read back from it)."""


Probed = tuple[bool, bool | None, str]
"""What a platform's probes said: registered, running (``None``: unknown), in words."""
