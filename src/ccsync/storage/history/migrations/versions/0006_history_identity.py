"""The history's identity: a random id made with the database, and each agent's mark.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import time
import uuid

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    identity = op.create_table(
        "history_identity",
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("history_id", sa.Text(), nullable=False),
        sa.Column("created_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("slot", name="pk_history_identity"),
    )
    op.create_table(
        "device_marks",
        sa.Column("device_id", sa.Text(), nullable=False),
        sa.Column("stream", sa.Text(), nullable=False),
        sa.Column("mark", sa.BigInteger(), nullable=False),
        sa.Column("updated_ms", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("device_id", "stream", name="pk_device_marks"),
    )
    # A database that is migrated here gets its identity now: a new or wiped one, and
    # one restored from a backup made before this revision, are new histories.
    op.bulk_insert(
        identity,
        [{"slot": 1, "history_id": uuid.uuid4().hex, "created_ms": int(time.time() * 1000)}],
    )


def downgrade() -> None:
    op.drop_table("device_marks")
    op.drop_table("history_identity")
