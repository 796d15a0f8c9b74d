"""The slash command (`/research` by default): ack at once, run in the background.

`/research history` answers privately with the channel's latest runs instead,
`/research help` with how to use Orchestra (`bot.listeners.keywords`), and `/research
settings` opens the channel's settings (`bot.listeners.settings`)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.deps import Deps
from bot.listeners.flags import asked_review, flag_problem, parse_flags
from bot.listeners.goal import clean_text, goal_problem
from bot.listeners.keywords import history_message, keyword
from bot.listeners.settings import open_settings, settings_scope
from bot.render import notes
from bot.runs.intake import Ask, accept, over_limit
from bot.runs.launch import ResearchRequest, launch
from bot.slack.requester import Requester

logger = logging.getLogger(__name__)


def register(app: AsyncApp, deps: Deps) -> None:
    """Listen for the configured slash command."""

    @app.command(deps.settings.command)
    async def research(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        goal = clean_text(str(command.get("text", "")))
        user, channel = str(command.get("user_id", "")), str(command.get("channel_id", ""))
        scope = settings_scope(goal)
        if scope is not None:
            await ack()  # first: the modal waits on Slack and the store
            await open_settings(deps, command, scope, respond)
            return
        match keyword(goal):
            case "help":
                await ack(text=notes.help_text(deps.settings.command))  # the sender's alone
                return
            case "history":
                await ack()
                await _history(deps, respond, channel, user)
                return
        # A switch it cannot follow (unknown, two efforts) is said before anything starts.
        problem = flag_problem(goal) or goal_problem(
            parse_flags(goal)[1], deps.config, deps.settings.command
        )
        if problem is not None:
            await ack(text=problem)  # an ephemeral reply only the sender sees
            return
        if not deps.runs.accepting:
            await ack(text=notes.BUSY)
            return
        run_id = deps.runs.admit(user)  # counted at once: no database on the ack path
        if run_id is None:
            await ack(text=over_limit(deps, user).text)  # the ack is the person's alone
            return
        await ack()  # first: the claim below is a database write
        trigger = str(command.get("trigger_id", ""))
        key = f"trigger:{trigger}" if trigger else None
        requester = Requester(
            deps.io, channel=channel, user=user, respond=respond, clock=deps.clock
        )

        async def start(run_id: str) -> None:
            flags, bare = parse_flags(goal)
            asked = asked_review(flags)
            request = ResearchRequest(
                user=user,
                channel=channel,
                goal=bare or goal,
                source="command",
                thread_ts=None,
                delivery_key=key,
            )
            # Not asked: the channel's settings decide, then ORCHESTRA_PLAN_REVIEW (at launch).
            request = replace(request, review=asked, effort=flags.effort)
            await launch(deps, request, requester, run_id=run_id)
            logger.info("run started from %s [run_id=%s]", deps.settings.command, run_id)

        # Judged and counted above, before the ack; the intake does the rest in its order.
        keys = [key] if key else []
        await accept(deps, Ask(requester, start, keys=keys, admitted=run_id))


async def _history(deps: Deps, respond: AsyncRespond, channel: str, user: str) -> None:
    reply = await history_message(deps, user, channel)
    if isinstance(reply, str):
        await respond(text=reply)
        return
    text, blocks = reply
    await respond(text=text, blocks=blocks, response_type="ephemeral")
