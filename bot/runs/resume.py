"""Runs from the store, started again: after a restart (resume), or by Retry and Re-run."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from pydantic import ValidationError

from bot.deps import Deps
from bot.render import notes
from bot.render.history import goal_link
from bot.runs.intake import SAID, Ask, Judge, Verdict, accept
from bot.runs.launch import ResearchRequest, execute, launch, new_run
from bot.runs.ownership import Tenure
from bot.runs.tracing import traced
from bot.slack.requester import Requester
from bot.store import UNFINISHED_STATUSES, RunSource, StoreDown, StoredRun, StoredSubtask
from bot.thread.journal import pipeline_usage
from pipeline import Checkpoint, Plan, Source, SubtaskOutcome
from pipeline.effort import is_effort

logger = logging.getLogger(__name__)

# A stored plan was valid when it was made; its size is not judged again by today's bounds.
_ANY_SIZE = {"min": 1, "max": 1000}


def stored_plan(run: StoredRun) -> Plan | None:
    """The run's plan, or None when it had none (or it cannot be read any more)."""
    if not run.plan:
        return None
    try:
        return Plan.model_validate(run.plan, context=_ANY_SIZE)
    except ValidationError:
        logger.warning("stored plan unreadable; planning again [run_id=%s]", run.run_id)
        return None


def _outcome(sub: StoredSubtask) -> SubtaskOutcome:
    return SubtaskOutcome(
        sub.subtask_id,
        "done",
        output=sub.output or "",
        usage=pipeline_usage(sub.usage),
        sources=sources_of(sub),
    )


def sources_of(sub: StoredSubtask) -> tuple[Source, ...]:
    """A stored subtask's sources as the pipeline knows them."""
    return tuple(
        Source(str(s.get("url", "")), str(s.get("title", "")), str(s.get("cited_text", "")))
        for s in sub.sources
        if s.get("url")
    )


def checkpoint_of(run: StoredRun, keep: set[str] | None = None) -> Checkpoint | None:
    """Where the run got to: its plan and the outputs of its done subtasks (all, or `keep`)."""
    plan = stored_plan(run)
    if plan is None:
        return None
    done = {
        sub.subtask_id: _outcome(sub)
        for sub in run.subtasks
        if sub.state == "done" and sub.output and (keep is None or sub.subtask_id in keep)
    }
    return Checkpoint(plan, done)


def requester_of(deps: Deps, run: StoredRun, user: str | None = None) -> Requester:
    """Reaches the run's requester (or `user`) privately, in its thread or channel."""
    return Requester(
        deps.io,
        channel=run.channel,
        user=user or run.requester,
        thread_ts=run.thread_ts if run.plan_ts else None,
        reply_in=run.thread_ts,
        clock=deps.clock,
    )


async def resume_unfinished(deps: Deps) -> int:
    """Start again every run a previous process left unfinished; how many were resumed.

    With several replicas, only the runs nobody holds: runs live on other replicas keep
    their leases (`take_over`)."""
    if deps.runs.ownership.shared:
        return await take_over(deps, why=notes.RESTART)
    try:
        unfinished = await deps.store.unfinished_runs()
    except Exception:
        logger.exception("run store: could not read unfinished runs; none resumed")
        return 0
    for run in unfinished:
        await resume(deps, run)
        deps.telemetry.meters.takeovers.add(1)  # one process: a restart takes its runs over
    if unfinished:
        logger.info("resumed %d runs", len(unfinished))
    return len(unfinished)


async def take_over(deps: Deps, *, why: str = notes.TAKEN_OVER, limit: int | None = None) -> int:
    """Take over and resume the unfinished runs that no replica holds (their owner died,
    paused them for a restart, or lost them), at most `limit`; how many were resumed.

    Each run is read after it is taken: the former owner can no longer write to it, so
    the checkpoint is complete (done subtasks are reused, not called again)."""
    try:
        candidates = await deps.store.runs_to_take()
    except StoreDown:
        logger.exception("run store: could not look for runs to take over")
        return 0
    taken = 0
    for run_id in candidates:
        if limit is not None and taken >= limit:
            break
        if deps.runs.is_running(run_id) or not deps.runs.accepting:
            continue
        tenure = await deps.runs.ownership.take(run_id)
        if tenure is None:
            continue
        try:
            stored = await deps.store.get_run(run_id)
        except StoreDown:
            logger.exception("run store: could not read a run taken over [run_id=%s]", run_id)
            stored = None
        if stored is None or stored.status not in UNFINISHED_STATUSES:
            await deps.runs.ownership.release(tenure)
            continue
        # A run paused for a restart said so in its thread: it goes on after that restart.
        await resume(deps, stored, tenure, why=notes.RESTART if stored.status == "paused" else why)
        taken += 1
        deps.telemetry.meters.takeovers.add(1)
    if taken:
        logger.info("took over %d runs", taken)
    return taken


async def resume(
    deps: Deps, stored: StoredRun, tenure: Tenure | None = None, *, why: str = notes.RESTART
) -> None:
    """Resume one stored run where it left off, through the intake a new run takes; done
    subtasks are not called again. (`tenure`: this replica's hold on it, when replicas
    share runs.)"""
    requester = requester_of(deps, stored)
    # Many workspaces: its own token (its org's, installed org-wide).
    if not await deps.enter_workspace(stored.workspace, stored.enterprise_id):
        logger.info(
            "not resuming a run of workspace %s, which no longer has an installation [run_id=%s]",
            stored.workspace,
            stored.run_id,
        )
        if tenure is not None:
            await deps.runs.ownership.release(tenure)
        return

    async def judge() -> Verdict:
        if stored.goal:
            return None
        # Retention removed its text: there is nothing left to run.
        await requester.tell(notes.cannot_resume("its goal is no longer stored."))
        await deps.store.finish_run(
            stored.run_id,
            "failed",
            "restart",
            None,
            stored.usage,
            fence=tenure.fence if tenure is not None else None,
        )
        if tenure is not None:
            await deps.runs.ownership.release(tenure)
        return SAID

    async def start(run_id: str) -> None:
        _start_again(deps, stored, requester, tenure, why)

    await accept(deps, Ask(requester, start, judge=judge, resumed=stored.run_id))


def _start_again(
    deps: Deps, stored: StoredRun, requester: Requester, tenure: Tenure | None, why: str
) -> None:
    checkpoint = checkpoint_of(stored)
    total = len(checkpoint.plan.subtasks) if checkpoint else 0
    note = notes.resumed(len(checkpoint.done) if checkpoint else 0, total, why=why)
    resumed = checkpoint is not None  # else it plans afresh, and stores that plan
    run = new_run(
        deps,
        stored.run_id,
        stored.goal,
        requester,
        stored.source,
        resumed=resumed,
        tenure=tenure,
        cut_off=stored.answer_ts,
        # A clean pause (SIGTERM, a deploy) recorded everything it posted; a killed attempt
        # may not have.
        look_in_thread=stored.status != "paused",
        parent_run_id=stored.parent_run_id,  # a resumed Re-run still finds its parent's canvas
        root_ts=stored.root_ts or _shared_root(stored),
    )
    work = execute(
        deps,
        run,
        thread_ts=stored.thread_ts,
        plan_ts=stored.plan_ts,
        context=stored.context,
        checkpoint=checkpoint,
        # Without a thread the run never became visible: it simply starts now.
        note=note if stored.thread_ts else None,
        effort=stored.effort,
        worked_s=stored.work_s,  # its deadline goes on from the time already spent
        fence=tenure.fence if tenure is not None else None,
    )
    traced_work = traced(
        deps,
        run,
        work,
        workspace=stored.workspace,
        trace_id=stored.trace_id,
        resumed=True,
        fence=tenure.fence if tenure is not None else None,
    )
    deps.runs.start(run, traced_work, tenure)


async def retry(deps: Deps, parent: StoredRun, subtask_id: str, press: Press) -> None:
    """Run a failed subtask (and the dependents it held back) again, reusing the rest;
    a new integrated answer follows in the same thread. The presser is told if it cannot."""
    checkpoint = checkpoint_of(parent)

    async def judge() -> Verdict:
        if checkpoint is None or not parent.thread_ts:
            return "That run's plan is no longer stored, so it cannot be retried; try Re-run."
        return None

    subtasks = checkpoint.plan.subtasks if checkpoint is not None else []
    again = [t.id for t in subtasks if checkpoint is not None and t.id not in checkpoint.done]
    note = notes.retrying(again or [subtask_id], press.user)

    # A new run: what the reused subtasks cost stays the first run's (its footer and history
    # line counted their searches again).
    borrowed = replace(checkpoint, borrowed=True) if checkpoint is not None else None
    await _again(deps, parent, press, judge, note, borrowed)


async def rerun(deps: Deps, parent: StoredRun, press: Press) -> None:
    """The whole run again, from the start, in the same thread. The presser is told if it
    cannot."""

    async def judge() -> Verdict:
        if not parent.goal or not parent.thread_ts:
            return "That run's goal is no longer stored, so it cannot be run again."
        return None

    await _again(deps, parent, press, judge, notes.rerunning(press.user), None)


async def continue_cut(deps: Deps, parent: StoredRun, press: Press) -> None:
    """Continue (issue 22.1): the subtasks cut at the deadline and their dependents run in
    a new run with a fresh deadline, the done ones reused (as Retry does), and an updated
    answer follows in the same thread."""
    checkpoint = checkpoint_of(parent)

    async def judge() -> Verdict:
        if checkpoint is None or not parent.thread_ts:
            return "That run's plan is no longer stored, so it cannot be continued; try Re-run."
        return None

    subtasks = checkpoint.plan.subtasks if checkpoint is not None else []
    again = [t.id for t in subtasks if checkpoint is not None and t.id not in checkpoint.done]
    borrowed = replace(checkpoint, borrowed=True) if checkpoint is not None else None
    note = notes.continuing(again, press.user)
    # In a DM the continued run streams natively in the DM's thread, as the first one did.
    source: RunSource = "dm" if parent.source == "dm" else "button"
    await _again(deps, parent, press, judge, note, borrowed, source)


@dataclass(frozen=True)
class Press:
    """A press of Retry or Re-run: by whom, on which message."""

    user: str
    channel: str
    message_ts: str


# A press of Retry or Re-run holds its message this long: a double-click is two clicks to
# Slack (two payloads, two trigger ids, tens of milliseconds apart), and the second must not
# start a second run. Past it, the store's unfinished runs started from the run decide
# (`_again`): no second one while the first is going.
PRESS_HOLD_S = 10.0


async def _again(
    deps: Deps,
    parent: StoredRun,
    press: Press,
    judge_parent: Judge,
    note: str,
    checkpoint: Checkpoint | None,
    source: RunSource = "button",
) -> None:
    """A new run of `parent`'s goal in its thread, for the presser, through the intake (so
    held to their limits and budgets on every replica, as a new request is).

    Not while a run started from `parent` earlier is still going: a second Retry or Re-run
    would pay for the same work twice (the store knows such runs on every replica)."""
    requester = requester_of(deps, parent, press.user)

    async def judge() -> Verdict:
        problem = await judge_parent()
        if problem is not None:
            return problem
        try:
            going = await deps.store.unfinished_children(parent.run_id)
        except StoreDown:
            logger.warning(
                "run store: could not look for runs started from [run_id=%s]", parent.run_id
            )
            going = []
        if going:
            child = going[0]
            link = goal_link(deps.team.url, child.goal, child.channel, child.thread_ts)
            return notes.started_again_going(link)
        return None

    async def start(run_id: str) -> None:
        request = ResearchRequest(
            user=press.user,
            channel=parent.channel,
            goal=parent.goal,
            source=source,
            thread_ts=parent.thread_ts,
            parent_run_id=parent.run_id,
            root_ts=parent.root_ts or _shared_root(parent),
            effort=parent.effort if is_effort(parent.effort) else None,  # as the first run
        )
        await launch(deps, request, requester, run_id=run_id, checkpoint=checkpoint, note=note)

    ask = Ask(
        requester,
        start,
        keys=[f"again:{press.channel}:{press.message_ts}"],  # on any replica
        hold_s=PRESS_HOLD_S,
        repeat=notes.PRESSED_ALREADY,
        judge=judge,
    )
    await accept(deps, ask)


def _shared_root(run: StoredRun) -> str | None:
    """The root of a run's thread when it is the app's own request message: a /research
    run's thread (its root is the thread); a run started by a button in such a thread does
    not record it, so it is only known for the command's own run."""
    return run.thread_ts if run.source == "command" else None
