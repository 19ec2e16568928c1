"""Noticing that transcripts changed: ``watchfiles`` (inotify on Linux, FSEvents on macOS,
ReadDirectoryChangesW on Windows), else polling; and that single files changed (Claude
Code's ``~/.claude.json``), by polling their ``stat``."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from ccsync.usage.discovery import PROJECTS

log = logging.getLogger("ccsync.agent")

POLL_SECONDS = 2.0


async def watch(
    roots: Sequence[Path], changed: Callable[[], None], poll_seconds: float = POLL_SECONDS
) -> None:
    """Call ``changed`` whenever something below a root's ``projects/`` changes, forever.

    Where the directories cannot be watched (none exists yet, no native watcher, too many
    watches), it calls ``changed`` every ``poll_seconds`` instead.
    """
    directories = [str(root / PROJECTS) for root in roots if (root / PROJECTS).is_dir()]
    if directories:
        try:
            from watchfiles import awatch

            async for _ in awatch(*directories, debounce=50, step=20, recursive=True):
                changed()
        except (OSError, RuntimeError) as exc:
            log.warning(
                "watch.unavailable", extra={"error": str(exc), "polling_every": poll_seconds}
            )
    while True:
        await asyncio.sleep(poll_seconds)
        changed()


async def watch_files(
    paths: Sequence[Path], changed: Callable[[], None], poll_seconds: float = POLL_SECONDS
) -> None:
    """Call ``changed`` whenever one of ``paths`` appears, goes, or changes (inode, size,
    modification time), forever, looking every ``poll_seconds``.

    A few ``stat`` calls: these files sit in folders as busy as the home folder, which a
    native watcher would have to watch whole, and may be replaced rather than written in
    place (a watch on the file itself would stay on the old one).
    """
    last = _stamps(paths)
    while True:
        await asyncio.sleep(poll_seconds)
        now = _stamps(paths)
        if now != last:
            last = now
            changed()


def _stamps(paths: Sequence[Path]) -> list[tuple[int, int, int] | None]:
    stamps: list[tuple[int, int, int] | None] = []
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            stamps.append(None)
            continue
        stamps.append((info.st_ino, info.st_size, info.st_mtime_ns))
    return stamps
