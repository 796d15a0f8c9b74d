"""Retention: old runs lose their texts; ids, states, usage, cost and the ledger stay."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import ColumnElement, select, update

from bot.store.core import StoreCore
from bot.store.deliveries import DeliveryDedupe
from bot.store.records import FINISHED_STATUSES, PurgeCounts
from bot.store.tables import runs, subtasks


class Retention(DeliveryDedupe, StoreCore):
    """Forget what people asked and what models wrote once it is old enough."""

    async def purge(self, older_than_days: float) -> PurgeCounts:
        """Empty the texts of finished runs created more than `older_than_days` ago.

        Goal, context, plan, answer, and each subtask's role, output, sources and error go;
        the rows stay, so history counts, usage, cost and the spend ledger are kept. Also
        forgets expired delivery keys. Runs purged before are not counted again.
        """
        now = self._now()
        old: ColumnElement[bool] = (
            (runs.c.created_at < now - timedelta(days=older_than_days))
            & runs.c.status.in_(FINISHED_STATUSES)
            & runs.c.purged_at.is_(None)
        )
        async with self._write() as db:
            stripped_subtasks = await db.execute(
                update(subtasks)
                .where(subtasks.c.run_id.in_(select(runs.c.run_id).where(old)))
                .values(role="", output=None, sources=None, error=None, updated_at=now)
            )
            stripped_runs = await db.execute(
                update(runs)
                .where(old)
                .values(goal="", context=None, plan=None, answer=None, purged_at=now)
            )
        expired = await self.purge_deliveries()
        return PurgeCounts(
            runs=stripped_runs.rowcount, subtasks=stripped_subtasks.rowcount, deliveries=expired
        )
