"""The spend ledger knows each charge's run: a hold keeps the run it was held for, so that
settling it (or charging it in full once it expires) also adds to that run's cost.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add spend_holds.run_id (NULL: a hold taken before this revision, or for no run)."""
    with op.batch_alter_table("spend_holds") as batch:
        batch.add_column(sa.Column("run_id", sa.String(64), nullable=True))


def downgrade() -> None:
    """Drop it (holds then settle to the day's spend only, as before)."""
    with op.batch_alter_table("spend_holds") as batch:
        batch.drop_column("run_id")
