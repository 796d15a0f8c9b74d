"""Clarifying questions (issue 22.3): the orchestrator's one question instead of a plan,
and the requester's answer.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create questions."""
    op.create_table(
        "questions",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text, nullable=True),
        sa.Column("answered_by", sa.String(64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("run_id", name="pk_questions"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], name="fk_questions_run_id_runs", ondelete="CASCADE"
        ),
    )


def downgrade() -> None:
    """Drop questions."""
    op.drop_table("questions")
