"""Following transcripts: read what was appended since last time, queue it in the outbox.

A file is known by device and inode (``file_key``: on Windows the file index, or the path
where a volume has none), so a rename changes nothing. A file that shrinks
was rewritten and is read again from the start under a new source name. Only whole lines
are read (a trailing partial line waits for its newline, unless it already is a complete
usage line); new files and sub-agent folders are found on every scan.

A file under an inode the agent does not know (or that holds something else now) is
first compared with the known files that are gone (same path, or same first line): when
its first bytes are exactly what was read of one of them (``ccsync.agent.digest``), it is
that file, replaced by a copy of itself (``cp`` + ``mv``, rsync, a sync tool, an editor,
a restore) and read on from where it was. Known files that are gone stay known (retired
from their inode) for that.
When a resync is pending (``ccsync.agent.identity``), every file found is read again from
the start, under the same source names.

Beside the entries, the official limit readings of the lines read (limit-hit lines,
``ccsync.usage.limit_hits``) are queued in the same transaction (``ccsync.agent.readings``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from ccsync.agent.digest import Running, content_of
from ccsync.agent.readings import reading_row
from ccsync.agent.state import AgentState, FileState
from ccsync.usage.discovery import PROJECTS, attribute, find_transcripts
from ccsync.usage.entry import UsageEntry
from ccsync.usage.limit_hits import LimitHit
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
    readings: int = 0
    """Official limit readings found (limit-hit lines)."""


class Tailer:
    def __init__(self, state: AgentState, roots: Sequence[Path]) -> None:
        self.state = state
        self.roots = list(roots)
        self.stats = ParseStats()

    def scan(self, progress: ScanProgress | None = None) -> TailResult:
        """Read everything new in every transcript; return what was queued."""
        work = self._work()
        result = TailResult()
        if progress is not None:
            progress.start(sum(size - known.offset for _, known, size, _ in work), len(work))
        for path, known, size, stamp in work:
            before = known.offset
            entries, readings = self._read(path, known, size, stamp)
            result.entries += entries
            result.readings += readings
            result.files += 1
            result.bytes += known.offset - before
            if progress is not None:
                progress.advance(size - before)
        return result

    def _work(self) -> list[tuple[Path, FileState, int, str]]:
        """The files with something to read: each with what the agent knows of it, its
        size and stamp now."""
        resync = self.state.resync_pending()
        stamps = self.state.stamps()
        present: set[tuple[int, int]] = set()
        followed: list[tuple[Path, FileState, int, str]] = []
        unsure: list[tuple[Path, tuple[int, int], int, str, bytes, FileState | None]] = []
        taken: list[tuple[int, int]] = []
        for transcript in find_transcripts(self.roots):
            path = transcript.path
            try:
                info = os.stat(path)
            except OSError:
                continue  # gone since it was listed
            key, stamp = file_key(info, path), _stamp(info)
            seen = stamps.get(key)
            if seen is not None and seen[:2] == (stamp, str(path)) and resync is None:
                present.add(key)  # untouched since it was last found to be this file
                if info.st_size > seen[2]:  # a last line that waits for its end
                    known = self.state.file(*key)
                    if known is not None:
                        followed.append((path, known, info.st_size, stamp))
                continue
            known = None if seen is None else self.state.file(*key)
            look = _look(path, known, info.st_size)
            if look is not None:
                head, same = look
                unsure.append((path, key, info.st_size, stamp, head, known if same else None))
                if same:
                    present.add(key)
                elif known is not None:
                    taken.append(key)
        # What the other inodes held before (a deleted file's inode number is soon given
        # to a new file) is set aside first: it may be what one of them is a copy of.
        for dev, ino in taken:
            self.state.retire(dev, ino)
        for path, key, size, stamp, head, known in unsure:
            if known is not None:
                self._known(path, head, known, legacy=resync is None)
            else:
                known = self._copy_of(path, key, size, head, present)
                known = known or self.state.new_file(*key, str(path), head)
                present.add((known.dev, known.ino))
            followed.append((path, known, size, stamp))
        if resync is not None:
            self.state.rewind(known for _, known, _, _ in followed)
        work = []
        for path, known, size, stamp in followed:
            if size > known.offset:
                work.append((path, known, size, stamp))
            elif known.stamp != stamp:
                self.state.set_stamp(known, stamp)
        return work

    def _known(self, path: Path, head: bytes, state: FileState, legacy: bool) -> None:
        """A file still under the inode the agent knows it by."""
        if len(head) > len(state.head):
            self.state.extend_head(state, head)
        state.path = str(path)
        if state.tail is None and legacy:  # followed by an older agent: computed once
            content = content_of(path, state.offset)
            if content is not None:
                self.state.set_content(state, content)

    def _copy_of(
        self,
        path: Path,
        key: tuple[int, int],
        size: int,
        head: bytes,
        present: set[tuple[int, int]],
    ) -> FileState | None:
        """The known file, not present any more, whose content this file starts with: it
        goes on from where that one was, under its source name."""
        for gone in self.state.look_alikes(str(path), head):
            if (gone.dev, gone.ino) in present or not head.startswith(gone.head):
                continue
            if size < gone.offset:
                continue
            content = content_of(path, gone.offset)
            if content is not None and content.digest == gone.digest:
                return self.state.adopt(gone, *key, str(path))
        return None

    def _read(self, path: Path, known: FileState, size: int, stamp: str) -> tuple[int, int]:
        """Read the file from its offset: the entries and the readings queued."""
        parts = self._parts(path)
        hits: list[LimitHit] = []
        reader = TranscriptReader(attribute(parts, known.source), known.offset, self.stats, hits)
        running = (
            None
            if known.digest is None or known.tail is None
            else Running(known.digest, known.tail)
        )
        queued = found = 0
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
                    content = None if running is None else running.advance(chunk, consumed)
                    wire = [_wire(e) for e in entries]
                    readings = [row for row in map(reading_row, hits) if row is not None]
                    hits.clear()
                    self.state.advance(known, reader.offset, size, wire, content, stamp, readings)
                    queued += len(entries)
                    found += len(readings)
        except OSError:
            pass  # vanished or unreadable now: what was read is committed, the rest waits
        return queued, found

    def _parts(self, path: Path) -> tuple[str, ...]:
        for root in self.roots:
            try:
                return path.relative_to(root / PROJECTS).parts
            except ValueError:
                continue
        return (path.name,)


_KEY_BITS = (1 << 63) - 1
"""SQLite keeps 64-bit signed integers."""


def file_key(info: os.stat_result, path: Path) -> tuple[int, int]:
    """What the agent knows a file by while it stays where it is: device and file number.

    Windows has no inodes; ``os.stat`` gives NTFS's file index instead (a rename keeps it,
    as an inode), but ReFS's ids are 128 bits wide (folded into 63 here) and FAT volumes
    and some network shares have none (0). There the path stands in for the number (a
    negative one, from a hash of the path): a file renamed there is a new key, and the
    content check (``_copy_of``) recognises it and reads on from where it was.
    """
    dev, ino = info.st_dev & _KEY_BITS, info.st_ino
    if ino <= 0:
        digest = hashlib.blake2b(os.fsencode(path), digest_size=8).digest()
        return dev, -(int.from_bytes(digest, "big") >> 1) - 1
    if ino > _KEY_BITS:
        ino = (ino ^ (ino >> 64)) & _KEY_BITS
    return dev, ino


def _stamp(info: os.stat_result) -> str:
    return f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}"


def _look(path: Path, known: FileState | None, size: int) -> tuple[bytes, bool] | None:
    """The file's first line (or all there is of it so far), and whether the file is still
    ``known``: the same first line, and the bytes read last still before the offset."""
    try:
        with open(path, "rb") as handle:
            start = handle.read(HEAD_BYTES)
            end = start.find(b"\n")
            head = start if end == -1 else start[: end + 1]
            if known is None or size < known.offset or not head.startswith(known.head):
                return head, False
            tail = known.tail
            if not tail:  # nothing read yet, or not known (an older agent's): head only
                return head, True
            handle.seek(known.offset - len(tail))
            return head, handle.read(len(tail)) == tail
    except OSError:
        return None


def _wire(entry: UsageEntry) -> str:
    return _encode(WireEntry.from_entry(entry)).decode()
