"""Run reads: one run in full, the unfinished ones, history lines, spend of finished runs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.core import StoreCore
from bot.store.records import (
    UNFINISHED_STATUSES,
    RunActuals,
    RunSummary,
    StoredRun,
    StoredSubtask,
)
from bot.store.rows import run_of, subtask_of, summary_of
from bot.store.tables import answer_messages, run_canvases, runs, subtasks


class RunReads(StoreCore):
    """Read runs back as frozen records."""

    async def get_run(self, run_id: str) -> StoredRun | None:
        """The run with its subtasks and answer messages, or None."""
        found = await self._load(select(runs).where(runs.c.run_id == run_id))
        return found[0] if found else None

    async def unfinished_runs(self) -> list[StoredRun]:
        """Every queued, running or paused run, oldest first: what a new start resumes."""
        return await self._load(
            select(runs)
            .where(runs.c.status.in_(UNFINISHED_STATUSES))
            .order_by(runs.c.created_at, runs.c.run_id)
        )

    async def unfinished_children(self, parent_run_id: str) -> list[RunSummary]:
        """The runs started from this one (Retry, Re-run) that have not finished, oldest
        first."""
        query = (
            _summary_query()
            .where(
                runs.c.parent_run_id == parent_run_id,
                runs.c.status.in_(UNFINISHED_STATUSES),
            )
            .order_by(runs.c.created_at, runs.c.run_id)
        )
        async with self._read() as db:
            rows = (await db.execute(query)).all()
        return [summary_of(row._mapping) for row in rows]

    async def recent_runs(
        self,
        channel: str | None = None,
        requester: str | None = None,
        limit: int = 10,
        workspace: str | None = None,
    ) -> list[RunSummary]:
        """The newest runs first, optionally of one channel, person and/or workspace."""
        query = _summary_query()
        if channel is not None:
            query = query.where(runs.c.channel == channel)
        if requester is not None:
            query = query.where(runs.c.requester == requester)
        if workspace is not None:
            query = query.where(runs.c.workspace == workspace)
        query = query.order_by(runs.c.created_at.desc(), runs.c.run_id.desc()).limit(limit)
        async with self._read() as db:
            rows = (await db.execute(query)).all()
        return [summary_of(row._mapping) for row in rows]

    async def estimate_history(
        self, workspace: str, effort: str | None, limit: int = 20
    ) -> list[RunActuals]:
        """The newest finished runs of `workspace` at `effort` (None: the default) whose plan
        had an estimate and that answered: what corrects the next estimate (issue 22.4).
        A run started from another (Retry, Continue) ran part of a plan: not comparable.
        Read at every run's start, so only the four figures, along the index made for it,
        and served again for `HISTORY_FRESH_S` (a burst of runs starting together reads it
        once; a run this store finishes makes the next read fresh)."""
        key = (workspace, effort or None, limit)
        served = self._recent_history.get(key)
        if served is not None and self._clock() < served[0]:
            return list(served[1])
        at = runs.c.effort.is_(None) if not effort else runs.c.effort == effort
        query = (
            select(runs.c.basis_usd, runs.c.basis_s, runs.c.cost_usd, runs.c.work_s)
            .where(
                runs.c.workspace == workspace,
                at,
                runs.c.status.in_(("succeeded", "partial")),
                runs.c.basis_s.is_not(None),
                runs.c.parent_run_id.is_(None),
            )
            .order_by(runs.c.finished_at.desc(), runs.c.run_id.desc())
            .limit(limit)
        )
        async with self._read() as db:
            rows = (await db.execute(query)).all()
        found = [RunActuals(r.basis_usd, r.basis_s, r.cost_usd, r.work_s or 0.0) for r in rows]
        self._recent_history[key] = (self._clock() + HISTORY_FRESH_S, found)
        return list(found)

    async def spend_since(
        self, since: datetime, requester: str | None = None, channel: str | None = None
    ) -> float:
        """US$ of the runs created at or after `since` (runs of unknown cost count 0)."""
        query = select(func.coalesce(func.sum(runs.c.cost_usd), 0.0)).where(
            runs.c.created_at >= since
        )
        if requester is not None:
            query = query.where(runs.c.requester == requester)
        if channel is not None:
            query = query.where(runs.c.channel == channel)
        async with self._read() as db:
            total = (await db.execute(query)).scalar_one()
        return float(total)

    async def _load(self, query: Select[Any]) -> list[StoredRun]:
        """The runs `query` selects, each with its subtasks and answer messages."""
        async with self._read() as db:
            rows = (await db.execute(query)).all()
            ids = [row.run_id for row in rows]
            children = await _subtasks_of(db, ids)
            answers = await _answers_of(db, ids)
        return [run_of(row._mapping, children[row.run_id], answers[row.run_id]) for row in rows]


# How long an estimate history read is served again: estimates are medians of the last 20
# runs, and another replica's newest run may show this much later.
HISTORY_FRESH_S = 2.0


def _summary_query() -> Select[Any]:
    """The columns of a history line (`RunSummary`), with the run's canvas if it has one."""
    with_canvas = runs.outerjoin(run_canvases, run_canvases.c.run_id == runs.c.run_id)
    return select(
        runs.c.run_id,
        runs.c.workspace,
        runs.c.goal,
        runs.c.requester,
        runs.c.channel,
        runs.c.thread_ts,
        runs.c.status,
        runs.c.cost_usd,
        runs.c.parent_run_id,
        runs.c.created_at,
        runs.c.finished_at,
        runs.c.work_s,
        runs.c.estimate_usd,
        runs.c.estimate_s,
        runs.c.basis_usd,
        runs.c.basis_s,
        run_canvases.c.canvas_id,
    ).select_from(with_canvas)


async def _subtasks_of(db: AsyncConnection, ids: Sequence[str]) -> dict[str, list[StoredSubtask]]:
    found: dict[str, list[StoredSubtask]] = defaultdict(list)
    if ids:
        query = (
            select(subtasks)
            .where(subtasks.c.run_id.in_(ids))
            .order_by(subtasks.c.run_id, subtasks.c.position)
        )
        for row in await db.execute(query):
            found[row.run_id].append(subtask_of(row._mapping))
    return found


async def _answers_of(db: AsyncConnection, ids: Sequence[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = defaultdict(list)
    if ids:
        query = (
            select(answer_messages.c.run_id, answer_messages.c.ts)
            .where(answer_messages.c.run_id.in_(ids))
            .order_by(answer_messages.c.id)
        )
        for row in await db.execute(query):
            found[row.run_id].append(row.ts)
    return found
