"""Which canvas holds a run's answer: one per run at most, found again by a Retry, a Re-run or
a resume (which edit it rather than make another)."""

from __future__ import annotations

from sqlalchemy import select

from bot.store.core import Fence, StoreCore
from bot.store.tables import run_canvases


class RunCanvases(StoreCore):
    """A run's canvas id."""

    async def save_canvas(self, run_id: str, canvas_id: str, *, fence: Fence | None = None) -> None:
        """The run's answer is (now) in canvas `canvas_id`."""
        insert = self._upsert(run_canvases).values(
            run_id=run_id, canvas_id=canvas_id, saved_at=self._now()
        )
        upsert = insert.on_conflict_do_update(
            index_elements=["run_id"],
            set_={"canvas_id": insert.excluded.canvas_id, "saved_at": insert.excluded.saved_at},
        )
        async with self._write(fence) as db:
            await db.execute(upsert)

    async def canvas_of(self, run_id: str) -> str | None:
        """The canvas that holds the run's answer, if it has one."""
        async with self._read() as db:
            found = await db.execute(
                select(run_canvases.c.canvas_id).where(run_canvases.c.run_id == run_id)
            )
            return found.scalar_one_or_none()
