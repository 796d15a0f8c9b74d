"""The public entry point: one goal in, one RunResult out, progress to a sink on the way."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Sequence

from pipeline import words
from pipeline.budget import NO_BUDGET, Budget
from pipeline.clarify import Clarification, Clarify, Question
from pipeline.config import PipelineConfig
from pipeline.context import RunContext
from pipeline.deadline import WorkClock
from pipeline.errors import DeadlineReached, PipelineError, PlanError
from pipeline.estimate import Past, estimate
from pipeline.events import (
    EventSink,
    PlanReady,
    RunCancelled,
    RunFailed,
    RunFinished,
    RunStarted,
    discard,
)
from pipeline.follow_ups import suggest_follow_ups
from pipeline.goal import clean_goal
from pipeline.integrator import integrate
from pipeline.llm import LLM, Usage
from pipeline.models import Checkpoint, Plan, RunResult, RunStatus, SubtaskOutcome
from pipeline.planner import make_plan
from pipeline.retry import Sleep
from pipeline.review import Review
from pipeline.scheduler import run_subtasks
from pipeline.steering import Steering, no_steering
from pipeline.tracing import NO_TRACING, Tracing

logger = logging.getLogger(__name__)


def new_run_id() -> str:
    """A short, unique, log-friendly run id."""
    return uuid.uuid4().hex[:12]


def _newest(context: str | None, max_chars: int) -> str | None:
    """The newest `max_chars` of the context (a thread's latest messages matter most)."""
    if not context or max_chars <= 0:
        return None
    return context[-max_chars:]


def _restore(ctx: RunContext, checkpoint: Checkpoint, outcomes: dict[str, SubtaskOutcome]) -> None:
    """Take over the checkpoint's finished subtasks and count what the earlier attempt spent
    (unless that attempt was another run: its spend is its own)."""
    for task in checkpoint.plan.subtasks:
        done = checkpoint.done.get(task.id)
        if done is not None and done.status == "done":
            outcomes[task.id] = done
            if not checkpoint.borrowed:
                ctx.usage.add("subagent", ctx.config.subagent_model, done.usage)
    if not checkpoint.borrowed:
        for role, usage in checkpoint.spent.items():
            ctx.usage.add(role, ctx.config.model_for(role), usage)


async def _reviewed(
    ctx: RunContext,
    review: Review,
    plan: Plan,
    work: WorkClock,
    outcomes: dict[str, SubtaskOutcome],
    resumed: bool,
) -> Plan:
    """The plan as the review approved it; an edited plan is shown again (PlanReady), and
    outcomes of subtasks it no longer has are dropped."""
    waited = ctx.clock()
    approved = await review(plan)
    work.exclude(ctx.clock() - waited)  # waiting for a person is not working time
    if approved == plan:
        return plan
    kept = approved.by_id()
    for sid in [sid for sid in outcomes if sid not in kept]:
        del outcomes[sid]
    config = ctx.config
    await ctx.emit(
        PlanReady(
            run_id=ctx.run_id,
            at=ctx.now(),
            plan=approved,
            usage=Usage(),
            resumed=resumed,
            estimate=estimate(approved, config, Usage(), (), done=set(outcomes)),
        )
    )
    return approved


async def _planned(
    ctx: RunContext,
    goal: str,
    context: str | None,
    work: WorkClock,
    clarify: Clarify | None,
) -> tuple[Plan, Usage]:
    """The run's plan and what planning cost; with `clarify`, the orchestrator may first ask
    one question (asked before a restart: its answer is used, not asked again). Each plan
    call is inside the deadline; waiting for the person is not working time."""
    config = ctx.config

    async def plan_call(ask: bool, clarified: Clarification | None) -> Plan | Question:
        try:
            async with asyncio.timeout(work.remaining()):
                with ctx.tracing.stage("plan"):
                    return await make_plan(
                        ctx,
                        goal,
                        _newest(context, config.max_context_chars),
                        may_ask=ask,
                        clarified=clarified,
                    )
        except TimeoutError:
            raise DeadlineReached(words.deadline_before_plan(config.run_deadline_s)) from None

    clarified: Clarification | None = None
    if clarify is not None:
        waited = ctx.clock()
        clarified = await clarify.earlier()
        work.exclude(ctx.clock() - waited)
    found = await plan_call(clarify is not None and clarified is None, clarified)
    if isinstance(found, Question) and clarify is not None:
        waited = ctx.clock()
        answer = await clarify.ask(found.text)
        work.exclude(ctx.clock() - waited)
        found = await plan_call(False, Clarification(found.text, answer))
    if isinstance(found, Question):  # never: the question is offered once, to a run that asks
        raise PlanError(words.ASKED_AGAIN)
    return found, ctx.usage.by_role.get("orchestrator", Usage())


async def _follow_ups(ctx: RunContext, goal: str, answer: str, work: WorkClock) -> tuple[str, ...]:
    """Suggested follow-up questions, within what is left of the run's working time."""
    try:
        async with asyncio.timeout(work.remaining()):
            return await suggest_follow_ups(ctx, goal, answer)
    except TimeoutError:
        return ()  # the answer is not held back past the deadline for them


async def run_pipeline(
    goal: str,
    *,
    llm: LLM,
    config: PipelineConfig,
    sink: EventSink = discard,
    context: str | None = None,
    run_id: str | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Sleep = asyncio.sleep,
    checkpoint: Checkpoint | None = None,
    budget: Budget = NO_BUDGET,
    tracing: Tracing = NO_TRACING,
    worked_s: float = 0.0,
    history: Sequence[Past] = (),
    steering: Steering = no_steering,
    review: Review | None = None,
    clarify: Clarify | None = None,
    instructions: str = "",
) -> RunResult:
    """Plan, run the subtasks in parallel, integrate; report progress to `sink`.

    Args:
        goal: what the user asked for.
        llm: the model seam (the Anthropic adapter, or a fake from `pipeline.testing`).
        config: models, limits and budget for this run.
        sink: async consumer of the run's events; its failures never fail the run.
        context: earlier conversation (e.g. a Slack thread) the orchestrator may use.
        run_id: an id to use instead of a fresh one.
        clock: monotonic seconds, injectable for tests.
        sleep: the retry policy's sleep, injectable for tests.
        checkpoint: an earlier attempt's plan and finished subtasks (after a restart, or to
            retry failed subtasks): planning is skipped and finished subtasks are reused.
        budget: a dollar budget beside the config's own (a person's day, say): every call
            reserves its worst case from it first and settles to its real cost after.
        tracing: where the run's stages (plan, subagents, integrator) are traced.
        worked_s: working time earlier attempts at this run spent: the deadline
            (`config.run_deadline_s`) goes on from it.
        history: similar earlier runs, newest first, which correct the plan's estimate.
        steering: where the run reads what people added while it goes (issue 22.2): each
            subagent call and the integrator read it as they start.
        review: a person's approval of the plan before any subagent call (issue 22.3): it
            returns the plan to run (edited, perhaps); its wait is not working time.
        clarify: where the orchestrator's one clarifying question goes, if it asks one
            instead of planning (issue 22.3); without it, it is never offered the choice.
        instructions: standing instructions for every call of the run (a Slack channel's,
            issue 24.4): untrusted text, given to the orchestrator, every subagent and the
            integrator in a delimited section of its own.

    Returns:
        The run record. Failures are in it (status "failed", `error` a user-readable
        sentence), not raised. Cancelling the calling task cancels in-flight calls,
        emits RunCancelled and re-raises CancelledError.
    """
    ctx = RunContext(
        run_id or new_run_id(), llm, config, sink, clock, sleep, budget, steering=steering
    )
    ctx.tracing = tracing
    ctx.instructions = instructions
    outcomes: dict[str, SubtaskOutcome] = {}
    plan: Plan | None = None
    answer = answer_cut = ""
    # The deadline counts from here: the run is calling Claude (not queued any more).
    work = WorkClock(config.run_deadline_s, clock, spent_s=worked_s)
    cut: tuple[str, ...] = ()
    follow_ups: tuple[str, ...] = ()

    def result(status: RunStatus, error: str = "", kind: str = "") -> RunResult:
        final = dict(outcomes)
        for task in plan.subtasks if plan else ():
            final.setdefault(task.id, SubtaskOutcome(task.id, "cancelled"))
        return RunResult(
            run_id=ctx.run_id,
            goal=goal,
            status=status,
            plan=plan,
            outcomes={t.id: final[t.id] for t in plan.subtasks} if plan else {},
            answer=answer,
            usage_by_role=ctx.usage.by_role,
            usage=ctx.usage.total,
            cost_usd=ctx.usage.cost_usd,
            elapsed_s=ctx.now(),
            error=error,
            error_kind=kind,
            search_cost_usd=ctx.usage.search_cost_usd,
            answer_cut=answer_cut,
            cut=cut,
            follow_ups=follow_ups,
        )

    await ctx.emit(RunStarted(run_id=ctx.run_id, at=0.0, goal=goal))
    try:
        goal = clean_goal(goal, config)
        if checkpoint is None:
            plan, planning = await _planned(ctx, goal, context, work, clarify)
        else:
            plan, planning = checkpoint.plan, Usage()
            _restore(ctx, checkpoint, outcomes)
        await ctx.emit(
            PlanReady(
                run_id=ctx.run_id,
                at=ctx.now(),
                plan=plan,
                usage=planning,
                resumed=checkpoint is not None,
                estimate=estimate(plan, config, planning, history, done=set(outcomes)),
            )
        )
        if review is not None:
            plan = await _reviewed(ctx, review, plan, work, outcomes, checkpoint is not None)
        cut = await run_subtasks(ctx, plan, outcomes, work.remaining())
        if cut and not any(o.status == "done" for o in outcomes.values()):
            # No integrator call: there is nothing to answer from.
            raise DeadlineReached(words.deadline_nothing_done(config.run_deadline_s))
        with tracing.stage("integrator"):
            answer, answer_cut = await integrate(ctx, goal, plan, outcomes)
        if not cut and not answer_cut:
            # (A run cut at its deadline has no time for them.)
            with tracing.stage("follow_ups"):
                follow_ups = await _follow_ups(ctx, goal, answer, work)
    except asyncio.CancelledError:
        cancelled = result("cancelled", "The run was cancelled.", "cancelled")
        await ctx.emit(RunCancelled(run_id=ctx.run_id, at=ctx.now(), result=cancelled))
        raise
    except PipelineError as exc:
        failed = result("failed", str(exc), type(exc).__name__)
        await ctx.emit(RunFailed(run_id=ctx.run_id, at=ctx.now(), result=failed))
        return failed
    except Exception:
        # A run boundary: whatever went wrong, the caller gets a result and the user a sentence.
        logger.exception("run crashed [run_id=%s]", ctx.run_id)
        failed = result(
            "failed", f"An internal error stopped this run (run {ctx.run_id}).", "internal"
        )
        await ctx.emit(RunFailed(run_id=ctx.run_id, at=ctx.now(), result=failed))
        return failed
    partial = any(o.status != "done" for o in outcomes.values())
    finished = result("partial" if partial else "succeeded")
    await ctx.emit(RunFinished(run_id=ctx.run_id, at=ctx.now(), result=finished))
    return finished
