"""Drop raw_stage_history's pending mark: a deal's stays are rebuilt from its whole history
whenever the deal itself is normalized, so nothing read the mark, and keeping it cost an
update of every history row after each load.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 15:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import warehouse.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Drop the index, then the two columns (SQLite 3.35+ and PostgreSQL drop in place)."""
    op.drop_index(
        op.f("ix_raw_stage_history_source_needs_normalize"), table_name="raw_stage_history"
    )
    op.execute("ALTER TABLE raw_stage_history DROP COLUMN normalized_at")
    op.execute("ALTER TABLE raw_stage_history DROP COLUMN needs_normalize")


def downgrade() -> None:
    """Put the columns back (every entry counts as normalized) and the index."""
    op.add_column(
        "raw_stage_history",
        sa.Column(
            "needs_normalize",
            sa.Boolean(),
            server_default=sa.false(),
            nullable=False,
            comment="changed since the deal's history was last normalized",
        ),
    )
    op.add_column(
        "raw_stage_history",
        sa.Column(
            "normalized_at",
            warehouse.types.UtcDateTime(),
            nullable=True,
            comment="when last normalized",
        ),
    )
    op.create_index(
        op.f("ix_raw_stage_history_source_needs_normalize"),
        "raw_stage_history",
        ["source", "needs_normalize"],
        unique=False,
    )
