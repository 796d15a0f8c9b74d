"""`@Orchestra <goal>`: a run in the mention's thread, with the thread as context."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.deps import Deps
from bot.listeners.commands import BUSY
from bot.listeners.goal import clean_text, goal_problem, strip_bot_mention
from bot.research import ResearchRequest, launch

logger = logging.getLogger(__name__)


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen for app mentions (Bolt acks events itself, before the listener runs)."""

    @app.event("app_mention")
    async def mention(
        body: dict[str, Any], event: dict[str, Any], context: AsyncBoltContext
    ) -> None:
        channel, ts, user = str(event["channel"]), str(event["ts"]), str(event.get("user", ""))
        # Slack redelivers events it thinks were lost, and one message can come as two
        # events: the event id and the message itself each start at most one run.
        keys = [f"msg:{channel}:{ts}"]
        if body.get("event_id"):
            keys.append(f"event:{body['event_id']}")
        if not deps.runs.claim(*keys):
            logger.info("ignoring repeated delivery of %s", keys)
            return
        thread_ts = str(event.get("thread_ts") or ts)
        in_thread = event.get("thread_ts") not in (None, ts)
        goal = clean_text(strip_bot_mention(str(event.get("text", "")), context.bot_user_id))
        problem = goal_problem(goal, deps.config, deps.settings.command)
        if problem is None and not deps.runs.accepting:
            problem = BUSY
        # Slack shows an ephemeral in a thread only if the thread already exists: a top-level
        # mention has none yet, so its hint goes in the channel (a fallback reply starts one).
        existing = thread_ts if in_thread else None
        if problem is not None:
            await deps.io.tell(channel, user, problem, existing, reply_in=thread_ts)
            return

        async def notify(text: str, thread: str | None) -> None:
            await deps.io.tell(channel, user, text, thread, reply_in=thread_ts)

        run_id = launch(
            deps,
            ResearchRequest(
                user=user,
                channel=channel,
                goal=goal,
                thread_ts=thread_ts,
                context_before_ts=ts if in_thread else None,
                notify=notify,
                thread_exists=in_thread,
            ),
        )
        logger.info("run started from a mention [run_id=%s]", run_id)
