"""Plans waiting for approval (issue 22.3).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create reviews."""
    op.create_table(
        "reviews",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("edited", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_reviews"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], name="fk_reviews_run_id_runs", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    """Drop it (waiting plans are then run without approval when resumed)."""
    op.drop_table("reviews")
