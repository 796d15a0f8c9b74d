"""An index for the estimate history read at every run's start (issue 22.4): the newest
finished runs of one workspace at one effort, found without a scan of every run.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | None = None
depends_on: str | None = None

INDEX = "ix_runs_workspace_effort_finished_at_run_id"


def upgrade() -> None:
    """Create the index."""
    op.create_index(INDEX, "runs", ["workspace", "effort", "finished_at", "run_id"])


def downgrade() -> None:
    """Drop it."""
    op.drop_index(INDEX, table_name="runs")
