"""Daily budgets: money held for calls in flight, and the rows reservations lock.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create spend_holds and budget_locks."""
    op.create_table(
        "spend_holds",
        sa.Column("hold_id", sa.String(64), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("usd", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("hold_id", name="pk_spend_holds"),
    )
    op.create_index("ix_spend_holds_day_user_id", "spend_holds", ["day", "user_id"])
    op.create_index("ix_spend_holds_day_channel_id", "spend_holds", ["day", "channel_id"])
    op.create_index("ix_spend_holds_expires_at", "spend_holds", ["expires_at"])

    op.create_table(
        "budget_locks",
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("scope", "subject", name="pk_budget_locks"),
    )


def downgrade() -> None:
    """Drop them (holds in flight are lost: their calls are then not counted)."""
    op.drop_table("budget_locks")
    op.drop_table("spend_holds")
