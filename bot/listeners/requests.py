"""A message that asks for research (a mention in a channel, a DM in the messages tab), from
delivery to launched run through the one intake (`bot.runs.intake`: claimed, judged, admitted,
confirmed, budgeted), then started in its thread with the thread's earlier messages as
context."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncBoltContext

from bot.deps import Deps
from bot.listeners.flags import asked_review, flag_problem, parse_flags
from bot.listeners.goal import clean_text, goal_problem, strip_bot_mention
from bot.listeners.keywords import answer, keyword
from bot.runs.clarify import take_answer
from bot.runs.intake import SAID, Ask, Verdict, accept
from bot.runs.launch import ResearchRequest, launch
from bot.runs.steering import steer
from bot.slack.requester import Requester
from bot.store import RunSource

logger = logging.getLogger(__name__)


def from_a_person(event: dict[str, Any]) -> bool:
    """Whether a person wrote the message: not an app's bot (`bot_id`, even with a bot
    user), not an integration (subtype `bot_message`, no user at all)."""
    return (
        bool(event.get("user"))
        and not event.get("bot_id")
        and not event.get("bot_profile")
        and event.get("subtype") != "bot_message"
    )


async def from_message(
    deps: Deps,
    body: dict[str, Any],
    event: dict[str, Any],
    context: AsyncBoltContext,
    *,
    source: RunSource,
    empty_hint: str | None = None,
) -> str | None:
    """Start the run a message asks for; its run id, or None when it starts none (a repeat
    delivery, or the person was told why). `empty_hint` answers a message with no goal."""
    channel, ts, user = str(event["channel"]), str(event["ts"]), str(event.get("user", ""))
    if not from_a_person(event):
        # Another bot or an integration: a run needs a person, to ask for it, to be held to
        # their limits and budgets and to be told things; and bots mentioning bots can loop.
        logger.info("ignoring a message written by an app or integration in %s", channel)
        return None
    # Slack redelivers events it thinks were lost, and one message can come as two
    # events: the event id and the message itself each start at most one run.
    keys = [f"msg:{channel}:{ts}"]
    if body.get("event_id"):
        keys.append(f"event:{body['event_id']}")
    thread_ts = str(event.get("thread_ts") or ts)
    in_thread = event.get("thread_ts") not in (None, ts)
    # Slack shows an ephemeral in a thread only if the thread already exists: a top-level
    # message has none yet, so private replies go in the channel until the run posts.
    requester = Requester(
        deps.io,
        channel=channel,
        user=user,
        thread_ts=thread_ts if in_thread else None,
        reply_in=thread_ts,
        clock=deps.clock,
    )
    goal = clean_text(strip_bot_mention(str(event.get("text", "")), context.bot_user_id))

    async def judge() -> Verdict:
        word = keyword(goal)
        if word is not None:  # "help" or "history": about Orchestra, not research
            await answer(deps, requester, word, dm=source == "dm")
            return SAID
        if in_thread and await take_answer(deps, requester, thread_ts=thread_ts, text=goal):
            return SAID  # the requester answers the run's open question (issue 22.3)
        if in_thread and await steer(deps, requester, thread_ts=thread_ts, text=goal):
            return SAID  # the thread's run is going: this steers it (issue 22.2)
        if empty_hint and not goal.strip():
            return empty_hint
        # A switch it cannot follow (unknown, two efforts): the sender is told, nothing starts.
        problem = flag_problem(goal)
        return problem or goal_problem(parse_flags(goal)[1], deps.config, deps.settings.command)

    async def start(run_id: str) -> None:
        flags, bare = parse_flags(goal)
        asked = asked_review(flags)
        request = ResearchRequest(
            user=user,
            channel=channel,
            goal=bare or goal,
            source=source,
            thread_ts=thread_ts,
            context_before_ts=ts if in_thread else None,
            delivery_key=keys[-1],
        )
        # Not asked: the channel's settings decide, then ORCHESTRA_PLAN_REVIEW (at launch).
        request = replace(request, review=asked, effort=flags.effort)
        await launch(deps, request, requester, run_id=run_id)
        logger.info("run started from a %s [run_id=%s]", source, run_id)

    return await accept(deps, Ask(requester, start, keys=keys, judge=judge))
