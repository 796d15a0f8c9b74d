"""Buttons on the plan message: Cancel, a subtask's Full output, Retry and Re-run.

A click counts only on its run's own plan message (its channel and message), and Cancel,
Retry and Re-run only from whoever may (`ORCHESTRA_CANCEL_BY`). The store is the truth for
runs that are no longer live in this process; with several replicas, a Cancel for a run live
on another one is passed on to it (`bot.coordination.cancel`)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.coordination import RedisDown
from bot.deps import Deps
from bot.render import messages as blocks
from bot.render import notes
from bot.runs.full_output import Output, live_output, post_once, stored_output
from bot.runs.resume import Press, continue_cut, rerun, retry
from bot.store import ACTIVE_STATUSES, StoredRun, StoreError
from pipeline.words import CUT_AT_DEADLINE

logger = logging.getLogger(__name__)

# Stored runs that some replica is running or holding in its queue. ("paused" runs wait for
# a restart to resume them: no replica has them yet.)


@dataclass(frozen=True)
class Click:
    """Who clicked which button, on which message."""

    user: str
    channel: str
    message_ts: str
    thread_ts: str | None  # the thread the message is in, if it is a reply
    value: str

    @classmethod
    def of(cls, body: dict[str, Any], action: dict[str, Any]) -> Click:
        """The click from Bolt's payload (missing parts are empty, never a crash)."""
        message = body.get("message") or {}
        thread = message.get("thread_ts")
        return cls(
            user=str((body.get("user") or {}).get("id", "")),
            channel=str((body.get("channel") or {}).get("id", "")),
            message_ts=str(message.get("ts", "")),
            thread_ts=str(thread) if thread else None,
            value=str(action.get("value", "")),
        )


@dataclass(frozen=True)
class RunPlace:
    """Where a run's plan message is, and who asked for it."""

    requester: str
    channel: str
    plan_ts: str | None
    stored: StoredRun | None


async def _place(deps: Deps, run_id: str) -> RunPlace | None:
    live = deps.runs.get(run_id)
    if live is not None:
        return RunPlace(live.requester_id, live.channel, live.plan_ts, None)
    try:
        stored = await deps.store.get_run(run_id) if run_id else None
    except StoreError:
        logger.exception("run store: could not read run %s", run_id)
        return None
    if stored is None:
        return None
    return RunPlace(stored.requester, stored.channel, stored.plan_ts, stored)


async def _stored(deps: Deps, place: RunPlace, run_id: str) -> StoredRun | None:
    if place.stored is not None:
        return place.stored
    try:
        return await deps.store.get_run(run_id)
    except StoreError:
        logger.exception("run store: could not read run %s", run_id)
        return None


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen for the plan message's buttons."""

    async def tell(click: Click, text: str | notes.Private) -> None:
        await deps.io.tell(click.channel, click.user, text, click.thread_ts)

    async def checked(click: Click, run_id: str, what: str | None) -> RunPlace | None:
        """The run if this click may act on it (`what`: an action only some may take)."""
        place = await _place(deps, run_id)
        if place is None:
            await tell(click, notes.UNKNOWN_RUN)
            return None
        if click.channel != place.channel or click.message_ts != place.plan_ts:
            logger.warning("button for run %s clicked on another message; ignored", run_id)
            await tell(click, notes.NOT_THIS_RUN)
            return None
        if what and deps.settings.cancel_by == "requester" and click.user != place.requester:
            await tell(click, notes.only_requester(place.requester, what))
            return None
        return place

    @app.action(blocks.CANCEL_ACTION)
    async def cancel(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        click = Click.of(body, action)
        if not deps.runs.is_running(click.value):
            if deps.runs.coordination.shared:
                await cancel_elsewhere(click)
            else:
                await tell(click, notes.ALREADY_ENDED)
            return
        if await checked(click, click.value, "cancel") is None:
            return
        if not deps.runs.cancel(click.value, by=click.user):
            await tell(click, notes.ALREADY_FINISHED)
            return
        logger.info("run cancelled by %s [run_id=%s]", click.user, click.value)

    async def cancel_elsewhere(click: Click) -> None:
        """A Cancel for a run this replica does not have: the store says whether it is live
        and who asked; the replica that has it (all listen) cancels it and says so."""
        run_id = click.value
        place = await checked(click, run_id, "cancel")
        stored = await _stored(deps, place, run_id) if place else None
        if place is None:
            return
        if stored is None or stored.status not in ACTIVE_STATUSES:
            await tell(click, notes.ALREADY_ENDED)
            return
        try:
            await deps.runs.coordination.cancels.publish(run_id, click.user)
        except RedisDown:
            logger.warning("could not pass a Cancel on to other replicas [run_id=%s]", run_id)
            await tell(click, notes.CANCEL_NOT_SENT)
            return
        logger.info("cancel by %s sent to the run's replica [run_id=%s]", click.user, run_id)

    @app.action(re.compile(rf"^{blocks.OUTPUT_ACTION}:"))
    async def full_output(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        click = Click.of(body, action)
        run_id, _, sub_id = click.value.partition(":")
        place = await checked(click, run_id, None)
        if place is None:
            return
        live = deps.runs.get(run_id)
        found = live_output(live, sub_id) if live is not None else None
        if found is None:
            found = stored_output(await _stored(deps, place, run_id), sub_id)
        problem = (
            await post_once(deps, click.user, found, live) if isinstance(found, Output) else found
        )
        if problem:
            await tell(click, problem)

    @app.action(re.compile(rf"^{blocks.RETRY_ACTION}:"))
    async def retry_subtask(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        click = Click.of(body, action)
        run_id, _, sub_id = click.value.partition(":")
        if deps.runs.is_running(run_id):
            await tell(click, notes.NOT_FINISHED)
            return
        place = await checked(click, run_id, "retry")
        stored = await _stored(deps, place, run_id) if place else None
        if place is None:
            return
        failed = stored is not None and any(
            s.subtask_id == sub_id and s.state == "failed" for s in stored.subtasks
        )
        if stored is None or not failed:
            await tell(click, f"{sub_id} has not failed, so there is nothing to retry.")
            return
        await retry(deps, stored, sub_id, Press(click.user, click.channel, click.message_ts))

    @app.action(blocks.CONTINUE_ACTION)
    async def continue_run(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        click = Click.of(body, action)
        if deps.runs.is_running(click.value):
            await tell(click, notes.NOT_FINISHED)
            return
        place = await checked(click, click.value, "continue")
        stored = await _stored(deps, place, click.value) if place else None
        if place is None:
            return
        cut = stored is not None and any(
            s.state == "cancelled" and s.error == CUT_AT_DEADLINE for s in stored.subtasks
        )
        if stored is None or not cut:
            await tell(click, notes.NOTHING_CUT)
            return
        await continue_cut(deps, stored, Press(click.user, click.channel, click.message_ts))

    @app.action(blocks.RERUN_ACTION)
    async def rerun_run(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        click = Click.of(body, action)
        if deps.runs.is_running(click.value):
            await tell(click, notes.NOT_FINISHED)
            return
        place = await checked(click, click.value, "re-run")
        stored = await _stored(deps, place, click.value) if place else None
        if place is None:
            return
        if stored is None:
            await tell(click, notes.UNKNOWN_RUN)
            return
        await rerun(deps, stored, Press(click.user, click.channel, click.message_ts))
