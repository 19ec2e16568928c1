"""Folders and files only their owner may read: 0700 and 0600.

The server's history and admin token, and a device's outbox, offsets and token, say what
a user worked on and can speak for them; other local users have no business reading
them. Made private when created, and tightened when an older version left them open.
SQLite's ``-wal`` and ``-shm`` files take the mode of their database file. Standard
library only: the agent and the server both use it.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """``path`` (and missing parents) made, the folder itself only its owner's."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    _tighten(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """``path`` made empty when missing, readable and writable by its owner only; its
    folder made by ``private_dir``."""
    private_dir(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    _tighten(path, FILE_MODE)
    return path


def _tighten(path: Path, mode: int) -> None:
    """Drop group and other permissions of a path this user owns (never the home folder).

    Not on Windows: there a mode only sets the read-only flag, and what others may read is
    the folder's access list (inherited from the user's profile, which is the user's own)."""
    if sys.platform != "win32":
        _tighten_posix(path, mode)


if sys.platform != "win32":

    def _tighten_posix(path: Path, mode: int) -> None:
        try:
            info = path.stat()
        except OSError:
            return
        if info.st_uid != os.getuid() or path.resolve() == Path.home().resolve():
            return
        if stat.S_IMODE(info.st_mode) & 0o077:
            with contextlib.suppress(OSError):
                path.chmod(stat.S_IMODE(info.st_mode) & mode)
