"""Run writes: one small transaction per state change of a run or subtask."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta
from functools import cache
from typing import Any, Literal

from sqlalchemy import bindparam, update
from sqlalchemy.dialects import postgresql, sqlite

from bot.store.core import Fence, StoreCore, UnknownRun, UnknownSubtask
from bot.store.prepared import First, Plus, update_row
from bot.store.records import (
    ACTIVE_STATUSES,
    EndReason,
    RunSource,
    Source,
    StoredUsage,
    SubtaskState,
)
from bot.store.rows import sources_value, usage_values
from bot.store.tables import answer_messages, run_settings, runs, subtasks
from pipeline import new_run_id

FinishedStatus = Literal["succeeded", "partial", "failed", "cancelled"]
# States after which a subtask has a finish time.
_ENDED_STATES: frozenset[SubtaskState] = frozenset({"done", "failed", "skipped", "cancelled"})


_INSERT_RUN = runs.insert()
_INSERT_RUN_SETTINGS = run_settings.insert()
_INSERT_SUBTASK = subtasks.insert()
_DELETE_SUBTASKS = subtasks.delete().where(subtasks.c.run_id == bindparam("run_id"))


@cache
def _add_answer(dialect: str) -> postgresql.Insert | sqlite.Insert:
    """One more answer part (a repeat ignored), built once per dialect."""
    insert = (
        postgresql.insert(answer_messages)
        if dialect == "postgresql"
        else sqlite.insert(answer_messages)
    )
    return insert.on_conflict_do_nothing(index_elements=["run_id", "ts"])


class RunWrites(StoreCore):
    """Create runs and record each change of a run or subtask."""

    async def create_run(
        self,
        *,
        workspace: str,
        requester: str,
        channel: str,
        source: RunSource,
        goal: str,
        context: str | None = None,
        delivery_key: str | None = None,
        thread_ts: str | None = None,
        parent_run_id: str | None = None,
        run_id: str | None = None,
        status: Literal["queued", "running"] = "queued",
        owner: str | None = None,
        lease_s: float | None = None,
        trace_id: str | None = None,
        enterprise_id: str | None = None,
        effort: str | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> str:
        """Store a new run and return its id (`run_id`, or a new one when None).

        `settings`: the channel's settings the run starts with (a resume uses them), kept in
        the same transaction as the run's row (one write, issue 21.5).

        `parent_run_id` links a Re-run or Retry to the run it repeats. With `owner` (a
        replica) and `lease_s`, the run is born owned: fencing token 1, its lease running
        `lease_s` from now (`Fence(run_id, owner, 1)` writes to it).
        """
        run_id = run_id or new_run_id()
        now = self._now()
        owned = owner is not None and lease_s is not None
        async with self._write() as db:
            await db.execute(
                _INSERT_RUN,  # built once: its values are parameters (issue 21.5)
                dict(
                    run_id=run_id,
                    workspace=workspace,
                    requester=requester,
                    channel=channel,
                    source=source,
                    goal=goal,
                    context=context,
                    delivery_key=delivery_key,
                    thread_ts=thread_ts,
                    parent_run_id=parent_run_id,
                    trace_id=trace_id,
                    enterprise_id=enterprise_id or None,
                    effort=effort or None,  # None: the default effort
                    status=status,
                    created_at=now,
                    started_at=now if status == "running" else None,
                    updated_at=now,
                    owner=owner if owned else None,
                    fencing_token=1 if owned else None,
                    lease_until=now + timedelta(seconds=lease_s) if lease_s and owned else None,
                ),
            )
            if settings is not None:
                await db.execute(_INSERT_RUN_SETTINGS, {"run_id": run_id, "data": dict(settings)})
        return run_id

    async def mark_running(
        self, run_id: str, *, fence: Fence | None = None, later: bool = False
    ) -> None:
        """A queued or paused run starts (again): its first start time is kept. `later`:
        buffered, written with the run's next write (`bot.store.buffer`)."""
        now = self._now()
        values = {
            "status": "running",
            "end_reason": None,
            "ended_by": None,
            "started_at": First(now),
        }
        await self._set_run(run_id, values, fence=fence, later=later)

    async def set_thread(
        self,
        run_id: str,
        thread_ts: str,
        root_ts: str | None = None,
        plan_ts: str | None = None,
        *,
        fence: Fence | None = None,
        later: bool = False,
    ) -> None:
        """Where the run lives in Slack; a None timestamp keeps the stored one. `later`:
        buffered, written with the run's next write (`bot.store.buffer`)."""
        values: dict[str, Any] = {"thread_ts": thread_ts}
        if root_ts is not None:
            values["root_ts"] = root_ts
        if plan_ts is not None:
            values["plan_ts"] = plan_ts
        await self._set_run(run_id, values, fence=fence, later=later)

    async def save_context(
        self, run_id: str, context: str | None, *, fence: Fence | None = None
    ) -> None:
        """The thread context the run was planned with (a resumed run plans with it too)."""
        await self._update_run(run_id, fence=fence, context=context)

    async def save_plan(
        self,
        run_id: str,
        plan: Mapping[str, object],
        roles: Sequence[tuple[str, str]],
        *,
        fence: Fence | None = None,
    ) -> None:
        """Store the plan (JSON) and its subtasks, all pending, in plan order.

        Args:
            run_id: The run.
            plan: The plan as JSON (e.g. `Plan.model_dump(mode="json")`).
            roles: `(subtask id, role)` per subtask, in plan order. Any subtasks stored
                before for this run are replaced.
            fence: Write only while the run is still owned under it (`Fenced` if not).
        """
        now = self._now()
        # The run's buffered columns in the same UPDATE; its other buffered writes first.
        values = await self._take_run(run_id, fence) | {"plan": dict(plan), "updated_at": now}
        async with self._write(fence, run_ids=[run_id]) as db:
            result = await db.execute(*update_row(runs, {"run_id": run_id}, values))
            if result.rowcount == 0:
                raise UnknownRun(run_id)
            await db.execute(_DELETE_SUBTASKS, {"run_id": run_id})
            if roles:
                await db.execute(
                    _INSERT_SUBTASK,
                    [
                        {
                            "run_id": run_id,
                            "subtask_id": subtask_id,
                            "position": position,
                            "role": role,
                            "state": "pending",
                            "updated_at": now,
                        }
                        for position, (subtask_id, role) in enumerate(roles)
                    ],
                )

    async def save_subtask(
        self,
        run_id: str,
        subtask_id: str,
        state: SubtaskState,
        *,
        output: str | None = None,
        sources: Sequence[Source] | None = None,
        usage: StoredUsage | None = None,
        error: str | None = None,
        attempts: int | None = None,
        fence: Fence | None = None,
        later: bool = False,
    ) -> None:
        """Record a subtask's new state; fields left None keep their stored values.

        Going to `running` stamps the first start and clears the finish time (a Retry);
        `done` clears an earlier error; every ended state stamps the finish time. `later`:
        buffered, written with the run's next write (`bot.store.buffer`; then a subtask
        that is not stored is not noticed).

        Raises:
            UnknownSubtask: the run has no such subtask (its plan was not saved).
        """
        now = self._now()
        values: dict[str, Any] = {"state": state, "updated_at": now}
        if state == "running":
            values["started_at"] = First(now)
            values["finished_at"] = None
        if state in _ENDED_STATES:
            values["finished_at"] = now
        if state == "done":
            values["error"] = None
        if output is not None:
            values["output"] = output
        if sources is not None:
            values["sources"] = sources_value(sources)
        if usage is not None:
            values.update(usage_values(usage))
        if error is not None:
            values["error"] = error
        if attempts is not None:
            values["attempts"] = attempts
        if later:
            self._later(run_id, fence).subtasks.setdefault(subtask_id, {}).update(values)
            return
        # Its buffered start (if any) and this, in one statement.
        values = await self._take_subtask(run_id, subtask_id, fence) | values
        keys = {"run_id": run_id, "subtask_id": subtask_id}
        async with self._write(fence, run_ids=[run_id]) as db:
            result = await db.execute(*update_row(subtasks, keys, values))
            if result.rowcount == 0:
                raise UnknownSubtask(f"{run_id}/{subtask_id}")

    async def add_answer_ts(self, run_id: str, ts: str, *, fence: Fence | None = None) -> None:
        """One more posted part of the answer (a repeat of the same ts is ignored)."""
        insert = _add_answer(self._engine.dialect.name)
        async with self._write(fence, run_ids=[run_id]) as db:
            await db.execute(insert, {"run_id": run_id, "ts": ts})

    async def finish_run(
        self,
        run_id: str,
        status: FinishedStatus,
        end_reason: EndReason,
        answer: str | None,
        usage: StoredUsage,
        ended_by: str | None = None,
        *,
        cost_known: bool = True,
        fence: Fence | None = None,
    ) -> None:
        """The run ended: its outcome, why and by whom.

        What it cost is the spend ledger's, written call by call (`bot.store.spend` is the
        only writer of a run's cost); `cost_known` False marks it unknown instead (a model
        without a price took part, so some of its calls were never priced).
        """
        values: dict[str, Any] = {
            "status": status,
            "end_reason": end_reason,
            "ended_by": ended_by,
            "answer": answer,
            "finished_at": self._now(),
            "updated_at": self._now(),
            **usage_values(usage),
            "cost_usd": Plus(0.0) if cost_known else None,
        }
        # Its buffered columns in the same UPDATE; its other buffered writes and its spend
        # first, in this transaction (`ending`).
        values = await self._take_run(run_id, fence) | values
        async with self._write(fence, run_ids=[run_id], ending=True) as db:
            result = await db.execute(*update_row(runs, {"run_id": run_id}, values))
            if result.rowcount == 0:
                raise UnknownRun(run_id)
        self._recent_history.clear()  # the next estimate learns from this run at once

    async def mark_paused(
        self, run_ids: Iterable[str], reason: EndReason = "restart", *, fence: Fence | None = None
    ) -> int:
        """Pause the given runs that are still queued or running; returns how many (under a
        `fence`, pass its run alone)."""
        ids = list(run_ids)
        if not ids:
            return 0
        async with self._write(fence, run_ids=ids, ending=True) as db:  # progress first
            result = await db.execute(
                update(runs)
                .where(runs.c.run_id.in_(ids), runs.c.status.in_(ACTIVE_STATUSES))
                .values(status="paused", end_reason=reason, updated_at=self._now())
            )
        return result.rowcount

    async def save_work(
        self, run_id: str, work_s: float, *, fence: Fence | None = None, later: bool = True
    ) -> None:
        """The seconds the run has worked so far (its deadline goes on from them). Buffered
        unless `later` is False (`bot.store.buffer`): saved on a tick and as the run ends,
        so it lands with the run's end; a crash loses a tick of it at most, as before."""
        await self._set_run(run_id, {"work_s": max(0.0, work_s)}, fence=fence, later=later)

    async def save_effort(
        self,
        run_id: str,
        effort: str,
        estimate_usd: float | None,
        estimate_s: float | None,
        basis: tuple[float | None, float | None] = (None, None),
        *,
        fence: Fence | None = None,
        later: bool = False,
    ) -> None:
        """The run's effort and the estimate its plan showed (`basis`: that estimate
        before history corrected it, US$ and seconds). `later`: buffered."""
        values: dict[str, Any] = {"effort": effort} if effort else {}  # "": leave it
        values |= {
            "estimate_usd": estimate_usd,
            "estimate_s": estimate_s,
            "basis_usd": basis[0],
            "basis_s": basis[1],
        }
        await self._set_run(run_id, values, fence=fence, later=later)

    async def save_trace_id(
        self, run_id: str, trace_id: str, *, fence: Fence | None = None
    ) -> None:
        """The run's trace id (a run stored before traces were gets one when it resumes)."""
        await self._update_run(run_id, fence=fence, trace_id=trace_id)

    async def _set_run(
        self, run_id: str, values: dict[str, Any], *, fence: Fence | None, later: bool
    ) -> None:
        """`_update_run`, or with `later` buffered (`bot.store.buffer`; a run that is not
        stored is not noticed then)."""
        if later:
            self._later(run_id, fence).run.update(values, updated_at=self._now())
            return
        await self._update_run(run_id, fence=fence, **values)

    async def _update_run(self, run_id: str, *, fence: Fence | None = None, **values: Any) -> None:
        """Set columns of one run (and its update time); UnknownRun when there is none."""
        values = await self._take_run(run_id, fence) | values | {"updated_at": self._now()}
        async with self._write(fence, run_ids=[run_id]) as db:
            result = await db.execute(*update_row(runs, {"run_id": run_id}, values))
            if result.rowcount == 0:
                raise UnknownRun(run_id)
