"""The canvas that holds a run's long answer, so a Retry, Re-run or resume edits it.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create run_canvases."""
    op.create_table(
        "run_canvases",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("canvas_id", sa.String(64), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_run_canvases"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], name="fk_run_canvases_run_id_runs", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    """Drop it (a Retry then makes a new canvas)."""
    op.drop_table("run_canvases")
