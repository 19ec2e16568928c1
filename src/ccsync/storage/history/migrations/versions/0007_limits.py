"""Limits: every official reading kept as sent, and the history of fired alerts.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "limit_readings",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("window", sa.Text(), nullable=False),
        sa.Column("used_percentage", sa.Double(), nullable=False),
        sa.Column("resets_at_ms", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("device_id", sa.Text(), nullable=False),
        sa.Column("observed_ms", sa.BigInteger(), nullable=False),
        sa.Column("received_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_limit_readings"),
        sa.UniqueConstraint(
            "account", "window", "device_id", "source", "observed_ms", name="uq_limit_readings"
        ),
    )
    op.create_index(
        "ix_limit_readings_account_observed", "limit_readings", ["account", "observed_ms"]
    )
    op.create_table(
        "alert_history",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("account", sa.Text(), nullable=False),
        sa.Column("window", sa.Text(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("period", sa.Text(), nullable=False),
        sa.Column("fired_ms", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alert_history"),
        sa.UniqueConstraint("account", "window", "rule", "period", name="uq_alert_history_claim"),
    )
    op.create_index("ix_alert_history_fired", "alert_history", ["fired_ms"])


def downgrade() -> None:
    op.drop_table("alert_history")
    op.drop_table("limit_readings")
