"""Steers given to live runs from their threads (issue 22.2).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create steers."""
    op.create_table(
        "steers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_steers"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], name="fk_steers_run_id_runs", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_steers_run_id_id", "steers", ["run_id", "id"])


def downgrade() -> None:
    """Drop it (live runs then forget their steers)."""
    op.drop_index("ix_steers_run_id_id", table_name="steers")
    op.drop_table("steers")
