"""Reading transcripts from disk into usage entries (the engine's only file I/O).

Files are read whole and searched for the usage marker, so the bytes of tool output
(most of a transcript) are never decoded. Large scans use the machine's cores: files
are split into byte-balanced shares, parsed in worker processes, and the entries come
back as msgpack, which costs far less than the parsing it saves.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import msgspec

from ccsync.usage.cost_state import merge_readings, parse_cost_states
from ccsync.usage.discovery import Transcript, context_for, find_transcripts, resolve_data_dirs
from ccsync.usage.entry import UsageEntry
from ccsync.usage.parse import ParseStats, parse_buffer


class ScanProgress(Protocol):
    """Told how much there is to read, then how much was read (for a progress bar)."""

    def start(self, total_bytes: int, files: int) -> None: ...

    def advance(self, bytes_read: int) -> None: ...


PARALLEL_MIN_BYTES = 32 * 1024 * 1024
"""Below this much data a single process is faster than starting workers."""

_encode_entries = msgspec.msgpack.Encoder().encode
_decode_entries = msgspec.msgpack.Decoder(list[UsageEntry]).decode
_encode_stats = msgspec.msgpack.Encoder().encode


@dataclass(slots=True)
class Scan:
    """What a scan of data directories found."""

    roots: list[Path]
    files: list[Transcript]
    entries: list[UsageEntry] = field(default_factory=list)
    stats: ParseStats = field(default_factory=ParseStats)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def read_transcript(
    transcript: Transcript, stats: ParseStats, count_lines: bool = True
) -> list[UsageEntry]:
    """Every entry of one file; an unreadable file counts as empty."""
    try:
        data = transcript.path.read_bytes()
    except OSError:
        return []
    stats.files += 1
    return parse_buffer(data, context_for(transcript), stats, count_lines=count_lines)


def scan(
    roots: Sequence[Path],
    progress: ScanProgress | None = None,
    workers: int | None = None,
    count_lines: bool = True,
) -> Scan:
    """Read every transcript under the roots.

    ``workers`` defaults to the number of usable CPUs when there is enough data to
    share out; 1 reads in this process. ``count_lines=False`` skips counting the lines
    without usage (``ParseStats.lines``).
    """
    files = find_transcripts(roots)
    result = Scan(list(roots), files)
    total = result.total_bytes
    if progress is not None:
        progress.start(total, len(files))
    if workers is None:
        workers = _usable_cpus() if total >= PARALLEL_MIN_BYTES else 1
    workers = max(1, min(workers, len(files)))
    if workers == 1:
        for transcript in files:
            result.entries.extend(read_transcript(transcript, result.stats, count_lines))
            if progress is not None:
                progress.advance(transcript.size)
        return result
    shares = _balanced_shares(files, workers)
    with ProcessPoolExecutor(max_workers=workers - 1) as pool:
        futures = [pool.submit(_read_share, share, count_lines) for share in shares[1:]]
        # This process reads a share too, instead of idling while it waits.
        for transcript in shares[0]:
            result.entries.extend(read_transcript(transcript, result.stats, count_lines))
            if progress is not None:
                progress.advance(transcript.size)
        for future in futures:
            entries, stats, size = future.result()
            result.entries.extend(_decode_entries(entries))
            result.stats.merge(msgspec.msgpack.decode(stats, type=ParseStats))
            if progress is not None:
                progress.advance(size)
    return result


def _read_share(share: list[Transcript], count_lines: bool) -> tuple[bytes, bytes, int]:
    stats = ParseStats()
    entries: list[UsageEntry] = []
    for transcript in share:
        entries.extend(read_transcript(transcript, stats, count_lines))
    return _encode_entries(entries), _encode_stats(stats), sum(t.size for t in share)


def _balanced_shares(files: Sequence[Transcript], count: int) -> list[list[Transcript]]:
    """Files split into ``count`` lists of about equal bytes (largest files first)."""
    shares: list[list[Transcript]] = [[] for _ in range(count)]
    sizes = [0] * count
    for transcript in sorted(files, key=lambda t: t.size, reverse=True):
        smallest = sizes.index(min(sizes))
        shares[smallest].append(transcript)
        sizes[smallest] += transcript.size
    return [share for share in shares if share]


def _usable_cpus() -> int:
    """The CPUs this process may use (Linux knows its affinity; elsewhere, all of them)."""
    if sys.platform == "linux":
        count = len(os.sched_getaffinity(0))
    else:
        count = os.cpu_count() or 1
    return count


def scan_dirs(
    claude_dirs: Sequence[str] = (),
    progress: ScanProgress | None = None,
    count_lines: bool = True,
) -> Scan:
    """Resolve the data directories (``discovery.resolve_data_dirs``) and scan them."""
    return scan(resolve_data_dirs(claude_dirs), progress, count_lines=count_lines)


def read_cost_states(paths: Sequence[str | Path]) -> dict[str, dict[str, float]]:
    """Claude Code's own cost per session and model (``cost_state``) in these files;
    an unreadable file has none."""
    readings = []
    for path in sorted({str(p) for p in paths}):
        try:
            data = Path(path).read_bytes()
        except OSError:
            continue
        readings.append(parse_cost_states(data))
    return merge_readings(readings)
