"""Initial schema: runs, subtasks, answer messages, delivery keys, spend ledger.

Revision ID: 0001
Revises:
Create Date: 2026-11-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# A migration is a frozen snapshot: it spells its types out instead of importing tables.py,
# which will move on. The store reads these DateTime columns through its UTCDateTime type.
_JSON = sa.JSON(none_as_null=True)


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _usage() -> list[sa.Column[int]]:
    return [
        sa.Column(name, sa.Integer(), nullable=False, server_default="0")
        for name in (
            "input_tokens",
            "output_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
            "web_searches",
        )
    ]


def upgrade() -> None:
    """Create the run store's tables."""
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("workspace", sa.String(64), nullable=False),
        sa.Column("requester", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("delivery_key", sa.String(255)),
        sa.Column("goal", sa.Text(), nullable=False),
        sa.Column("context", sa.Text()),
        sa.Column("thread_ts", sa.String(32)),
        sa.Column("root_ts", sa.String(32)),
        sa.Column("plan_ts", sa.String(32)),
        sa.Column("plan", _JSON),
        sa.Column("answer", sa.Text()),
        *_usage(),
        sa.Column("cost_usd", sa.Float()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("end_reason", sa.String(32)),
        sa.Column("ended_by", sa.String(64)),
        sa.Column("parent_run_id", sa.String(64)),
        sa.Column("created_at", _ts(), nullable=False),
        sa.Column("started_at", _ts()),
        sa.Column("finished_at", _ts()),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.Column("purged_at", _ts()),
        sa.Column("owner", sa.String(128)),
        sa.Column("lease_until", _ts()),
        sa.Column("fencing_token", sa.BigInteger()),
        sa.PrimaryKeyConstraint("run_id", name="pk_runs"),
        sa.ForeignKeyConstraint(
            ["parent_run_id"],
            ["runs.run_id"],
            name="fk_runs_parent_run_id_runs",
            ondelete="SET NULL",
        ),
    )
    op.create_index("ix_runs_status", "runs", ["status"])
    op.create_index("ix_runs_channel_created_at", "runs", ["channel", "created_at"])
    op.create_index("ix_runs_requester_created_at", "runs", ["requester", "created_at"])
    op.create_index("ix_runs_created_at", "runs", ["created_at"])
    op.create_index("ix_runs_parent_run_id", "runs", ["parent_run_id"])

    op.create_table(
        "subtasks",
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("subtask_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("role", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("output", sa.Text()),
        sa.Column("sources", _JSON),
        *_usage(),
        sa.Column("error", sa.Text()),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("started_at", _ts()),
        sa.Column("finished_at", _ts()),
        sa.Column("updated_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("run_id", "subtask_id", name="pk_subtasks"),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], name="fk_subtasks_run_id_runs", ondelete="CASCADE"
        ),
    )

    op.create_table(
        "answer_messages",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_answer_messages"),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.run_id"],
            name="fk_answer_messages_run_id_runs",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("run_id", "ts", name="uq_answer_messages_run_id_ts"),
    )

    op.create_table(
        "deliveries",
        sa.Column("delivery_key", sa.String(255), nullable=False),
        sa.Column("claimed_at", _ts(), nullable=False),
        sa.Column("expires_at", _ts(), nullable=False),
        sa.PrimaryKeyConstraint("delivery_key", name="pk_deliveries"),
    )
    op.create_index("ix_deliveries_expires_at", "deliveries", ["expires_at"])

    op.create_table(
        "spend",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("channel_id", sa.String(64), nullable=False),
        sa.Column("usd", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("day", "user_id", "channel_id", name="pk_spend"),
    )
    op.create_index("ix_spend_day_channel_id", "spend", ["day", "channel_id"])


def downgrade() -> None:
    """Drop the run store's tables."""
    for table in ("spend", "deliveries", "answer_messages", "subtasks", "runs"):
        op.drop_table(table)
