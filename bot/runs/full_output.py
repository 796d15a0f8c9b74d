"""Full output on demand: a subtask's whole text posted in its run's thread once, whoever
clicks, on whichever replica, before or after a restart (the run store records who posts
it and where it went); later clicks are pointed to it.

A click asks for these posts, not the run: they take turns with other people's new runs in
the channel (`Priority.NORMAL`, the clicker's turn) instead of going ahead of everything as
answers do, so one person's clicks cannot hold another person's run back for long."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.deps import Deps
from bot.render import messages as blocks
from bot.render import notes
from bot.render.history import thread_link
from bot.runs.resume import sources_of
from bot.slack.pacing import Priority
from bot.slack.poster import ThreadPoster
from bot.slack.requester import Requester
from bot.store import StoreDown, StoredRun
from bot.thread.owner import RunOwner
from pipeline import Source

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Output:
    """A done subtask's output and the thread it belongs in."""

    run_id: str
    sub_id: str
    role: str
    text: str
    sources: tuple[Source, ...]
    channel: str
    thread_ts: str


def live_output(run: RunOwner, sub_id: str) -> Output | str | None:
    """The output as the live run has it; a sentence when it cannot be posted; None when
    the run does not have it done (the store may)."""
    sub = run.view.subtasks.get(sub_id)
    if sub is None or sub.state != "done":
        return None
    if run.thread_ts is None:
        return notes.NO_THREAD
    return Output(
        run.run_id,
        sub.id,
        sub.role,
        sub.output,
        tuple(sub.sources),
        run.channel,
        run.thread_ts,
    )


def stored_output(run: StoredRun | None, sub_id: str) -> Output | str:
    """The output as the store has it, or why there is none to post."""
    done = (
        next(
            (s for s in run.subtasks if s.subtask_id == sub_id and s.state == "done"),
            None,
        )
        if run is not None
        else None
    )
    if run is None or done is None or not done.output or not run.thread_ts:
        return notes.OUTPUT_GONE
    return Output(
        run.run_id,
        done.subtask_id,
        done.role,
        done.output,
        sources_of(done),
        run.channel,
        run.thread_ts,
    )


def message_link(workspace_url: str, channel: str, ts: str, thread_ts: str) -> str:
    """A link to one reply in a thread (Slack's permalink shape); '' without a workspace URL."""
    link = thread_link(workspace_url, channel, ts)
    return f"{link}?thread_ts={thread_ts}&cid={channel}" if link else ""


async def post_once(
    deps: Deps, user: str, output: Output, live: RunOwner | None
) -> str | notes.Private | None:
    """Post `output` for `user` unless it was posted (or is being posted) already; what to
    tell `user` instead, if anything. `live`: the run, when it is live here (it keeps its
    own record of what it posted, used when the store cannot be asked)."""
    try:
        claim = await deps.store.claim_output(output.run_id, output.sub_id)
    except StoreDown:
        logger.exception("run store: could not claim a full output [run_id=%s]", output.run_id)
        if live is None:
            return notes.OUTPUT_NOT_CHECKED
        return await live.post_output(output.sub_id, output.role, output.text, output.sources)
    if not claim.won:
        if claim.ts is None:
            return notes.OUTPUT_POSTING
        link = message_link(deps.team.url, output.channel, claim.ts, output.thread_ts)
        return notes.output_posted(link)
    requester = Requester(
        deps.io,
        channel=output.channel,
        user=user,
        thread_ts=output.thread_ts,
        reply_in=output.thread_ts,
        clock=deps.clock,
    )
    poster = ThreadPoster(
        deps.io,
        requester,
        run_id=output.run_id,
        channel=output.channel,
        thread_ts=output.thread_ts,
        priority=Priority.NORMAL,
    )
    first: str | None = None
    messages = blocks.output_messages(output.sub_id, output.role, output.text, output.sources)
    for message in messages:
        posted = await poster.post_or_report(message, "that output")
        if posted and first is None:
            first = posted[0]
            await _record(deps, output, first)
        if posted is None:
            break
    if first is None:
        await _release(deps, output)
    return None


async def _record(deps: Deps, output: Output, ts: str) -> None:
    try:
        await deps.store.output_posted(output.run_id, output.sub_id, ts)
    except StoreDown:
        # Later clicks are told it is being posted until the claim goes stale.
        logger.exception("run store: could not record a full output [run_id=%s]", output.run_id)


async def _release(deps: Deps, output: Output) -> None:
    try:
        await deps.store.release_output(output.run_id, output.sub_id)
    except StoreDown:
        logger.exception("run store: could not release a full output [run_id=%s]", output.run_id)
