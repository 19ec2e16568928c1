"""The history database's tables (SQLAlchemy Core), as the migrations create them.

Every change here needs a migration in ``migrations/versions``; a test compares this
metadata with the migrated database on SQLite and PostgreSQL. Times are milliseconds since
the epoch (UTC); token counts are 64-bit. Accounts are plain strings on devices and entries.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Double,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Row,
    Table,
    Text,
    UniqueConstraint,
)

from ccsync.storage.history.base import Device, StoredBlock, TokenRecord

metadata = MetaData()

EntryId = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit key; ``INTEGER`` on SQLite, where only that type aliases the autoincrementing rowid."""

devices = Table(
    "devices",
    metadata,
    Column("id", Text, nullable=False),
    Column("account", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("hostname", Text, nullable=True),
    Column("version", Text, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("last_seen_ms", BigInteger, nullable=True),
    Column("last_push_ms", BigInteger, nullable=True),
    PrimaryKeyConstraint("id", name="pk_devices"),
)

entries = Table(
    "entries",
    metadata,
    Column("id", EntryId, autoincrement=True, nullable=False),
    Column("account", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    # One column per ``UsageEntry`` field, in its order (``offset`` is ``line_offset``).
    Column("timestamp_ms", BigInteger, nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("cache_creation_tokens", BigInteger, nullable=False),
    Column("cache_creation_1h_tokens", BigInteger, nullable=False),
    Column("cache_read_tokens", BigInteger, nullable=False),
    Column("model", Text, nullable=True),
    Column("fast", Boolean, nullable=False),
    Column("has_speed", Boolean, nullable=False),
    Column("message_id", Text, nullable=True),
    Column("request_id", Text, nullable=True),
    Column("session_field", Text, nullable=True),
    Column("cost_usd", Double, nullable=True),
    Column("sidechain", Boolean, nullable=False),
    Column("usage_limit_reset_ms", BigInteger, nullable=True),
    Column("project", Text, nullable=False),
    Column("session", Text, nullable=False),
    Column("project_path", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("line_offset", BigInteger, nullable=False),
    # Whether ccusage's duplicate rules keep the line (decided per message id on ingest).
    Column("kept", Boolean, nullable=False),
    PrimaryKeyConstraint("id", name="pk_entries"),
    UniqueConstraint("source", "line_offset", name="uq_entries_line"),
    Index("ix_entries_account_message", "account", "message_id"),
    Index("ix_entries_account_kept_time", "account", "kept", "timestamp_ms"),
    Index("ix_entries_account_device_time", "account", "device_id", "timestamp_ms"),
)

blocks = Table(
    "blocks",
    metadata,
    Column("account", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("block_id", Text, nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    Column("actual_end_ms", BigInteger, nullable=True),
    Column("is_active", Boolean, nullable=False),
    Column("is_gap", Boolean, nullable=False),
    Column("entries", BigInteger, nullable=False),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("cache_creation_tokens", BigInteger, nullable=False),
    Column("cache_read_tokens", BigInteger, nullable=False),
    Column("cost_usd", Double, nullable=False),
    Column("models", Text, nullable=False),  # a JSON array of model names
    Column("received_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("device_id", "block_id", name="pk_blocks"),
)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("token_hash", Text, nullable=False),
    Column("label", Text, nullable=False),
    Column("device_id", Text, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("last_used_ms", BigInteger, nullable=True),
    Column("revoked_ms", BigInteger, nullable=True),
    PrimaryKeyConstraint("id", name="pk_tokens"),
    UniqueConstraint("token_hash", name="uq_tokens_token_hash"),
)

settings = Table(
    "settings",
    metadata,
    Column("key", Text, nullable=False),
    Column("value", Text, nullable=False),  # JSON
    PrimaryKeyConstraint("key", name="pk_settings"),
)


def device_from_row(row: Row[Any]) -> Device:
    return Device(
        id=row.id,
        account=row.account,
        name=row.name,
        hostname=row.hostname,
        version=row.version,
        created_ms=row.created_ms,
        last_seen_ms=row.last_seen_ms,
        last_push_ms=row.last_push_ms,
    )


def block_from_row(row: Row[Any]) -> StoredBlock:
    return StoredBlock(
        account=row.account,
        device_id=row.device_id,
        block_id=row.block_id,
        start_ms=row.start_ms,
        end_ms=row.end_ms,
        actual_end_ms=row.actual_end_ms,
        is_active=row.is_active,
        is_gap=row.is_gap,
        entries=row.entries,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cache_creation_tokens=row.cache_creation_tokens,
        cache_read_tokens=row.cache_read_tokens,
        cost_usd=row.cost_usd,
        models=tuple(json.loads(row.models)),
        received_ms=row.received_ms,
    )


def token_from_row(row: Row[Any]) -> TokenRecord:
    return TokenRecord(
        id=row.id,
        kind=row.kind,
        token_hash=row.token_hash,
        label=row.label,
        device_id=row.device_id,
        created_ms=row.created_ms,
        last_used_ms=row.last_used_ms,
        revoked_ms=row.revoked_ms,
    )
