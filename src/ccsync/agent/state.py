"""The agent's durable state: how far each file was read, and the outbox of unsent lines.

One SQLite file (``<state dir>/agent.db``, WAL). Reading new lines of a file and
putting them in the outbox happen in one transaction, so a crash at any point loses
nothing and reads nothing twice; a line leaves the outbox only when the server
acknowledged it. Several agent processes (a daemon and a hook) may share the file.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ccsync.private import private_file

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    dev INTEGER NOT NULL,
    ino INTEGER NOT NULL,
    path TEXT NOT NULL,
    source TEXT NOT NULL,
    offset INTEGER NOT NULL DEFAULT 0,
    size INTEGER NOT NULL DEFAULT 0,
    head BLOB NOT NULL DEFAULT x'',
    PRIMARY KEY (dev, ino)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entry TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (name TEXT PRIMARY KEY);
"""


@dataclass(slots=True)
class FileState:
    """What the agent knows of one file, identified by device and inode (a rename keeps it)."""

    dev: int
    ino: int
    path: str
    source: str
    """The name its lines carry to the server: the path it had when first seen."""
    offset: int
    """Where the next unread line starts."""
    size: int
    head: bytes = b""
    """The file's first line (or what there was of it): an inode number freed by a deleted
    file is soon given to a new one, and the first line tells the two apart."""


class AgentState:
    def __init__(self, path: Path) -> None:
        private_file(path)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- files ---------------------------------------------------------------------------
    def file(self, dev: int, ino: int) -> FileState | None:
        row = self._db.execute(
            "SELECT dev, ino, path, source, offset, size, head FROM files WHERE dev = ? AND ino = ?",
            (dev, ino),
        ).fetchone()
        return None if row is None else FileState(*row)

    def new_file(self, dev: int, ino: int, path: str, head: bytes) -> FileState:
        """Start following a file, under its path as source name (see ``_issue_source``)."""
        with self.transaction() as db:
            source = self._issue_source(db, path)
            db.execute(
                "INSERT OR REPLACE INTO files (dev, ino, path, source, offset, size, head)"
                " VALUES (?, ?, ?, ?, 0, 0, ?)",
                (dev, ino, path, source, head),
            )
        return FileState(dev, ino, path, source, 0, 0, head)

    def extend_head(self, state: FileState, head: bytes) -> None:
        """Keep more of the first bytes of a file that was short when first seen."""
        self._db.execute(
            "UPDATE files SET head = ? WHERE dev = ? AND ino = ?", (head, state.dev, state.ino)
        )
        state.head = head

    def restart_file(self, state: FileState, head: bytes) -> FileState:
        """A file that was rewritten (it shrank, or its first bytes changed): read it again
        from the start, under a new source name."""
        return self.new_file(state.dev, state.ino, state.path, head)

    @staticmethod
    def _issue_source(db: sqlite3.Connection, path: str) -> str:
        """``path``, or ``path~N`` when lines were already sent under that name by another
        file (an earlier inode at the path, or its content before a rewrite): a line's
        identity on the server is ``(source, offset)``, so a name is never used twice."""
        source = path
        generation = 0
        while db.execute("SELECT 1 FROM sources WHERE name = ?", (source,)).fetchone():
            generation += 1
            source = f"{path}~{generation}"
        db.execute("INSERT INTO sources (name) VALUES (?)", (source,))
        return source

    def advance(self, state: FileState, offset: int, size: int, entries: Sequence[str]) -> None:
        """Record that the file was read up to ``offset``, queueing ``entries`` (wire JSON)."""
        with self.transaction() as db:
            db.executemany("INSERT INTO outbox (entry) VALUES (?)", [(e,) for e in entries])
            db.execute(
                "UPDATE files SET offset = ?, size = ?, path = ? WHERE dev = ? AND ino = ?",
                (offset, size, state.path, state.dev, state.ino),
            )
        state.offset = offset
        state.size = size

    def files(self) -> list[FileState]:
        return [
            FileState(*row)
            for row in self._db.execute(
                "SELECT dev, ino, path, source, offset, size, head FROM files"
            )
        ]

    # -- outbox --------------------------------------------------------------------------
    def pending(self, limit: int) -> list[tuple[int, str]]:
        """The oldest unsent lines: (outbox id, wire JSON)."""
        return list(self._db.execute("SELECT id, entry FROM outbox ORDER BY id LIMIT ?", (limit,)))

    def acknowledge(self, ids: Sequence[int]) -> None:
        """The server has these: they leave the outbox."""
        with self.transaction() as db:
            db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])

    def outbox_size(self) -> int:
        row = self._db.execute("SELECT count(*) FROM outbox").fetchone()
        return int(row[0])

    # -- small facts ---------------------------------------------------------------------
    def get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
