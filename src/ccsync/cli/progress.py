"""A progress bar for long scans, on stderr, only when a person is watching."""

from __future__ import annotations

import sys
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

SHOW_ABOVE_BYTES = 64 * 1024 * 1024
"""Smaller scans finish before a bar would be worth drawing."""


class ScanProgressBar:
    """A ``loader.ScanProgress`` drawn with rich; silent unless stderr is a terminal."""

    def __init__(self, label: str = "Reading transcripts", force: bool = False) -> None:
        self._label = label
        self._enabled = force or sys.stderr.isatty()
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def start(self, total_bytes: int, files: int) -> None:
        if not self._enabled or total_bytes < SHOW_ABOVE_BYTES:
            return
        self._progress = Progress(
            TextColumn(f"{self._label} ({files:,} files)"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(self._label, total=total_bytes)

    def advance(self, bytes_read: int) -> None:
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task, bytes_read)

    def __enter__(self) -> ScanProgressBar:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()
