"""A run's state changes, written to the run store as they happen (so a restart loses none)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from bot.store import EndReason, Fence, Fenced, FinishedStatus, RunStore, StoredUsage, StoreError
from pipeline import (
    PipelineEvent,
    PlanReady,
    RunResult,
    SubtaskCut,
    SubtaskFailed,
    SubtaskFinished,
    SubtaskSkipped,
    SubtaskStarted,
    Usage,
)
from pipeline.words import CUT_AT_DEADLINE

logger = logging.getLogger(__name__)


def stored_usage(usage: Usage) -> StoredUsage:
    """The store's form of a usage (`pipeline_usage` is the way back)."""
    return StoredUsage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_creation_input_tokens=usage.cache_creation_input_tokens,
        cache_read_input_tokens=usage.cache_read_input_tokens,
        web_searches=usage.web_search_requests,
    )


def pipeline_usage(stored: StoredUsage) -> Usage:
    """The pipeline's form of a stored usage (a resumed run's done subtasks)."""
    return Usage(
        input_tokens=stored.input_tokens,
        output_tokens=stored.output_tokens,
        cache_creation_input_tokens=stored.cache_creation_input_tokens,
        cache_read_input_tokens=stored.cache_read_input_tokens,
        web_search_requests=stored.web_searches,
    )


def _end_reason(status: FinishedStatus, result: RunResult) -> EndReason:
    if result.error_kind == "BudgetExceeded":
        return "budget"
    match status:
        case "cancelled":
            return "cancelled_by_user"
        case "failed":
            return "error"
        case _:
            return "none"


class Journal:
    """Writes one run's progress to the store; a store failure is logged, never fatal.

    The store is what a restarted process resumes from, so each write happens when its
    state changes, in the run's own task (never on the ack path). What a resume needs is
    written at once: the plan, each subtask's result before the thread shows it done, the
    answer's parts as they are posted, the run's end. Progress a person sees in Slack anyway
    (a subtask started, the run running, the plan message's ts, the estimate) is buffered
    (`later=True`, `bot.store.buffer`): it lands with the next of those writes, in its
    transaction, or within a second; lost to a crash, the resumed run does not need it."""

    def __init__(
        self,
        store: RunStore,
        run_id: str,
        *,
        plan_stored: bool = False,
        fence: Fence | None = None,
    ) -> None:
        self._store = store
        self.run_id = run_id
        # With several replicas: every write lands only while the run is still this
        # replica's (`bot.runs.ownership`); None: one process, nothing to fence.
        self._fence = fence
        # A resumed run's plan and done subtasks are stored already; a Retry is a new run
        # that starts from another run's checkpoint, so it stores them as its own.
        self._resumed = plan_stored

    async def _write(self, what: str, write: Awaitable[object]) -> None:
        try:
            await write
        except Fenced:
            # Another replica took the run over: what it writes now is the truth.
            logger.warning(
                "run store: %s not saved, another replica owns the run [run_id=%s]",
                what,
                self.run_id,
            )
        except StoreError:
            # Durability is lost for this change, the run itself goes on.
            logger.exception("run store: could not save %s [run_id=%s]", what, self.run_id)

    async def record(self, event: PipelineEvent) -> None:
        """Save what `event` changed (planning, a subtask's state)."""
        store, run_id, fence = self._store, self.run_id, self._fence
        match event:
            case PlanReady(plan=plan) if not self._resumed:
                roles = [(task.id, task.role) for task in plan.subtasks]
                await self._write(
                    "plan", store.save_plan(run_id, plan.model_dump(), roles, fence=fence)
                )
            case SubtaskStarted(subtask_id=sid):
                # Progress only: a subtask without a stored result is run again on resume.
                write = store.save_subtask(run_id, sid, "running", fence=fence, later=True)
                await self._write(sid, write)
            case SubtaskFinished(subtask_id=sid) as done if not (done.reused and self._resumed):
                # Synchronous: the result is stored before the run's view shows it done
                # (the surfaces record an event before they apply it), so a resume never
                # runs it again.
                usage = stored_usage(done.usage)
                sources = [
                    {"url": s.url, "title": s.title, "cited_text": s.cited_text}
                    for s in done.sources
                ]
                write = store.save_subtask(
                    run_id,
                    sid,
                    "done",
                    output=done.output,
                    usage=usage,
                    sources=sources,
                    fence=fence,
                )
                await self._write(sid, write)
            case SubtaskFailed(subtask_id=sid, reason=reason):
                await self._write(
                    sid, store.save_subtask(run_id, sid, "failed", error=reason, fence=fence)
                )
            case SubtaskCut(subtask_id=sid):
                write = store.save_subtask(
                    run_id, sid, "cancelled", error=CUT_AT_DEADLINE, fence=fence
                )
                await self._write(sid, write)
            case SubtaskSkipped(subtask_id=sid, failed_dependencies=deps):
                why = f"needs {', '.join(deps)}, which failed"
                await self._write(
                    sid, store.save_subtask(run_id, sid, "skipped", error=why, fence=fence)
                )
            case _:
                pass
        await self._work(event)

    async def _work(self, event: PipelineEvent) -> None:
        """The plan's estimate when it comes (issue 22.4). (The working time is saved by
        `bot.runs.worktime`, on a tick: a hung subagent sends no event.)"""
        if isinstance(event, PlanReady) and event.estimate is not None:
            found = event.estimate
            write = self._store.save_effort(
                self.run_id,
                "",
                found.usd,
                found.seconds,
                (found.basis_usd, found.basis_s),
                fence=self._fence,
                later=True,  # shown in the plan message; history reads it from ended runs
            )
            await self._write("estimate", write)

    async def running(self) -> None:
        """The run is executing (again). Buffered: queued and running runs are both resumed."""
        write = self._store.mark_running(self.run_id, fence=self._fence, later=True)
        await self._write("start", write)

    async def thread(
        self, thread_ts: str, *, root_ts: str | None, plan_ts: str | None, later: bool = False
    ) -> None:
        """Where the run lives in Slack (`later`: buffered, for a ts a resume can do
        without)."""
        write = self._store.set_thread(
            self.run_id, thread_ts, root_ts, plan_ts, fence=self._fence, later=later
        )
        await self._write("thread", write)

    async def context(self, context: str | None) -> None:
        """The thread context given to the orchestrator."""
        if context:
            await self._write(
                "context", self._store.save_context(self.run_id, context, fence=self._fence)
            )

    async def answer_parts(self, posted: list[str]) -> None:
        """The messages that carry the answer."""
        for ts in posted:
            await self._write(
                "answer", self._store.add_answer_ts(self.run_id, ts, fence=self._fence)
            )

    async def finished(
        self,
        result: RunResult,
        status: FinishedStatus,
        *,
        ended_by: str | None = None,
    ) -> None:
        """The run's end. (Its cost reached the spend ledger call by call, as each call
        settled its budget hold: see bot/runs/budgets.py.)"""
        write = self._store.finish_run(
            self.run_id,
            status,
            _end_reason(status, result),
            result.answer or None,
            stored_usage(result.usage),
            ended_by,
            cost_known=result.cost_usd is not None,
            fence=self._fence,
        )
        await self._write("end", write)

    async def abandoned(self, error: str) -> None:
        """The run never became visible (Slack refused its thread): nothing to resume."""
        write = self._store.finish_run(
            self.run_id,
            "failed",
            "error",
            None,
            StoredUsage(),
            ended_by=None,
            fence=self._fence,
        )
        await self._write(f"abandoned ({error})", write)

    async def cancelled_early(self, by: str | None) -> None:
        """Cancelled before the pipeline ran: nothing was spent."""
        write = self._store.finish_run(
            self.run_id,
            "cancelled",
            "cancelled_by_user",
            None,
            StoredUsage(),
            by,
            fence=self._fence,
        )
        await self._write("cancel", write)

    async def paused(self) -> None:
        """Stopped for a restart: the next start resumes it."""
        await self._write("pause", self._store.mark_paused([self.run_id], fence=self._fence))
