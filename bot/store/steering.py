"""Steers (issue 22.2): written by whichever replica a person reached, read by the replica
running the run; kept across restarts."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import insert, select

from bot.store.core import StoreCore
from bot.store.records import UNFINISHED_STATUSES
from bot.store.tables import runs, steers


@dataclass(frozen=True, slots=True)
class StoredSteer:
    """One steer: who gave it and what they said."""

    by: str
    text: str


@dataclass(frozen=True, slots=True)
class ThreadRun:
    """The live run of a thread, as steering needs it."""

    run_id: str
    requester: str
    status: str


class RunSteers(StoreCore):
    """Steers given to live runs."""

    async def add_steer(self, run_id: str, by: str, text: str) -> None:
        """Keep a steer for the run, after those before it."""
        async with self._write() as db:
            await db.execute(
                insert(steers).values(run_id=run_id, by=by, text=text, created_at=self._now())
            )

    async def steers(self, run_id: str) -> list[StoredSteer]:
        """The run's steers, oldest first."""
        async with self._read() as db:
            rows = await db.execute(
                select(steers.c.by, steers.c.text)
                .where(steers.c.run_id == run_id)
                .order_by(steers.c.id)
            )
            return [StoredSteer(row.by, row.text) for row in rows]

    async def live_run_in_thread(self, channel: str, thread_ts: str) -> ThreadRun | None:
        """The newest run of the thread that is queued, running, waiting for approval or
        paused for a restart (on any replica), or None: a paused run is resumed soon (by the
        next start, or another replica's takeover) and takes its steers with it."""
        async with self._read() as db:
            row = (
                await db.execute(
                    select(runs.c.run_id, runs.c.requester, runs.c.status)
                    .where(
                        runs.c.channel == channel,
                        runs.c.thread_ts == thread_ts,
                        runs.c.status.in_(UNFINISHED_STATUSES),
                    )
                    .order_by(runs.c.created_at.desc())
                    .limit(1)
                )
            ).first()
        return ThreadRun(row.run_id, row.requester, row.status) if row is not None else None
