"""An index on entries (account, id): the lines an account stored after a given one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_index("ix_entries_account_id", "entries", ["account", "id"])


def downgrade() -> None:
    op.drop_index("ix_entries_account_id", table_name="entries")
