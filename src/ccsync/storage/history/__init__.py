"""The history store (what must outlive a restart), opened by URL.

``sqlite:///path/to/file.db`` or ``postgresql://user:password@host/database``; both are
served by ``sql.SqlHistoryStore``, imported only when a store is opened. A
``HistoryStore`` is one database's roles: ``devices``, ``entries``, ``blocks``,
``tokens``, ``settings`` and ``jobs`` (``base``).
"""

from __future__ import annotations

from ccsync.storage.history.base import Capabilities, HistoryStore
from ccsync.storage.history.blocks import BlockStore, StoredBlock
from ccsync.storage.history.devices import Device, DeviceStore
from ccsync.storage.history.entries import EntryStore, IngestResult, StoredEntry
from ccsync.storage.history.jobs import JobStore
from ccsync.storage.history.settings import SettingsStore
from ccsync.storage.history.tokens import TokenKind, TokenRecord, TokenStore

__all__ = [
    "BlockStore",
    "Capabilities",
    "Device",
    "DeviceStore",
    "EntryStore",
    "HistoryStore",
    "IngestResult",
    "JobStore",
    "SettingsStore",
    "StoredBlock",
    "StoredEntry",
    "TokenKind",
    "TokenRecord",
    "TokenStore",
    "open_history_store",
]


async def open_history_store(url: str, *, schema: str | None = None) -> HistoryStore:
    """Open (and migrate) the history store at ``url``.

    ``schema`` places the tables in that PostgreSQL schema. ``ValueError`` for an
    unsupported URL, ``StorageUnavailableError`` when the database cannot be reached.
    """
    from ccsync.storage.history.sql import SqlHistoryStore

    return await SqlHistoryStore.open(url, schema=schema)
