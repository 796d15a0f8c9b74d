"""`@Orchestra <goal>`: a run in the mention's thread, with the thread as context; and the
App Home tab, published when a person opens it."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot import notes
from bot.deps import Deps
from bot.history import HISTORY_SIZE, Spend, home_view
from bot.listeners.goal import clean_text, goal_problem, strip_bot_mention
from bot.requester import Requester
from bot.research import ResearchRequest, launch, over_limit, refused_by_budget

logger = logging.getLogger(__name__)


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen for app mentions and Home tab opens (Bolt acks events before listeners run)."""

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
        if not await deps.runs.claim(*keys):
            logger.info("ignoring repeated delivery of %s", keys)
            return
        thread_ts = str(event.get("thread_ts") or ts)
        in_thread = event.get("thread_ts") not in (None, ts)
        # Slack shows an ephemeral in a thread only if the thread already exists: a top-level
        # mention has none yet, so private replies go in the channel until the run posts.
        requester = Requester(
            deps.io,
            channel=channel,
            user=user,
            thread_ts=thread_ts if in_thread else None,
            reply_in=thread_ts,
            clock=deps.clock,
        )
        goal = clean_text(strip_bot_mention(str(event.get("text", "")), context.bot_user_id))
        problem = goal_problem(goal, deps.config, deps.settings.command)
        if problem is None and not deps.runs.accepting:
            problem = notes.BUSY
        if problem is not None:
            await requester.tell(problem)
            return
        run_id = deps.runs.admit(user)
        if run_id is None:
            await requester.tell(over_limit(deps, user))
            return
        if await refused_by_budget(deps, run_id, requester):
            return
        request = ResearchRequest(
            user=user,
            channel=channel,
            goal=goal,
            source="mention",
            thread_ts=thread_ts,
            context_before_ts=ts if in_thread else None,
            delivery_key=keys[-1],
        )
        await launch(deps, request, requester, run_id=run_id)
        logger.info("run started from a mention [run_id=%s]", run_id)

    @app.event("app_home_opened")
    async def home(event: dict[str, Any]) -> None:
        if event.get("tab", "home") != "home":
            return
        user = str(event.get("user", ""))
        try:
            view = await _home_view(deps, user)
        except Exception:
            logger.exception("run store: could not read the Home tab's runs")
            return
        await deps.io.client.views_publish(user_id=user, view=view)


async def _home_view(deps: Deps, user: str) -> dict[str, Any]:
    store = deps.store
    mine = await store.recent_runs(requester=user, limit=HISTORY_SIZE)
    team = await store.recent_runs(limit=HISTORY_SIZE)
    spend = Spend(await store.spend_today(), await store.spend_this_month())
    return home_view(mine, team, spend, deps.workspace.url, deps.settings.command)
