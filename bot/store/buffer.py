"""Writes that can wait: a run's progress held in memory and written with its next
synchronous write, in the same transaction, or by a short timer (issue 21.5).

Each store write is a transaction, and most of a transaction's cost is the Python around
it (statement building, the async driver's thread hand-offs), not the disk: a run made
about twenty. What can wait is progress a person sees in Slack anyway — a subtask started,
the run's status going from queued to running, the plan message's ts, the plan's
estimate, the working time — and, while no daily budget needs it call by call, each Claude
call's spend. Those are buffered here per run (later values over earlier ones, spend
summed) and written:

- with the run's next synchronous write, in its transaction, before its own statements
  (so the order of a run's writes is kept: a subtask's start lands before its result);
- by the timer, `FLUSH_AFTER_S` after the first write was buffered, all runs in one
  transaction;
- when a run is paused (its pause is a synchronous write) and when the store closes.

A run's synchronous write waits for a flush that has taken that run's writes to commit
(`StoreCore._after_flush`): two transactions may commit in either order on PostgreSQL.

What makes a run resumable and deduped never waits: the delivery claim, the run row, the
thread a new request message started, the plan, each subtask's result, the answer's parts
and the run's end are written at once by their callers, and say so where they happen.

A buffered write lost to a crash loses only progress: a resumed run re-runs a subtask that
has no stored result whatever its stored state, looks in its thread for a plan message it
has no ts of (`bot.thread.leftovers`), and re-counts its working time from the last tick
that reached the store. The spend of calls made since the last write is lost with them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.prepared import Plus, update_row
from bot.store.tables import runs, spend, subtasks

if TYPE_CHECKING:
    from bot.store.core import Fence

# How long a buffered write may wait for a synchronous one before the timer writes it.
FLUSH_AFTER_S = 1.0


@dataclass
class Pending:
    """One run's buffered writes, in the order they must land."""

    fence: Fence | None
    run: dict[str, Any] = field(default_factory=dict)  # column -> value (later wins)
    subtasks: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> columns
    spend: dict[tuple[date, str, str], float] = field(default_factory=dict)  # day, user, channel
    cost_usd: float = 0.0  # added to the run's cost

    def merge(self, newer: Pending) -> None:
        """Fold `newer`'s writes in after this one's."""
        self.run.update(newer.run)
        for subtask_id, values in newer.subtasks.items():
            self.subtasks.setdefault(subtask_id, {}).update(values)
        for key, usd in newer.spend.items():
            self.spend[key] = self.spend.get(key, 0.0) + usd
        self.cost_usd += newer.cost_usd


class WriteBuffer:
    """Every run's buffered writes in this process. A run's spend is kept apart from its
    other writes: it is never fenced (a call made is paid for whoever owns the run now)."""

    def __init__(self) -> None:
        self._runs: dict[str, Pending] = {}
        self._spend: dict[str, Pending] = {}

    def __bool__(self) -> bool:
        return bool(self._runs or self._spend)

    def spend_of(self, run_id: str) -> Pending:
        """The run's buffered spend."""
        return self._spend.setdefault(run_id, Pending(None))

    def of(self, run_id: str, fence: Fence | None) -> Pending:
        """The run's buffer for writes under `fence`. A write under another fence means the
        run was taken (again) since: what the old fence buffered would be refused, dropped."""
        pending = self._runs.get(run_id)
        if pending is None or pending.fence != fence:
            pending = self._runs[run_id] = Pending(fence)
        return pending

    def take(
        self, run_ids: Iterable[str] | None = None, *, spend: bool = True
    ) -> list[tuple[str, Pending]]:
        """Remove and return the buffers of `run_ids` (None: every run's), in the order
        they are to be written; `spend` False leaves their spend (written once, at the
        run's end, unless the timer comes first)."""
        taken: list[tuple[str, Pending]] = []
        for run_id in list(self._runs) + list(self._spend) if run_ids is None else run_ids:
            for kept in (self._runs, self._spend) if spend else (self._runs,):
                pending = kept.pop(run_id, None)
                if pending is not None:
                    taken.append((run_id, pending))
        return taken

    def take_run(self, run_id: str, fence: Fence | None) -> dict[str, Any]:
        """Remove and return the run's buffered columns written under `fence` (they go
        into the run's synchronous UPDATE, one statement)."""
        pending = self._runs.get(run_id)
        if pending is None or pending.fence != fence:
            return {}
        taken, pending.run = pending.run, {}
        return taken

    def take_subtask(self, run_id: str, subtask_id: str, fence: Fence | None) -> dict[str, Any]:
        """Remove and return the buffered columns of one subtask written under `fence`
        (they go into that subtask's synchronous write, one statement)."""
        pending = self._runs.get(run_id)
        if pending is None or pending.fence != fence:
            return {}
        return pending.subtasks.pop(subtask_id, {})

    def give_back(self, taken: list[tuple[str, Pending]]) -> None:
        """Buffers `take` returned whose transaction failed: kept, ahead of newer writes."""
        for run_id, older in taken:
            kept = self._spend if older.spend or older.cost_usd else self._runs
            newer = kept.get(run_id)
            if newer is not None and newer.fence != older.fence:
                continue  # taken over meanwhile: the older ones would be refused
            if newer is not None:
                older.merge(newer)
            kept[run_id] = older

    def cost_usd(self, run_id: str) -> float:
        """Spend buffered for the run, not yet in its stored cost."""
        pending = self._spend.get(run_id)
        return pending.cost_usd if pending is not None else 0.0


async def write_pending(db: AsyncConnection, run_id: str, pending: Pending) -> None:
    """The run's buffered writes, in the transaction `db`. A subtask or run that is gone
    (a plan replaced since, a run purged) is skipped: these writes are progress only."""
    if pending.run or pending.cost_usd:
        values = dict(pending.run)
        if pending.cost_usd:
            values["cost_usd"] = Plus(pending.cost_usd)
        await db.execute(*update_row(runs, {"run_id": run_id}, values))
    for subtask_id, columns in pending.subtasks.items():
        keys = {"run_id": run_id, "subtask_id": subtask_id}
        await db.execute(*update_row(subtasks, keys, columns))
    for (day, user, channel), usd in pending.spend.items():
        params = {"day": day, "user_id": user, "channel_id": channel, "usd": usd}
        await db.execute(_add_spend(db.dialect.name), params)


@cache
def _add_spend(dialect: str) -> postgresql.Insert | sqlite.Insert:
    """Add to a day's spend of a person in a channel (built once per dialect)."""
    insert = postgresql.insert(spend) if dialect == "postgresql" else sqlite.insert(spend)
    return insert.on_conflict_do_update(
        index_elements=["day", "user_id", "channel_id"],
        set_={"usd": spend.c.usd + insert.excluded.usd},
    )
