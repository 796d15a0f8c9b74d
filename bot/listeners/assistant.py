"""The app's agent messages tab (manifest `agent_view`): a direct message is a research
request (no mention needed), run with Slack's native stream (`bot.thread.dm`); opening the
DM gets suggested prompts; Slack's native stop button cancels the thread's run like Cancel;
feedback buttons under an answer are thanked for and logged.

DMs are `message` events with `channel_type` "im" (`message.im`); under agent view each
top-level DM starts a thread of its own, a reply in it carries its `thread_ts`, and a
follow-up in the same thread gets the conversation so far as its context, as a mention
inside a channel thread does. Opening the DM is `app_home_opened` with tab "messages"
(Slack sends no `assistant_thread_started` under agent view)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError

from bot.coordination import RedisDown
from bot.deps import Deps
from bot.listeners.requests import from_message
from bot.render import native as native_blocks
from bot.render import notes
from bot.slack.agent_io import NativeIO
from bot.store import ACTIVE_STATUSES, RunSummary, StoreDown

logger = logging.getLogger(__name__)


async def from_a_person_in_a_dm(event: dict[str, Any]) -> bool:
    """A person's own new message in a DM with the app (not an edit, a deletion, a bot's
    message or Slack's assistant-thread root)."""
    return (
        event.get("channel_type") == "im"
        and event.get("subtype") is None
        and not event.get("bot_id")
        and bool(event.get("user"))
    )


async def the_dm_opened(event: dict[str, Any]) -> bool:
    """A person opened their DM with the app (agent view's `app_home_opened`, tab
    "messages", docs.slack.dev/ai/migrating-to-agent-messaging, read 2026-12-05)."""
    return event.get("tab") == "messages"


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen for DMs, the DM being opened, the native stop button and feedback."""
    native = NativeIO(deps.io, deps.team.team_id)

    @app.event("message", matchers=[from_a_person_in_a_dm])
    async def direct_message(
        body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        await from_message(deps, body, event, context, source="dm", empty_hint=notes.DM_USAGE_HINT)

    @app.event("message")
    async def other_message() -> None:
        # Edits, deletions and thread roots in the app's DMs (message.im delivers them all):
        # nothing to do, but an event no listener takes is answered 404 and resent by Slack.
        return

    @app.event("app_home_opened", matchers=[the_dm_opened])
    async def dm_opened(event: dict[str, Any]) -> None:
        channel = str(event.get("channel", ""))
        if not channel:
            return
        prompts = [{"title": title, "message": text} for title, text in notes.SUGGESTED_PROMPTS]
        try:
            # On the DM, never a thread: agent view's prompts sit at the top of the DM.
            await native.suggest(channel, notes.PROMPTS_TITLE, prompts)
        except SlackApiError as exc:
            # Prompts are a courtesy: the person can still type their own.
            logger.warning("could not suggest prompts: %s", exc.response.get("error"))

    @app.event("agent_session_stopped")
    async def stopped(event: dict[str, Any]) -> None:
        await _stop(deps, native, event)

    @app.action(native_blocks.FEEDBACK_ACTION)
    async def feedback(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        verdict, _, run_id = str(action.get("value", "")).partition(":")
        user = str((body.get("user") or {}).get("id", ""))
        channel = str((body.get("channel") or {}).get("id", ""))
        thread_ts = (body.get("message") or {}).get("thread_ts")
        logger.info("feedback %s from %s [run_id=%s]", verdict or "?", user, run_id)
        if channel and user:
            await deps.io.tell(channel, user, notes.FEEDBACK_THANKS, thread_ts)


async def _stop(deps: Deps, native: NativeIO, event: dict[str, Any]) -> None:
    """Slack's stop button: cancel every live run of the thread, here or on another replica
    (a follow-up in a thread with a live run starts a second one; the button stops the
    thread's work, all of it). Only a run's requester's press counts for it, as with Cancel;
    each run ends its own stream and session. With no run to cancel, end any stream Slack
    stopped and move the session off "processing", as Slack asks: it does not by itself, and
    the person would see a spinner and a stop button for about an hour."""
    channel, thread_ts = str(event.get("channel", "")), str(event.get("thread_ts", ""))
    user = str(event.get("user", ""))
    here = [r for r in deps.runs.running if r.channel == channel and r.thread_ts == thread_ts]
    elsewhere: list[RunSummary] = []
    if deps.runs.coordination.shared:
        elsewhere = await _live_elsewhere(deps, channel, thread_ts)
    if not here and not elsewhere:
        ended = False
        for ts in event.get("streaming_message_ts") or []:
            try:
                await native.stop(channel, str(ts), [], [])
                ended = True
            except SlackApiError as exc:
                logger.info("stopped stream %s not ended: %s", ts, exc.response.get("error"))
        if not ended and channel and thread_ts:
            await native.session(channel, thread_ts, "active")
        return
    by_requester = deps.settings.cancel_by == "requester"
    refused: dict[str, None] = {}  # requesters whose runs this person may not stop, once each
    for run in here:
        if by_requester and user != run.requester_id:
            refused[run.requester_id] = None
        elif deps.runs.cancel(run.run_id, by=user):
            logger.info("run stopped by %s with Slack's stop button [run_id=%s]", user, run.run_id)
    unsent = False
    for stored in elsewhere:
        if by_requester and user != stored.requester:
            refused[stored.requester] = None
            continue
        try:
            await deps.runs.coordination.cancels.publish(stored.run_id, user)
        except RedisDown:
            unsent = True
    for requester in refused:
        await deps.io.tell(channel, user, notes.only_requester(requester, "stop"), thread_ts)
    if unsent:
        await deps.io.tell(channel, user, notes.CANCEL_NOT_SENT, thread_ts)


async def _live_elsewhere(deps: Deps, channel: str, thread_ts: str) -> list[RunSummary]:
    """Several replicas: the thread's runs the store says are live but this replica does not
    run (the Cancel goes to their replica as a Cancel click would); [] when the store cannot
    say."""
    try:
        recent = await deps.store.recent_runs(channel=channel, limit=20)
    except StoreDown:
        logger.exception("run store: could not look for the stopped thread's runs")
        return []
    return [
        r
        for r in recent
        if r.thread_ts == thread_ts
        and r.status in ACTIVE_STATUSES
        and not deps.runs.is_running(r.run_id)
    ]
