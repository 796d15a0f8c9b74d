"""Retention: old runs lose their texts; ids, states, usage, cost and the ledger stay."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update

from bot.store.core import StoreCore
from bot.store.deliveries import DeliveryDedupe
from bot.store.records import FINISHED_STATUSES, PurgeCounts
from bot.store.tables import deliveries, questions, run_settings, runs, steers, subtasks


class Retention(DeliveryDedupe, StoreCore):
    """Forget what people asked and what models wrote once it is old enough."""

    async def purge(self, older_than_days: float) -> PurgeCounts:
        """Empty the texts of finished runs created more than `older_than_days` ago.

        Goal, context, plan, answer, and each subtask's role, output, sources and error go;
        the rows stay, so history counts, usage, cost and the spend ledger are kept. Also
        forgets expired delivery keys. Runs purged before are not counted again.

        It runs every hour (`bot.runs.lifecycle`), so it is cheap when nothing is due: two reads
        of one row each, and no write transaction (on SQLite a write takes the database's
        one write lock, which every run's journal waits for).
        """
        now = self._now()
        old: ColumnElement[bool] = (
            (runs.c.created_at < now - timedelta(days=older_than_days))
            & runs.c.status.in_(FINISHED_STATUSES)
            & runs.c.purged_at.is_(None)
        )
        async with self._read() as db:
            runs_due = (await db.execute(select(runs.c.run_id).where(old).limit(1))).first()
            keys_due = (
                await db.execute(
                    select(deliveries.c.delivery_key).where(deliveries.c.expires_at <= now).limit(1)
                )
            ).first()
        stripped = PurgeCounts(0, 0, 0)
        if runs_due is not None:
            stripped = await self._strip(old, now)
        expired = await self.purge_deliveries() if keys_due is not None else 0
        return PurgeCounts(runs=stripped.runs, subtasks=stripped.subtasks, deliveries=expired)

    async def _strip(self, old: ColumnElement[bool], now: datetime) -> PurgeCounts:
        async with self._write() as db:
            stripped_subtasks = await db.execute(
                update(subtasks)
                .where(subtasks.c.run_id.in_(select(runs.c.run_id).where(old)))
                .values(role="", output=None, sources=None, error=None, updated_at=now)
            )
            # Steers are what people wrote, like the goal: they go with the run's texts.
            await db.execute(
                steers.delete().where(steers.c.run_id.in_(select(runs.c.run_id).where(old)))
            )
            # So are a clarifying question and its answer (issue 22.3).
            await db.execute(
                questions.delete().where(questions.c.run_id.in_(select(runs.c.run_id).where(old)))
            )
            # And the settings it started with (standing instructions are people's text).
            await db.execute(
                run_settings.delete().where(
                    run_settings.c.run_id.in_(select(runs.c.run_id).where(old))
                )
            )
            stripped_runs = await db.execute(
                update(runs)
                .where(old)
                .values(goal="", context=None, plan=None, answer=None, purged_at=now)
            )
        return PurgeCounts(stripped_runs.rowcount, stripped_subtasks.rowcount, 0)
