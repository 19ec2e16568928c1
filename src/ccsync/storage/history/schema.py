"""The history database's tables (SQLAlchemy Core), as the migrations create them, and
the one mapping between their rows and the records the stores hand out.

Every change here needs a migration in ``migrations/versions``; a test compares this
metadata with the migrated database on SQLite and PostgreSQL. Times are milliseconds since
the epoch (UTC); token counts are 64-bit. Accounts are plain strings on devices and entries.

Records map to rows by name: each field of a record (a dataclass) is the column of the same
name, a column marked ``JSON`` holding the field as JSON text (``record_of``,
``row_of``). A ``UsageEntry`` maps by position: its fields are the ``ENTRY_COLUMNS``.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
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

from ccsync.usage.entry import UsageEntry

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R", bound="DataclassInstance")

JSON = {"json": True}
"""``Column.info`` of a text column that holds a record's field as JSON text."""

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
    # What an account stored after a given line (``kept_changes``): an index range scan.
    Index("ix_entries_account_id", "account", "id"),
    # Telemetry lines and the transcript lines of their request (``sql_requests``).
    Index("ix_entries_account_request", "account", "request_id"),
)

quarantined_entries = Table(
    "quarantined_entries",
    metadata,
    # The lines migration 0004 found stored with a time out of ``ccsync.bounds`` (before
    # the server refused them): every ``entries`` column, then why and when they moved.
    Column("id", EntryId, autoincrement=False, nullable=False),
    Column("account", Text, nullable=False),
    Column("device_id", Text, nullable=False),
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
    Column("kept", Boolean, nullable=False),
    Column("reason", Text, nullable=False),
    Column("quarantined_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("id", name="pk_quarantined_entries"),
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
    Column("models", Text, nullable=False, info=JSON),  # an array of model names
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

history_identity = Table(
    "history_identity",
    metadata,
    # One row (slot 1): the random id made with the database (``EntryStore.history_id``).
    Column("slot", Integer, nullable=False),
    Column("history_id", Text, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("slot", name="pk_history_identity"),
)

device_marks = Table(
    "device_marks",
    metadata,
    # Every line an agent's stream numbered up to ``mark`` is stored (``wire.UsagePush``).
    Column("device_id", Text, nullable=False),
    Column("stream", Text, nullable=False),
    Column("mark", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("device_id", "stream", name="pk_device_marks"),
)

telemetry_points = Table(
    "telemetry_points",
    metadata,
    # Metric data points of Claude Code's OpenTelemetry export (``telemetry.MetricPoint``).
    Column("series", Text, nullable=False),
    Column("account", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("session", Text, nullable=False),
    Column("metric", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("model", Text, nullable=True),
    Column("time_ms", BigInteger, nullable=False),
    Column("value", Double, nullable=False),
    PrimaryKeyConstraint("series", name="pk_telemetry_points"),
    Index("ix_telemetry_points_account_session", "account", "session"),
    Index("ix_telemetry_points_time", "time_ms"),
)

retention_sweeps = Table(
    "retention_sweeps",
    metadata,
    # A device's Claude Code deleting old transcripts (``telemetry.RetentionSweep``).
    Column("key", Text, nullable=False),
    Column("account", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("session", Text, nullable=False),
    Column("time_ms", BigInteger, nullable=False),
    Column("result", Text, nullable=False),
    Column("transcripts_deleted", BigInteger, nullable=True),
    Column("details", Text, nullable=False, info=JSON),  # an object of strings
    PrimaryKeyConstraint("key", name="pk_retention_sweeps"),
    Index("ix_retention_sweeps_account_time", "account", "time_ms"),
)

cron_jobs = Table(
    "cron_jobs",
    metadata,
    Column("id", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("schedule", Text, nullable=False),
    Column("command", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("timezone", Text, nullable=True),
    Column("options", Text, nullable=False, info=JSON),  # an object
    Column("status", Text, nullable=False),
    Column("error_message", Text, nullable=True),
    Column("last_run_ms", BigInteger, nullable=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("id", name="pk_cron_jobs"),
)

cron_runs = Table(
    "cron_runs",
    metadata,
    Column("id", EntryId, autoincrement=True, nullable=False),
    Column("job_id", Text, nullable=False),
    Column("job_kind", Text, nullable=False),
    Column("trigger", Text, nullable=False),
    Column("instance", Text, nullable=False),
    Column("scheduled_ms", BigInteger, nullable=True),
    Column("started_ms", BigInteger, nullable=False),
    Column("ended_ms", BigInteger, nullable=True),
    Column("status", Text, nullable=False),
    Column("exit_code", Integer, nullable=True),
    Column("output", Text, nullable=False),
    Column("error", Text, nullable=True),
    Column("details", Text, nullable=False, info=JSON),  # an object
    Column("process_group", Integer, nullable=True),  # on the instance's host
    PrimaryKeyConstraint("id", name="pk_cron_runs"),
    # One run per job and fire time: the second process to start a tick finds it taken.
    UniqueConstraint("job_id", "scheduled_ms", name="uq_cron_runs_tick"),
    Index("ix_cron_runs_job", "job_id", "id"),
    Index("ix_cron_runs_kind_started", "job_kind", "started_ms"),
)


limit_readings = Table(
    "limit_readings",
    metadata,
    # Every official reading a device sent (``storage.history.limits``): kept as sent.
    Column("id", EntryId, autoincrement=True, nullable=False),
    Column("account", Text, nullable=False),
    Column("window", Text, nullable=False),
    Column("used_percentage", Double, nullable=False),
    Column("resets_at_ms", BigInteger, nullable=True),
    Column("source", Text, nullable=False),
    Column("device_id", Text, nullable=False),
    Column("observed_ms", BigInteger, nullable=False),
    Column("received_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("id", name="pk_limit_readings"),
    UniqueConstraint(
        "account", "window", "device_id", "source", "observed_ms", name="uq_limit_readings"
    ),
    Index("ix_limit_readings_account_observed", "account", "observed_ms"),
)

alert_history = Table(
    "alert_history",
    metadata,
    # One row per alert fired: the row is the claim (one per account, window, rule, period).
    Column("id", EntryId, autoincrement=True, nullable=False),
    Column("account", Text, nullable=False),
    Column("window", Text, nullable=False),
    Column("rule", Text, nullable=False),
    Column("period", Text, nullable=False),
    Column("fired_ms", BigInteger, nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("error", Text, nullable=True),
    PrimaryKeyConstraint("id", name="pk_alert_history"),
    UniqueConstraint("account", "window", "rule", "period", name="uq_alert_history_claim"),
    Index("ix_alert_history_fired", "fired_ms"),
)


ENTRY_KEYS: tuple[str, ...] = tuple(
    "line_offset" if f.name == "offset" else f.name for f in msgspec.structs.fields(UsageEntry)
)
"""The ``entries`` columns of the ``UsageEntry`` fields, in field order (``UsageEntry(*row)``)."""
ENTRY_COLUMNS = tuple(entries.c[key] for key in ENTRY_KEYS)


@functools.cache
def _fields(kind: type[DataclassInstance], table: Table) -> tuple[tuple[str, bool], ...]:
    """Each field of ``kind`` that is a column of ``table``, and whether it holds JSON."""
    names = (field.name for field in dataclasses.fields(kind))
    return tuple((name, bool(table.c[name].info.get("json"))) for name in names)


def record_of(kind: type[R], table: Table, row: Row[Any]) -> R:
    """The ``kind`` record in a row of ``table`` (a JSON array comes back as a tuple)."""
    columns = row._mapping
    values: dict[str, Any] = {}
    for name, is_json in _fields(kind, table):
        value = columns[name]
        if is_json:
            value = json.loads(value)
            value = tuple(value) if isinstance(value, list) else value
        values[name] = value
    return kind(**values)


def row_of(record: DataclassInstance, table: Table) -> dict[str, Any]:
    """The columns of ``table`` that ``record`` fills, by name (JSON ones as text)."""
    values: dict[str, Any] = {}
    for name, is_json in _fields(type(record), table):
        value = getattr(record, name)
        if is_json:
            value = json.dumps(list(value) if isinstance(value, tuple) else value)
        values[name] = value
    return values
