"""Drop the index on deal_stage_history.source: a warehouse holds a handful of sources, so a
filter on one reads most of the table either way, and planners scan it; the index only cost
upkeep on every stay a sync writes (800,000 at 100,000 deals per CRM).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 16:45:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Drop the index."""
    op.drop_index(op.f("ix_deal_stage_history_source"), table_name="deal_stage_history")


def downgrade() -> None:
    """Create it again."""
    op.create_index(
        op.f("ix_deal_stage_history_source"), "deal_stage_history", ["source"], unique=False
    )
