"""OpenTelemetry ingest: metric points, retention sweeps, and entries by request id.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_entries_account_request", "entries", ["account", "request_id"])
    op.create_table(
        "telemetry_points",
        sa.Column("series", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("device_id", sa.Text(), nullable=False),
        sa.Column("session", sa.Text(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("model", sa.Text(), nullable=True),
        sa.Column("time_ms", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("series", name="pk_telemetry_points"),
    )
    op.create_index(
        "ix_telemetry_points_account_session", "telemetry_points", ["account", "session"]
    )
    op.create_index("ix_telemetry_points_time", "telemetry_points", ["time_ms"])
    op.create_table(
        "retention_sweeps",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("device_id", sa.Text(), nullable=False),
        sa.Column("session", sa.Text(), nullable=False),
        sa.Column("time_ms", sa.BigInteger(), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("transcripts_deleted", sa.BigInteger(), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_retention_sweeps"),
    )
    op.create_index("ix_retention_sweeps_account_time", "retention_sweeps", ["account", "time_ms"])


def downgrade() -> None:
    op.drop_table("retention_sweeps")
    op.drop_table("telemetry_points")
    op.drop_index("ix_entries_account_request", table_name="entries")
