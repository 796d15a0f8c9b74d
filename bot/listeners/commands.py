"""The slash command (`/research` by default): ack at once, run in the background."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.deps import Deps
from bot.listeners.goal import clean_text, goal_problem
from bot.research import ResearchRequest, launch
from bot.slack_io import SlackIO

logger = logging.getLogger(__name__)

BUSY = "Orchestra is restarting and not taking new runs right now; please ask again shortly."

# Slack: a command's response_url "can be used up to 5 times within 30 minutes"; later posts
# are refused (HTTP 404). A run can end long after that, so its news must not depend on it.
RESPONSE_URL_USES = 5
RESPONSE_URL_TTL_S = 30 * 60 - 60  # a minute's margin: Slack's clock started before ours


class PrivateReplies:
    """Private replies to whoever typed the command: its response_url while Slack still takes
    it (5 posts, 30 minutes), then an ephemeral message in the channel."""

    def __init__(
        self,
        respond: AsyncRespond,
        io: SlackIO,
        *,
        channel: str,
        user: str,
        clock: Callable[[], float],
    ) -> None:
        self._respond, self._io = respond, io
        self._channel, self._user = channel, user
        self._clock = clock
        self._since = clock()
        self._uses = 0

    async def __call__(self, text: str, thread_ts: str | None = None) -> None:
        """Tell the person `text`; `thread_ts` (a thread that exists) takes a public fallback."""
        if self._uses < RESPONSE_URL_USES and self._clock() - self._since < RESPONSE_URL_TTL_S:
            self._uses += 1
            try:
                response = await self._respond(text=text, response_type="ephemeral")
                if response.status_code == 200:
                    return
                # Bolt's respond does not raise on a refusal: it returns it.
                logger.warning(
                    "response_url refused (%s): using an ephemeral", response.status_code
                )
            except (aiohttp.ClientError, TimeoutError) as exc:
                logger.warning("response_url unreachable (%s): using an ephemeral", exc)
        # In the channel, where the person typed the command; a reply in the run's thread if
        # even that fails.
        await self._io.tell(self._channel, self._user, text, reply_in=thread_ts)


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
        user, channel = str(command["user_id"]), str(command["channel_id"])
        notify = PrivateReplies(respond, deps.io, channel=channel, user=user, clock=deps.clock)
        run_id = launch(
            deps,
            ResearchRequest(user=user, channel=channel, goal=goal, thread_ts=None, notify=notify),
        )
        logger.info("run started from %s [run_id=%s]", deps.settings.command, run_id)
