"""Settings per workspace and per channel (issue 24.4), and the settings each run started
with.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create scope_settings and run_settings."""
    op.create_table(
        "scope_settings",
        sa.Column("workspace", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("workspace", "channel", name="pk_scope_settings"),
    )
    op.create_table(
        "run_settings",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_run_settings"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], name="fk_run_settings_run_id_runs", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    """Drop run_settings and scope_settings."""
    op.drop_table("run_settings")
    op.drop_table("scope_settings")
