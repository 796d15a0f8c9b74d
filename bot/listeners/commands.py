"""The slash command (`/research` by default): ack at once, run in the background."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.deps import Deps
from bot.listeners.goal import clean_text, goal_problem
from bot.research import ResearchRequest, launch

logger = logging.getLogger(__name__)

BUSY = "Orchestra is restarting and not taking new runs right now; please ask again shortly."


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen for the configured slash command."""

    @app.command(deps.settings.command)
    async def research(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        goal = clean_text(str(command.get("text", "")))
        problem = goal_problem(goal, deps.config, deps.settings.command)
        if problem is not None:
            await ack(text=problem)  # an ephemeral reply only the sender sees
            return
        if not deps.runs.accepting:
            await ack(text=BUSY)
            return
        trigger = str(command.get("trigger_id", ""))
        if trigger and not deps.runs.claim(f"trigger:{trigger}"):
            await ack()
            return
        await ack()

        async def notify(text: str) -> None:
            await respond(text=text, response_type="ephemeral")

        run_id = launch(
            deps,
            ResearchRequest(
                user=str(command["user_id"]),
                channel=str(command["channel_id"]),
                goal=goal,
                thread_ts=None,
                notify=notify,
            ),
        )
        logger.info("run started from %s [run_id=%s]", deps.settings.command, run_id)
