"""A run's OpenTelemetry trace id, so a resumed or taken-over attempt joins its trace.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add runs.trace_id."""
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("trace_id", sa.String(32)))


def downgrade() -> None:
    """Drop it (a resumed run then opens a trace of its own)."""
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("trace_id")
