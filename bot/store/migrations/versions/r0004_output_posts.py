"""Full outputs posted on demand: once per subtask, and where (its first message).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create output_posts."""
    op.create_table(
        "output_posts",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("subtask_id", sa.String(64), nullable=False),
        sa.Column("ts", sa.String(32)),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "subtask_id", name="pk_output_posts"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], name="fk_output_posts_run_id_runs", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    """Drop it (a Full output clicked again then posts again)."""
    op.drop_table("output_posts")
