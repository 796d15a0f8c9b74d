"""Settings per workspace and per channel (issue 24.4), and the settings each run started with:
shared by every replica, kept across restarts. The store keeps JSON objects; what they mean
is `bot.runs.channel_settings`'s."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from bot.store.core import Fence, StoreCore
from bot.store.tables import run_settings, scope_settings

WORKSPACE_DEFAULTS = ""  # the channel of a workspace's defaults row


@dataclass(frozen=True, slots=True)
class StoredSettings:
    """One level's settings as stored: what, by whom, when."""

    channel: str  # "" for the workspace's defaults
    data: Mapping[str, Any]
    updated_by: str
    updated_at: datetime


class ScopeSettings(StoreCore):
    """Workspaces' and channels' settings, and runs' recorded ones."""

    async def settings_of(self, workspace: str, channel: str) -> StoredSettings | None:
        """A channel's own settings (`channel` "": the workspace's defaults), or None."""
        async with self._read() as db:
            row = (
                await db.execute(
                    select(scope_settings).where(
                        scope_settings.c.workspace == workspace,
                        scope_settings.c.channel == channel,
                    )
                )
            ).first()
        if row is None:
            return None
        data = row.data if isinstance(row.data, Mapping) else {}
        return StoredSettings(row.channel, data, row.updated_by, row.updated_at)

    async def all_settings(self, workspace: str, limit: int = 50) -> list[StoredSettings]:
        """The workspace's defaults (first, when set) and its channels' own settings, the
        latest changed first."""
        async with self._read() as db:
            rows = (
                await db.execute(
                    select(scope_settings)
                    .where(scope_settings.c.workspace == workspace)
                    .order_by(scope_settings.c.channel != "", scope_settings.c.updated_at.desc())
                    .limit(limit)
                )
            ).all()
        return [
            StoredSettings(
                r.channel, r.data if isinstance(r.data, Mapping) else {}, r.updated_by, r.updated_at
            )
            for r in rows
        ]

    async def save_settings(
        self, workspace: str, channel: str, data: Mapping[str, Any], by: str
    ) -> None:
        """Replace a channel's own settings (`channel` "": the workspace's defaults)."""
        insert = self._upsert(scope_settings).values(
            workspace=workspace,
            channel=channel,
            data=dict(data),
            updated_by=by,
            updated_at=self._now(),
        )
        upsert = insert.on_conflict_do_update(
            index_elements=["workspace", "channel"],
            set_={
                "data": insert.excluded.data,
                "updated_by": insert.excluded.updated_by,
                "updated_at": insert.excluded.updated_at,
            },
        )
        async with self._write() as db:
            await db.execute(upsert)

    async def record_run_settings(
        self, run_id: str, data: Mapping[str, Any], *, fence: Fence | None = None
    ) -> None:
        """Keep the settings a run starts with (a resume uses them); kept once, the first."""
        insert = self._upsert(run_settings).values(run_id=run_id, data=dict(data))
        async with self._write(fence) as db:
            await db.execute(insert.on_conflict_do_nothing(index_elements=["run_id"]))

    async def run_settings_of(self, run_id: str) -> Mapping[str, Any] | None:
        """The settings the run started with, or None (an older run, or purged)."""
        async with self._read() as db:
            found = await db.execute(
                select(run_settings.c.data).where(run_settings.c.run_id == run_id)
            )
            data = found.scalar_one_or_none()
        return data if isinstance(data, Mapping) else None
