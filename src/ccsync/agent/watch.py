"""Noticing that transcripts changed: ``watchfiles`` (inotify on Linux, FSEvents on macOS,
ReadDirectoryChangesW on Windows), else polling."""

from __future__ import annotations

import asyncio
import logging
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
