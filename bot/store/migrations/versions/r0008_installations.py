"""Installations by OAuth (sealed tokens) and the OAuth states of installs in progress.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create installations and oauth_states."""
    op.create_table(
        "installations",
        sa.Column("enterprise_id", sa.String(64), nullable=False),
        sa.Column("team_id", sa.String(64), nullable=False),
        sa.Column("is_enterprise_install", sa.Boolean(), nullable=False),
        sa.Column("app_id", sa.String(64)),
        sa.Column("enterprise_name", sa.String(255)),
        sa.Column("enterprise_url", sa.String(255)),
        sa.Column("team_name", sa.String(255)),
        sa.Column("bot_id", sa.String(64)),
        sa.Column("bot_user_id", sa.String(64)),
        sa.Column("bot_scopes", sa.Text()),
        sa.Column("bot_token", sa.Text(), nullable=False),
        sa.Column("bot_refresh_token", sa.Text()),
        sa.Column("bot_token_expires_at", sa.BigInteger()),
        sa.Column("installer_id", sa.String(64)),
        sa.Column("user_token", sa.Text()),
        sa.Column("user_scopes", sa.Text()),
        sa.Column("installed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("enterprise_id", "team_id", name="pk_installations"),
    )
    op.create_table(
        "oauth_states",
        sa.Column("state", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("state", name="pk_oauth_states"),
    )
    op.create_index("ix_oauth_states_expires_at", "oauth_states", ["expires_at"])


def downgrade() -> None:
    """Drop them (every workspace must then install the app again)."""
    op.drop_index("ix_oauth_states_expires_at", table_name="oauth_states")
    op.drop_table("oauth_states")
    op.drop_table("installations")
