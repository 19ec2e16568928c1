"""The agent's durable state: how far each file was read, and the outbox of unsent lines.

One SQLite file (``<state dir>/agent.db``, WAL). Reading new lines of a file and
putting them in the outbox happen in one transaction, so a crash at any point loses
nothing and reads nothing twice; a line leaves the outbox only when the server
acknowledged it. Several agent processes (a daemon and a hook) may share the file.

The official limit readings found in those lines (``ccsync.usage.limit_hits``) wait in
``readings``, queued in the same transaction, until the server took them (or their window
reset: ``ccsync.agent.readings``); so do those of Claude Code's cached usage response,
queued with the fetch time they come from (``ccsync.agent.usage_cache``).

Outbox ids number the lines this state ever queued (``AUTOINCREMENT``: never reused);
with the state's random ``stream`` id they let a server say how much of this agent's
output it holds (``ccsync.agent.identity``).
"""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ccsync.agent.digest import EMPTY, Content
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
CREATE TABLE IF NOT EXISTS readings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    window TEXT NOT NULL,
    reading TEXT NOT NULL
);
"""
UPGRADES = (
    # 0.2: the content identity of each file (``ccsync.agent.digest``).
    ("files", "digest", "ALTER TABLE files ADD COLUMN digest TEXT"),
    ("files", "tail", "ALTER TABLE files ADD COLUMN tail BLOB"),
    ("files", "stamp", "ALTER TABLE files ADD COLUMN stamp TEXT"),
    ("files", "head_key", "ALTER TABLE files ADD COLUMN head_key INTEGER"),
)
INDEXES = """
CREATE INDEX IF NOT EXISTS files_path ON files (path);
CREATE INDEX IF NOT EXISTS files_head_key ON files (head_key);
"""
_FILE_COLUMNS = "dev, ino, path, source, offset, size, head, digest, tail, stamp"
STREAM_KEY = "stream"
RESYNC_KEY = "resync.pending"
ACKED_KEY = "outbox.acked"
"""The highest outbox id a server acknowledged."""


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
    digest: str | None = EMPTY
    """Checksum of the bytes ``[0, offset)`` (``ccsync.agent.digest``); ``None`` for a file
    followed by an older agent, until it is computed."""
    tail: bytes | None = b""
    """The last bytes before ``offset`` (up to ``digest.TAIL_BYTES``): the file under this
    inode must still have them there to be this file (``None``: not known yet)."""
    stamp: str | None = None
    """Size, modification and change times when the file was last found to be this file:
    while they stay, it is (a new file given this inode has another change time)."""


def _key(head: bytes) -> int:
    """What ``look_alikes`` finds a first line by (an index on the line would copy it)."""
    return zlib.crc32(head)


class AgentState:
    def __init__(self, path: Path) -> None:
        private_file(path)
        self.path = path
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        for table, column, statement in UPGRADES:
            columns = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in columns:
                with contextlib.suppress(sqlite3.OperationalError):  # another process did
                    self._db.execute(statement)
        self._db.executescript(INDEXES)

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
            f"SELECT {_FILE_COLUMNS} FROM files WHERE dev = ? AND ino = ?", (dev, ino)
        ).fetchone()
        return None if row is None else FileState(*row)

    def new_file(self, dev: int, ino: int, path: str, head: bytes) -> FileState:
        """Start following a file from its start, under its path as source name, or
        ``path~N`` if that name was used (see ``_issue_source``)."""
        with self.transaction() as db:
            source = self._issue_source(db, path)
            db.execute(
                f"INSERT OR REPLACE INTO files ({_FILE_COLUMNS}, head_key)"
                " VALUES (?, ?, ?, ?, 0, 0, ?, ?, x'', NULL, ?)",
                (dev, ino, path, source, head, EMPTY, _key(head)),
            )
        return FileState(dev, ino, path, source, 0, 0, head, EMPTY, b"")

    def extend_head(self, state: FileState, head: bytes) -> None:
        """Keep more of the first bytes of a file that was short when first seen."""
        self._db.execute(
            "UPDATE files SET head = ?, head_key = ? WHERE dev = ? AND ino = ?",
            (head, _key(head), state.dev, state.ino),
        )
        state.head = head

    def retire(self, dev: int, ino: int) -> None:
        """What the agent knew under this inode is of a file that is not there any more
        (the inode holds another file now): it is kept, under no inode (``dev`` -1), for
        a copy of it to be recognised (``look_alikes``)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE files SET dev = -1,"
                " ino = (SELECT coalesce(min(ino), 0) - 1 FROM files WHERE dev = -1)"
                " WHERE dev = ? AND ino = ?",
                (dev, ino),
            )

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

    def advance(
        self,
        state: FileState,
        offset: int,
        size: int,
        entries: Sequence[str],
        content: Content | None,
        stamp: str | None = None,
        readings: Sequence[tuple[str, str]] = (),
    ) -> None:
        """Record that the file (as ``stamp`` says) was read up to ``offset``
        (``content``: what identifies ``[0, offset)``), queueing ``entries`` (wire JSON)
        and the official ``readings`` found (window name, ``wire.RateLimit`` JSON)."""
        digest, tail = (None, None) if content is None else (content.digest, content.tail)
        with self.transaction() as db:
            db.executemany("INSERT INTO outbox (entry) VALUES (?)", [(e,) for e in entries])
            if readings:
                db.executemany("INSERT INTO readings (window, reading) VALUES (?, ?)", readings)
            db.execute(
                "UPDATE files SET offset = ?, size = ?, path = ?, digest = ?, tail = ?,"
                " stamp = ? WHERE dev = ? AND ino = ?",
                (offset, size, state.path, digest, tail, stamp, state.dev, state.ino),
            )
        state.offset = offset
        state.size = size
        state.digest, state.tail, state.stamp = digest, tail, stamp

    def set_stamp(self, state: FileState, stamp: str) -> None:
        """The file was found to be this file, as ``stamp`` says, at ``path``."""
        self._db.execute(
            "UPDATE files SET stamp = ?, path = ? WHERE dev = ? AND ino = ?",
            (stamp, state.path, state.dev, state.ino),
        )
        state.stamp = stamp

    def stamps(self) -> dict[tuple[int, int], tuple[str | None, str, int]]:
        """Every file under an inode: its stamp, path and offset (one light query)."""
        rows = self._db.execute("SELECT dev, ino, stamp, path, offset FROM files WHERE dev >= 0")
        return {(dev, ino): (stamp, path, offset) for dev, ino, stamp, path, offset in rows}

    def set_content(self, state: FileState, content: Content) -> None:
        """What identifies ``[0, offset)`` of a file an older agent followed."""
        self._db.execute(
            "UPDATE files SET digest = ?, tail = ?, stamp = NULL, head_key = ?"
            " WHERE dev = ? AND ino = ? AND offset = ?",
            (content.digest, content.tail, _key(state.head), state.dev, state.ino, state.offset),
        )
        state.digest, state.tail = content.digest, content.tail

    def look_alikes(self, path: str, head: bytes) -> list[FileState]:
        """Files that a file at ``path`` starting with ``head`` may be a copy of: those
        last seen at that path or with the same first line, with something read."""
        rows = self._db.execute(
            f"SELECT {_FILE_COLUMNS} FROM files"
            " WHERE (path = ? OR head_key = ?) AND digest IS NOT NULL AND offset > 0"
            " ORDER BY path = ? DESC, offset DESC",
            (path, _key(head), path),
        )
        return [FileState(*row) for row in rows]

    def adopt(self, state: FileState, dev: int, ino: int, path: str) -> FileState:
        """The file at ``(dev, ino)`` (which the agent knows nothing of, or ``retire``d)
        is ``state``'s file under a new inode: it goes on from ``state``'s offset, under
        its source name."""
        with self.transaction() as db:
            db.execute(
                "UPDATE files SET dev = ?, ino = ?, path = ?, stamp = NULL"
                " WHERE dev = ? AND ino = ?",
                (dev, ino, path, state.dev, state.ino),
            )
        state.dev, state.ino, state.path, state.stamp = dev, ino, path, None
        return state

    def rewind(self, states: Iterable[FileState]) -> None:
        """Read these files again from the start under the same source names (so their
        lines keep their identities), and clear a pending resync: one transaction."""
        states = list(states)
        with self.transaction() as db:
            db.executemany(
                "UPDATE files SET offset = 0, size = 0, digest = ?, tail = x'', stamp = NULL"
                " WHERE dev = ? AND ino = ?",
                [(EMPTY, state.dev, state.ino) for state in states],
            )
            db.execute("DELETE FROM meta WHERE key = ?", (RESYNC_KEY,))
        for state in states:
            state.offset = state.size = 0
            state.digest, state.tail, state.stamp = EMPTY, b"", None

    def files(self) -> list[FileState]:
        return [FileState(*row) for row in self._db.execute(f"SELECT {_FILE_COLUMNS} FROM files")]

    # -- outbox --------------------------------------------------------------------------
    def pending(self, limit: int) -> list[tuple[int, str]]:
        """The oldest unsent lines: (outbox id, wire JSON)."""
        return list(self._db.execute("SELECT id, entry FROM outbox ORDER BY id LIMIT ?", (limit,)))

    def acknowledge(self, ids: Sequence[int]) -> None:
        """The server has these: they leave the outbox (and ``acked`` moves up to them)."""
        with self.transaction() as db:
            db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])
            if ids:
                db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE"
                    " SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
                    (ACKED_KEY, max(ids)),
                )

    def acked(self) -> int:
        """The highest outbox id a server acknowledged (0: none yet)."""
        return int(self.get(ACKED_KEY) or 0)

    def stream(self) -> str:
        """This state's random id: its outbox ids number lines of this stream only."""
        self._db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (STREAM_KEY, uuid.uuid4().hex)
        )
        return str(self.get(STREAM_KEY))

    def resync_pending(self) -> str | None:
        """Why every file is to be read again from the start, if it is."""
        return self.get(RESYNC_KEY)

    # -- official readings ---------------------------------------------------------------
    def pending_readings(self, limit: int) -> list[tuple[int, str, str]]:
        """The oldest official readings not sent yet: (id, window, ``wire.RateLimit`` JSON)."""
        return list(
            self._db.execute(
                "SELECT id, window, reading FROM readings ORDER BY id LIMIT ?", (limit,)
            )
        )

    def queue_readings(self, readings: Sequence[tuple[str, str]], key: str, mark: int) -> bool:
        """Queue the official ``readings`` (window, ``StoredReading`` JSON) of something
        numbered ``mark`` (a cache's fetch time), unless the mark kept under ``key`` says
        that or something newer was queued before; the readings and the mark move in one
        transaction, so neither a crash nor two agents sharing the state queue one twice.
        Whether they were queued."""
        with self.transaction() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
            if row is not None and str(row[0]).isdigit() and int(row[0]) >= mark:
                return False
            db.executemany("INSERT INTO readings (window, reading) VALUES (?, ?)", readings)
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, str(mark)))
        return True

    def drop_readings(self, ids: Sequence[int]) -> None:
        """These readings were taken by the server (or are worthless): they leave."""
        with self.transaction() as db:
            db.executemany("DELETE FROM readings WHERE id = ?", [(i,) for i in ids])

    def readings_waiting(self) -> int:
        row = self._db.execute("SELECT count(*) FROM readings").fetchone()
        return int(row[0])

    def outbox_size(self) -> int:
        row = self._db.execute("SELECT count(*) FROM outbox").fetchone()
        return int(row[0])

    # -- small facts ---------------------------------------------------------------------
    def get(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def put(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))
