"""Following transcripts: read what was appended since last time, queue it in the outbox.

A file is known by device and inode, so a rename changes nothing. A file that shrinks
was rewritten and is read again from the start under a new source name. Only whole lines
are read (a trailing partial line waits for its newline, unless it already is a complete
usage line); new files and sub-agent folders are found on every scan.

A file under an inode the agent does not know is first compared with the known files
that are gone (same path, or same first line): when its first bytes are exactly what was
read of one of them (``ccsync.agent.digest``), it is that file, replaced by a copy of
itself (``cp`` + ``mv``, rsync, a sync tool, an editor) and read on from where it was.
When a resync is pending (``ccsync.agent.identity``), every file found is read again from
the start, under the same source names.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from ccsync.agent.digest import Running, digest_of
from ccsync.agent.state import AgentState, FileState
from ccsync.usage.discovery import PROJECTS, attribute, find_transcripts
from ccsync.usage.entry import UsageEntry
from ccsync.usage.loader import ScanProgress
from ccsync.usage.parse import ParseStats, TranscriptReader
from ccsync.wire import WireEntry

CHUNK_BYTES = 4 * 1024 * 1024
"""Read and committed per step: bounds memory on a first import of large files."""
HEAD_BYTES = 4096
"""A file's first line (up to this much) identifies it, with its inode."""

_encode = msgspec.json.Encoder().encode


@dataclass(slots=True)
class TailResult:
    files: int = 0
    """Files that had something new."""
    bytes: int = 0
    entries: int = 0


class Tailer:
    def __init__(self, state: AgentState, roots: Sequence[Path]) -> None:
        self.state = state
        self.roots = list(roots)
        self.stats = ParseStats()

    def pending_bytes(self) -> int:
        """How much is there to read now (for a progress bar)."""
        return sum(size - known.offset for _, known, size in self._work())

    def scan(self, progress: ScanProgress | None = None) -> TailResult:
        """Read everything new in every transcript; return what was queued."""
        work = self._work()
        result = TailResult()
        if progress is not None:
            progress.start(sum(size - known.offset for _, known, size in work), len(work))
        for path, known, size in work:
            before = known.offset
            result.entries += self._read(path, known, size)
            result.files += 1
            result.bytes += known.offset - before
            if progress is not None:
                progress.advance(size - before)
        return result

    def _work(self) -> list[tuple[Path, FileState, int]]:
        resync = self.state.resync_pending()
        found: list[tuple[Path, os.stat_result, bytes]] = []
        for transcript in find_transcripts(self.roots):
            try:
                info = os.stat(transcript.path)
            except OSError:
                continue  # gone since it was listed
            head = _head(transcript.path)
            if head is not None:
                found.append((transcript.path, info, head))
        present = {(info.st_dev, info.st_ino) for _, info, _ in found}
        followed = [
            (path, self._identify(path, info, head, present, resync is None), info.st_size)
            for path, info, head in found
        ]
        if resync is not None:
            self.state.rewind(known for _, known, _ in followed)
        return [(path, known, size) for path, known, size in followed if size > known.offset]

    def _identify(
        self,
        path: Path,
        info: os.stat_result,
        head: bytes,
        present: set[tuple[int, int]],
        check: bool,
    ) -> FileState:
        """What the agent knows of the file at ``path`` (new knowledge if nothing)."""
        known = self.state.file(info.st_dev, info.st_ino)
        if known is not None and info.st_size >= known.offset and head.startswith(known.head):
            if len(head) > len(known.head):
                self.state.extend_head(known, head)
            known.path = str(path)
            if known.digest is None and check:  # followed by an older agent: compute it once
                digest = digest_of(path, known.offset)
                if digest is not None:
                    self.state.set_digest(known, digest)
            return known
        # A new inode, or one that holds something else now (rewritten, or a deleted
        # file's inode given to a new one): a copy of a file that is gone goes on from
        # where that one was; anything else is new content, read under a new name.
        copied = self._copy_of(path, info, head, present)
        if copied is not None:
            return copied
        if known is None:
            return self.state.new_file(info.st_dev, info.st_ino, str(path), head)
        known = self.state.restart_file(known, head)
        known.path = str(path)
        return known

    def _copy_of(
        self, path: Path, info: os.stat_result, head: bytes, present: set[tuple[int, int]]
    ) -> FileState | None:
        """The known file, no longer present, whose content this file starts with."""
        for gone in self.state.look_alikes(str(path), head):
            if (gone.dev, gone.ino) in present or not head.startswith(gone.head):
                continue
            if info.st_size >= gone.offset and digest_of(path, gone.offset) == gone.digest:
                return self.state.adopt(gone, info.st_dev, info.st_ino, str(path))
        return None

    def _read(self, path: Path, known: FileState, size: int) -> int:
        parts = self._parts(path)
        reader = TranscriptReader(attribute(parts, known.source), known.offset, self.stats)
        running = None if known.digest is None else Running(known.digest)
        queued = 0
        try:
            with open(path, "rb") as handle:
                handle.seek(known.offset)
                remaining = size - known.offset
                while remaining > 0:
                    chunk = handle.read(min(CHUNK_BYTES, remaining))
                    if not chunk:
                        break
                    remaining -= len(chunk)
                    entries = reader.feed(chunk)
                    if remaining <= 0:
                        entries += reader.flush_if_complete()
                    consumed = reader.offset - known.offset
                    digest = None if running is None else running.advance(chunk, consumed)
                    wire = [_wire(e) for e in entries]
                    self.state.advance(known, reader.offset, size, wire, digest)
                    queued += len(entries)
        except OSError:
            pass  # vanished or unreadable now: what was read is committed, the rest waits
        return queued

    def _parts(self, path: Path) -> tuple[str, ...]:
        for root in self.roots:
            try:
                return path.relative_to(root / PROJECTS).parts
            except ValueError:
                continue
        return (path.name,)


def _head(path: Path) -> bytes | None:
    """The first line (with its newline), or all there is of it so far."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(HEAD_BYTES)
    except OSError:
        return None
    end = start.find(b"\n")
    return start if end == -1 else start[: end + 1]


def _wire(entry: UsageEntry) -> str:
    return _encode(WireEntry.from_entry(entry)).decode()
