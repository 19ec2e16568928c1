"""The history store (what must outlive a restart), opened by URL.

``sqlite:///path/to/file.db`` or ``postgresql://user:password@host/database``; both are
served by ``sql.SqlHistoryStore``, imported only when a store is opened.
"""

from __future__ import annotations

from ccsync.storage.history.base import (
    Capabilities,
    Device,
    HistoryStore,
    IngestResult,
    StoredBlock,
    StoredEntry,
    TokenKind,
    TokenRecord,
)

__all__ = [
    "Capabilities",
    "Device",
    "HistoryStore",
    "IngestResult",
    "StoredBlock",
    "StoredEntry",
    "TokenKind",
    "TokenRecord",
    "open_history_store",
]


async def open_history_store(url: str, *, schema: str | None = None) -> HistoryStore:
    """Open (and migrate) the history store at ``url``.

    ``schema`` places the tables in that PostgreSQL schema. ``ValueError`` for an
    unsupported URL, ``StorageUnavailableError`` when the database cannot be reached.
    """
    from ccsync.storage.history.sql import SqlHistoryStore

    return await SqlHistoryStore.open(url, schema=schema)
