"""A file's content identity: a running checksum of the bytes read so far, and their end.

The tailer keeps, with each file's offset, a checksum of the bytes ``[0, offset)``
(CRC-32 and Adler-32, 64 bits together) and the last ``TAIL_BYTES`` of them. The checksum
can be continued from its stored value, so keeping it costs a pass over the bytes being
read anyway (about 0.5 ms a MiB), never a re-read.

- A file under a known inode is that file only if its first line and the bytes before
  the offset are still the ones read (an inode number freed by a deleted file is soon
  given to a new file, which may well start with the same line).
- A file that shows up under a new inode (``cp`` + ``mv``, rsync, a sync tool, an
  editor's save, a restore) is recognised as a known file that is gone when its first
  ``offset`` bytes have that file's checksum: it goes on where the old one stopped, under
  the same source name, instead of being read (and counted) again.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

READ_BYTES = 4 * 1024 * 1024
TAIL_BYTES = 1024


class Digest:
    """CRC-32 and Adler-32 of everything ``update`` was given, as 16 hex digits."""

    __slots__ = ("adler", "crc")

    def __init__(self, text: str = "") -> None:
        self.crc = int(text[:8], 16) if text else 0
        self.adler = int(text[8:16], 16) if text else 1

    def update(self, data: bytes | memoryview) -> None:
        if data:
            self.crc = zlib.crc32(data, self.crc)
            self.adler = zlib.adler32(data, self.adler)

    @property
    def text(self) -> str:
        return f"{self.crc:08x}{self.adler:08x}"


EMPTY = Digest().text
"""The checksum of no bytes (a file read up to offset 0)."""


@dataclass(frozen=True, slots=True)
class Content:
    """What identifies the bytes ``[0, offset)`` of a file."""

    digest: str
    tail: bytes
    """The last ``TAIL_BYTES`` of them (all of them if fewer)."""


def content_of(path: Path, length: int) -> Content | None:
    """The identity of the first ``length`` bytes of ``path``; ``None`` when the file is
    shorter or cannot be read."""
    running = Running(EMPTY, b"")
    left = length
    try:
        with open(path, "rb") as handle:
            while left > 0:
                chunk = handle.read(min(READ_BYTES, left))
                if not chunk:
                    return None
                running.advance(chunk, len(chunk))
                left -= len(chunk)
    except OSError:
        return None
    return running.content


class Running:
    """The identity of ``[0, offset)`` while a file is read in chunks that end mid-line.

    ``advance(chunk, consumed)``: ``chunk`` was read, and the reader's offset moved by
    ``consumed`` bytes (whole lines: bytes held back from an earlier chunk first, then the
    start of this one). What is read but not consumed yet waits for the next call.
    """

    __slots__ = ("_carry", "_digest", "_tail")

    def __init__(self, digest: str, tail: bytes) -> None:
        self._digest = Digest(digest)
        self._tail = tail
        self._carry = b""

    @property
    def content(self) -> Content:
        return Content(self._digest.text, self._tail)

    def advance(self, chunk: bytes, consumed: int) -> Content:
        carry = self._carry
        if consumed <= len(carry):
            self._take(memoryview(carry)[:consumed])
            self._carry = carry[consumed:] + chunk
        else:
            self._take(carry)
            taken = consumed - len(carry)
            self._take(memoryview(chunk)[:taken])
            self._carry = chunk[taken:]
        return self.content

    def _take(self, data: bytes | memoryview) -> None:
        if not data:
            return
        self._digest.update(data)
        if len(data) >= TAIL_BYTES:
            self._tail = bytes(data[-TAIL_BYTES:])
        else:
            self._tail = (self._tail + bytes(data))[-TAIL_BYTES:]
