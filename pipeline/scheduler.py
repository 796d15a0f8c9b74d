"""Runs a plan's subtasks as a DAG: each starts once its dependencies are done and a slot
is free, so independent work never waits on unrelated work (no rigid waves)."""

from __future__ import annotations

import asyncio
import logging

from pipeline import words
from pipeline.context import RunContext
from pipeline.deadline import subtask_limit
from pipeline.errors import InvalidOutput, LLMError, PipelineError, Refused
from pipeline.events import (
    SubtaskCut,
    SubtaskFailed,
    SubtaskFinished,
    SubtaskSkipped,
    SubtaskStarted,
)
from pipeline.models import Plan, SubTask, SubtaskOutcome
from pipeline.subagent import run_subagent

logger = logging.getLogger(__name__)


async def run_subtasks(
    ctx: RunContext,
    plan: Plan,
    outcomes: dict[str, SubtaskOutcome],
    deadline_s: float | None = None,
) -> tuple[str, ...]:
    """Fill `outcomes` (shared so a cancelled run still shows what finished); the ids of
    the subtasks cut at the deadline, `deadline_s` from now (None: no deadline).

    A failed subtask's dependents are skipped; the rest go on. BudgetExceeded and
    cancellation stop every subtask. Subtasks already done in `outcomes` (a resumed run)
    are reported as reused and not called again. At the deadline, running subtasks are
    stopped and the rest never start: each is cut (outcome "cancelled", its error
    `words.CUT_AT_DEADLINE`), and what was done stays done."""
    running: set[str] = set()
    try:
        async with asyncio.timeout(deadline_s):
            await _run_all(ctx, plan, outcomes, running)
    except TimeoutError:
        cut = tuple(t.id for t in plan.subtasks if t.id not in outcomes)
        logger.info("deadline: %d subtasks cut [run_id=%s]", len(cut), ctx.run_id)
        for task_id in cut:
            outcomes[task_id] = SubtaskOutcome(task_id, "cancelled", error=words.CUT_AT_DEADLINE)
            await ctx.emit(
                SubtaskCut(
                    run_id=ctx.run_id,
                    at=ctx.now(),
                    subtask_id=task_id,
                    was_running=task_id in running,
                )
            )
        return cut
    return ()


async def _run_all(
    ctx: RunContext, plan: Plan, outcomes: dict[str, SubtaskOutcome], running: set[str]
) -> None:
    tasks = plan.by_id()
    settled = {task_id: asyncio.Event() for task_id in tasks}
    slots = asyncio.Semaphore(ctx.config.concurrency)

    async def run_one(task: SubTask) -> None:
        try:
            earlier = outcomes.get(task.id)
            if earlier is not None and earlier.status == "done":
                await ctx.emit(_reused(ctx, earlier))
                return
            for dep in task.depends_on:
                await settled[dep].wait()
            failed_deps = tuple(d for d in task.depends_on if outcomes[d].status != "done")
            if failed_deps:
                outcomes[task.id] = SubtaskOutcome(
                    task.id, "skipped", error=f"needs {', '.join(failed_deps)}, which failed"
                )
                await ctx.emit(
                    SubtaskSkipped(
                        run_id=ctx.run_id,
                        at=ctx.now(),
                        subtask_id=task.id,
                        failed_dependencies=failed_deps,
                    )
                )
                return
            async with slots:
                running.add(task.id)
                outcomes[task.id] = await _execute(ctx, task, tasks, outcomes)
        finally:
            settled[task.id].set()

    try:
        async with asyncio.TaskGroup() as group:
            for task in plan.subtasks:
                group.create_task(run_one(task), name=f"{ctx.run_id}:{task.id}")
    except BaseExceptionGroup as group_error:
        # Only run-wide errors (a crossed budget) escape a subtask; surface the first one
        # as itself so the run reports its message rather than a group.
        for exc in group_error.exceptions:
            if isinstance(exc, PipelineError):
                raise exc from group_error
        raise


def _reused(ctx: RunContext, outcome: SubtaskOutcome) -> SubtaskFinished:
    return SubtaskFinished(
        run_id=ctx.run_id,
        at=ctx.now(),
        subtask_id=outcome.subtask_id,
        output=outcome.output,
        elapsed_s=outcome.elapsed_s,
        usage=outcome.usage,
        reused=True,
        sources=outcome.sources,
        searches=outcome.searches,
        search_errors=outcome.search_errors,
        cut=outcome.cut,
    )


async def _execute(
    ctx: RunContext, task: SubTask, tasks: dict[str, SubTask], outcomes: dict[str, SubtaskOutcome]
) -> SubtaskOutcome:
    started = ctx.now()
    await ctx.emit(SubtaskStarted(run_id=ctx.run_id, at=started, subtask_id=task.id))
    dependencies = [(tasks[d], outcomes[d].output) for d in task.depends_on]
    limit = subtask_limit(ctx.config.run_deadline_s, ctx.config.subagent_timeout_s)
    try:
        with ctx.tracing.stage("subagent", task.id):
            async with asyncio.timeout(limit):
                done = await run_subagent(ctx, task, dependencies)
    except TimeoutError:
        exc = LLMError(words.subagent_timed_out(limit), kind="timeout", retryable=False)
        return await _failed(ctx, task, started, exc)
    except (LLMError, InvalidOutput, Refused) as exc:
        return await _failed(ctx, task, started, exc)
    elapsed = ctx.now() - started
    await ctx.emit(
        SubtaskFinished(
            run_id=ctx.run_id,
            at=ctx.now(),
            subtask_id=task.id,
            output=done.output,
            elapsed_s=elapsed,
            usage=done.usage,
            sources=done.sources,
            searches=done.searches,
            search_errors=done.search_errors,
            cut=done.cut,
        )
    )
    return SubtaskOutcome(
        task.id,
        "done",
        output=done.output,
        usage=done.usage,
        elapsed_s=elapsed,
        attempts=done.calls,
        sources=done.sources,
        searches=done.searches,
        search_errors=done.search_errors,
        cut=done.cut,
    )


async def _failed(
    ctx: RunContext, task: SubTask, started: float, exc: PipelineError
) -> SubtaskOutcome:
    elapsed = ctx.now() - started
    logger.info("subtask %s failed: %s [run_id=%s]", task.id, exc, ctx.run_id)
    await ctx.emit(
        SubtaskFailed(
            run_id=ctx.run_id,
            at=ctx.now(),
            subtask_id=task.id,
            reason=str(exc),
            elapsed_s=elapsed,
        )
    )
    return SubtaskOutcome(task.id, "failed", error=str(exc), elapsed_s=elapsed)
