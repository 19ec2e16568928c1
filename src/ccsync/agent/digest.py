"""A file's content identity: a running checksum of the bytes read so far.

The tailer keeps, with each file's offset, a checksum of the bytes ``[0, offset)``
(CRC-32 and Adler-32, 64 bits together). Both can be continued from their stored value,
so keeping it up to date costs a pass over the bytes being read anyway (about 0.5 ms a
MiB), never a re-read. A file that shows up under a new inode (``cp`` + ``mv``, rsync, an
editor's save, a restore) is recognised as a known file when its first ``offset`` bytes
have the known checksum: it continues where the old one stopped, under the same source
name, instead of being read (and counted) again.
"""

from __future__ import annotations

import zlib
from pathlib import Path

READ_BYTES = 4 * 1024 * 1024


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


def digest_of(path: Path, length: int) -> str | None:
    """The checksum of the first ``length`` bytes of ``path``; ``None`` when the file is
    shorter or cannot be read."""
    digest = Digest()
    left = length
    try:
        with open(path, "rb") as handle:
            while left > 0:
                chunk = handle.read(min(READ_BYTES, left))
                if not chunk:
                    return None
                digest.update(chunk)
                left -= len(chunk)
    except OSError:
        return None
    return digest.text


class Running:
    """The checksum of ``[0, offset)`` while a file is read in chunks that end mid-line.

    ``advance(chunk, consumed)``: ``chunk`` was read, and the reader's offset moved by
    ``consumed`` bytes (whole lines: bytes held back from an earlier chunk first, then the
    start of this one). What is read but not consumed yet waits for the next call.
    """

    __slots__ = ("_carry", "digest")

    def __init__(self, text: str) -> None:
        self.digest = Digest(text)
        self._carry = b""

    def advance(self, chunk: bytes, consumed: int) -> str:
        carry = self._carry
        if consumed <= len(carry):
            self.digest.update(memoryview(carry)[:consumed])
            self._carry = carry[consumed:] + chunk
        else:
            self.digest.update(carry)
            taken = consumed - len(carry)
            self.digest.update(memoryview(chunk)[:taken])
            self._carry = chunk[taken:]
        return self.digest.text
