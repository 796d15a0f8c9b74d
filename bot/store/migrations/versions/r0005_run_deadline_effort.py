"""A run's working time (its deadline continues from it after a restart), its effort and
the estimate its plan showed (history compares it with what the run cost and took).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add runs.work_s, runs.effort, runs.estimate_usd and runs.estimate_s, and the basis
    of the estimate (from the plan and prices alone, before history corrected it)."""
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("work_s", sa.Float, nullable=False, server_default="0"))
        batch.add_column(sa.Column("effort", sa.String(8)))
        batch.add_column(sa.Column("estimate_usd", sa.Float))
        batch.add_column(sa.Column("estimate_s", sa.Float))
        batch.add_column(sa.Column("basis_usd", sa.Float))
        batch.add_column(sa.Column("basis_s", sa.Float))


def downgrade() -> None:
    """Drop them (a resumed run's deadline then starts afresh)."""
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("basis_s")
        batch.drop_column("basis_usd")
        batch.drop_column("estimate_s")
        batch.drop_column("estimate_usd")
        batch.drop_column("effort")
        batch.drop_column("work_s")
