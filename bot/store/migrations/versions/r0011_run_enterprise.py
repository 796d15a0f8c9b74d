"""The Enterprise Grid org a run's workspace belongs to, so a run resumed or taken over finds
its token when the org installed the app org-wide (the installation's team id is then ""),
and uninstalling the org stops the live runs of all its workspaces (issue 24.3).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add runs.enterprise_id."""
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("enterprise_id", sa.String(64)))


def downgrade() -> None:
    """Drop it (an org-wide install's runs then resume only while a request brings them)."""
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("enterprise_id")
