"""One research request from Slack, from accepted to answered, as a tracked, stored run."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.deps import Deps
from bot.runs import channel_settings as cs
from bot.runs.budgets import run_budget
from bot.runs.charges import LedgerFigures
from bot.runs.clarify import stored_clarify
from bot.runs.ownership import Tenure
from bot.runs.reports import answer_canvas
from bot.runs.review import StoredReview
from bot.runs.scoped_settings import applied_for, recorded, run_config
from bot.runs.steering import StoredSteering
from bot.runs.tracing import traced
from bot.runs.worktime import WorkTime, estimate_history
from bot.slack.agent_io import NativeIO
from bot.slack.requester import Requester
from bot.store import Fence, RunSource, StoreError
from bot.telemetry import new_trace_id, queued, tracing_of
from bot.thread.channel import SlackRun
from bot.thread.dm import NativeRun
from bot.thread.owner import RunOwner
from pipeline import Checkpoint, Plan, run_pipeline
from pipeline.effort import Effort, with_effort

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ResearchRequest:
    """What a listener hands over after ack: who asked what, and where the run lives."""

    user: str
    channel: str
    goal: str
    source: RunSource
    thread_ts: str | None  # None: post a root message in the channel and use its thread
    context_before_ts: str | None = None  # read the thread's messages before this one
    context: str | None = None  # the orchestrator's context as given (a follow-up's answer)
    root_ts: str | None = None  # the thread's root, when it is the app's request message
    delivery_key: str | None = None  # the Slack delivery that asked (event id, trigger)
    parent_run_id: str | None = None  # a Retry or Re-run of this run
    effort: Effort | None = None  # --quick or --deep (None: the channel's default effort)
    # Its plan waits for the requester's approval (issue 22.3); None: as the channel's
    # settings say (issue 24.4), else ORCHESTRA_PLAN_REVIEW.
    review: bool | None = False


def format_context(messages: list[dict[str, Any]], before_ts: str, max_chars: int) -> str | None:
    """The thread's earlier messages as `<@user>: text` lines, newest kept within `max_chars`.

    An assistant thread's root (subtype `assistant_app_thread`) is Slack's, titled by Slack:
    not part of the conversation."""
    lines = []
    for message in messages:
        if str(message.get("ts", "")) >= before_ts:
            continue
        if message.get("subtype") == "assistant_app_thread":
            continue
        author = message.get("user") or message.get("bot_id") or "someone"
        text = " ".join(str(message.get("text", "")).split())
        if text:
            lines.append(f"<@{author}>: {text}")
    joined = "\n".join(lines)
    return joined[-max_chars:] if joined else None


async def _thread_context(
    deps: Deps, channel: str, thread_ts: str, before_ts: str | None
) -> str | None:
    if before_ts is None or deps.settings.thread_context_messages == 0:
        return None
    try:
        messages = await deps.io.thread_messages(
            channel, thread_ts, before_ts=before_ts, limit=deps.settings.thread_context_messages
        )
    except SlackApiError as exc:
        # Context is a bonus: without it the run still answers the goal itself.
        logger.warning("could not read thread context: %s", exc.response.get("error"))
        return None
    return format_context(messages, before_ts, deps.config.max_context_chars)


def new_run(
    deps: Deps,
    run_id: str,
    goal: str,
    requester: Requester,
    source: RunSource,
    *,
    resumed: bool = False,
    tenure: Tenure | None = None,
    cut_off: Sequence[str] = (),
    look_in_thread: bool = False,
    parent_run_id: str | None = None,
    root_ts: str | None = None,
) -> RunOwner:
    """The owner of a run in Slack, wired to the app's Slack client and store: a DM run
    streams natively (`NativeRun`), any other run has a plan message in a channel thread
    (`cut_off`: answer messages an interrupted attempt left half written;
    `look_in_thread`: that attempt was killed, so its thread may hold more, `bot.thread.leftovers`;
    in a DM, its streamed reply may be left streaming).

    With several replicas, `tenure` is this replica's hold on the run: its Slack calls and
    store writes go only while the hold lasts (`bot.runs.ownership`)."""
    io = deps.io
    if tenure is not None and deps.runs.ownership.shared:
        io = deps.io.for_run(tenure.writable)
    fence = tenure.fence if tenure is not None else None
    canvas = answer_canvas(
        deps,
        io,
        run_id=run_id,
        goal=goal,
        requester=requester,
        fence=fence,
        parent_run_id=parent_run_id,
    )
    if source == "dm":
        return NativeRun(
            run_id=run_id,
            goal=goal,
            requester=requester,
            io=io,
            native=NativeIO(io, deps.team.team_id),
            store=deps.store,
            interval_s=deps.settings.update_interval_s,
            keepalive_s=deps.stream_keepalive_s,
            status_refresh_s=deps.status_refresh_s,
            resumed=resumed,
            fence=fence,
            killed=look_in_thread,
            canvas=canvas,
        )
    return SlackRun(
        run_id=run_id,
        goal=goal,
        requester=requester,
        io=io,
        store=deps.store,
        interval_s=deps.settings.update_interval_s,
        resumed=resumed,
        fence=fence,
        cut_off=cut_off,
        look_in_thread=look_in_thread,
        canvas=canvas,
        root_ts=root_ts,
    )


async def launch(
    deps: Deps,
    request: ResearchRequest,
    requester: Requester,
    *,
    run_id: str,
    checkpoint: Checkpoint | None = None,
    note: str | None = None,
) -> str:
    """Store the run (`run_id`, admitted by `deps.runs.admit`), owned by this replica, then
    start it as a tracked task; returns its run id."""
    ownership = deps.runs.ownership
    tenure = await ownership.begin(run_id)
    trace_id = new_trace_id()  # stored: a resumed attempt joins the same trace
    # The channel's settings as they are now (issue 24.4), recorded with the run: a resume
    # uses these. A request's own --review/--no-review and --quick/--deep win.
    settings = await applied_for(deps, request.channel)
    effort = request.effort or settings.effort
    review = settings.review if request.review is None else request.review
    try:
        await deps.store.create_run(
            run_id=run_id,
            workspace=deps.team.team_id,
            enterprise_id=deps.team.enterprise_id,  # an org-wide install's token is the org's
            requester=request.user,
            channel=request.channel,
            source=request.source,
            goal=request.goal,
            delivery_key=request.delivery_key,
            thread_ts=request.thread_ts,
            parent_run_id=request.parent_run_id,
            status="queued",  # until it has a slot (admission control)
            owner=ownership.replica if ownership.shared else None,
            lease_s=ownership.lease_s,
            trace_id=trace_id,
            effort=effort,
            settings=settings.to_json(),  # in the run row's transaction: one write
        )
    except StoreError:
        # Without its row the run cannot be resumed after a crash, but it still runs now
        # (held by its Redis lease alone: no replica can take over a run it cannot read).
        logger.exception("run store: could not store a new run [run_id=%s]", run_id)
        tenure.fence = None
    run = new_run(
        deps,
        run_id,
        request.goal,
        requester,
        request.source,
        tenure=tenure,
        parent_run_id=request.parent_run_id,
        root_ts=request.root_ts,
    )
    work = execute(
        deps,
        run,
        thread_ts=request.thread_ts,
        context_before_ts=request.context_before_ts,
        context=request.context,
        checkpoint=checkpoint,
        note=note,
        review=review,
        effort=effort,
        fence=tenure.fence,
        settings=settings,
    )
    workspace = deps.team.team_id  # the run's own (many workspaces: this request's)
    traced_work = traced(deps, run, work, workspace=workspace, trace_id=trace_id, resumed=False)
    deps.runs.start(run, traced_work, tenure)
    return run_id


async def _review(deps: Deps, run: RunOwner, asked: bool) -> StoredReview | None:
    """The run's plan review, when it was asked for or one is open in the store."""
    if not asked:
        try:
            found = await deps.store.review_of(run.run_id)
        except StoreError:
            logger.warning("run store: could not read a plan review [run_id=%s]", run.run_id)
            found = None
        if found is None:
            return None
    admission = deps.runs.admission

    async def read_plan() -> Plan | None:
        stored = await deps.store.get_run(run.run_id)
        if stored is None or not stored.plan:
            return None
        return Plan.model_validate(stored.plan, context={"min": 1, "max": 1000})

    async def step_out() -> None:
        await admission.step_out(run.run_id)

    async def step_in() -> None:
        await admission.step_in(run.run_id, run.waiting)

    return StoredReview(
        deps.store,
        run.run_id,
        run.requester_id,
        deps.settings.review_timeout_s,
        show=run.reviewing,
        step_out=step_out,
        step_in=step_in,
        read_plan=read_plan,
    )


async def execute(
    deps: Deps,
    run: RunOwner,
    *,
    thread_ts: str | None,
    plan_ts: str | None = None,
    context_before_ts: str | None = None,
    context: str | None = None,
    checkpoint: Checkpoint | None = None,
    note: str | None = None,
    review: bool = False,
    effort: str | None = None,
    worked_s: float = 0.0,
    fence: Fence | None = None,
    settings: cs.Applied | None = None,
) -> None:
    """Open the run's thread, then run the pipeline with the run as its sink (`review`: its
    plan waits for approval first; a resumed run whose plan still waits waits again).

    The thread's earlier messages before `context_before_ts` become the orchestrator's
    context (or `context` as stored, for a resumed run). It works at `effort` (issue 22.4),
    its deadline going on from `worked_s`, the working time earlier attempts spent (22.1).
    `settings`: the channel's (issue 24.4); None for a resumed run, which uses those its
    first attempt recorded (an older run without any: the environment's)."""
    if settings is None:
        settings = await recorded(deps, run.run_id) or cs.applied(
            deps.settings, cs.LevelSettings(), cs.LevelSettings()
        )
    config = run_config(with_effort(deps.config, effort), settings)
    deadline_s = config.run_deadline_s
    work = WorkTime(
        deps.store,
        run.run_id,
        worked_s=worked_s,
        deadline_s=deadline_s,
        clock=time.monotonic,
        fence=fence,
    )
    try:
        async with deps.runs.admission.slot(run.run_id, run.waiting) as turn:
            if not await run.open(thread_ts, plan_ts=plan_ts, note=note):
                return
            if context_before_ts is not None and run.thread_ts is not None:
                context = await _thread_context(deps, run.channel, run.thread_ts, context_before_ts)
                await run.context(context)
            elif context is not None and plan_ts is None:
                await run.context(context)  # a follow-up's: kept for a resume before its plan
            with queued(deps.telemetry):
                await turn()
            await run.starting()
            history = await estimate_history(deps.store, deps.team.team_id, effort)
            work.start()
            await run_pipeline(
                run.goal,
                llm=deps.llm,
                config=config,
                worked_s=worked_s,
                history=history,  # similar runs' estimates beside their actuals
                # Its end shows the ledger's cost, its working time saved first.
                sink=work.around(LedgerFigures(deps.store, run)),
                context=context,
                run_id=run.run_id,
                checkpoint=checkpoint,
                budget=run_budget(
                    deps,
                    run.requester_id,
                    run.channel,
                    run.run_id,
                    channel_limit=settings.budget_usd,
                ),
                instructions=settings.instructions,  # the channel's standing instructions
                tracing=tracing_of(deps.telemetry),
                steering=StoredSteering(deps.store, run.run_id),  # kept by the store
                # Waits for a person are not working time, here as in the pipeline.
                review=work.reviewed(await _review(deps, run, review)),
                clarify=work.clarified(stored_clarify(deps, run)),  # it may ask first
            )
    except asyncio.CancelledError:
        # Cancelled (by a person, or a restart) before the pipeline could say so itself: the
        # request was accepted, so the thread or the requester must still hear how it ended.
        await run.interrupted()
        raise
    finally:
        await work.stop()
        await run.close()
