"""A lock a process holds for as long as it lives, which another can test without waiting.

``ccsync agent --once --skip-if-busy`` (the hook's background push) takes it so that two
prompts in a row do not start two pushes at once. On Linux and macOS it is ``flock``; on
Windows ``msvcrt.locking`` of the file's first byte. Either way the operating system lets
go of it when the process ends, however it ends. Standard library only.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_held: list[int] = []
"""Descriptors of the locks this process holds (kept open: closing one lets go of it)."""


def try_lock(path: Path) -> bool:
    """Take the lock at ``path`` for the rest of this process's life; ``False`` when
    another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _lock(fd)
    except OSError:
        os.close(fd)
        return False
    _held.append(fd)
    return True


def release_all() -> None:
    """Let go of every lock taken here (tests; a process that ends lets go anyway)."""
    while _held:
        os.close(_held.pop())


if sys.platform == "win32":
    import msvcrt

    def _lock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # OSError when another process holds it

else:
    import fcntl

    def _lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
