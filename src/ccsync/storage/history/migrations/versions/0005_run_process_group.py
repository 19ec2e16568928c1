"""A run's process group: a run orphaned by a dead server can be stopped by the next one.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.add_column("cron_runs", sa.Column("process_group", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("cron_runs", "process_group")
