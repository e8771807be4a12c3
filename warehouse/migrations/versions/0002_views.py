"""Analyst views: v_pipeline_by_stage, v_stage_conversion, v_owner_scorecard.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 12:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from warehouse.views import create_view_statements, drop_view_statements

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create the views in the dialect's own SQL (with comments on PostgreSQL)."""
    dialect = op.get_bind().dialect.name
    for statement in create_view_statements(dialect):
        op.execute(statement)


def downgrade() -> None:
    """Drop the views."""
    for statement in drop_view_statements():
        op.execute(statement)
