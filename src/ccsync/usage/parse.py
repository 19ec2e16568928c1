"""Transcript lines to usage entries, with ccusage 20.0.24's acceptance rules.

A line counts only when (in this order, as ccusage checks):

1. its bytes contain ``"usage":{`` (compact JSON; a pretty-printed line is skipped);
2. no field named in ``_NON_NULLABLE`` is ``null`` anywhere in it;
3. it decodes strictly: token counts are non-negative integers, ``speed`` is
   ``standard``/``fast``, types match (unknown fields are ignored);
4. its ``timestamp`` has one of the accepted shapes (see ``timestamps``);
5. ``version`` starts with ``N.N.N`` and the ids and model, when present, are not empty.

Everything here works on bytes already in memory: no I/O, never an exception for any
input. Lines that do not count are tallied in ``ParseStats``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated, Literal

import msgspec

from ccsync.usage.entry import UsageEntry
from ccsync.usage.limit_hits import LimitHit, scan_limit_hits
from ccsync.usage.timestamps import parse_timestamp

USAGE_MARKER = b'"usage":{'
_NULL = b":null"
_NON_NULLABLE = frozenset(
    {
        b"id",
        b"cwd",
        b"model",
        b"speed",
        b"costUSD",
        b"version",
        b"sessionId",
        b"requestId",
        b"isApiErrorMessage",
        b"cache_read_input_tokens",
        b"cache_creation_input_tokens",
    }
)
_U64_MAX = 2**64 - 1
_SEMVER_PREFIX = re.compile(r"\d+\.\d+\.\d", re.ASCII)
_LIMIT_MARKER = b"Claude AI usage limit reached"
"""What older CLIs wrote when a limit was hit (``…|<epoch>``); ccusage's blocks report reads
it (``usageLimitResetTime``), so ccsync does too. Claude Code 2.x writes ``quotaLimits``
instead, on a line these rules drop: ``limit_hits`` reads that one."""
_LIMIT_EPOCH = re.compile(rb"\d+")
_MAX_RESET_SECONDS = (2**63 - 1) // 1000
_MAX_RESET_DIGITS = str(2**63 - 1)

Count = Annotated[int, msgspec.Meta(ge=0)]


class _CacheCreation(msgspec.Struct, gc=False):
    ephemeral_5m_input_tokens: Count = 0
    ephemeral_1h_input_tokens: Count = 0


class _Usage(msgspec.Struct, gc=False):
    input_tokens: Count
    output_tokens: Count
    cache_creation_input_tokens: Count = 0
    cache_read_input_tokens: Count = 0
    speed: Literal["standard", "fast"] | None = None
    cache_creation: _CacheCreation | None = None


class _Message(msgspec.Struct, gc=False):
    usage: _Usage
    model: str | None = None
    id: str | None = None


class _Line(msgspec.Struct, gc=False, rename="camel"):
    timestamp: str
    message: _Message
    session_id: str | None = None
    version: str | None = None
    cost_usd: float | None = msgspec.field(default=None, name="costUSD")
    request_id: str | None = None
    is_api_error_message: bool | None = None
    is_sidechain: bool | None = None


_decode_line = msgspec.json.Decoder(_Line).decode


@dataclass(slots=True)
class FileContext:
    """Where the lines of one transcript file belong (see ``discovery.attribute``)."""

    source: str
    project: str
    session: str
    project_path: str


@dataclass(slots=True)
class ParseStats:
    """What happened to the lines read: counted, or skipped and why."""

    files: int = 0
    bytes: int = 0
    lines: int = 0
    """Lines read, when counting them was asked for (``count_lines``), else 0."""
    entries: int = 0
    malformed: int = 0
    """Lines with usage that are not valid JSON or have wrong types (or forbidden nulls)."""
    invalid: int = 0
    """Lines that decode but fail validation (timestamp shape, version, empty ids)."""
    by_reason: dict[str, int] = field(default_factory=dict)

    @property
    def skipped(self) -> int:
        """Lines that did not become entries (no usage, blank, malformed or invalid).

        Needs the lines counted; without, it is just the malformed and invalid ones.
        """
        return max(self.lines - self.entries, self.malformed + self.invalid)

    def merge(self, other: ParseStats) -> None:
        self.files += other.files
        self.bytes += other.bytes
        self.lines += other.lines
        self.entries += other.entries
        self.malformed += other.malformed
        self.invalid += other.invalid
        for reason, count in other.by_reason.items():
            self.by_reason[reason] = self.by_reason.get(reason, 0) + count

    def _skip(self, reason: str, malformed: bool) -> None:
        if malformed:
            self.malformed += 1
        else:
            self.invalid += 1
        self.by_reason[reason] = self.by_reason.get(reason, 0) + 1


def line_count(buf: bytes) -> int:
    """Lines in ``buf``: newline-terminated ones plus a final unterminated one."""
    if not buf:
        return 0
    return buf.count(b"\n") + (0 if buf.endswith(b"\n") else 1)


def parse_buffer(
    buf: bytes,
    context: FileContext,
    stats: ParseStats,
    base_offset: int = 0,
    count_lines: bool = True,
) -> list[UsageEntry]:
    """Every entry in ``buf`` (whole lines of one file starting at ``base_offset``).

    ``count_lines`` counts every line in ``stats`` (a second pass over the bytes, which
    a report that shows no counts can skip).
    """
    entries: list[UsageEntry] = []
    append = entries.append
    find = buf.find
    rfind = buf.rfind
    stats.bytes += len(buf)
    if count_lines:
        stats.lines += line_count(buf)
    pos = find(USAGE_MARKER)
    while pos != -1:
        start = rfind(b"\n", 0, pos) + 1
        end = find(b"\n", pos)
        if end == -1:
            end = len(buf)
        entry = _parse_usage_line(buf[start:end], context, base_offset + start, stats)
        if entry is not None:
            append(entry)
        pos = find(USAGE_MARKER, end)
    stats.entries += len(entries)
    return entries


class TranscriptReader:
    """Parses one transcript fed in arbitrary chunks, as a tailer reads a growing file.

    Only complete lines are parsed; a trailing partial line waits for the next chunk (or
    for ``flush`` at the end of the file). ``offset`` is where the next unparsed line
    starts, the point to resume reading from.

    Given a ``limit_hits`` list, the reader also appends to it the limit-hit readings
    (``limit_hits``) of the lines it takes: a pass beside the token rules, which it leaves
    as they are.
    """

    def __init__(
        self,
        context: FileContext,
        offset: int = 0,
        stats: ParseStats | None = None,
        limit_hits: list[LimitHit] | None = None,
    ) -> None:
        self.context = context
        self.offset = offset
        self.stats = stats if stats is not None else ParseStats()
        self.limit_hits = limit_hits
        self._pending = b""

    @property
    def pending(self) -> int:
        """Bytes of a line that has not ended yet."""
        return len(self._pending)

    def feed(self, chunk: bytes) -> list[UsageEntry]:
        data = self._pending + chunk if self._pending else chunk
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            self._pending = data
            return []
        self._pending = data[cut:]
        lines = data[:cut]
        entries = parse_buffer(lines, self.context, self.stats, self.offset)
        self._read_limit_hits(lines)
        self.offset += cut
        return entries

    def flush_if_complete(self) -> list[UsageEntry]:
        """The waiting partial line, taken only if it already is a complete usage line.

        A file's last line may lack its newline because it is still being written, or
        because it never gets one. A line that parses to an entry is complete; anything
        else stays waiting (and is read again with what follows it).
        """
        if not self._pending:
            return []
        trial = ParseStats()
        entries = parse_buffer(self._pending, self.context, trial, self.offset)
        if not entries:
            return []
        self.stats.merge(trial)
        self._read_limit_hits(self._pending)
        self.offset += len(self._pending)
        self._pending = b""
        return entries

    def flush(self) -> list[UsageEntry]:
        """The last line of a file that does not end with a newline."""
        data, self._pending = self._pending, b""
        entries = parse_buffer(data, self.context, self.stats, self.offset)
        self._read_limit_hits(data)
        self.offset += len(data)
        return entries

    def _read_limit_hits(self, lines: bytes) -> None:
        if self.limit_hits is not None:
            self.limit_hits.extend(scan_limit_hits(lines))


def parse_line(
    line: bytes, context: FileContext, offset: int, stats: ParseStats
) -> UsageEntry | None:
    """The entry of one line, or ``None`` (counted in ``stats``) when it does not count."""
    if USAGE_MARKER not in line:
        return None
    return _parse_usage_line(line, context, offset, stats)


def _parse_usage_line(
    line: bytes, context: FileContext, offset: int, stats: ParseStats
) -> UsageEntry | None:
    if has_forbidden_null(line):
        stats._skip("null_field", malformed=True)
        return None
    try:
        data = _decode_line(line)
    except (msgspec.DecodeError, msgspec.ValidationError):
        stats._skip("malformed", malformed=True)
        return None
    timestamp_ms = parse_timestamp(data.timestamp)
    if timestamp_ms is None:
        stats._skip("timestamp", malformed=False)
        return None
    reason = _invalid_reason(data)
    if reason is not None:
        stats._skip(reason, malformed=False)
        return None
    usage = data.message.usage
    breakdown = usage.cache_creation
    if breakdown is not None:
        cache_1h = breakdown.ephemeral_1h_input_tokens
        cache_creation = breakdown.ephemeral_5m_input_tokens + cache_1h
    else:
        cache_1h = 0
        cache_creation = usage.cache_creation_input_tokens
    message = data.message
    speed = usage.speed
    # Positional arguments, in field order: this runs once per line of every scan.
    return UsageEntry(
        timestamp_ms,
        usage.input_tokens,
        usage.output_tokens,
        cache_creation,
        cache_1h,
        usage.cache_read_input_tokens,
        message.model,
        speed == "fast",
        speed is not None,
        message.id,
        data.request_id,
        data.session_id,
        data.cost_usd,
        data.is_sidechain is True,
        _usage_limit_reset_ms(line) if data.is_api_error_message else None,
        context.project,
        context.session,
        context.project_path,
        context.source,
        offset,
    )


def has_forbidden_null(line: bytes) -> bool:
    """Whether a non-nullable field is ``null`` at any depth (ccusage's schema emulation).

    ccusage names the field of each ``:null`` by the last quoted run before it. Splitting
    on ``:null`` finds the same runs: a piece without a closing quote repeats the previous
    occurrence's answer, and a run that starts in an earlier piece contains ``:null``, so
    it is never a field name of the list.
    """
    pieces = line.split(_NULL)
    for piece in pieces[:-1]:
        closing = piece.rfind(b'"')
        if closing > 0:
            opening = piece.rfind(b'"', 0, closing)
            if opening >= 0 and piece[opening + 1 : closing] in _NON_NULLABLE:
                return True
    return False


def _invalid_reason(data: _Line) -> str | None:
    usage = data.message.usage
    breakdown = usage.cache_creation
    counts = (
        usage.input_tokens
        | usage.output_tokens
        | usage.cache_creation_input_tokens
        | usage.cache_read_input_tokens
    )
    if breakdown is not None:
        counts |= breakdown.ephemeral_5m_input_tokens | breakdown.ephemeral_1h_input_tokens
    if counts > _U64_MAX:  # a bit above 63 is set in one of them
        return "malformed"
    if data.version is not None and not _is_semver_prefix(data.version):
        return "version"
    if "" in (data.session_id, data.request_id, data.message.id, data.message.model):
        return "empty_id"
    return None


@lru_cache(maxsize=256)
def _is_semver_prefix(version: str) -> bool:
    """``N.N.N…`` (a handful of distinct versions recur in every file)."""
    return _SEMVER_PREFIX.match(version) is not None


def _usage_limit_reset_ms(line: bytes) -> int | None:
    marker = line.find(_LIMIT_MARKER)
    if marker == -1:
        return None
    bar = line.find(b"|", marker + len(_LIMIT_MARKER))
    match = _LIMIT_EPOCH.match(line, bar + 1) if bar != -1 else None
    if match is None:
        return None
    digits = match.group().lstrip(b"0")
    if len(digits) > len(_MAX_RESET_DIGITS):  # also keeps int() off 4,300-digit strings
        return None
    seconds = int(digits or b"0")
    # ccusage reads a signed 64-bit number of seconds and drops it if the milliseconds overflow
    return seconds * 1000 if 0 < seconds <= _MAX_RESET_SECONDS else None
